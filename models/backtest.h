// Rolling-origin backtests: fit on the first part of a history, then move the
// forecast origin through the rest one step at a time (refitting only on data
// before the origin), and score every horizon against what happened.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/forecaster.h"

namespace meshtwin {

struct BacktestOptions {
  double train_fraction = 0.7;   // of the history used for the first fit
  int retrain_every = 0;         // refit every N origins (0: never)
  Seconds horizon = 0;           // score only this horizon (0: all of the model's)
  bool fit = true;               // fit on the training part first (false: score the model as loaded)
  Seconds season = 0;            // season of the seasonal-naive yardstick (0: detect a day or week)
};

struct BacktestRow {
  double timestamp = 0;   // target time, UTC unix seconds
  Seconds horizon = 0;
  double actual = 0, p10 = 0, p50 = 0, p90 = 0;
};

struct ForecastMetrics {
  std::size_t n = 0;
  double mae = 0, rmse = 0, mape = 0, smape = 0;
  double mae_ratio_naive = 0;           // MAE / MAE of the last value at the same horizon
  double mae_ratio_seasonal_naive = 0;  // MAE / MAE of seasonal naive (NaN without a season)
  double pinball = 0;                   // mean pinball loss over p10, p50, p90
  double coverage = 0;                  // share of actuals within [p10, p90]
  double mae_in_events = 0;             // MAE over targets inside an event window (NaN if none)
};

struct BacktestResult {
  std::vector<BacktestRow> rows;
  std::map<Seconds, ForecastMetrics> by_horizon;
};

absl::StatusOr<BacktestResult> Backtest(Forecaster& model, const History& history,
                                        const BacktestOptions& options);

// "timestamp,horizon_s,actual,p10,p50,p90" with ISO-8601 timestamps.
std::string BacktestCsv(const std::vector<BacktestRow>& rows);

}  // namespace meshtwin
