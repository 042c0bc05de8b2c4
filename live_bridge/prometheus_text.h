// The Prometheus text exposition format, version 0.0.4: a writer for the
// agent's and the manager's /metrics, and a parser for reading such text back
// (tests, scraping an agent directly).
//
//   ExpositionWriter w;
//   MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_cpu_utilization", "CPU busy share, 0..1.",
//                                    {{"node", name}}, sample.cpu_utilization));
//   MESHTWIN_RETURN_IF_ERROR(w.Counter("meshtwin_heartbeats_total", "Heartbeats sent.", {}, n));
//   std::string body = w.Render();
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "twin/status.h"

namespace meshtwin::live {

// The Content-Type of a response carrying Render()'s text.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Label name -> value pairs of one series, in any order (rendered sorted by name).
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A histogram's state, in the exposition's own cumulative form.
struct HistogramValue {
  std::vector<double> upper_bounds;  // finite, strictly ascending; the +Inf bucket is implied
  std::vector<std::uint64_t> cumulative_counts;  // per bound: observations <= it (non-decreasing)
  std::uint64_t count = 0;                       // all observations: the +Inf bucket
  double sum = 0;                                // of all observed values
};

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(const std::string& name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus).
bool IsValidLabelName(const std::string& name);
// A label value as written between the quotes: \ -> \\, " -> \", newline -> \n.
std::string EscapeLabelValue(const std::string& value);
// A HELP text: \ -> \\, newline -> \n (quotes stay).
std::string EscapeHelp(const std::string& help);
// A sample value: shortest text that reads back to the same double; NaN,
// +Inf, -Inf as Prometheus spells them.
std::string FormatSampleValue(double value);

// Collects metric families and renders them. Output is deterministic:
// families sorted by name, series within a family sorted by their labels,
// labels within a series sorted by name, each family's HELP and TYPE once.
// Not thread-safe; build one per scrape.
class ExpositionWriter {
 public:
  // Each adds one series to the family `name`, creating the family on first
  // use. InvalidArgument for a bad metric or label name, a duplicate label
  // name, the same series twice, a family redeclared with another type or
  // help, a name that collides with a histogram's _bucket/_sum/_count, a
  // negative or NaN counter, or (histograms) a "le" label or inconsistent
  // buckets.
  absl::Status Counter(const std::string& name, const std::string& help, const MetricLabels& labels,
                       double value);
  absl::Status Gauge(const std::string& name, const std::string& help, const MetricLabels& labels,
                     double value);
  absl::Status Histogram(const std::string& name, const std::string& help,
                         const MetricLabels& labels, const HistogramValue& value);

  std::string Render() const;

 private:
  enum class Type : std::uint8_t { kCounter, kGauge, kHistogram };
  struct Family {
    Type type = Type::kGauge;
    std::string help;
    // Rendered label set ("a=\"1\",b=\"2\"", sorted) -> value.
    std::map<std::string, std::variant<double, HistogramValue>> series;
  };

  absl::Status Add(const std::string& name, const std::string& help, Type type,
                   const MetricLabels& labels, std::variant<double, HistogramValue> value);

  std::map<std::string, Family> families_;
};

// One sample line of exposition text.
struct ParsedSample {
  std::string name;
  MetricLabels labels;  // in the order written, values unescaped
  double value = 0;
  friend bool operator==(const ParsedSample&, const ParsedSample&) = default;
};

// Reads the sample lines of exposition text (comments and blank lines are
// skipped; timestamps are accepted and dropped). InvalidArgument naming
// "line N" for anything else that does not parse.
absl::StatusOr<std::vector<ParsedSample>> ParseExposition(const std::string& text);

}  // namespace meshtwin::live
