// `meshtwin compare`: runs one scenario under several policies, each in its
// own process with the same seed, and prints their figures side by side (or a
// JSON array, one object per policy). See docs/sweeps.md.
//
//   meshtwin compare product-launch --policies hpa,predictive,oracle --json
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterCompareCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
