// Labelled synthetic series for judging anomaly detectors: a clean seasonal
// metric (daily cosine, a weekend level, relative noise; the same model as
// datasets/synthetic.h) with anomalies of known kind, start and end injected.
//
//   AnomalySeriesParams p;  p.kinds = {AnomalyKind::kSpike};  p.count = 12;
//   AnomalySeries s = GenerateAnomalySeries(p, /*seed=*/7);
//   // s.trace.demand: the values; s.anomalies: [begin, end) sample ranges.
//
// Deterministic in (params, seed) on every platform (own generator, no
// <random> distributions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

enum class AnomalyKind : std::uint8_t {
  kSpike,          // 1-3 samples at 1.3-1.8 x the clean value
  kLevelShift,     // 30-240 samples at 0.6-0.75 x or 1.3-1.5 x
  kSlowdown,       // gray failure: latency 3 x or throughput / 2, 60-360 samples
  kVarianceBurst,  // the noise 4-6 x larger for 30-120 samples
  kDrift,          // a linear ramp to 1.3-1.5 x over 300-900 samples, then 60 samples held
};
inline constexpr int kNumAnomalyKinds = 5;
const char* ToString(AnomalyKind kind);  // "spike", "level-shift", "slowdown", ...
absl::StatusOr<AnomalyKind> ParseAnomalyKind(std::string_view name);

// One injected anomaly: samples [begin, end) of the series.
struct AnomalyWindow {
  AnomalyKind kind = AnomalyKind::kSpike;
  std::size_t begin = 0;
  std::size_t end = 0;
  double factor = 1;  // the multiplier on the clean value (on the noise for variance bursts)
};

struct AnomalySeriesParams {
  double days = 28;                 // length of the series
  Seconds step = 60;                // sample spacing
  double base = 1000;               // mean level
  double daily_amplitude = 0.5;     // relative swing of the daily cosine
  double peak_hour = 14;            // UTC hour of the daily peak
  double weekend_factor = 0.85;     // level on Saturdays and Sundays (day 0 is a Monday)
  double noise = 0.04;              // relative standard deviation of the noise
  std::vector<AnomalyKind> kinds;   // kinds to inject, taken in turn; empty: a clean series
  int count = 12;                   // anomalies to inject (when `kinds` is not empty)
  Seconds clean_start = 7 * 86400;  // no anomaly before this (detector warm-up)
  Seconds min_gap = 12 * 3600;      // clean time between two anomalies, at least
};

struct AnomalySeries {
  Trace trace;                           // values in trace.demand, step and epoch set
  std::vector<AnomalyWindow> anomalies;  // ascending, non-overlapping
  std::size_t clean_start = 0;           // first sample an anomaly may start at
};

// InvalidArgument when the parameters cannot hold `count` anomalies with the
// gaps asked for, or are out of range (non-positive step, days, base...).
absl::StatusOr<AnomalySeries> GenerateAnomalySeries(const AnomalySeriesParams& params,
                                                    std::uint64_t seed);

}  // namespace meshtwin
