// The anomaly detectors (models/anomaly.h), the labelled generator
// (datasets/anomaly_series.h) and the matching rule (models/anomaly_eval.h).
#include "models/anomaly.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "datasets/anomaly_series.h"
#include "models/anomaly_eval.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

constexpr double kDay = 86400;

AnomalyDetectorOptions BenchmarkOptions(const std::string& name, Seconds step = 60) {
  for (const auto& [n, o] : DefaultBenchmarkDetectors(step)) {
    if (n == name) return o;
  }
  return {};
}

std::unique_ptr<AnomalyDetector> Make(const std::string& name, const AnomalyDetectorOptions& o) {
  absl::StatusOr<std::unique_ptr<AnomalyDetector>> d = MakeDetector(name, o);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(*d) : nullptr;
}

AnomalySeries Series(std::vector<AnomalyKind> kinds, std::uint64_t seed, double days = 28,
                     int count = 12) {
  AnomalySeriesParams p;
  p.count = count;
  p.kinds = std::move(kinds);
  p.days = days;
  absl::StatusOr<AnomalySeries> s = GenerateAnomalySeries(p, seed);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

DetectionQuality Judge(const std::string& name, std::vector<AnomalyKind> kinds,
                       std::vector<std::uint64_t> seeds) {
  DetectionQuality total;
  for (const std::uint64_t seed : seeds) {
    const AnomalySeries s = Series(kinds, seed);
    std::unique_ptr<AnomalyDetector> d = Make(name, BenchmarkOptions(name));
    const DetectorRun run = RunDetector(*d, s.trace.demand, s.trace.epoch, s.trace.step);
    total.Merge(EvaluateAlarms(run.flags, s.anomalies, s.clean_start, 30, s.trace.step));
  }
  return total;
}

// --- The targets ----------------------------------------------------

class BothDetectors : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Anomaly, BothDetectors,
                         ::testing::Values("robust-z", "forecast-residual"));

TEST_P(BothDetectors, CleanSeriesRaiseFewerThanOneFalseAlarmPer10000Points) {
  const DetectionQuality q = Judge(GetParam(), {}, {1, 2, 3});
  ASSERT_GE(q.points, 50000u);  // three series of four weeks, the first week warm-up
  EXPECT_LT(q.false_alarms_per_10k(), 1.0) << q.false_alarms << " false alarms in " << q.points;
}

TEST(RobustZ, FindsSpikesLevelShiftsAndSlowdownsQuickly) {
  for (const AnomalyKind kind :
       {AnomalyKind::kSpike, AnomalyKind::kLevelShift, AnomalyKind::kSlowdown}) {
    const DetectionQuality q = Judge("robust-z", {kind}, {1, 2, 3});
    SCOPED_TRACE(ToString(kind));
    EXPECT_EQ(q.anomalies, 36u);
    EXPECT_GE(q.recall(), 0.9);
    EXPECT_GE(q.precision(), 0.9);
    EXPECT_LE(q.mean_delay(), 2.0);
    EXPECT_LE(q.delay_max, 3.0);
  }
}

TEST(ForecastResidual, FindsSlowdowns) {
  const DetectionQuality q = Judge("forecast-residual", {AnomalyKind::kSlowdown}, {1, 2, 3});
  EXPECT_GE(q.recall(), 0.9);
}

// A node's latency x 3 (or its throughput / 2) from time T on, and for good:
// flagged at T, T + 1 or T + 2, i.e. within 3 control intervals, whatever
// the time of day or week T falls on; and nothing flagged the day before.
void ExpectGrayFailureFlaggedWithin3Points(const std::string& name,
                                           const AnomalyDetectorOptions& options,
                                           const AnomalySeries& clean,
                                           const std::vector<std::size_t>& onsets) {
  for (const double factor : {3.0, 0.5}) {
    for (const std::size_t t : onsets) {
      SCOPED_TRACE(name + " factor " + std::to_string(factor) + " at point " + std::to_string(t));
      std::vector<double> y = clean.trace.demand;
      for (std::size_t i = t; i < y.size(); ++i) y[i] *= factor;
      std::unique_ptr<AnomalyDetector> d = Make(name, options);
      const DetectorRun run = RunDetector(*d, y, clean.trace.epoch, clean.trace.step);
      const std::size_t day = static_cast<std::size_t>(kDay / clean.trace.step);
      for (std::size_t i = t - day; i < t; ++i) ASSERT_EQ(run.flags[i], 0) << "flagged at " << i;
      std::size_t first = t;
      while (first < y.size() && run.flags[first] == 0) ++first;
      EXPECT_LE(first - t, 2u);
    }
  }
}

