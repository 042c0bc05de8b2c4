#include "models/forecast_pipeline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace meshtwin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Mean(const std::deque<double>& v) {
  if (v.empty()) return kNaN;
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// MAE of `model`'s p50 on the targets in [from, end) of `h`, averaged over
// the horizons (each from the origins whose target is there; the inputs are
// the data before the origin, so nothing of the slice leaks into its own
// forecast). NaN when nothing could be scored.
double HeldOutMae(const Forecaster& model, const History& h, std::size_t from) {
  double total = 0;
  int scored = 0;
  for (std::size_t j = 0; j < model.horizons().size(); ++j) {
    const auto ahead = static_cast<std::size_t>(std::llround(model.horizons()[j] / h.step));
    if (ahead == 0) continue;
    std::vector<std::size_t> origins;
    for (std::size_t t = std::max(from, ahead); t < h.values.size(); ++t) {
      origins.push_back(t + 1 - ahead);
    }
    if (origins.empty()) continue;
    const std::vector<Forecast> fc = model.PredictMany(h, origins);
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < origins.size(); ++i) {
      const double actual = h.values[origins[i] + ahead - 1];
      if (std::isnan(actual) || fc[i].p50.size() <= j || !std::isfinite(fc[i].p50[j])) continue;
      sum += std::fabs(fc[i].p50[j] - actual);
      ++n;
    }
    if (n == 0) continue;
    total += sum / static_cast<double>(n);
    ++scored;
  }
  return scored > 0 ? total / scored : kNaN;
}

}  // namespace

ForecastPipeline::ForecastPipeline(std::unique_ptr<Forecaster> model,
                                   ForecastPipelineOptions options,
                                   std::function<std::unique_ptr<Forecaster>()> make_model,
                                   double epoch, std::vector<Event> events)
    : model_(std::move(model)),
      options_(options),
      make_model_(std::move(make_model)),
      epoch_(epoch),
      events_(std::move(events)),
      step_(options.step > 0 ? options.step : model_->step()),
      drift_(options.drift_delta, options.drift_lambda, options.drift_min_samples) {
  const auto per_day = static_cast<std::size_t>(std::llround(86400 / step_));
  if (options_.min_history == 0) options_.min_history = per_day;
  if (options_.min_train == 0) options_.min_train = options_.min_history;
  if (options_.history_limit == 0) options_.history_limit = 15 * per_day;
  options_.history_limit = std::max(options_.history_limit, options_.min_history);
}

double ForecastPipeline::recent_mae() const { return Mean(model_errors_); }
double ForecastPipeline::recent_naive_mae() const { return Mean(naive_errors_); }

History ForecastPipeline::CurrentHistory() const {
  History h;
  h.values = history_;
  h.step = step_;
  h.start_unix = epoch_ + history_start_;
  h.events = events_;
  return h;
}

absl::Status ForecastPipeline::Warm(const std::vector<double>& values, Seconds step) {
  if (!(step > 0)) return absl::InvalidArgumentError("history step: expected > 0");
  const double ratio = step_ / step;
  const auto per_sample = static_cast<std::size_t>(std::llround(ratio));
  if (per_sample < 1 || std::fabs(ratio - static_cast<double>(per_sample)) > 1e-6) {
    return absl::InvalidArgumentError(absl::StrCat("history step ", step, " s: the model's step (",
                                                   step_, " s) must be a multiple of it"));
  }
  if (!history_.empty() || bucket_filled_ > 0) {
    return absl::FailedPreconditionError("history: the pipeline has data already");
  }
  // Whole model steps only, aligned so that the last one ends at 0.
  const std::size_t samples = values.size() / per_sample;
  const std::size_t skip = values.size() - samples * per_sample;
  for (std::size_t k = 0; k < samples; ++k) {
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < per_sample; ++i) {
      const double v = values[skip + k * per_sample + i];
      if (std::isfinite(v)) {
        sum += v;
        ++n;
      }
    }
    if (history_.empty()) history_start_ = -static_cast<double>(samples - k) * step_;
    AddSample(n > 0 ? sum / static_cast<double>(n) : std::nan(""),
              -static_cast<double>(samples - k - 1) * step_);
  }
  return absl::OkStatus();
}

