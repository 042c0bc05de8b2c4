// Runs a scenario on SimGrid: builds the platform, starts one actor per node
// and a manager actor that runs the control loop every interval, and returns
// everything the results file holds.
//
// SimGrid's engine runs once per process: call RunSimulation once. Tools that
// need many runs (sweeps, the GUI) start `meshtwin simulate` processes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "datasets/trace.h"
#include "scenarios/scenario.h"
#include "twin/status.h"

namespace meshtwin {

struct SimulationOptions {
  // Called now and then with the fraction of simulated time done (0..1).
  std::function<void(double)> on_progress;
  // Called after each tick with everything recorded so far (ticks up to and
  // including `tick`, decisions, node snapshots), for streaming viewers.
  // Forecast, summary and metadata fields are filled only at the end.
  std::function<void(const ResultsData& so_far, std::size_t tick)> on_tick;
  // Extra SimGrid command-line settings (e.g. "--cfg=contexts/stack-size:16").
  std::vector<std::string> simgrid_args;
  // Node-by-node snapshots for viewers (ResultsData::nodes): every this many
  // ticks; 0 records none; kAutoSnapshots picks the smallest interval that
  // keeps them under kSnapshotBudget node rows for the largest fleet the
  // scenario allows.
  static constexpr int kAutoSnapshots = -1;
  static constexpr double kSnapshotBudget = 2e6;
  int node_snapshot_every = kAutoSnapshots;
  // Demand from before run time 0, requests/s every `history_step` seconds,
  // the last sample ending at 0 (NaN: no reading): the forecaster warms up
  // on it before the first tick. How `simulate --from-live` forks a live
  // mesh without replaying its past.
  std::vector<double> history;
  Seconds history_step = 0;
};

// The snapshot interval kAutoSnapshots gives for `scenario`, in ticks (>= 1).
int AutoSnapshotEvery(const Scenario& scenario);

// Simulates `scenario` against `trace` (demand in requests/s). Deterministic in
// (scenario, trace). Fails with an internal error if SimGrid does.
absl::StatusOr<ResultsData> RunSimulation(const Scenario& scenario, const Trace& trace,
                                          const SimulationOptions& options);

}  // namespace meshtwin