TEST(RobustZ, GrayFailureIsFlaggedWithin3ControlIntervals) {
  // The benchmark setting: 1-minute points, weekly season.
  const AnomalySeries weekly = Series({}, 5, 21);
  std::vector<std::size_t> onsets;
  for (std::size_t t = 8 * 1440 + 17; t < 20 * 1440; t += 1440 + 211) onsets.push_back(t);
  ExpectGrayFailureFlaggedWithin3Points("robust-z", BenchmarkOptions("robust-z"), weekly, onsets);

  // The control loop's: a point every 15 s, a daily season, a week of data.
  AnomalySeriesParams p;
  p.days = 7;
  p.step = 15;
  p.weekend_factor = 1;
  p.clean_start = 0;
  const AnomalySeries node = *GenerateAnomalySeries(p, 9);
  AnomalyDetectorOptions o;
  o.step = 15;
  o.season = kDay;
  const std::size_t per_day = 5760;
  ExpectGrayFailureFlaggedWithin3Points(
      "robust-z", o, node,
      {2 * per_day + 100, 3 * per_day + 2000, 4 * per_day + 4000, 6 * per_day + 5000});
}

TEST(ForecastResidual, GrayFailureIsFlaggedWithin3Points) {
  const AnomalySeries s = Series({}, 6, 10);
  ExpectGrayFailureFlaggedWithin3Points("forecast-residual", BenchmarkOptions("forecast-residual"),
                                        s, {4 * 1440 + 300, 6 * 1440 + 900, 8 * 1440 + 1200});
}

// --- Online, deterministic, in range ------------------------------------------

TEST_P(BothDetectors, ScoresOfAPrefixDoNotDependOnWhatFollows) {
  const AnomalySeries s = Series({AnomalyKind::kLevelShift, AnomalyKind::kSpike}, 3, 14, 6);
  const std::vector<double>& y = s.trace.demand;
  const std::size_t half = y.size() / 2 + 77;
  const AnomalyDetectorOptions o = BenchmarkOptions(GetParam());
  std::unique_ptr<AnomalyDetector> full = Make(GetParam(), o);
  std::unique_ptr<AnomalyDetector> prefix = Make(GetParam(), o);
  const DetectorRun a = RunDetector(*full, y, s.trace.epoch, 60);
  std::vector<double> changed(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(half));
  const DetectorRun b = RunDetector(*prefix, changed, s.trace.epoch, 60);
  for (std::size_t i = 0; i < half; ++i) {
    ASSERT_EQ(a.scores[i], b.scores[i]) << i;
    ASSERT_EQ(a.flags[i], b.flags[i]) << i;
  }
  // And a different future does not change the past either.
  std::vector<double> other = y;
  for (std::size_t i = half; i < other.size(); ++i) other[i] *= 5;
  std::unique_ptr<AnomalyDetector> third = Make(GetParam(), o);
  const DetectorRun c = RunDetector(*third, other, s.trace.epoch, 60);
  for (std::size_t i = 0; i < half; ++i) ASSERT_EQ(a.scores[i], c.scores[i]) << i;
  EXPECT_GT(std::count(a.scores.begin(), a.scores.end(), 0.0), 0);
}

TEST_P(BothDetectors, ACloneContinuesExactlyAsTheOriginal) {
  const AnomalySeries s = Series({AnomalyKind::kSlowdown}, 4, 14, 6);
  const std::vector<double>& y = s.trace.demand;
  std::unique_ptr<AnomalyDetector> d = Make(GetParam(), BenchmarkOptions(GetParam()));
  const std::size_t cut = 9 * 1440;
  for (std::size_t i = 0; i < cut; ++i) d->Update(s.trace.epoch + 60.0 * i, y[i]);
  std::unique_ptr<AnomalyDetector> copy = d->Clone();
  for (std::size_t i = cut; i < y.size(); ++i) {
    const double t = s.trace.epoch + 60.0 * i;
    ASSERT_EQ(d->Update(t, y[i]), copy->Update(t, y[i])) << i;
    ASSERT_EQ(d->IsAnomaly(), copy->IsAnomaly()) << i;
  }
  EXPECT_TRUE(copy->Ready());
}

