#include "models/baselines.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/backtest.h"
#include "models/forecaster.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kNoon = 1709294400;  // 2024-03-01T12:00:00Z
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDay = 86400;

History HistoryFor(const std::vector<double>& v, Seconds step, double start = kNoon) {
  History h;
  h.values = v;
  h.step = step;
  h.start_unix = start;
  return h;
}

std::unique_ptr<Forecaster> Make(std::string_view name, std::vector<Seconds> horizons,
                                 Seconds season = 0) {
  ForecasterOptions o;
  o.horizons = std::move(horizons);
  o.season = season;
  absl::StatusOr<std::unique_ptr<Forecaster>> f = MakeForecaster(name, o);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? std::move(*f) : nullptr;
}

// 100 + 50 sin(2 pi t / day) (+ slope * i) at `step`, n samples.
std::vector<double> DailySine(std::size_t n, Seconds step, double slope = 0, double noise = 0,
                              std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0, 1);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) * step;
    v[i] = 100 + 50 * std::sin(2 * std::numbers::pi * t / kDay) + slope * static_cast<double>(i) +
           noise * gauss(rng);
  }
  return v;
}

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("meshtwin_baselines_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(HistoryOf, ConvertsTraceTimeToUnixTime) {
  Trace trace;
  trace.start = 120;
  trace.step = 30;
  trace.epoch = kNoon;
  trace.demand = {1, 2, 3};
  Event instant;
  instant.start = 60;
  instant.announced = 0;
  instant.category = "news";
  Event window;
  window.start = 100;
  window.end = 400;
  window.announced = 50;
  trace.events = {instant, window};
  std::vector<Event> events;
  const History h = HistoryOf(trace, &events);
  EXPECT_EQ(h.values.data(), trace.demand.data());
  EXPECT_EQ(h.values.size(), 3u);
  EXPECT_EQ(h.step, 30);
  EXPECT_EQ(h.start_unix, kNoon + 120);
  EXPECT_EQ(h.origin(), kNoon + 120 + 90);
  ASSERT_EQ(h.events.size(), 2u);
  EXPECT_EQ(h.events[0].start, kNoon + 60);
  EXPECT_TRUE(std::isnan(h.events[0].end));
  EXPECT_EQ(h.events[0].announced, kNoon);
  EXPECT_EQ(h.events[0].category, "news");
  EXPECT_EQ(h.events[1].start, kNoon + 100);
  EXPECT_EQ(h.events[1].end, kNoon + 400);
  EXPECT_EQ(h.events[1].announced, kNoon + 50);
}

