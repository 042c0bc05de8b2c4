#include "apps/summary_report.h"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

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
  auto row = [&out](const char* name, const std::string& value, const std::string& note = "") {
    out += fmt::format("  {:<24}{:>18}  {}\n", name, value, note);
  };
  row("requests offered", Thousands(s.requests_total));
  row("requests served", Thousands(s.requests_served),
      fmt::format("{:.3f} %", 100 * s.requests_served / total));
  row("requests dropped", Thousands(s.requests_dropped),
      fmt::format("{:.3f} %", 100 * s.requests_dropped / total));
  row("still queued at end", Thousands(s.requests_queued_at_end));
  row("SLO-violation minutes", Thousands(s.slo_violation_minutes),
      fmt::format("of {}", Thousands(std::ceil(s.duration / 60))));
  row("mean latency", fmt::format("{:.1f} ms", 1000 * s.mean_latency_s));
  row("mean utilisation", fmt::format("{:.1f} %", 100 * s.mean_utilization));
  row("node-hours", fmt::format("{:.1f}", s.node_hours), fmt::format("cost {:.2f}", s.cost));
  row("peak nodes", Thousands(s.peak_nodes));
  row("scale-up events", Thousands(s.scale_up_events));
  row("scale-down events", Thousands(s.scale_down_events));
  out += fmt::format("\n  results: {}   wall time: {:.2f} s\n", report.results_path,
                     report.wall_seconds);
  return out;
}

}  // namespace meshtwin
