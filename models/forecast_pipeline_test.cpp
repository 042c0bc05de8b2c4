#include "models/forecast_pipeline.h"

#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

namespace meshtwin {
namespace {

constexpr Seconds kStep = 300;
constexpr double kDay = 86400;
constexpr double kSeason = 6 * 3600;  // a short season keeps the test quick

// A 6-hourly sine around 1,000 requests/s; from `change` on, the level jumps
// to 2,500 and the shape flips: a regime change.
double Demand(Seconds t, Seconds change) {
  const double phase = 2 * std::numbers::pi * t / kSeason;
  if (t < change) return 1000 + 300 * std::sin(phase);
  return 2500 + 300 * std::sin(phase + std::numbers::pi);
}

ForecasterOptions HwOptions() {
  ForecasterOptions o;
  o.horizons = {kStep, 1800};
  o.season = kSeason;
  return o;
}

// Fits Holt-Winters on the first day (four seasons) of the series.
std::unique_ptr<Forecaster> FittedModel(Seconds change) {
  std::vector<double> values;
  for (Seconds t = 0; t < kDay; t += kStep) values.push_back(Demand(t + kStep / 2, change));
  History h;
  h.values = values;
  h.step = kStep;
  absl::StatusOr<std::unique_ptr<Forecaster>> m = MakeForecaster("holt-winters", HwOptions());
  EXPECT_TRUE(m.ok());
  const absl::Status fit = (*m)->Fit(h);
  EXPECT_TRUE(fit.ok()) << fit;
  return *std::move(m);
}

Observation Obs(Seconds now, double demand) {
  Observation o;
  o.now = now;
  o.interval = kStep;
  o.demand_rps = demand;
  return o;
}

// A naive (last value) model at 300 s with horizons 5 and 30 min.
std::unique_ptr<Forecaster> NaiveModel() {
  ForecasterOptions o;
  o.horizons = {kStep, 1800};
  std::unique_ptr<Forecaster> m = *MakeForecaster("naive", o);
  std::vector<double> values(48, 1000.0);
  History h;
  h.values = values;
  h.step = kStep;
  EXPECT_TRUE(m->Fit(h).ok());
  return m;
}

TEST(ForecastPipeline, ForecastsOnceItHasHistoryWithHorizonsFromNow) {
  ForecastPipelineOptions options;
  options.min_history = 12;
  ForecastPipeline p(NaiveModel(), options, nullptr, 0, {});
  for (int i = 1; i < 12; ++i) EXPECT_TRUE(p.Predict(Obs(i * kStep, 1000)).empty());
  Forecast f = p.Predict(Obs(12 * kStep, 1000));
  ASSERT_EQ(f.horizons, (std::vector<Seconds>{kStep, 1800}));
  ASSERT_EQ(f.p50.size(), 2u);
  EXPECT_LE(f.p10[0], f.p50[0]);
  EXPECT_LE(f.p50[0], f.p90[0]);
  EXPECT_EQ(p.records().size(), 1u);
}

TEST(ForecastPipeline, TicksShorterThanTheStepAreAveragedIntoSamples) {
  ForecastPipelineOptions options;
  options.min_history = 1;
  ForecastPipeline p(NaiveModel(), options, nullptr, 0, {});
  // Twenty 15 s ticks make one 300 s sample; the forecast then ages with `now`.
  Observation o;
  o.interval = 15;
  for (int i = 1; i <= 20; ++i) {
    o.now = 15 * i;
    o.demand_rps = i <= 10 ? 900 : 1100;
    Forecast f = p.Predict(o);
    EXPECT_EQ(f.empty(), i < 20) << i;
    // The one sample is the tick average: the naive forecast repeats it.
    if (i == 20) {
      EXPECT_NEAR(f.p50[0], 1000, 1e-9);
    }
  }
  o.now = 315;
  Forecast later = p.Predict(o);
  ASSERT_FALSE(later.empty());
  EXPECT_DOUBLE_EQ(later.horizons[0], kStep - 15);
}

TEST(ForecastPipeline, ARegimeChangeFiresARetrainAndTheErrorComesBackDown) {
  const Seconds change = 1.5 * kDay;
  ForecastPipelineOptions options;
  options.min_history = 72;   // 6 h
  options.min_train = 180;    // 15 h: Holt-Winters needs two 6 h seasons and then some
  options.retrain_window = kDay;
  options.retrain_cooldown = 2 * 3600;
  ForecastPipeline p(FittedModel(change), options,
                     [] { return *MakeForecaster("holt-winters", HwOptions()); }, 0, {});
  double worst_after_change = 0;
  for (Seconds t = kStep; t <= 3 * kDay; t += kStep) {
    p.Predict(Obs(t, Demand(t - kStep / 2, change)));
    if (t > change && std::isfinite(p.recent_mae())) {
      worst_after_change = std::max(worst_after_change, p.recent_mae());
    }
    if (t == change) {
      // Before the change the model tracks the sine; no retrain was needed.
      EXPECT_TRUE(p.retrains().empty());
    }
  }
  ASSERT_FALSE(p.retrains().empty()) << "drift went unnoticed";
  const RetrainRecord& r = p.retrains().front();
  EXPECT_GT(r.time, change);
  EXPECT_LT(r.time, change + kDay);
  EXPECT_TRUE(r.accepted);
  EXPECT_LT(r.new_mae, r.old_mae);
  // Cool-down: never two retrains within 2 h.
  for (std::size_t i = 1; i < p.retrains().size(); ++i) {
    EXPECT_GE(p.retrains()[i].time - p.retrains()[i - 1].time, options.retrain_cooldown);
  }
  // The error at the end is a fraction of the worst after the change, and the
  // model is back below the naive baseline's error.
  EXPECT_LT(p.recent_mae(), 0.25 * worst_after_change);
  EXPECT_LT(p.recent_mae(), p.recent_naive_mae());
  // Once the model is good again, retraining stops.
  EXPECT_LT(p.retrains().back().time, 2.5 * kDay);
}

}  // namespace
}  // namespace meshtwin