TEST_P(BothDetectors, DeterministicAndInRange) {
  const AnomalySeries s = Series({AnomalyKind::kVarianceBurst, AnomalyKind::kDrift}, 8, 14, 4);
  std::vector<double> y = s.trace.demand;
  y[9 * 1440] = std::numeric_limits<double>::quiet_NaN();
  y[9 * 1440 + 50] = 1e300;
  y[9 * 1440 + 90] = -1e300;
  y[9 * 1440 + 130] = 0;
  const AnomalyDetectorOptions o = BenchmarkOptions(GetParam());
  std::unique_ptr<AnomalyDetector> a = Make(GetParam(), o);
  std::unique_ptr<AnomalyDetector> b = Make(GetParam(), o);
  const DetectorRun ra = RunDetector(*a, y, s.trace.epoch, 60);
  const DetectorRun rb = RunDetector(*b, y, s.trace.epoch, 60);
  EXPECT_EQ(ra.scores, rb.scores);
  EXPECT_EQ(ra.flags, rb.flags);
  for (const double v : ra.scores) {
    ASSERT_GE(v, 0.0);
    ASSERT_LE(v, 1.0);
  }
  EXPECT_EQ(ra.scores[9 * 1440], 0.0);    // NaN: no information
  EXPECT_EQ(ra.flags[9 * 1440 + 50], 1);  // far beyond anything seen: flagged at once
  // The warm-up scores 0 and flags nothing.
  for (std::size_t i = 0; i < 1440; ++i) ASSERT_EQ(ra.scores[i], 0.0);
}

TEST(RobustZ, AConstantSeriesThenAStepIsFlagged) {
  AnomalyDetectorOptions o;
  o.step = 60;
  o.season = 0;
  std::unique_ptr<AnomalyDetector> d = Make("robust-z", o);
  for (int i = 0; i < 500; ++i) {
    const double s = d->Update(60.0 * i, 100);
    ASSERT_EQ(s, 0.0);
    ASSERT_FALSE(d->IsAnomaly());
  }
  d->Update(60.0 * 500, 110);
  EXPECT_TRUE(d->IsAnomaly());  // beyond the spread floor (0.1 % of the level) many times over
}

TEST(Debounce, OnePointBeyondTheThresholdIsNotEnoughTwoAre) {
  AnomalyDetectorOptions o;
  o.step = 60;
  o.season = 0;
  o.instant_factor = 0;
  std::unique_ptr<AnomalyDetector> d = Make("robust-z", o);
  // Alternating noise of known spread: |r| = 1 around 100.
  int i = 0;
  for (; i < 2000; ++i) d->Update(60.0 * i, 100 + (i % 2 ? 1 : -1));
  d->Update(60.0 * i++, 107);  // about 5.6 robust sigmas: exceeds, alone
  EXPECT_FALSE(d->IsAnomaly());
  d->Update(60.0 * i++, 100);
  EXPECT_FALSE(d->IsAnomaly());
  d->Update(60.0 * i++, 107);  // the second within three points
  EXPECT_TRUE(d->IsAnomaly());
}

// --- Options ---------------------------------------------------------------------

