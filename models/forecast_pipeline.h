// Forecasts in the control loop: turns the per-tick observations into the
// forecaster's history, asks it for a forecast every time a sample completes,
// scores past forecasts as their targets arrive, watches the model's error
// against the naive baseline's (a Page-Hinkley test for a sudden change, and a
// ceiling on the rolling error ratio for a model that stays worse), and then
// retrains on recent data, keeping the new model only if it does better than
// the old one on a held-out slice of the most recent data. A network (LSTM/GRU)
// is fine-tuned from its own weights on the retrain window, the data since the
// alarm weighted; a baseline is refitted on the data since the alarm
// (models/README.md, "Retraining on drift").
//
// In simulation the retrain runs between two ticks: decisions of the tick
// that found the drift still use the old model. Not thread-safe.
//
//   ForecastPipeline p(std::move(model), options, factory, epoch, events);
//   ControlLoop loop(metrics, &p, policy, actuator);
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/drift.h"
#include "models/forecaster.h"
#include "twin/policy.h"

namespace meshtwin {

struct ForecastPipelineOptions {
  std::size_t min_history = 0;    // samples before the first forecast (0: one day's worth)
  bool fit_on_warmup = false;     // the model arrives unfitted: fit it on the first min_history
  Seconds step = 0;               // sample step (0: the model's own; required when unfitted)
  std::size_t history_limit = 0;  // samples kept (0: fifteen days' worth)
  std::size_t min_train = 0;  // baselines: samples after an alarm before refitting (0: min_history)
  std::size_t error_window = 60;  // samples in the rolling error
  bool retrain = true;
  Seconds retrain_cooldown = 6 * 3600;  // no second retrain sooner than this
  Seconds retrain_window = 7 * 86400;   // recent data a retrain fits on (networks: fine-tune on)
  double validation_fraction = 0.2;     // baselines: of the data since the alarm, held out
  Seconds retrain_after = 3 * 3600;     // networks: data since the alarm before fine-tuning;
                                        // its last half is held out to compare the models
  FineTuneOptions fine_tune;            // networks: epochs, weighting (positions are set here)
  double max_error_ratio = 1.5;         // also retrain while rolling MAE > this x naive's
  double drift_delta = 0.05;            // Page-Hinkley: tolerated increase (relative error)
  double drift_lambda = 3.0;            // Page-Hinkley: alarm threshold
  int drift_min_samples = 60;
  // Scale each forecast whose target lies inside an announced event by the
  // event's magnitude (a demand multiplier, as the synthetic spikes and most
  // feeds state it) relative to the multiplier in effect at the origin: the
  // model's forecast carries the origin's level, the event says how the
  // target's differs. Events announced after the origin are not used.
  bool event_magnitude = false;
};

// One retrain, as recorded in results.h5.
struct RetrainRecord {
  Seconds time = 0;         // run time it happened
  std::size_t samples = 0;  // training samples used
  double old_mae = 0;       // held-out MAE (p50, mean over horizons) of the model in use
  double new_mae = 0;       // the same for the retrained model
  bool accepted = false;    // the new model replaced the old one
  std::string reason;
};

// One forecast, as recorded in results.h5 (times are run time).
struct ForecastRecord {
  Seconds origin = 0;
  std::vector<double> p10, p50, p90;  // one per horizon
};

class ForecastPipeline : public ForecastSource {
 public:
  // `make_model` builds an unfitted model of the same kind for retraining
  // (may be empty: no retraining). `epoch` is the unix time of run time 0;
  // `events` hold absolute times.
  ForecastPipeline(std::unique_ptr<Forecaster> model, ForecastPipelineOptions options,
                   std::function<std::unique_ptr<Forecaster>()> make_model, double epoch,
                   std::vector<Event> events);

  // Feeds the observation's last-tick demand and returns the current forecast
  // with horizons relative to obs.now (empty until enough history).
  Forecast Predict(const Observation& obs) override;

  // Demand from before run time 0 (a live mesh's recent series when the twin
  // forks from it): `values` every `step` seconds, the last one ending at run
  // time 0; NaN is a missing reading. Averaged into the model's step (which
  // must be a multiple of `step`); a named model fits on it once it reaches
  // the warm-up length. Call before the first Predict.
  absl::Status Warm(const std::vector<double>& values, Seconds step);

  // An event that became known while running (absolute times): used from the
  // next forecast on, like the ones given at construction.
  void AddEvent(Event event) { events_.push_back(std::move(event)); }

  const std::vector<Seconds>& horizons() const { return model_->horizons(); }
  const std::vector<ForecastRecord>& records() const { return records_; }
  const std::vector<RetrainRecord>& retrains() const { return retrains_; }
  // True if the warm-up fit failed (the history could not train the model).
  bool warmup_failed() const { return warmup_failed_; }
  const std::string& warmup_error() const { return warmup_error_; }
  const Forecaster& model() const { return *model_; }
  Seconds step() const { return step_; }
  // Mean absolute error at the first horizon over the rolling window (NaN before any).
  double recent_mae() const;
  double recent_naive_mae() const;

 private:
  void AddSample(double value, Seconds sample_end);
  void ScoreArrivedSample(double actual, Seconds sample_end);
  double EventMultiplier(double t_unix, double known_at_unix) const;
  void ApplyEventMagnitudes(Seconds origin);
  void MaybeRetrain(Seconds now);
  // Both return false while waiting for data; `record` is then untouched.
  bool FineTune(RetrainRecord* record);
  bool Refit(RetrainRecord* record);
  History CurrentHistory() const;

  std::unique_ptr<Forecaster> model_;
  ForecastPipelineOptions options_;
  std::function<std::unique_ptr<Forecaster>()> make_model_;
  double epoch_;
  std::vector<Event> events_;
  Seconds step_;

  std::vector<double> history_;  // model-step samples, oldest first
  Seconds history_start_ = 0;    // run time of history_[0]
  double bucket_sum_ = 0;        // demand x seconds in the current sample
  Seconds bucket_filled_ = 0;
  Forecast current_;  // horizons relative to current_origin_
  Seconds current_origin_ = 0;
  bool have_forecast_ = false;

  // Forecasts awaiting their targets: (target time, horizon index, p50, naive).
  struct Pending {
    Seconds target;
    std::size_t horizon;
    double p50;
    double naive;
  };
  std::deque<Pending> pending_;
  std::deque<double> model_errors_, naive_errors_;  // first horizon, absolute
  PageHinkley drift_;
  Seconds last_retrain_ = -1e300;
  bool drift_pending_ = false;
  Seconds drift_since_ = 0;     // when the pending alarm was raised
  bool fitted_ = false;         // fit_on_warmup done
  bool warmup_failed_ = false;  // the warm-up fit failed: no forecasts
  std::string warmup_error_;
  std::vector<ForecastRecord> records_;
  std::vector<RetrainRecord> retrains_;
};

}  // namespace meshtwin
