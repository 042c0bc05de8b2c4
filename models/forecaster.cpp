#include "models/forecaster.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "models/baselines.h"
#include "models/rnn_forecaster.h"

namespace meshtwin {

namespace {

constexpr const char* kModelNames = "naive, seasonal-naive, holt-winters, lstm or gru";

// Options every forecaster relies on; checked here so that a bad --horizons
// is reported by name before any training starts.
absl::Status CheckOptions(const ForecasterOptions& options) {
  if (options.horizons.empty()) {
    return absl::InvalidArgumentError("horizons: expected at least one forecast horizon");
  }
  for (const Seconds h : options.horizons) {
    if (!std::isfinite(h) || h <= 0) {
      std::ostringstream msg;
      msg << "horizons: expected positive durations in seconds, got " << h;
      return absl::InvalidArgumentError(msg.str());
    }
  }
  if (!std::isfinite(options.season) || options.season < 0) {
    std::ostringstream msg;
    msg << "season: expected a duration in seconds (0: detect), got " << options.season;
    return absl::InvalidArgumentError(msg.str());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Forecaster>> Forecaster::FineTuned(const History&,
                                                                  const FineTuneOptions&) const {
  return absl::UnimplementedError(name() + " models are refitted, not fine-tuned");
}

History HistoryOf(const Trace& trace, std::vector<Event>* events_out) {
  events_out->clear();
  events_out->reserve(trace.events.size());
  for (Event e : trace.events) {
    // Trace time -> unix time; NaN (an instant event's end) stays NaN.
    e.start += trace.epoch;
    e.end += trace.epoch;
    e.announced += trace.epoch;
    events_out->push_back(std::move(e));
  }
  History h;
  h.values = trace.demand;
  h.step = trace.step;
  h.start_unix = trace.epoch + trace.start;
  h.events = *events_out;
  return h;
}

std::vector<Forecast> Forecaster::PredictMany(const History& full,
                                              std::span<const std::size_t> origins) const {
  std::vector<Forecast> out;
  out.reserve(origins.size());
  for (const std::size_t origin : origins) {
    // An origin past the end of the data has no history to forecast from;
    // an empty forecast says so without reading out of bounds.
    out.push_back(origin <= full.values.size() ? Predict(full.Prefix(origin)) : Forecast());
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Forecaster>> MakeForecaster(std::string_view name,
                                                           const ForecasterOptions& options) {
  MESHTWIN_RETURN_IF_ERROR(CheckOptions(options));
  if (std::unique_ptr<Forecaster> baseline = MakeBaseline(name, options)) return baseline;
  if (name == "lstm" || name == "gru") {
    if (std::unique_ptr<Forecaster> rnn = MakeRnnForecaster(name, options)) return rnn;
    return absl::UnimplementedError("model '" + std::string(name) +
                                    "' is not available in this build yet");
  }
  return absl::InvalidArgumentError("unknown model '" + std::string(name) + "' (expected " +
                                    kModelNames + ")");
}

absl::StatusOr<std::unique_ptr<Forecaster>> LoadForecaster(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(path + ": is a directory, not a meshtwin model file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path + ": cannot open for reading");

  // LibTorch archives (torch::save) are zip files; baselines are JSON. The
  // first bytes tell them apart without trusting the file name.
  char magic[4] = {};
  in.read(magic, sizeof magic);
  if (in.gcount() == 4 && std::string_view(magic, 4) == std::string_view("PK\x03\x04", 4)) {
    in.close();
    return LoadRnnForecasterFile(path);
  }
  in.clear();
  in.seekg(0);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InternalError(path + ": read error");
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return LoadBaselineFile(path, text);
  return absl::InvalidArgumentError(path + ": not a meshtwin model file");
}

}  // namespace meshtwin
