// Rolling-origin backtests: fit on the first part of a history, then move the
// forecast origin through the rest one step at a time (refitting only on data
// before the origin), and score every horizon against what happened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "models/forecaster.h"

namespace meshtwin {

struct BacktestOptions {
  double train_fraction = 0.7;  // of the history used for the first fit
  int retrain_every = 0;        // refit every N origins (0: never)
  Seconds horizon = 0;          // score only this horizon (0: all of the model's)
  bool fit = true;              // fit on the training part first (false: score the model as loaded)
  Seconds season = 0;           // season of the seasonal-naive yardstick (0: detect a day or week)
};

struct BacktestRow {
  double timestamp = 0;  // target time, UTC unix seconds
  Seconds horizon = 0;
  double actual = 0, p10 = 0, p50 = 0, p90 = 0;
};

// A two-sided interval; NaN ends when it could not be estimated.
struct Interval {
  double lo = std::numeric_limits<double>::quiet_NaN();
  double hi = std::numeric_limits<double>::quiet_NaN();
};

struct ForecastMetrics {
  std::size_t n = 0;
  double mae = 0, rmse = 0, mape = 0, smape = 0;
  double mae_ratio_naive = 0;           // MAE / MAE of the last value at the same horizon
  double mae_ratio_seasonal_naive = 0;  // MAE / MAE of seasonal naive (NaN without a season)
  // 90 % intervals of the two ratios: how far they could move on another
  // stretch of the same series (RatioInterval, blocks of ratio_block targets).
  Interval mae_ratio_naive_90;
  Interval mae_ratio_seasonal_naive_90;
  std::size_t ratio_block = 0;
  double pinball = 0;        // mean pinball loss over p10, p50, p90
  double coverage = 0;       // share of actuals within [p10, p90]
  double mae_in_events = 0;  // MAE over targets inside an event window (NaN if none)
};

struct BacktestResult {
  std::vector<BacktestRow> rows;
  std::map<Seconds, ForecastMetrics> by_horizon;
};

absl::StatusOr<BacktestResult> Backtest(Forecaster& model, const History& history,
                                        const BacktestOptions& options);

// Moving-block bootstrap interval of sum(model_abs) / sum(reference_abs)
// over paired, time-ordered absolute errors: resamples of ceil(n / block)
// blocks of `block` consecutive pairs, drawn with replacement (forecast
// errors of neighbouring targets are correlated, so single pairs would give
// intervals far too narrow), and the (1 - level) / 2 and (1 + level) / 2
// quantiles of the resampled ratios. Deterministic for a seed. NaN ends
// when there are fewer than two blocks of pairs.
Interval RatioInterval(std::span<const double> model_abs, std::span<const double> reference_abs,
                       std::size_t block, double level = 0.9, int resamples = 2000,
                       std::uint64_t seed = 1);

// The block length a backtest uses for a horizon of `steps` steps and n
// scored targets: at least twice the horizon (errors of targets whose
// forecast windows overlap are correlated) and at least n^(1/3), the usual
// rate for a block bootstrap of a mean.
std::size_t RatioBlock(std::size_t steps, std::size_t n);

// "timestamp,horizon_s,actual,p10,p50,p90" with ISO-8601 timestamps.
std::string BacktestCsv(const std::vector<BacktestRow>& rows);

}  // namespace meshtwin
