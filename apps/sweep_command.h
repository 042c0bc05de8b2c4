// `meshtwin sweep`: runs a scenario over a grid (or a random sample) of
// parameter values, one child process per point, and keeps the Pareto front of
// node-hours against SLO-violation minutes; `meshtwin sweep merge` joins the
// files of a sharded sweep. How to use both: docs/sweeps.md.
//
//   meshtwin sweep default --param policy.target_utilization=0.4:0.8:0.1
//       --param policy.scale_down.stabilization_window=60s,300s --out sweep.h5
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

void RegisterSweepCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