Forecast ForecastPipeline::Predict(const Observation& obs) {
  // The observation's demand is the mean over the tick that just ended; ticks
  // add up to model-step samples (the step is a multiple of the interval).
  if (obs.interval > 0 && obs.now > 0) {
    bucket_sum_ += obs.demand_rps * obs.interval;
    bucket_filled_ += obs.interval;
    if (bucket_filled_ >= step_ - 1e-9) {
      AddSample(bucket_sum_ / bucket_filled_, obs.now);
      bucket_sum_ = 0;
      bucket_filled_ = 0;
    }
  }
  if (!have_forecast_) return Forecast{};
  Forecast f = current_;
  for (Seconds& h : f.horizons) h -= obs.now - current_origin_;
  f.age = obs.now - current_origin_;
  f.recent_mae = recent_mae();
  return f;
}

void ForecastPipeline::AddSample(double value, Seconds sample_end) {
  ScoreArrivedSample(value, sample_end);
  history_.push_back(value);
  if (history_.size() > options_.history_limit) {
    const std::size_t drop = history_.size() - options_.history_limit;
    history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(drop));
    history_start_ += step_ * static_cast<double>(drop);
  }
  if (drift_pending_) MaybeRetrain(sample_end);
  if (history_.size() < options_.min_history) return;
  if (options_.fit_on_warmup && !fitted_) {
    // A model named in a scenario learns from the run's first hours (the
    // warm-up); until then the loop runs without a forecast.
    fitted_ = true;
    if (absl::Status st = model_->Fit(CurrentHistory()); !st.ok()) {
      warmup_error_ = std::string(st.message());
      warmup_failed_ = true;
    }
  }
  if (warmup_failed_) return;

  current_ = model_->Predict(CurrentHistory());
  if (options_.event_magnitude) ApplyEventMagnitudes(sample_end);
  current_origin_ = sample_end;
  have_forecast_ = !current_.empty();
  if (!have_forecast_) return;
  records_.push_back({sample_end, current_.p10, current_.p50, current_.p90});
  for (std::size_t i = 0; i < current_.horizons.size(); ++i) {
    pending_.push_back({sample_end + current_.horizons[i], i, current_.p50[i], value});
  }
}

// The product of the magnitudes of the events in effect at unix time `t`
// that were announced by `known_at`. An event without an end lasts one step.
double ForecastPipeline::EventMultiplier(double t, double known_at) const {
  double m = 1;
  for (const Event& e : events_) {
    if (e.announced > known_at || !std::isfinite(e.magnitude) || e.magnitude <= 0) continue;
    const double end = std::isfinite(e.end) && e.end > e.start ? e.end : e.start + step_;
    if (t >= e.start && t < end) m *= e.magnitude;
  }
  return m;
}

void ForecastPipeline::ApplyEventMagnitudes(Seconds origin) {
  const double origin_unix = epoch_ + origin;
  // The origin sample covers the step before it: its level is what the model saw last.
  const double at_origin = EventMultiplier(origin_unix - 0.5 * step_, origin_unix);
  for (std::size_t i = 0; i < current_.horizons.size(); ++i) {
    // A target sample covers the step ending at origin + horizon.
    const double target = origin_unix + current_.horizons[i] - 0.5 * step_;
    const double factor = EventMultiplier(target, origin_unix) / at_origin;
    if (factor == 1) continue;
    current_.p10[i] *= factor;
    current_.p50[i] *= factor;
    current_.p90[i] *= factor;
  }
}

void ForecastPipeline::ScoreArrivedSample(double actual, Seconds sample_end) {
  const double eps = 1e-6 * step_;
  // Entries are in origin order, so a due target may sit behind a later one:
  // scan them all (a few per horizon), score the due ones, keep the rest.
  std::deque<Pending> keep;
  for (const Pending& p : pending_) {
    if (p.target > sample_end + eps) {
      keep.push_back(p);
      continue;
    }
    if (p.target < sample_end - eps || p.horizon != 0 || std::isnan(actual)) continue;
    const double model_error = std::fabs(p.p50 - actual);
    const double naive_error = std::fabs(p.naive - actual);
    model_errors_.push_back(model_error);
    naive_errors_.push_back(naive_error);
    if (model_errors_.size() > options_.error_window) {
      model_errors_.pop_front();
      naive_errors_.pop_front();
    }
    // Drift: the model's error growing relative to the naive baseline's, in
    // units of the recent demand level so one threshold fits every scale.
    const double level = std::max(1e-9, std::fabs(actual));
    bool alarm = drift_.Update((model_error - naive_error) / level);
    if (alarm) drift_.Reset();
    // Page-Hinkley sees changes; a model that stays worse than the naive
    // baseline after a failed retrain shows as a persistent ratio instead.
    alarm = alarm || (model_errors_.size() == options_.error_window &&
                      recent_mae() > options_.max_error_ratio * recent_naive_mae());
    if (alarm && !drift_pending_) {
      drift_pending_ = true;
      drift_since_ = sample_end;
    }
  }
  pending_.swap(keep);
}

