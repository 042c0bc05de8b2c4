// `meshtwin trace import|generate|inspect`, `meshtwin events tag` and
// `meshtwin logs import`: getting users' history and calendars in.
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterTraceCommands(CLI::App& app, int* exit_code);
void RegisterEventsCommands(CLI::App& app, int* exit_code);
void RegisterLogsCommands(CLI::App& app, int* exit_code);

}  // namespace meshtwin
