#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterSweepCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
