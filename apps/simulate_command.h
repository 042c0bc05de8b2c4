// `meshtwin simulate`: replays a scenario on SimGrid and writes results.h5.
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterSimulateCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
