// `meshtwin dht`: a DHT-only experiment (Chord or Kademlia, N nodes, churn,
// loss) on SimGrid, judged against the true owner of every key looked up.
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterDhtCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
