#include "apps/dht_command.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/cli_util.h"
#include "apps/progress_bar.h"
#include "scenarios/scenario.h"
#include "sim/dht_simulation.h"

namespace meshtwin {
namespace {

struct DhtArgs {
  DhtExperiment experiment;
  // Durations and the bandwidth take units ("10m", "1Gbps"), parsed at run time.
  std::string duration = "600";
  std::string join_spread = "60";
  std::string settle = "60";
  std::string link_latency = "5ms";
  std::string bandwidth = "1Gbps";
  bool json = false;
  bool quiet = false;
};

double Round(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(x * scale) / scale;
}

// 1234567 -> "1,234,567", the same in every locale.
std::string Thousands(long long v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

// The flags' values checked with the flags' names; what passes here also
// passes ValidateDhtExperiment.
absl::Status Resolve(DhtArgs& a) {
  DhtExperiment& e = a.experiment;
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (e.protocol != "chord" && e.protocol != "kademlia") {
    return bad("--protocol " + e.protocol + ": must be chord or kademlia");
  }
  if (e.nodes < 1 || e.nodes > 10'000'000) {
    return bad("--nodes " + std::to_string(e.nodes) + ": must be between 1 and 10,000,000");
  }
  MESHTWIN_ASSIGN_OR_RETURN(e.duration, ParseDurationFlag("--duration", a.duration));
  if (!(e.duration > 0)) return bad("--duration " + a.duration + ": must be positive");
  MESHTWIN_ASSIGN_OR_RETURN(e.join_spread, ParseDurationFlag("--join-spread", a.join_spread));
  MESHTWIN_ASSIGN_OR_RETURN(e.settle, ParseDurationFlag("--settle", a.settle));
  MESHTWIN_ASSIGN_OR_RETURN(e.link_latency, ParseDurationFlag("--link-latency", a.link_latency));
  absl::StatusOr<double> bw = ParseBandwidth(a.bandwidth);
  if (!bw.ok()) return bad("--bandwidth " + a.bandwidth + ": " + ErrorText(bw.status()));
  e.bandwidth = *bw;
  if (!(e.bandwidth > 0)) return bad("--bandwidth " + a.bandwidth + ": must be positive");
  if (!(e.lookup_rate >= 0) || !std::isfinite(e.lookup_rate)) {
    return bad(fmt::format("--lookup-rate {:g}: must be 0 or more (lookups per node per minute)",
                           e.lookup_rate));
  }
  if (!(e.churn >= 0 && e.churn <= 1)) {
    return bad(fmt::format(
        "--churn {:g}: must be between 0 and 1 (fraction of nodes replaced per minute)", e.churn));
  }
  if (!(e.leave_fraction >= 0 && e.leave_fraction <= 1)) {
    return bad(fmt::format("--leave-fraction {:g}: must be between 0 and 1", e.leave_fraction));
  }
  if (!(e.loss >= 0 && e.loss < 1)) {
    return bad(fmt::format("--loss {:g}: must be a probability, at least 0 and below 1", e.loss));
  }
  if (e.hosts < 0)
    return bad("--hosts " + std::to_string(e.hosts) + ": must be 0 (automatic) or more");
  return ValidateDhtExperiment(e);
}

nlohmann::ordered_json ReportJson(const DhtReport& r) {
  nlohmann::ordered_json j;
  j["protocol"] = r.protocol;
  j["nodes"] = r.nodes;
  j["hosts"] = r.hosts;
  j["seed"] = r.seed;
  j["duration_s"] = r.duration;
  j["join_phase_s"] = r.join_phase_s;
  j["joined_at_start"] = r.joined_at_start;
  j["lookups"] = r.lookups;
  j["lookups_completed"] = r.lookups_completed;
  j["successful_lookups"] = r.successful_lookups;
  j["success_rate"] = Round(r.success_rate, 6);
  j["hops_mean"] = Round(r.hops_mean, 4);
  j["hops_p99"] = r.hops_p99;
  j["latency_mean_s"] = Round(r.latency_mean_s, 6);
  j["latency_p99_s"] = Round(r.latency_p99_s, 6);
  j["messages"] = r.messages;
  j["messages_lost"] = r.messages_lost;
  j["messages_to_dead"] = r.messages_to_dead;
  j["messages_per_node_s"] = Round(r.messages_per_node_s, 4);
  j["joins"] = r.joins;
  j["leaves"] = r.leaves;
  j["crashes"] = r.crashes;
  j["join_failures"] = r.join_failures;
  j["simulated_s"] = r.simulated_s;
  j["wall_seconds"] = Round(r.wall_seconds, 3);
  j["peak_rss_mib"] = Round(r.peak_rss_mib, 1);
  return j;
}

std::string ReportTable(const DhtReport& r) {
  std::string out = fmt::format("meshtwin dht: {}, {} nodes on {} hosts, seed {}\n", r.protocol,
                                Thousands(r.nodes), Thousands(r.hosts), r.seed);
  out += fmt::format("  {} nodes joined in the first {:g} s, then {:g} s measured\n\n",
                     Thousands(r.joined_at_start), r.join_phase_s, r.duration);
  auto row = [&out](const std::string& name, const std::string& value,
                    const std::string& note = "") {
    out += fmt::format("  {:<22}{:>14}  {}\n", name, value, note);
  };
  row("lookups", Thousands(r.lookups), fmt::format("{} completed", Thousands(r.lookups_completed)));
  row("successful lookups", Thousands(r.successful_lookups),
      fmt::format("{:.3f} % returned the true owner", 100 * r.success_rate));
  row("hops", fmt::format("{:.2f}", r.hops_mean), fmt::format("mean; p99 {:g}", r.hops_p99));
  row("latency", fmt::format("{:.1f} ms", 1000 * r.latency_mean_s),
      fmt::format("mean; p99 {:.1f} ms", 1000 * r.latency_p99_s));
  row("messages", Thousands(r.messages),
      fmt::format("{:.3f} per node per s after the joins", r.messages_per_node_s));
  row("messages lost", Thousands(r.messages_lost),
      fmt::format("{} more to nodes already gone", Thousands(r.messages_to_dead)));
  row("churn",
      fmt::format("{} / {} / {}", Thousands(r.joins), Thousands(r.leaves), Thousands(r.crashes)),
      "joins / graceful leaves / crashes");
  if (r.join_failures > 0) row("failed joins", Thousands(r.join_failures), "retried");
  row("wall time", fmt::format("{:.1f} s", r.wall_seconds),
      fmt::format("{:g} s simulated, peak RSS {:.0f} MiB", r.simulated_s, r.peak_rss_mib));
  return out;
}

int RunDht(DhtArgs& args) {
  if (absl::Status st = Resolve(args); !st.ok()) return ReportError(st);
  ProgressBar progress("dht " + args.experiment.protocol, !args.quiet);
  absl::StatusOr<DhtReport> report =
      RunDhtExperiment(args.experiment, [&progress](double f) { progress.Update(f); });
  progress.Finish();
  if (!report.ok()) return ReportError(report.status());
  if (args.json) {
    std::printf("%s\n", ReportJson(*report).dump().c_str());
  } else if (!args.quiet) {
    std::printf("%s", ReportTable(*report).c_str());
  }
  return 0;
}

}  // namespace

void RegisterDhtCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DhtArgs>();
  DhtExperiment& e = args->experiment;
  CLI::App* cmd = app.add_subcommand(
      "dht",
      "Run a DHT-only experiment on SimGrid: N Chord or Kademlia nodes join, then look up random\n"
      "keys under churn and message loss; every lookup is checked against the true owner.");
  cmd->add_option("--protocol", e.protocol, "chord or kademlia")->required();
  cmd->add_option("--nodes", e.nodes, "Nodes in the DHT (churn replaces, it does not shrink)")
      ->required();
  cmd->add_option("--duration", args->duration,
                  "Simulated time measured after the join phase (\"600\", \"10m\")")
      ->capture_default_str();
  cmd->add_option("--lookup-rate", e.lookup_rate, "Lookups per node per minute")
      ->capture_default_str();
  cmd->add_option("--churn", e.churn,
                  "Fraction of the nodes replaced per minute (a crash or a graceful leave, then a "
                  "fresh join)")
      ->capture_default_str();
  cmd->add_option("--leave-fraction", e.leave_fraction,
                  "Share of the churned-out nodes that leave gracefully; the rest crash")
      ->capture_default_str();
  cmd->add_option("--loss", e.loss, "Probability that a message is lost")->capture_default_str();
  cmd->add_option("--seed", e.seed, "Random seed: the same seed gives the same figures")
      ->capture_default_str();
  cmd->add_option("--hosts", e.hosts, "Simulated hosts (one actor each); 0: min(nodes, 1000)")
      ->capture_default_str();
  cmd->add_option("--link-latency", args->link_latency,
                  "Latency of each host's link (host to host crosses two)")
      ->capture_default_str();
  cmd->add_option("--bandwidth", args->bandwidth, "Bandwidth of each host's link")
      ->capture_default_str();
  cmd->add_option("--join-spread", args->join_spread,
                  "The nodes join at random times over this long")
      ->capture_default_str();
  cmd->add_option("--settle", args->settle, "Then the DHT settles this long before lookups start")
      ->capture_default_str();
  cmd->add_option("--timer-slack", e.timer_slack,
                  "Seconds: timers of one host's nodes this close together share one wake-up")
      ->capture_default_str();
  cmd->add_flag("--shared-links", e.shared_links,
                "Concurrent messages share a link's bandwidth (slower to simulate; DHT messages "
                "are small enough that it barely changes their timing)");
  cmd->add_flag("--json", args->json, "Print the report as one JSON object on stdout");
  cmd->add_flag("-q,--quiet", args->quiet, "No table and no progress bar");
  cmd->callback([args, exit_code] { *exit_code = RunDht(*args); });
}

}  // namespace meshtwin
