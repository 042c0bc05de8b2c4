#include "models/anomaly_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace meshtwin {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double DetectionQuality::precision() const {
  const std::size_t alarms = detected + false_alarms;
  return alarms == 0 ? 1.0 : static_cast<double>(detected) / static_cast<double>(alarms);
}

double DetectionQuality::recall() const {
  return anomalies == 0 ? kNaN : static_cast<double>(detected) / static_cast<double>(anomalies);
}

double DetectionQuality::mean_delay() const {
  return detected == 0 ? kNaN : delay_sum / static_cast<double>(detected);
}

double DetectionQuality::false_alarms_per_10k() const {
  return points == 0 ? kNaN : 1e4 * static_cast<double>(false_alarms) / static_cast<double>(points);
}

void DetectionQuality::Merge(const DetectionQuality& o) {
  points += o.points;
  anomalies += o.anomalies;
  detected += o.detected;
  false_alarms += o.false_alarms;
  delay_sum += o.delay_sum;
  delay_max = std::max(delay_max, o.delay_max);
}

DetectionQuality EvaluateAlarms(std::span<const std::uint8_t> flags,
                                std::span<const AnomalyWindow> windows, std::size_t from,
                                std::size_t tolerance, Seconds step) {
  DetectionQuality q;
  q.step = step;
  const std::size_t n = flags.size();
  from = std::min(from, n);
  q.points = n - from;
  for (const AnomalyWindow& w : windows) {
    if (w.begin >= n) continue;
    ++q.anomalies;
    const std::size_t stop = std::min(n, w.end + tolerance);
    for (std::size_t p = std::max(w.begin, from); p < stop; ++p) {
      if (flags[p] != 0) {
        ++q.detected;
        const double delay = static_cast<double>(p - w.begin);
        q.delay_sum += delay;
        q.delay_max = std::max(q.delay_max, delay);
        break;
      }
    }
  }
  // Runs of flagged points that explain nothing.
  std::size_t w = 0;
  bool in_run = false;
  for (std::size_t p = from; p < n; ++p) {
    while (w < windows.size() && windows[w].end + tolerance <= p) ++w;
    const bool explained = w < windows.size() && windows[w].begin <= p;
    if (flags[p] != 0 && !explained) {
      if (!in_run) ++q.false_alarms;
      in_run = true;
    } else {
      in_run = false;
    }
  }
  return q;
}

DetectorRun RunDetector(AnomalyDetector& detector, std::span<const double> values, Seconds start,
                        Seconds step) {
  DetectorRun run;
  run.scores.resize(values.size());
  run.flags.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    run.scores[i] = detector.Update(start + step * static_cast<double>(i), values[i]);
    run.flags[i] = detector.IsAnomaly() ? 1 : 0;
  }
  return run;
}

absl::StatusOr<std::vector<AnomalyBenchmarkRow>> RunAnomalyBenchmark(
    const std::vector<std::pair<std::string, AnomalyDetectorOptions>>& detectors,
    const AnomalyBenchmarkOptions& options) {
  std::vector<std::string> kinds = {"clean"};
  for (int k = 0; k < kNumAnomalyKinds; ++k) kinds.push_back(ToString(static_cast<AnomalyKind>(k)));
  std::vector<AnomalyBenchmarkRow> rows;
  for (const auto& [name, detector_options] : detectors) {
    MESHTWIN_ASSIGN_OR_RETURN(const std::unique_ptr<AnomalyDetector> prototype,
                              MakeDetector(name, detector_options));
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      AnomalyBenchmarkRow row;
      row.detector = name;
      row.kind = kinds[k];
      row.quality.step = options.series.step;
      AnomalySeriesParams params = options.series;
      params.kinds.clear();
      if (k > 0) params.kinds = {static_cast<AnomalyKind>(k - 1)};
      for (const std::uint64_t seed : options.seeds) {
        MESHTWIN_ASSIGN_OR_RETURN(const AnomalySeries series, GenerateAnomalySeries(params, seed));
        const std::unique_ptr<AnomalyDetector> detector = prototype->Clone();
        const DetectorRun run =
            RunDetector(*detector, series.trace.demand, series.trace.epoch, series.trace.step);
        row.quality.Merge(EvaluateAlarms(run.flags, series.anomalies, series.clean_start,
                                         options.tolerance, series.trace.step));
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::vector<std::pair<std::string, AnomalyDetectorOptions>> DefaultBenchmarkDetectors(
    Seconds step) {
  AnomalyDetectorOptions robust;
  robust.step = step;
  robust.season = 7 * 86400;
  AnomalyDetectorOptions residual;
  residual.step = step;
  residual.season = 86400;
  return {{"robust-z", robust}, {"forecast-residual", residual}};
}

}  // namespace meshtwin