void ForecastPipeline::MaybeRetrain(Seconds now) {
  if (!options_.retrain || !make_model_) {
    drift_pending_ = false;
    return;
  }
  // A storm of alarms retrains at most once per cool-down; the alarm waits.
  if (now - last_retrain_ < options_.retrain_cooldown) return;
  RetrainRecord record;
  record.time = now;
  record.reason = recent_mae() > options_.max_error_ratio * recent_naive_mae()
                      ? "rolling error above the naive baseline's"
                      : "forecast error drifted up (Page-Hinkley)";
  const bool done = model_->fine_tunable() ? FineTune(&record) : Refit(&record);
  if (!done) return;
  if (record.accepted) {
    // The rolling error described the old model; the new one starts afresh.
    model_errors_.clear();
    naive_errors_.clear();
    pending_.clear();
  }
  retrains_.push_back(record);
  last_retrain_ = now;
  drift_pending_ = false;
  drift_.Reset();
}

// A network: fine-tuned from its weights on the retrain window up to the
// held-out slice, the data since the alarm drawn as often as the whole
// window (models/README.md). Training from scratch would need a day or more
// of the new regime and would forget what the old data taught (events); the
// held-out comparison keeps a fine-tune that made things worse out.
bool ForecastPipeline::FineTune(RetrainRecord* record) {
  const std::size_t size = history_.size();
  const auto since_alarm =
      std::min(size, static_cast<std::size_t>(std::llround((record->time - drift_since_) / step_)));
  const auto after = std::max<std::size_t>(
      2, static_cast<std::size_t>(std::llround(options_.retrain_after / step_)));
  if (since_alarm < after) return false;
  const std::size_t held = after / 2;
  const std::size_t held_from = size - held;
  const std::size_t window =
      std::min(size, static_cast<std::size_t>(std::llround(options_.retrain_window / step_)));
  FineTuneOptions ft = options_.fine_tune;
  ft.first_origin = size - window;
  ft.recent_from = size - since_alarm;
  const History full = CurrentHistory();
  record->samples = held_from - ft.first_origin;
  absl::StatusOr<std::unique_ptr<Forecaster>> tuned = model_->FineTuned(full.Prefix(held_from), ft);
  if (!tuned.ok()) {
    record->reason += "; retraining failed: " + std::string(tuned.status().message());
    return true;
  }
  record->old_mae = HeldOutMae(*model_, full, held_from);
  record->new_mae = HeldOutMae(**tuned, full, held_from);
  record->accepted = std::isfinite(record->new_mae) &&
                     (!std::isfinite(record->old_mae) || record->new_mae < record->old_mae);
  if (record->accepted) model_ = *std::move(tuned);
  return true;
}

// A baseline: refitted on the data since the alarm (data from before it may
// belong to the regime that just ended, and a baseline has nothing else to
// keep); waits until there is enough of it.
bool ForecastPipeline::Refit(RetrainRecord* record) {
  const auto since_alarm =
      static_cast<std::size_t>(std::llround((record->time - drift_since_) / step_));
  const std::size_t window =
      std::min({history_.size(), since_alarm,
                static_cast<std::size_t>(std::llround(options_.retrain_window / step_))});
  const auto validation = static_cast<std::size_t>(
      std::llround(static_cast<double>(window) * options_.validation_fraction));
  const std::size_t train = window - validation;
  if (train < options_.min_train || validation == 0) return false;

  History recent = CurrentHistory();
  const std::size_t offset = history_.size() - window;
  recent.values = recent.values.subspan(offset);
  recent.start_unix += step_ * static_cast<double>(offset);
  record->samples = train;
  std::unique_ptr<Forecaster> fresh = make_model_();
  if (!fresh) {
    record->reason += "; retraining failed: no model to fit";
    return true;
  }
  if (absl::Status st = fresh->Fit(recent.Prefix(train)); !st.ok()) {
    record->reason += "; retraining failed: " + std::string(st.message());
    return true;
  }
  record->old_mae = HeldOutMae(*model_, recent, train);
  record->new_mae = HeldOutMae(*fresh, recent, train);
  record->accepted = std::isfinite(record->new_mae) &&
                     (!std::isfinite(record->old_mae) || record->new_mae < record->old_mae);
  if (record->accepted) {
    model_ = std::move(fresh);
    // The data before the window belongs to the old regime: the new model
    // starts its recursion (levels, seasons) at the window it was fitted on.
    history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(offset));
    history_start_ += step_ * static_cast<double>(offset);
  }
  return true;
}

}  // namespace meshtwin
