// `meshtwin agent --config agent.yaml`: the node agent of the live bridge.
// Registers with the manager over mutual TLS, heartbeats, runs its role's
// workload as a supervised child process, obeys the manager's commands and
// serves /metrics; SIGTERM or SIGINT stops it cleanly (exit 0).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterAgentCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
