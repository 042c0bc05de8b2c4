// `meshtwin gui`: the desktop viewer of results files and running
// simulations, and its headless screenshot mode (gui/README.md).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterGuiCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
