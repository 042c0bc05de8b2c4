#include "apps/simulate_command.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "apps/cli_util.h"
#include "apps/progress_bar.h"
#include "apps/summary_report.h"
#include "scenarios/library.h"
#include "scenarios/scenario.h"
#include "sim/simulation.h"

namespace meshtwin {
namespace {

struct SimulateArgs {
  std::string scenario_path;
  std::string out = "results.h5";
  std::optional<std::uint64_t> seed;
  std::vector<std::string> overrides;
  bool json = false;
  bool quiet = false;
  std::string node_snapshots = "auto";
};

// --node-snapshots: "auto", "off" or a number of ticks >= 1.
absl::StatusOr<int> ParseSnapshotEvery(const std::string& text) {
  if (text == "auto") return SimulationOptions::kAutoSnapshots;
  if (text == "off") return 0;
  int every = 0;
  if (absl::SimpleAtoi(text, &every) && every >= 1) return every;
  return absl::InvalidArgumentError(
      "--node-snapshots: expected auto, off or a number of ticks >= 1, got '" + text + "'");
}

int RunSimulate(const SimulateArgs& args) {
  const auto wall_start = std::chrono::steady_clock::now();
  std::vector<std::string> overrides = args.overrides;
  if (args.seed) overrides.push_back("seed=" + std::to_string(*args.seed));

  absl::StatusOr<Scenario> scenario =
      args.scenario_path.empty() ? ParseScenario(DefaultScenarioText(), "<default>", overrides)
                                 : LoadScenarioByName(args.scenario_path, overrides);
  if (!scenario.ok()) return ReportError(scenario.status());

  absl::StatusOr<int> snapshot_every = ParseSnapshotEvery(args.node_snapshots);
  if (!snapshot_every.ok()) return ReportError(snapshot_every.status());

  // Refuse an unusable output path before spending the run.
  if (absl::Status st = CheckOutputPath("--out", args.out); !st.ok()) return ReportError(st);

  const Trace trace = BuildTrace(*scenario);
  ProgressBar progress("simulating", !args.quiet);
  SimulationOptions options;
  options.on_progress = [&progress](double f) { progress.Update(f); };
  options.node_snapshot_every = *snapshot_every;
  absl::StatusOr<ResultsData> results = RunSimulation(*scenario, trace, options);
  progress.Finish();
  if (!results.ok()) return ReportError(results.status());
  if (absl::Status st = WriteResultsFile(args.out, *results); !st.ok()) return ReportError(st);

  RunReport report;
  report.results = &*results;
  report.scenario_source = args.scenario_path.empty() ? "built-in" : args.scenario_path;
  report.results_path = args.out;
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (args.json) {
    std::printf("%s\n", SummaryJson(report).dump().c_str());
  } else if (!args.quiet) {
    std::printf("%s", SummaryTable(report).c_str());
  }
  return 0;
}

}  // namespace

void RegisterSimulateCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Replay a scenario through a simulated mesh on SimGrid and write results.h5.\n"
      "With no SCENARIO, runs the built-in default (scenarios/default.yaml).");
  cmd->add_option("scenario", args->scenario_path,
                  "Scenario file or library name (default: built-in; see `meshtwin scenarios "
                  "list`)");
  cmd->add_option("-o,--out", args->out, "Results file (HDF5), written atomically")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Override the scenario's seed");
  cmd->add_option("--set", args->overrides,
                  "Override a scenario key: --set policy.target_utilization=0.5 "
                  "--set node_types.medium.max=80 (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--node-snapshots", args->node_snapshots,
                  "Record every node's state, role and load for viewers every N ticks: a "
                  "number, off, or auto (at most 2 million node rows for the largest fleet "
                  "the scenario allows)")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the summary as one JSON object on stdout");
  cmd->add_flag("-q,--quiet", args->quiet, "No table and no progress bar");
  cmd->callback([args, exit_code] { *exit_code = RunSimulate(*args); });
}

}  // namespace meshtwin
