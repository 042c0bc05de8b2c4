// LSTM and GRU forecasters on LibTorch (CPU): a short window of recent demand
// plus daily/weekly lag, calendar and event features in, all horizons' p10,
// p50 and p90 out (quantile loss). The LibTorch types stay in the .cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "models/forecaster.h"

namespace meshtwin {

// arch: "lstm" or "gru"; nullptr for anything else.
std::unique_ptr<Forecaster> MakeRnnForecaster(std::string_view arch,
                                              const ForecasterOptions& options);

// A network saved by Save; another format version or a corrupt file is
// InvalidArgument naming the file.
absl::StatusOr<std::unique_ptr<Forecaster>> LoadRnnForecasterFile(const std::string& path);

}  // namespace meshtwin