TEST(MakeForecaster, KnowsTheBaselinesAndRejectsOtherNames) {
  for (const char* name : {"naive", "seasonal-naive", "holt-winters"}) {
    absl::StatusOr<std::unique_ptr<Forecaster>> f = MakeForecaster(name, {});
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ((*f)->name(), name);
    EXPECT_EQ((*f)->horizons(), (std::vector<Seconds>{300, 1800, 7200}));
  }
  absl::StatusOr<std::unique_ptr<Forecaster>> bad = MakeForecaster("arima", {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(bad.status()),
              HasSubstr("unknown model 'arima' (expected naive, seasonal-naive, holt-winters, "
                        "lstm or gru)"));
  // The networks arrive separately: until then they are Unimplemented.
  absl::StatusOr<std::unique_ptr<Forecaster>> lstm = MakeForecaster("lstm", {});
  if (!lstm.ok()) {
    EXPECT_EQ(lstm.status().code(), absl::StatusCode::kUnimplemented);
  }

  ForecasterOptions none;
  none.horizons = {};
  EXPECT_EQ(MakeForecaster("naive", none).status().code(), absl::StatusCode::kInvalidArgument);
  ForecasterOptions negative;
  negative.horizons = {300, -60};
  EXPECT_THAT(ErrorText(MakeForecaster("naive", negative).status()), HasSubstr("horizons"));
}

TEST(Naive, PredictsTheLastKnownValueAtEveryHorizon) {
  std::unique_ptr<Forecaster> f = Make("naive", {60, 120});
  // A constant: no in-sample error, so all quantiles are the point forecast.
  const std::vector<double> flat(6, 5.0);
  ASSERT_TRUE(f->Fit(HistoryFor(flat, 60)).ok());
  EXPECT_EQ(f->step(), 60);
  const std::vector<double> recent = {1, 2, kNaN};
  const Forecast fc = f->Predict(HistoryFor(recent, 60));
  EXPECT_EQ(fc.horizons, (std::vector<Seconds>{60, 120}));
  EXPECT_EQ(fc.p10, (std::vector<double>{2, 2}));
  EXPECT_EQ(fc.p50, (std::vector<double>{2, 2}));
  EXPECT_EQ(fc.p90, (std::vector<double>{2, 2}));
}

TEST(Naive, QuantilesAreTheInSampleErrorQuantiles) {
  std::unique_ptr<Forecaster> f = Make("naive", {60});
  // Horizon 60 s = 1 step: from origin o (samples before o known) the target
  // is y[o], the sample ending one step after the origin, and the forecast
  // y[o - 1]. Errors for o = 1..7: -2, 3, -3, 4, 4, -7, 4. Sorted
  // -7 -3 -2 3 4 4 4, linearly interpolated: p10 = -7 + 0.6 * 4 = -4.6,
  // p50 = 3, p90 = 4.
  const std::vector<double> y = {3, 1, 4, 1, 5, 9, 2, 6};
  ASSERT_TRUE(f->Fit(HistoryFor(y, 60)).ok());
  const Forecast fc = f->Predict(HistoryFor(y, 60));
  EXPECT_NEAR(fc.p10[0], 6 - 4.6, 1e-12);
  EXPECT_DOUBLE_EQ(fc.p50[0], 6 + 3);
  EXPECT_DOUBLE_EQ(fc.p90[0], 6 + 4);
  // Never below zero: 1 - 4.6 is clamped.
  const std::vector<double> low = {1};
  const Forecast clamped = f->Predict(HistoryFor(low, 60));
  EXPECT_EQ(clamped.p10[0], 0);
  EXPECT_DOUBLE_EQ(clamped.p50[0], 4);
}

TEST(Naive, UnfittedOrOtherStepOrNoDataGivesNoForecast) {
  std::unique_ptr<Forecaster> f = Make("naive", {60});
  const std::vector<double> y = {1, 2, 3, 4};
  EXPECT_TRUE(f->Predict(HistoryFor(y, 60)).empty());
  ASSERT_TRUE(f->Fit(HistoryFor(y, 60)).ok());
  EXPECT_TRUE(f->Predict(HistoryFor(y, 30)).empty());
  const std::vector<double> missing = {kNaN, kNaN};
  EXPECT_TRUE(f->Predict(HistoryFor(missing, 60)).empty());
}

TEST(Fit, AFailedRefitKeepsThePreviousFit) {
  std::unique_ptr<Forecaster> f = Make("holt-winters", {300, 1800});
  const std::vector<double> y = DailySine(3 * 288, 300, 0, 3);
  ASSERT_TRUE(f->Fit(HistoryFor(y, 300)).ok());
  const Forecast before = f->Predict(HistoryFor(y, 300));
  const std::vector<double> missing(1000, kNaN);
  EXPECT_FALSE(f->Fit(HistoryFor(missing, 300)).ok());
  EXPECT_FALSE(f->Fit(HistoryFor(y, 7)).ok());  // horizons off the step
  EXPECT_EQ(f->step(), 300);
  const Forecast after = f->Predict(HistoryFor(y, 300));
  EXPECT_EQ(after.p50, before.p50);
  EXPECT_EQ(after.p90, before.p90);
}

TEST(Fit, RejectsHorizonsOffTheStepAndEmptyData) {
  std::unique_ptr<Forecaster> f = Make("naive", {90});
  const std::vector<double> y = {1, 2, 3, 4};
  absl::Status s = f->Fit(HistoryFor(y, 60));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(s),
              HasSubstr("horizon 90 s is not a positive multiple of the step (60 s)"));
  std::unique_ptr<Forecaster> g = Make("holt-winters", {60});
  const std::vector<double> missing = {kNaN, kNaN, kNaN};
  EXPECT_EQ(g->Fit(HistoryFor(missing, 60)).code(), absl::StatusCode::kInvalidArgument);
  // Too short to see a single error at the horizon.
  std::unique_ptr<Forecaster> h = Make("naive", {600});
  EXPECT_THAT(ErrorText(h->Fit(HistoryFor(y, 60))), HasSubstr("too short"));
}

