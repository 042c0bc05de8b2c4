// `meshtwin manager --config manager.yaml`: the control loop in charge of a
// real mesh (live_bridge/manager.h).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterManagerCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
