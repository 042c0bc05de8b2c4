// Judging anomaly detectors against labelled series: event-level precision,
// recall, detection delay and false alarms, and the synthetic benchmark set
// behind `meshtwin detect eval` and the table in models/README.md.
//
// Matching rule. A flagged point p explains anomaly window [b, e) when
// b <= p < e + tolerance. An anomaly is detected when some flagged point
// explains it; its delay is (first such point) - b, in points (x step in
// seconds). A false alarm is a maximal run of consecutive flagged points none
// of which explains any window (so a long alarm counts once, and an alarm
// that outlives its window by more than the tolerance counts as one false
// alarm). Precision = detected / (detected + false alarms); recall =
// detected / anomalies; false alarms per 10,000 points judged (from
// `from`, the first point the detectors may speak, to the end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "datasets/anomaly_series.h"
#include "models/anomaly.h"

namespace meshtwin {

struct DetectionQuality {
  std::size_t points = 0;  // points judged
  std::size_t anomalies = 0;
  std::size_t detected = 0;
  std::size_t false_alarms = 0;  // alarm episodes outside every window (+ tolerance)
  double delay_sum = 0;          // over detected anomalies, points
  double delay_max = 0;          // points
  Seconds step = 60;

  double precision() const;   // 1 when nothing was flagged at all
  double recall() const;      // NaN without anomalies
  double mean_delay() const;  // points; NaN when nothing was detected
  double false_alarms_per_10k() const;
  // Adds another series' counts (same step).
  void Merge(const DetectionQuality& other);
};

// flags[i] != 0: point i was flagged. Windows ascending and non-overlapping.
DetectionQuality EvaluateAlarms(std::span<const std::uint8_t> flags,
                                std::span<const AnomalyWindow> windows, std::size_t from,
                                std::size_t tolerance, Seconds step);

// A detector run over a whole series: scores and flags per point. Point i is
// fed at time start + i * step.
struct DetectorRun {
  std::vector<double> scores;
  std::vector<std::uint8_t> flags;
};
DetectorRun RunDetector(AnomalyDetector& detector, std::span<const double> values, Seconds start,
                        Seconds step);

struct AnomalyBenchmarkOptions {
  std::vector<std::uint64_t> seeds = {1, 2, 3};
  AnomalySeriesParams series;  // kinds and count are set per row
  std::size_t tolerance = 30;  // points after a window's end that still explain it
};

// Rows "clean" (no anomaly: false alarms only) and one per anomaly kind.
struct AnomalyBenchmarkRow {
  std::string detector;
  std::string kind;
  DetectionQuality quality;
};

// Every detector (name, options) on every seed of every kind: series of
// `series.days` days with `series.count` anomalies of one kind each.
absl::StatusOr<std::vector<AnomalyBenchmarkRow>> RunAnomalyBenchmark(
    const std::vector<std::pair<std::string, AnomalyDetectorOptions>>& detectors,
    const AnomalyBenchmarkOptions& options);

// The detector options the benchmark and `meshtwin detect eval` use by
// default: a weekly season for robust-z (the series have a weekend level),
// a daily Holt-Winters for forecast-residual; step from the series.
std::vector<std::pair<std::string, AnomalyDetectorOptions>> DefaultBenchmarkDetectors(Seconds step);

}  // namespace meshtwin