TEST(SeasonalNaive, PredictsTheValueOneSeasonBeforeTheTarget) {
  // Season 4 steps. Fitted on a pure repetition (no in-sample error), so
  // p50 is the point forecast itself.
  std::unique_ptr<Forecaster> f = Make("seasonal-naive", {60, 180, 300}, 240);
  const std::vector<double> periodic = {10, 20, 30, 40, 10, 20, 30, 40, 10, 20, 30, 40};
  ASSERT_TRUE(f->Fit(HistoryFor(periodic, 60)).ok());
  // Origin 12: horizon 1 step targets sample 12 (phase 0) -> y[8];
  // 3 steps -> sample 14 (phase 2) -> y[10]; 5 steps -> sample 16, whose
  // sample one season back (12) is not known yet, so two seasons -> y[8].
  std::vector<double> y = {10, 20, 30, 40, 11, 21, 31, 41, 12, 22, 32, 42};
  Forecast fc = f->Predict(HistoryFor(y, 60));
  EXPECT_EQ(fc.p50, (std::vector<double>{12, 32, 12}));
  EXPECT_EQ(fc.p10, fc.p50);
  EXPECT_EQ(fc.p90, fc.p50);
  // A missing sample: the same phase one more season back.
  y[8] = kNaN;
  fc = f->Predict(HistoryFor(y, 60));
  EXPECT_EQ(fc.p50, (std::vector<double>{11, 32, 11}));
}

TEST(SeasonalNaive, PredictsAPureDailySineExactly) {
  std::unique_ptr<Forecaster> f = Make("seasonal-naive", {300, 1800, 7200});
  const std::vector<double> y = DailySine(4 * 288, 300);
  const History full = HistoryFor(y, 300);
  ASSERT_TRUE(f->Fit(full.Prefix(3 * 288)).ok());  // season detected: one day
  for (const std::size_t origin : {3 * 288, 3 * 288 + 17, 4 * 288 - 25}) {
    const Forecast fc = f->Predict(full.Prefix(origin));
    ASSERT_EQ(fc.p50.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
      const std::size_t target = origin + static_cast<std::size_t>(fc.horizons[k] / 300) - 1;
      const double truth =
          100 + 50 * std::sin(2 * std::numbers::pi * static_cast<double>(target) * 300 / kDay);
      EXPECT_NEAR(fc.p50[k], truth, 1e-9) << "origin " << origin << " horizon " << fc.horizons[k];
      EXPECT_NEAR(fc.p10[k], truth, 1e-9);
      EXPECT_NEAR(fc.p90[k], truth, 1e-9);
    }
  }
}

TEST(SeasonalNaive, NeedsASeasonAndOneSeasonOfHistory) {
  std::unique_ptr<Forecaster> explicit_season = Make("seasonal-naive", {300}, kDay);
  const std::vector<double> short_history = DailySine(200, 300);
  absl::Status s = explicit_season->Fit(HistoryFor(short_history, 300));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(s), HasSubstr("shorter than one season (288 samples)"));

  std::mt19937_64 rng(3);
  std::normal_distribution<double> gauss(100, 10);
  std::vector<double> noise(3000);
  for (double& v : noise) v = gauss(rng);
  std::unique_ptr<Forecaster> detect = Make("seasonal-naive", {300});
  s = detect->Fit(HistoryFor(noise, 300));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(s), HasSubstr("no daily or weekly season"));
}

