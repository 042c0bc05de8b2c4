#include "apps/simulate_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
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
#include "gui/sim_stream.h"
#include "live_bridge/live_fork.h"
#include "live_bridge/watch.h"
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
  bool stream = false;
  // The twin fork: a live manager's mesh as the starting point.
  std::string from_live;
  std::string horizon = "2h";
  std::string tls_dir = "certs";
  std::string tls_name = "client";
};

// What a run starts from: a scenario and its trace, and (forked from a live
// manager) the demand before the fork for the forecaster.
struct RunInput {
  Scenario scenario;
  Trace trace;
  std::vector<double> history;
  Seconds history_step = 0;
  std::string source;
};

absl::StatusOr<RunInput> ForkFromLive(const SimulateArgs& args,
                                      const std::vector<std::string>& overrides) {
  if (!args.scenario_path.empty()) {
    return absl::InvalidArgumentError(
        "--from-live: give a scenario or --from-live, not both (the fork runs the manager's "
        "scenario; change it with --set)");
  }
  absl::StatusOr<Seconds> horizon = ParseDuration(args.horizon);
  if (!horizon.ok() || *horizon <= 0) {
    return absl::InvalidArgumentError("--horizon: expected a duration > 0 (e.g. 2h), got '" +
                                      args.horizon + "'");
  }
  live::TlsOptions tls;
  tls.files = live::TlsFiles::InDir(args.tls_dir, args.tls_name);
  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<live::WatchClient> client,
                            live::WatchClient::Connect(args.from_live, tls));
  MESHTWIN_ASSIGN_OR_RETURN(live::LiveSnapshot snapshot, client->Snapshot(0));
  const std::string source = "live " + snapshot.manager_id + " at " + args.from_live;
  MESHTWIN_ASSIGN_OR_RETURN(live::LiveFork fork,
                            live::MakeLiveFork(snapshot, *horizon, overrides, source));
  spdlog::info("forked from {}: {} nodes, {} s of demand history, {} events; {} ahead", source,
               snapshot.nodes.size(),
               static_cast<double>(snapshot.demand_history.size()) * snapshot.history_step,
               snapshot.events.size(), args.horizon);
  for (const std::string& note : fork.notes) spdlog::warn("fork: {}", note);
  return RunInput{std::move(fork.scenario), std::move(fork.trace), std::move(fork.history),
                  fork.history_step, source};
}

// The run's metadata for the --stream header, as RunSimulation will record it.
ResultsData StreamMetadata(const Scenario& scenario, const Trace& trace, int snapshot_every) {
  ResultsData meta;
  meta.scenario_name = scenario.name;
  meta.scenario_text = scenario.text;
  for (const std::string& o : scenario.overrides) meta.overrides += o + "\n";
  meta.policy = scenario.policy;
  meta.seed = scenario.seed;
  meta.control_interval = scenario.control_interval;
  meta.trace_epoch = trace.epoch + trace.start;
  for (const NodeTypeSpec& t : scenario.node_types) meta.node_types.push_back(t.name);
  for (const RoleSpec& r : scenario.roles) meta.roles.push_back(r.name);
  if (meta.roles.empty()) meta.roles.push_back(RoleSpec{}.name);
  meta.nodes.every = snapshot_every == SimulationOptions::kAutoSnapshots
                         ? AutoSnapshotEvery(scenario)
                         : snapshot_every;
  meta.events = trace.events;
  for (Event& e : meta.events) {
    e.start -= trace.start;
    e.end -= trace.start;
    e.announced -= trace.start;
  }
  return meta;
}

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

  absl::StatusOr<RunInput> input;
  if (!args.from_live.empty()) {
    input = ForkFromLive(args, overrides);
  } else {
    absl::StatusOr<Scenario> loaded =
        args.scenario_path.empty() ? ParseScenario(DefaultScenarioText(), "<default>", overrides)
                                   : LoadScenarioByName(args.scenario_path, overrides);
    if (loaded.ok()) {
      Trace built = BuildTrace(*loaded);
      input = RunInput{*std::move(loaded),
                       std::move(built),
                       {},
                       0,
                       args.scenario_path.empty() ? "built-in" : args.scenario_path};
    } else {
      input = loaded.status();
    }
  }
  if (!input.ok()) return ReportError(input.status());
  const Scenario* scenario = &input->scenario;

  absl::StatusOr<int> snapshot_every = ParseSnapshotEvery(args.node_snapshots);
  if (!snapshot_every.ok()) return ReportError(snapshot_every.status());

  // Refuse an unusable output path before spending the run.
  if (absl::Status st = CheckOutputPath("--out", args.out); !st.ok()) return ReportError(st);

  const Trace& trace = input->trace;
  ProgressBar progress("simulating", !args.quiet && !args.stream);
  SimulationOptions options;
  options.on_progress = [&progress](double f) { progress.Update(f); };
  options.node_snapshot_every = *snapshot_every;
  options.history = input->history;
  options.history_step = input->history_step;
  // --stream: one JSON line per tick for the GUI (schema: gui/README.md).
  std::size_t decisions_sent = 0;
  if (args.stream) {
    std::printf("%s\n", gui::StreamHeaderLine(StreamMetadata(*scenario, trace, *snapshot_every),
                                              scenario->duration)
                            .c_str());
    std::fflush(stdout);
    const double duration = scenario->duration;
    const double interval = scenario->control_interval;
    options.on_tick = [&decisions_sent, duration, interval](const ResultsData& so_far,
                                                            std::size_t tick) {
      const double done = std::min(1.0, (so_far.ticks.time[tick] + interval) / duration);
      std::printf("%s\n", gui::StreamTickLine(so_far, tick, &decisions_sent, done).c_str());
      std::fflush(stdout);
    };
  }
  absl::StatusOr<ResultsData> results = RunSimulation(*scenario, trace, options);
  progress.Finish();
  if (!results.ok()) return ReportError(results.status());
  if (absl::Status st = WriteResultsFile(args.out, *results); !st.ok()) return ReportError(st);
  if (args.stream) {
    std::printf("%s\n", gui::StreamDoneLine(args.out).c_str());
    std::fflush(stdout);
    return 0;
  }

  RunReport report;
  report.results = &*results;
  report.scenario_source = input->source;
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
  cmd->add_flag("--stream", args->stream,
                "For viewers: one JSON line per tick on stdout (series, decisions, node "
                "snapshot, progress), then {\"done\": true, \"results\": PATH}; no table, no "
                "progress bar (schema: gui/README.md)");
  cmd->add_flag("-q,--quiet", args->quiet, "No table and no progress bar");
  cmd->add_option("--from-live", args->from_live,
                  "Fork a running manager (host:port): start from its fleet, scenario, recent "
                  "demand, forecast and events, and simulate --horizon ahead");
  cmd->add_option("--horizon", args->horizon, "With --from-live: how far ahead to simulate")
      ->capture_default_str();
  cmd->add_option("--tls-dir", args->tls_dir,
                  "With --from-live: the directory with ca.crt and NAME.crt/.key (mutual TLS)")
      ->capture_default_str();
  cmd->add_option("--tls-name", args->tls_name, "With --from-live: the certificate's name")
      ->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunSimulate(*args); });
}

}  // namespace meshtwin
