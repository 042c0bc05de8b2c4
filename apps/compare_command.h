#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterCompareCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