TEST(DetectSeason, FindsADailyPattern) {
  const std::vector<double> y = DailySine(3 * 288, 300, 0, 10);
  EXPECT_EQ(DetectSeason(HistoryFor(y, 300)), 86400);
  // A strong trend on top does not hide it.
  const std::vector<double> trending = DailySine(14 * 288, 300, 0.5, 10);
  EXPECT_EQ(DetectSeason(HistoryFor(trending, 300)), 86400);
}

TEST(DetectSeason, FindsAWeeklyPattern) {
  // Hourly: busy weekdays, quiet weekends, a small daily swing and noise.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> gauss(0, 3);
  std::vector<double> y(4 * 168);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t day = (i / 24) % 7;
    y[i] = (day >= 5 ? 40 : 100) +
           30 * std::sin(2 * std::numbers::pi * static_cast<double>(i % 24) / 24) + gauss(rng);
  }
  EXPECT_EQ(DetectSeason(HistoryFor(y, 3600)), 604800);
  // Two weeks are the minimum for a weekly season; with less, the day wins.
  const std::vector<double> shorter(y.begin(), y.begin() + 13 * 24);
  EXPECT_EQ(DetectSeason(HistoryFor(shorter, 3600)), 86400);
}

TEST(DetectSeason, FindsNothingInNoiseLinesOrShortHistories) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> gauss(100, 10);
  std::vector<double> noise(5 * 288);
  for (double& v : noise) v = gauss(rng);
  EXPECT_EQ(DetectSeason(HistoryFor(noise, 300)), 0);
  std::vector<double> line(5 * 288);
  for (std::size_t i = 0; i < line.size(); ++i) line[i] = 3 + 0.25 * static_cast<double>(i);
  EXPECT_EQ(DetectSeason(HistoryFor(line, 300)), 0);
  const std::vector<double> one_day = DailySine(288, 300);
  EXPECT_EQ(DetectSeason(HistoryFor(one_day, 300)), 0);
  const std::vector<double> constant(1000, 4.0);
  EXPECT_EQ(DetectSeason(HistoryFor(constant, 300)), 0);
}

TEST(HoltWinters, IsNearExactOnANoiselessTrendPlusDailySineAndBeatsNaive) {
  std::unique_ptr<Forecaster> f = Make("holt-winters", {300, 1800, 7200});
  const std::vector<double> y = DailySine(10 * 288, 300, 0.05);
  absl::StatusOr<BacktestResult> r = Backtest(*f, HistoryFor(y, 300), {});
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& [h, m] : r->by_horizon) {
    EXPECT_LT(m.mae, 1e-6) << "horizon " << h;
    EXPECT_LT(m.mae_ratio_naive, 1e-6) << "horizon " << h;
  }
  EXPECT_LT(r->by_horizon.at(7200).mae_ratio_naive, 0.01);
}

TEST(HoltWinters, FallsBackToHoltsLinearTrendWithoutASeason) {
  std::unique_ptr<Forecaster> f = Make("holt-winters", {60, 600});
  std::vector<double> y(500);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 10 + 2 * static_cast<double>(i);
  ASSERT_TRUE(f->Fit(HistoryFor(y, 60)).ok());
  const Forecast fc = f->Predict(HistoryFor(y, 60));
  // Origin 500: 1 step ahead is sample 500, 10 steps sample 509.
  EXPECT_NEAR(fc.p50[0], 10 + 2 * 500, 1e-3);
  EXPECT_NEAR(fc.p50[1], 10 + 2 * 509, 1e-3);
}

