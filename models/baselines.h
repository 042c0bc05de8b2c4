// The yardsticks and fallbacks: naive (last value), seasonal naive (the value
// one season ago) and additive Holt-Winters with fitted parameters. Quantiles
// come from the empirical distribution of each horizon's in-sample errors.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "models/forecaster.h"

namespace meshtwin {

// A baseline by name (naive | seasonal-naive | holt-winters), or nullptr.
std::unique_ptr<Forecaster> MakeBaseline(std::string_view name, const ForecasterOptions& options);

// A baseline saved by Save (JSON); `path` names errors.
absl::StatusOr<std::unique_ptr<Forecaster>> LoadBaselineFile(const std::string& path,
                                                             std::string_view text);

// The dominant seasonal period among one day and one week (in seconds), by
// autocorrelation at those lags; 0 when the history is too short for either
// or neither shows (autocorrelation below 0.3).
Seconds DetectSeason(const History& history);

}  // namespace meshtwin
