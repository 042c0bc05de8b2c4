// `meshtwin shadow --config shadow.yaml [--replay FROM TO] [--out FILE]`:
// runs the scenario's policy on production's Prometheus metrics every
// interval and records what it would have done next to what production did
// (shadow.h5), then prints would-be vs production node-hours and SLO risk.
// It never acts (live_bridge/shadow.h). SIGTERM or SIGINT ends a live run,
// writing the file (exit 0).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterShadowCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