TEST(HoltWinters, PredictManyMatchesPredictOnEachPrefix) {
  // Noise, a trend and gaps; origins before, inside and after the two-season
  // initialisation window, unsorted, plus one past the end.
  std::vector<double> y = DailySine(5 * 288, 300, 0.02, 5, 11);
  for (std::size_t i = 400; i < 420; ++i) y[i] = kNaN;
  std::unique_ptr<Forecaster> f = Make("holt-winters", {300, 1800, 7200});
  const History full = HistoryFor(y, 300);
  ASSERT_TRUE(f->Fit(full.Prefix(3 * 288)).ok());
  const std::vector<std::size_t> origins = {1000, 10,  287, 288,  300,  575,
                                            576,  577, 410, 1440, 1200, 1441};
  const std::vector<Forecast> many = f->PredictMany(full, origins);
  ASSERT_EQ(many.size(), origins.size());
  for (std::size_t i = 0; i < origins.size(); ++i) {
    if (origins[i] > y.size()) {
      EXPECT_TRUE(many[i].empty());
      continue;
    }
    const Forecast one = f->Predict(full.Prefix(origins[i]));
    EXPECT_EQ(many[i].p10, one.p10) << "origin " << origins[i];
    EXPECT_EQ(many[i].p50, one.p50) << "origin " << origins[i];
    EXPECT_EQ(many[i].p90, one.p90) << "origin " << origins[i];
  }
  // Less than a season: nothing to start from.
  EXPECT_TRUE(many[1].empty());
  EXPECT_FALSE(many[3].empty());
}

TEST(ModelFile, RoundTripGivesIdenticalPredictions) {
  TempDir dir;
  const std::vector<double> y = DailySine(6 * 288, 300, 0.01, 4, 13);
  const History full = HistoryFor(y, 300);
  for (const char* name : {"naive", "seasonal-naive", "holt-winters"}) {
    std::unique_ptr<Forecaster> f = Make(name, {300, 1800, 7200});
    ASSERT_TRUE(f->Fit(full.Prefix(4 * 288)).ok()) << name;
    const std::string path = dir.File(std::string(name) + ".json");
    ASSERT_TRUE(f->Save(path).ok()) << name;
    EXPECT_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));
    absl::StatusOr<std::unique_ptr<Forecaster>> loaded = LoadForecaster(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->name(), name);
    EXPECT_EQ((*loaded)->horizons(), f->horizons());
    EXPECT_EQ((*loaded)->step(), 300);
    for (const std::size_t origin : {4 * 288, 5 * 288 + 7, 6 * 288}) {
      const Forecast a = f->Predict(full.Prefix(origin));
      const Forecast b = (*loaded)->Predict(full.Prefix(origin));
      ASSERT_FALSE(a.empty());
      EXPECT_EQ(a.p10, b.p10) << name;
      EXPECT_EQ(a.p50, b.p50) << name;
      EXPECT_EQ(a.p90, b.p90) << name;
    }
  }
  const std::string text = ReadAll(dir.File("holt-winters.json"));
  EXPECT_THAT(text, HasSubstr("\"format\": \"meshtwin-model\""));
  EXPECT_THAT(text, HasSubstr("\"format_version\": 1"));
  EXPECT_THAT(text, HasSubstr("\"season\": 86400"));
  EXPECT_THAT(text, HasSubstr("\"alpha\""));
  EXPECT_THAT(text, HasSubstr("\"residual_quantiles\""));
}

