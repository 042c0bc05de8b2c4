#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterScenariosCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
