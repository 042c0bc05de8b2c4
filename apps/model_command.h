// `meshtwin train` and `meshtwin backtest`: fitting forecasters on history and
// measuring them honestly (rolling origin, no peeking).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterModelCommands(CLI::App& app, int* exit_code);

}  // namespace meshtwin