TEST(ModelFile, UnfittedModelCannotBeSaved) {
  TempDir dir;
  std::unique_ptr<Forecaster> f = Make("naive", {300});
  EXPECT_EQ(f->Save(dir.File("m.json")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(dir.File("m.json")));
  const std::vector<double> y = {1, 2, 3};
  ASSERT_TRUE(f->Fit(HistoryFor(y, 300)).ok());
  EXPECT_EQ(f->Save(dir.File("no/such/dir/m.json")).code(), absl::StatusCode::kNotFound);
}

TEST(ModelFile, MissingCorruptAndOtherVersionFilesAreRefused) {
  TempDir dir;
  const std::string missing = dir.File("missing.json");
  absl::StatusOr<std::unique_ptr<Forecaster>> r = LoadForecaster(missing);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorText(r.status()), missing + ": no such file");

  const std::string garbage = dir.File("garbage.bin");
  WriteAll(garbage, "hello, world");
  r = LoadForecaster(garbage);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorText(r.status()), garbage + ": not a meshtwin model file");
  WriteAll(garbage, "");
  EXPECT_EQ(LoadForecaster(garbage).status().code(), absl::StatusCode::kInvalidArgument);

  const std::string truncated = dir.File("truncated.json");
  WriteAll(truncated, "{\"format\": \"meshtwin-model\", \"format_");
  r = LoadForecaster(truncated);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(r.status()), StartsWith(truncated + ": not a meshtwin model file"));

  // A valid file, then one field broken at a time.
  std::unique_ptr<Forecaster> f = Make("holt-winters", {300, 1800});
  const std::vector<double> y = DailySine(3 * 288, 300, 0, 3);
  ASSERT_TRUE(f->Fit(HistoryFor(y, 300)).ok());
  const std::string good_path = dir.File("good.json");
  ASSERT_TRUE(f->Save(good_path).ok());
  const std::string good = ReadAll(good_path);
  const auto broken = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    const std::string path = dir.File("m.json");
    WriteAll(path, text);
    return LoadForecaster(path).status();
  };
  const std::string m = dir.File("m.json");
  absl::Status s = broken("\"format_version\": 1", "\"format_version\": 2");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorText(s), m + ": format_version 2 is not supported (this build reads version 1)");
  s = broken("\"format\": \"meshtwin-model\"", "\"format\": \"other\"");
  EXPECT_THAT(ErrorText(s), StartsWith(m + ": format: expected \"meshtwin-model\""));
  s = broken("\"alpha\": ", "\"alpha\": 1.5, \"was\": ");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorText(s), m + ": alpha: expected a number in [0,1], got 1.5");
  s = broken("\"beta\": ", "\"beta\": \"x\", \"was\": ");
  EXPECT_THAT(ErrorText(s), StartsWith(m + ": beta: expected a number in [0,1]"));
  s = broken("\"gamma\": ", "\"not_gamma\": ");
  EXPECT_EQ(ErrorText(s), m + ": gamma: missing (expected a number in [0,1])");
  s = broken("\"kind\": \"holt-winters\"", "\"kind\": \"arima\"");
  EXPECT_THAT(ErrorText(s),
              StartsWith(m + ": kind: expected naive, seasonal-naive or holt-winters"));
  s = broken("\"step\": 300", "\"step\": -300");
  EXPECT_THAT(ErrorText(s), StartsWith(m + ": step: expected a positive number of seconds"));
  s = broken("\"horizons\": [", "\"horizons\": [450, ");
  EXPECT_THAT(ErrorText(s), StartsWith(m + ": horizons[0]: expected a positive multiple"));
  s = broken("\"season\": 86400", "\"season\": 400");
  EXPECT_THAT(ErrorText(s), StartsWith(m + ": season: expected 0 or at least two steps"));
  s = broken("\"p10\": [", "\"p10\": [1, ");
  EXPECT_THAT(ErrorText(s),
              StartsWith(m + ": residual_quantiles.p10: expected an array of 2 numbers"));
  s = broken("\"training_samples\": ", "\"training_samples\": 1.5, \"was\": ");
  EXPECT_THAT(ErrorText(s), StartsWith(m + ": training_samples: expected a whole number"));
  // And the file itself still loads.
  EXPECT_TRUE(LoadForecaster(good_path).ok());
}

}  // namespace
}  // namespace meshtwin
