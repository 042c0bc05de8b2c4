// Demand forecasters behind one interface: baselines (naive, seasonal naive,
// Holt-Winters) and LSTM/GRU networks on LibTorch. A forecaster is fitted on
// a demand history and then predicts several horizons at once, with p10/p50/p90
// quantiles, from any later history.
//
//   absl::StatusOr<std::unique_ptr<Forecaster>> f = MakeForecaster("holt-winters", {});
//   (*f)->Fit(history);                  // history: samples up to now
//   Forecast fc = (*f)->Predict(recent); // origin = the end of `recent`
//
// No LibTorch type appears in this header: only models/*.cpp pay its
// compile time.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/trace.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

// A demand history: regular samples [0, values.size()) ending at the forecast
// origin. Sample i covers [start_unix + i*step, start_unix + (i+1)*step).
// NaN = missing. `events` hold absolute times (UTC unix seconds); a
// forecaster must only use events with announced <= origin().
struct History {
  std::span<const double> values;
  Seconds step = 60;
  double start_unix = 0;
  std::span<const Event> events;

  double origin() const { return start_unix + step * static_cast<double>(values.size()); }
  // The first `n` samples (a history whose origin is n steps after the start).
  History Prefix(std::size_t n) const {
    History h = *this;
    h.values = values.first(n);
    return h;
  }
};

// A trace as a History (events converted to absolute times into `events_out`,
// which must outlive the result).
History HistoryOf(const Trace& trace, std::vector<Event>* events_out);

struct ForecasterOptions {
  std::vector<Seconds> horizons = {300, 1800, 7200};  // 5 min, 30 min, 2 h
  Seconds season = 0;  // seasonal period; 0 = detect (daily or weekly) from the data
  std::uint64_t seed = 1;
  bool use_events = true;  // LSTM/GRU: event covariates
  // LSTM/GRU: "rich" (calendar inputs, freely trained), "lean" (no calendar
  // inputs, weight decay) or "auto" (train both, keep lean unless rich
  // validates 5 % better); models/README.md.
  std::string variant = "auto";
  int epochs = 30;       // LSTM/GRU: upper bound (early stopping ends sooner)
  int threads = 0;       // LibTorch threads; 0 = all cores, 1 = deterministic
  bool verbose = false;  // progress to stderr (train command)
};

// Adapting a fitted model to recent data after a drift alarm
// (models/forecast_pipeline.h). The history given is the past up to the
// held-out slice: nothing after it is seen.
struct FineTuneOptions {
  std::size_t first_origin = 0;  // training windows start here (the retrain window)
  std::size_t recent_from = 0;   // windows whose first target is at or after this: the new regime
  double recent_share = 0.5;     // of each epoch's windows, drawn from the new regime's,
  int recent_repeat = 4;         // but each of those at most this often per epoch
  int epochs = 4;                // passes of `windows_per_epoch`; no early stopping
  std::size_t windows_per_epoch = 2048;
  double learning_rate = 3e-4;  // below a fresh fit's: a nudge, not a new model
};

class Forecaster {
 public:
  virtual ~Forecaster() = default;
  // "naive", "seasonal-naive", "holt-winters", "lstm", "gru".
  virtual std::string name() const = 0;
  virtual const std::vector<Seconds>& horizons() const = 0;
  // The step the forecaster was fitted at (histories must use it).
  virtual Seconds step() const = 0;

  // Fits on `history` (all of it may be used: it is the past).
  virtual absl::Status Fit(const History& history) = 0;
  // Predicts every horizon from the end of `history`. Deterministic.
  virtual Forecast Predict(const History& history) const = 0;
  // Predicts from each origin in `origins` (sample counts into `full`), as
  // if `full` ended there. Networks batch this; the default loops Predict.
  virtual std::vector<Forecast> PredictMany(const History& full,
                                            std::span<const std::size_t> origins) const;

  // One file with the parameters and metadata (see models/README.md).
  virtual absl::Status Save(const std::string& path) const = 0;

  // A copy of this fitted model, further trained on `history` from its
  // current parameters (a network keeps its normalisation and continues from
  // its weights, so what it learnt from older data, e.g. events, survives a
  // quiet recent week). Deterministic for a given seed. Unimplemented for
  // models that have nothing to keep (the baselines refit instead).
  virtual absl::StatusOr<std::unique_ptr<Forecaster>> FineTuned(
      const History& history, const FineTuneOptions& options) const;
  // True when FineTuned is implemented (LSTM/GRU).
  virtual bool fine_tunable() const { return false; }
  // What the last Fit chose, for people (a network: its variant, the
  // candidates' validation losses and the best epoch); empty if nothing.
  virtual std::string fit_summary() const { return {}; }
};

// A fresh forecaster by name: naive | seasonal-naive | holt-winters | lstm | gru.
absl::StatusOr<std::unique_ptr<Forecaster>> MakeForecaster(std::string_view name,
                                                           const ForecasterOptions& options);

// A fitted forecaster from a model file written by Save (any kind). A corrupt
// file or another format version is InvalidArgument naming the file.
absl::StatusOr<std::unique_ptr<Forecaster>> LoadForecaster(const std::string& path);

}  // namespace meshtwin
