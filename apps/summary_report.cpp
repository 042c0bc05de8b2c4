#include "apps/summary_report.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>

namespace meshtwin {
namespace {

double Round(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(x * scale) / scale;
}

// 1234567 -> "1,234,567" (locale-independent, so output is the same everywhere).
std::string Thousands(double x) {
  const auto v = static_cast<long long>(std::llround(x));
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string Hms(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  return fmt::format("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60);
}

// {"critical": ..., "standard": ..., "best_effort": ...}, rounded to whole requests.
nlohmann::ordered_json PerClassJson(const PerClass& values) {
  nlohmann::ordered_json j;
  for (int c = 0; c < kNumClasses; ++c) {
    j[ToString(static_cast<RequestClass>(c))] = std::llround(values[static_cast<std::size_t>(c)]);
  }
  return j;
}

// Requests of each class that arrived over the run: served + dropped over all
// ticks + still queued after the last one.
PerClass OfferedByClass(const TickSeries& t) {
  PerClass offered = {0, 0, 0};
  const std::size_t n = t.size();
  const auto k = static_cast<std::size_t>(kNumClasses);
  if (t.served_by_class.size() != n * k || t.dropped_by_class.size() != n * k ||
      t.queued_by_class.size() != n * k) {
    return offered;
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < k; ++c) {
      offered[c] += t.served_by_class[i * k + c] + t.dropped_by_class[i * k + c];
    }
  }
  if (n > 0) {
    for (std::size_t c = 0; c < k; ++c) offered[c] += t.queued_by_class[(n - 1) * k + c];
  }
  return offered;
}

}  // namespace

nlohmann::ordered_json SummaryJson(const RunReport& report) {
  const RunSummary& s = report.results->summary;
  nlohmann::ordered_json j;
  j["scenario"] = s.scenario;
  j["scenario_source"] = report.scenario_source;
  j["policy"] = s.policy;
  j["seed"] = s.seed;
  j["duration_s"] = s.duration;
  j["ticks"] = s.ticks;
  j["requests_total"] = std::llround(s.requests_total);
  j["requests_served"] = std::llround(s.requests_served);
  j["requests_dropped"] = std::llround(s.requests_dropped);
  j["requests_queued_at_end"] = std::llround(s.requests_queued_at_end);
  j["slo_violation_minutes"] = s.slo_violation_minutes;
  j["node_hours"] = Round(s.node_hours, 3);
  j["cost"] = Round(s.cost, 2);
  j["peak_nodes"] = s.peak_nodes;
  j["scale_up_events"] = s.scale_up_events;
  j["scale_down_events"] = s.scale_down_events;
  j["mean_utilization"] = Round(s.mean_utilization, 4);
  j["mean_latency_s"] = Round(s.mean_latency_s, 6);
  j["results_file"] = report.results_path;
  j["wall_seconds"] = Round(report.wall_seconds, 3);
  j["dropped_by_class"] = PerClassJson(s.dropped_by_class);
  j["throttled_by_class"] = PerClassJson(s.throttled_by_class);
  j["migrations"] = s.migrations;
  j["requests_migrated"] = std::llround(s.requests_migrated);
  j["role_switches"] = s.role_switches;
  j["dht"] = s.dht;
  j["dht_messages"] = std::llround(s.dht_messages);
  j["dht_queries"] = s.dht_queries;
  j["dht_queries_failed"] = s.dht_queries_failed;
  j["dht_rejoins"] = s.dht_rejoins;
  j["nodes_discovered"] = s.nodes_discovered;
  j["discovery_delay_mean_s"] = Round(s.discovery_delay_mean_s, 3);
  j["discovery_delay_max_s"] = Round(s.discovery_delay_max_s, 3);
  j["node_failures"] = s.node_failures;
  j["domain_failures"] = s.domain_failures;
  j["gray_failures"] = s.gray_failures;
  j["partitions"] = s.partitions;
  j["manager_outages"] = s.manager_outages;
  j["isolations"] = s.isolations;
  j["replacements"] = s.replacements;
  j["failures_undetected"] = s.failures_undetected;
  j["detection_delay_mean_s"] = Round(s.detection_delay_mean_s, 3);
  j["detection_delay_max_s"] = Round(s.detection_delay_max_s, 3);
  j["recovery_mean_s"] = Round(s.recovery_mean_s, 3);
  j["recovery_max_s"] = Round(s.recovery_max_s, 3);
  j["requests_lost_to_failures"] = std::llround(s.requests_lost_to_failures);
  return j;
}

std::string SummaryTable(const RunReport& report) {
  const ResultsData& r = *report.results;
  const RunSummary& s = r.summary;
  const double total = s.requests_total > 0 ? s.requests_total : 1;
  std::string out;
  out += fmt::format("meshtwin simulate: scenario '{}' ({}), policy {}, seed {}\n", s.scenario,
                     report.scenario_source, s.policy, s.seed);
  out += fmt::format("  simulated {} in {} ticks of {:g} s\n\n", Hms(s.duration),
                     Thousands(s.ticks), r.control_interval);
  auto row = [&out](const std::string& name, const std::string& value,
                    const std::string& note = "") {
    out += fmt::format("  {:<24}{:>18}  {}\n", name, value, note);
  };
  row("requests offered", Thousands(s.requests_total));
  row("requests served", Thousands(s.requests_served),
      fmt::format("{:.3f} %", 100 * s.requests_served / total));
  row("requests dropped", Thousands(s.requests_dropped),
      fmt::format("{:.3f} %", 100 * s.requests_dropped / total));
  // Per class only when classes are in play: a run whose traffic is all
  // standard and unthrottled would repeat the line above.
  const PerClass offered = OfferedByClass(r.ticks);
  const auto critical = static_cast<std::size_t>(RequestClass::kCritical);
  const auto best_effort = static_cast<std::size_t>(RequestClass::kBestEffort);
  bool throttled = false;
  for (double v : s.throttled_by_class) throttled = throttled || v > 0;
  if (offered[critical] > 0 || offered[best_effort] > 0 || throttled) {
    for (int c = 0; c < kNumClasses; ++c) {
      const auto i = static_cast<std::size_t>(c);
      std::string note = offered[i] > 0 ? fmt::format("{:.3f} % of {} offered",
                                                      100 * s.dropped_by_class[i] / offered[i],
                                                      Thousands(offered[i]))
                                        : "none offered";
      if (throttled) note += fmt::format(", {} throttled", Thousands(s.throttled_by_class[i]));
      row(fmt::format("  {}", ToString(static_cast<RequestClass>(c))),
          Thousands(s.dropped_by_class[i]), note);
    }
  }
  row("still queued at end", Thousands(s.requests_queued_at_end));
  row("SLO-violation minutes", Thousands(s.slo_violation_minutes),
      fmt::format("of {}", Thousands(std::ceil(s.duration / 60))));
  row("mean latency", fmt::format("{:.1f} ms", 1000 * s.mean_latency_s));
  row("mean utilisation", fmt::format("{:.1f} %", 100 * s.mean_utilization));
  row("node-hours", fmt::format("{:.1f}", s.node_hours), fmt::format("cost {:.2f}", s.cost));
  row("peak nodes", Thousands(s.peak_nodes));
  row("scale-up events", Thousands(s.scale_up_events));
  row("scale-down events", Thousands(s.scale_down_events));
  if (s.migrations > 0) {
    row("migrations", Thousands(s.migrations),
        fmt::format("{} requests moved", Thousands(s.requests_migrated)));
  }
  if (s.role_switches > 0) row("role switches", Thousands(s.role_switches));
  if (s.dht != "none") {
    row("discovery", s.dht,
        fmt::format("{} messages, {} reads ({} failed), {} rejoins", Thousands(s.dht_messages),
                    Thousands(s.dht_queries), Thousands(s.dht_queries_failed),
                    Thousands(s.dht_rejoins)));
    row("  nodes found", Thousands(s.nodes_discovered),
        s.nodes_discovered > 0 ? fmt::format("{:.1f} s after ready on average, {:.1f} s at most",
                                             s.discovery_delay_mean_s, s.discovery_delay_max_s)
                               : "none came up after the start");
  }
  const int failures = s.node_failures + s.gray_failures + s.partitions;
  if (failures > 0 || s.manager_outages > 0) {
    row("failures", Thousands(s.node_failures),
        fmt::format("nodes crashed ({} with a rack or zone), {} gray, {} partitions, {} manager "
                    "outages",
                    s.domain_failures, s.gray_failures, s.partitions, s.manager_outages));
    row("  lost to failures", Thousands(s.requests_lost_to_failures), "requests");
    row("  detection", fmt::format("{:.0f} s", s.detection_delay_mean_s),
        fmt::format("mean, {:.0f} s at most; {} never detected", s.detection_delay_max_s,
                    s.failures_undetected));
    row("  recovery", fmt::format("{:.0f} s", s.recovery_mean_s),
        fmt::format("mean to a replacement serving, {:.0f} s at most", s.recovery_max_s));
    row("  isolations", Thousands(s.isolations),
        fmt::format("{} replacements", Thousands(s.replacements)));
  }
  out += fmt::format("\n  results: {}   wall time: {:.2f} s\n", report.results_path,
                     report.wall_seconds);
  return out;
}

}  // namespace meshtwin
