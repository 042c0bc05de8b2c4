// `meshtwin fault-proxy --listen HOST:PORT --upstream HOST:PORT [--delay 100ms]
// [--drop 0.1] [--blackhole] [--refuse]`: the live bridge's TCP fault proxy
// (live_bridge/fault_proxy.h) as a process, for scripts that put faults
// between agents, managers and etcd. Prints "listening on HOST:PORT" (the
// bound port when PORT is 0) and runs until SIGTERM or SIGINT (exit 0).
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterFaultProxyCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