TEST(MakeDetector, RejectsBadOptionsNamingTheField) {
  const auto error = [](const std::string& name, AnomalyDetectorOptions o) {
    absl::StatusOr<std::unique_ptr<AnomalyDetector>> d = MakeDetector(name, o);
    EXPECT_FALSE(d.ok());
    return d.ok() ? std::string() : std::string(d.status().message());
  };
  AnomalyDetectorOptions o;
  EXPECT_THAT(error("isolation-forest", o), HasSubstr("robust-z, forecast-residual"));
  {
    AnomalyDetectorOptions b = o;
    b.step = 0;
    EXPECT_THAT(error("robust-z", b), HasSubstr("step"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.season = 90;  // shorter than two steps of 60 s
    EXPECT_THAT(error("robust-z", b), HasSubstr("season"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.confirm = 4;
    EXPECT_THAT(error("robust-z", b), HasSubstr("confirm"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.confirm_window = 33;
    EXPECT_THAT(error("forecast-residual", b), HasSubstr("confirm_window"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.threshold = -1;
    EXPECT_THAT(error("robust-z", b), HasSubstr("threshold"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.level_rate = 0;
    EXPECT_THAT(error("robust-z", b), HasSubstr("level_rate"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.clip = 0.5;
    EXPECT_THAT(error("robust-z", b), HasSubstr("clip"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.forecaster = "gru";
    EXPECT_THAT(error("forecast-residual", b), HasSubstr("model_path"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.refit_every = 0;
    EXPECT_THAT(error("forecast-residual", b), HasSubstr("refit_every"));
  }
  {
    AnomalyDetectorOptions b = o;
    b.model_path = "/nonexistent/model.json";
    EXPECT_THAT(error("forecast-residual", b), HasSubstr("/nonexistent/model.json"));
  }
  EXPECT_TRUE(MakeDetector("robust-z", o).ok());
  EXPECT_TRUE(MakeDetector("forecast-residual", o).ok());
}

// --- The generator and the matching rule -------------------------------------

TEST(AnomalySeries, DeterministicLabelledAndACleanTwinOutsideTheWindows) {
  const AnomalySeries a = Series({AnomalyKind::kSpike, AnomalyKind::kLevelShift}, 42);
  const AnomalySeries b = Series({AnomalyKind::kSpike, AnomalyKind::kLevelShift}, 42);
  const AnomalySeries clean = Series({}, 42);
  const AnomalySeries other = Series({AnomalyKind::kSpike, AnomalyKind::kLevelShift}, 43);
  EXPECT_EQ(a.trace.demand, b.trace.demand);
  EXPECT_NE(a.trace.demand, other.trace.demand);
  ASSERT_EQ(a.anomalies.size(), 12u);
  std::vector<std::uint8_t> inside(a.trace.demand.size(), 0);
  std::size_t previous_end = a.clean_start;
  for (const AnomalyWindow& w : a.anomalies) {
    EXPECT_GE(w.begin, previous_end);
    EXPECT_LT(w.begin, w.end);
    EXPECT_LE(w.end, a.trace.demand.size());
    previous_end = w.end;
    for (std::size_t i = w.begin; i < w.end; ++i) inside[i] = 1;
  }
  EXPECT_EQ(a.anomalies[0].kind, AnomalyKind::kSpike);
  EXPECT_EQ(a.anomalies[1].kind, AnomalyKind::kLevelShift);
  for (std::size_t i = 0; i < inside.size(); ++i) {
    if (inside[i] == 0) {
      ASSERT_EQ(a.trace.demand[i], clean.trace.demand[i]) << i;
    }
  }
  AnomalySeriesParams crowded;
  crowded.kinds = {AnomalyKind::kDrift};
  crowded.count = 500;
  EXPECT_FALSE(GenerateAnomalySeries(crowded, 1).ok());
  EXPECT_THAT(std::string(ParseAnomalyKind("meteor").status().message()), HasSubstr("slowdown"));
}

TEST(EvaluateAlarms, HitsDelaysAndFalseAlarmEpisodes) {
  // Windows [10, 15) and [40, 42); tolerance 3; judged from point 2.
  std::vector<AnomalyWindow> windows(2);
  windows[0].begin = 10;
  windows[0].end = 15;
  windows[1].begin = 40;
  windows[1].end = 42;
  std::vector<std::uint8_t> flags(60, 0);
  flags[0] = 1;                                 // before `from`: not judged
  flags[5] = flags[6] = flags[7] = 1;           // one false alarm episode
  flags[12] = flags[13] = 1;                    // hit, delay 2
  for (int i = 14; i <= 19; ++i) flags[i] = 1;  // runs past end + tolerance (17): one false alarm
  flags[30] = 1;                                // false alarm
  // [40, 42) missed: nothing in [40, 45).
  const DetectionQuality q = EvaluateAlarms(flags, windows, 2, 3, 60);
  EXPECT_EQ(q.points, 58u);
  EXPECT_EQ(q.anomalies, 2u);
  EXPECT_EQ(q.detected, 1u);
  EXPECT_EQ(q.false_alarms, 3u);
  EXPECT_DOUBLE_EQ(q.mean_delay(), 2.0);
  EXPECT_DOUBLE_EQ(q.recall(), 0.5);
  EXPECT_DOUBLE_EQ(q.precision(), 0.25);
  EXPECT_NEAR(q.false_alarms_per_10k(), 3e4 / 58, 1e-9);
  // An alarm in the tolerance after the end is a (late) hit.
  std::vector<std::uint8_t> late(60, 0);
  late[44] = 1;
  const DetectionQuality l = EvaluateAlarms(late, windows, 0, 3, 60);
  EXPECT_EQ(l.detected, 1u);
  EXPECT_EQ(l.false_alarms, 0u);
  EXPECT_DOUBLE_EQ(l.delay_max, 4.0);
}

}  // namespace
}  // namespace meshtwin
