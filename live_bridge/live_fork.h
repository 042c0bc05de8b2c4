// The twin fork: a running manager's snapshot (live_bridge/watch.h) turned
// into a simulation that starts where the live mesh is now — "what happens
// in the next two hours if ...". `meshtwin simulate --from-live` runs it.
//
// The fork starts from the live fleet (ready, booting and switching agents
// per node type become the types' initial nodes), the manager's scenario
// and overrides (then the user's --set overrides, which win), its control
// interval, and a demand that follows the manager's latest forecast (the
// last observed level, then p50 at each horizon, straight lines between,
// held after the last). The forecaster warms up on the manager's recent
// demand before the first tick, and the events the manager received stay
// on the calendar. What it had to assume is listed in `notes`.
//
//   MESHTWIN_ASSIGN_OR_RETURN(LiveSnapshot snap, client->Snapshot(0));
//   MESHTWIN_ASSIGN_OR_RETURN(LiveFork fork, MakeLiveFork(snap, 7200, {"policy.name=hpa"}));
//   SimulationOptions o;  o.history = fork.history;  o.history_step = fork.history_step;
//   RunSimulation(fork.scenario, fork.trace, o);
#pragma once

#include <string>
#include <vector>

#include "datasets/trace.h"
#include "live_bridge/watch.h"
#include "scenarios/scenario.h"
#include "twin/status.h"

namespace meshtwin::live {

struct LiveFork {
  Scenario scenario;
  Trace trace;                  // the run's demand, run time 0 = the snapshot's time
  std::vector<double> history;  // demand before the fork, for the forecaster
  Seconds history_step = 0;
  std::vector<std::string> notes;  // assumptions made, for the user
};

// InvalidArgument naming `source` (e.g. "live manager-0 at 10.0.0.1:7443")
// and the part of the snapshot at fault, or the scenario's own error.
absl::StatusOr<LiveFork> MakeLiveFork(const LiveSnapshot& snapshot, Seconds horizon,
                                      const std::vector<std::string>& overrides,
                                      const std::string& source);

}  // namespace meshtwin::live
