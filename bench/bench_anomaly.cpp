// bench_anomaly: the cost of the online anomaly detectors (models/anomaly.h)
// and their detection quality on the labelled synthetic set.
//
//   bench_anomaly                        Google Benchmark: one Update per detector, and a
//                                        control tick over 10,000 streams (robust-z) or
//                                        1,000 streams (forecast-residual)
//   bench_anomaly --eval [--detector NAME] [--seeds N] [--days D] [--step S]
//                [--threshold X] [--season S]
//                                        the precision/recall/delay/false-alarm table of
//                                        models/README.md (as `meshtwin detect eval`)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datasets/anomaly_series.h"
#include "models/anomaly.h"
#include "models/anomaly_eval.h"

namespace meshtwin {
namespace {

constexpr Seconds kStep = 60;

// Three days of a clean series at 60 s, daily season: what a detector is
// warmed on before it is timed.
const AnomalySeries& WarmSeries() {
  static const AnomalySeries s = [] {
    AnomalySeriesParams p;
    p.days = 6;
    p.step = kStep;
    return *GenerateAnomalySeries(p, 11);
  }();
  return s;
}

std::unique_ptr<AnomalyDetector> WarmDetector(const std::string& name, std::size_t points) {
  AnomalyDetectorOptions o;
  o.step = kStep;
  o.season = 86400;
  std::unique_ptr<AnomalyDetector> d = *MakeDetector(name, o);
  const std::vector<double>& y = WarmSeries().trace.demand;
  for (std::size_t i = 0; i < points; ++i) d->Update(kStep * static_cast<double>(i), y[i]);
  return d;
}

void BM_Update(benchmark::State& state, const std::string& name) {
  const std::vector<double>& y = WarmSeries().trace.demand;
  const std::size_t warm = 3 * 1440;
  std::unique_ptr<AnomalyDetector> d = WarmDetector(name, warm);
  std::size_t i = warm;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d->Update(kStep * static_cast<double>(i), y[i % y.size()]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Update, robust_z, std::string("robust-z"));
BENCHMARK_CAPTURE(BM_Update, forecast_residual, std::string("forecast-residual"));

// One control tick: every stream of the fleet gets one point.
void BM_FleetTick(benchmark::State& state, const std::string& name) {
  const auto streams = static_cast<std::size_t>(state.range(0));
  const std::vector<double>& y = WarmSeries().trace.demand;
  const std::size_t warm = 3 * 1440;
  std::unique_ptr<AnomalyDetector> prototype = WarmDetector(name, warm);
  std::vector<std::unique_ptr<AnomalyDetector>> fleet;
  fleet.reserve(streams);
  for (std::size_t s = 0; s < streams; ++s) fleet.push_back(prototype->Clone());
  std::size_t i = warm;
  std::size_t flagged = 0;
  for (auto _ : state) {
    const double t = kStep * static_cast<double>(i);
    const double base = y[i % y.size()];
    for (std::size_t s = 0; s < streams; ++s) {
      // Streams differ a little, as nodes do.
      fleet[s]->Update(t, base * (1 + 1e-3 * static_cast<double>(s % 7)));
      flagged += fleet[s]->IsAnomaly();
    }
    ++i;
  }
  benchmark::DoNotOptimize(flagged);
  state.SetItemsProcessed(state.iterations() * static_cast<long long>(streams));
}
BENCHMARK_CAPTURE(BM_FleetTick, robust_z, std::string("robust-z"))
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FleetTick, forecast_residual, std::string("forecast-residual"))
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);

int RunEval(int argc, char** argv) {
  AnomalyBenchmarkOptions bench;
  std::string only;
  double threshold = 0, season = -1;
  std::string forecaster;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--detector")
      only = argv[++i];
    else if (a == "--seeds") {
      bench.seeds.clear();
      for (int s = 1, n = std::atoi(argv[++i]); s <= n; ++s)
        bench.seeds.push_back(static_cast<std::uint64_t>(s));
    } else if (a == "--days")
      bench.series.days = std::atof(argv[++i]);
    else if (a == "--step")
      bench.series.step = std::atof(argv[++i]);
    else if (a == "--threshold")
      threshold = std::atof(argv[++i]);
    else if (a == "--season")
      season = std::atof(argv[++i]);
    else if (a == "--forecaster")
      forecaster = argv[++i];
  }
  std::vector<std::pair<std::string, AnomalyDetectorOptions>> detectors;
  for (auto& [name, o] : DefaultBenchmarkDetectors(bench.series.step)) {
    if (!only.empty() && name != only) continue;
    o.threshold = threshold;
    if (season >= 0) o.season = season;
    if (!forecaster.empty()) o.forecaster = forecaster;
    detectors.emplace_back(name, o);
  }
  absl::StatusOr<std::vector<AnomalyBenchmarkRow>> rows = RunAnomalyBenchmark(detectors, bench);
  if (!rows.ok()) {
    std::fprintf(stderr, "%s\n", std::string(rows.status().message()).c_str());
    return 1;
  }
  std::printf("%-18s %-15s %8s %9s %9s %7s %10s %9s %8s\n", "detector", "kind", "points",
              "detected", "precision", "recall", "delay mean", "delay max", "FA/10k");
  for (const AnomalyBenchmarkRow& r : *rows) {
    const DetectionQuality& q = r.quality;
    std::printf("%-18s %-15s %8zu %5zu/%-3zu %9.3f %7.3f %10.1f %9.0f %8.2f\n", r.detector.c_str(),
                r.kind.c_str(), q.points, q.detected, q.anomalies, q.precision(), q.recall(),
                q.mean_delay(), q.delay_max, q.false_alarms_per_10k());
  }
  return 0;
}

}  // namespace
}  // namespace meshtwin

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--eval") return meshtwin::RunEval(argc, argv);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
