// `meshtwin detect`: online anomaly scores for one metric series (CSV or
// trace), and `meshtwin detect eval`: the detectors on the labelled synthetic
// benchmark set (precision, recall, delay, false alarms).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterDetectCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
