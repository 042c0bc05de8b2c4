#include "models/anomaly.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "models/forecaster.h"

namespace meshtwin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Mean absolute deviation -> standard deviation for normal residuals: sqrt(pi/2).
constexpr double kMadToSigma = 1.2533141373155003;
// forecast-residual: in-sample one-step errors wanted before the first fit.
constexpr std::size_t kMinFitErrors = 360;

std::string Number(double v) {
  std::string s = std::to_string(v);
  // std::to_string gives six decimals; trim the zeros for the message.
  while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
    const bool dot = s.back() == '.';
    s.pop_back();
    if (dot) break;
  }
  return s;
}

absl::Status Bad(const std::string& field, const std::string& expected, double got) {
  return absl::InvalidArgumentError("anomaly detector option " + field + ": expected " + expected +
                                    ", got " + Number(got));
}

// Checks the options every detector shares.
absl::Status CheckCommon(const AnomalyDetectorOptions& o) {
  if (!(std::isfinite(o.step) && o.step > 0)) return Bad("step", "seconds > 0", o.step);
  if (!(std::isfinite(o.season) && o.season >= 0)) return Bad("season", "seconds >= 0", o.season);
  if (o.season > 0 && o.season < 2 * o.step) {
    return Bad("season", "0 or at least two steps (" + Number(2 * o.step) + " s)", o.season);
  }
  if (!(std::isfinite(o.threshold) && o.threshold >= 0)) {
    return Bad("threshold", "a number > 0 (0: the default)", o.threshold);
  }
  if (o.confirm_window < 1 || o.confirm_window > 32) {
    return Bad("confirm_window", "1..32", o.confirm_window);
  }
  if (o.confirm < 1 || o.confirm > o.confirm_window) {
    return Bad("confirm", "1..confirm_window (" + std::to_string(o.confirm_window) + ")",
               o.confirm);
  }
  if (!(std::isfinite(o.instant_factor) && (o.instant_factor == 0 || o.instant_factor >= 1))) {
    return Bad("instant_factor", "0 (off) or a number >= 1", o.instant_factor);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// robust-z

// x_t = level + S(phase(t)) + noise. S is piecewise linear between knots
// spaced `profile_resolution` apart over the season. The first season only
// builds S (weighted means at the knots); the next `spread_warmup` points
// only train the spread; then every point is scored by z = r / sigma, where
// r = x - (level + S) uses the model before the point and sigma = sqrt(pi/2)
// x an EWMA of |r| (clipped), and then updates level, S and the spread with
// r clipped to +-clip sigma, so one outlier moves nothing far.
class RobustZDetector final : public AnomalyDetector {
 public:
  explicit RobustZDetector(const AnomalyDetectorOptions& o)
      : AnomalyDetector(o.confirm, o.confirm_window,
                        o.threshold > 0 ? o.threshold : kDefaultRobustZThreshold, o.instant_factor),
        season_(o.season),
        level_rate_(o.level_rate),
        spread_rate_(o.spread_rate),
        clip_(o.clip),
        spread_warmup_(o.spread_warmup),
        min_relative_spread_(o.min_relative_spread) {
    if (season_ > 0) {
      const double spacing = std::max(o.profile_resolution, o.step);
      knots_ = std::max<std::size_t>(1, static_cast<std::size_t>(std::round(season_ / spacing)));
      spacing_ = season_ / static_cast<double>(knots_);
      profile_.assign(knots_, 0.0);
      weight_.assign(knots_, 0.0);
      // profile_rate is per season per knot: spread over the points one
      // visit of a knot brings, so the profile's memory does not depend on
      // the step.
      const double points_per_knot = std::max(1.0, spacing_ / o.step);
      profile_rate_ = o.profile_rate / points_per_knot;
    }
  }

  std::string_view name() const override { return "robust-z"; }
  bool Ready() const override { return phase_ == Phase::kScoring; }
  std::unique_ptr<AnomalyDetector> Clone() const override {
    return std::make_unique<RobustZDetector>(*this);
  }

  double Update(Seconds t, double x) override {
    if (!std::isfinite(x) || !std::isfinite(t)) return Judge(kNaN);
    std::size_t k0 = 0, k1 = 0;
    double f = 0;
    if (knots_ > 0) {
      double u = std::fmod(t, season_);
      if (u < 0) u += season_;
      u /= spacing_;
      const double fl = std::floor(u);
      f = u - fl;
      k0 = static_cast<std::size_t>(fl) % knots_;
      k1 = (k0 + 1) % knots_;
    }
    ++points_;

    if (phase_ == Phase::kProfile) {
      typical_ += (std::abs(x) - typical_) / static_cast<double>(points_);
      if (points_ == 1) first_t_ = t;
      if (knots_ > 0) {
        // Weighted running means at the two knots around the point.
        const auto add = [&](std::size_t k, double w) {
          if (w <= 0) return;
          weight_[k] += w;
          profile_[k] += w * (x - profile_[k]) / weight_[k];
        };
        add(k0, 1 - f);
        add(k1, f);
      }
      if (knots_ == 0 || t - first_t_ >= season_ - spacing_ / 2) FinishProfile(knots_ == 0 ? x : 0);
      return Judge(0);
    }

    const double prediction = level_ + (knots_ > 0 ? (1 - f) * profile_[k0] + f * profile_[k1] : 0);
    const double r = x - prediction;
    const double floor = min_relative_spread_ * typical_ + 1e-12;
    double score = 0;
    if (phase_ == Phase::kSpread) {
      // Plain mean of |r| first, then the EWMA takes over from it.
      ++spread_points_;
      mad_ += (std::abs(r) - mad_) / static_cast<double>(spread_points_);
      score = Judge(0);
      if (spread_points_ >= spread_warmup_) phase_ = Phase::kScoring;
      Learn(r, spread_points_ > 10 ? kMadToSigma * mad_ + floor : kNaN, k0, k1, f);
      return score;
    }
    const double sigma = kMadToSigma * mad_ + floor;
    score = Judge(std::abs(r) / sigma);
    Learn(r, sigma, k0, k1, f);
    mad_ += spread_rate_ * (std::min(std::abs(r), clip_ * sigma) - mad_);
    // The typical magnitude (for the spread floor), clipped like the rest.
    typical_ +=
        spread_rate_ * (std::min(std::abs(x), std::abs(prediction) + clip_ * sigma) - typical_);
    return score;
  }

 private:
  enum class Phase : std::uint8_t { kProfile, kSpread, kScoring };

  // Ends the first season: knots no point reached take their neighbours'
  // values; without a season the level starts at the first value.
  void FinishProfile(double first_value) {
    if (knots_ > 0) {
      double sum = 0, n = 0;
      for (std::size_t k = 0; k < knots_; ++k) {
        if (weight_[k] > 0) {
          sum += profile_[k];
          n += 1;
        }
      }
      for (std::size_t k = 0; k < knots_; ++k) {
        if (weight_[k] == 0) profile_[k] = n > 0 ? sum / n : 0;
      }
      std::vector<double>().swap(weight_);  // not needed any more
    }
    level_ = first_value;
    phase_ = Phase::kSpread;
  }

  void Learn(double r, double sigma, std::size_t k0, std::size_t k1, double f) {
    const double rc = std::isfinite(sigma) ? std::clamp(r, -clip_ * sigma, clip_ * sigma) : r;
    level_ += level_rate_ * rc;
    if (knots_ > 0) {
      profile_[k0] += profile_rate_ * (1 - f) * rc;
      profile_[k1] += profile_rate_ * f * rc;
    }
  }

  Seconds season_;
  double level_rate_, spread_rate_, clip_;
  int spread_warmup_;
  double min_relative_spread_;
  std::size_t knots_ = 0;
  double spacing_ = 0, profile_rate_ = 0;
  std::vector<double> profile_, weight_;
  Phase phase_ = Phase::kProfile;
  Seconds first_t_ = 0;
  std::uint64_t points_ = 0;
  int spread_points_ = 0;
  double level_ = 0, mad_ = 0, typical_ = 0;
};

absl::Status CheckRobustZ(const AnomalyDetectorOptions& o) {
  if (!(std::isfinite(o.profile_resolution) && o.profile_resolution > 0)) {
    return Bad("profile_resolution", "seconds > 0", o.profile_resolution);
  }
  for (const auto& [field, v] :
       {std::pair{"level_rate", o.level_rate}, std::pair{"spread_rate", o.spread_rate},
        std::pair{"profile_rate", o.profile_rate}}) {
    if (!(v > 0 && v <= 1)) return Bad(field, "a rate in (0, 1]", v);
  }
  if (!(std::isfinite(o.clip) && o.clip >= 1)) return Bad("clip", "a number >= 1", o.clip);
  if (o.spread_warmup < 1) return Bad("spread_warmup", "a number of points >= 1", o.spread_warmup);
  if (!(o.min_relative_spread >= 0 && o.min_relative_spread < 1)) {
    return Bad("min_relative_spread", "a share in [0, 1)", o.min_relative_spread);
  }
  if (o.season > 0 && o.season / std::max(o.profile_resolution, o.step) > 1e6) {
    return Bad("profile_resolution", "at most a million knots per season", o.profile_resolution);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// forecast-residual

// Keeps the last `history` points; fits a Forecaster on them every
// `refit_every` points (the first time once two seasons are in); scores each
// point by how far it falls outside the one-step-ahead p10-p90 interval
// predicted from the points before it, in interval widths. The fitted model
// is immutable between refits and shared by clones (a refit replaces it).
class ForecastResidualDetector final : public AnomalyDetector {
 public:
  ForecastResidualDetector(const AnomalyDetectorOptions& o,
                           std::shared_ptr<const Forecaster> loaded)
      : AnomalyDetector(o.confirm, o.confirm_window,
                        o.threshold > 0 ? o.threshold : kDefaultForecastResidualThreshold,
                        o.instant_factor),
        options_(o),
        model_(std::move(loaded)),
        fixed_model_(model_ != nullptr) {
    const auto season_steps = static_cast<std::size_t>(std::round(o.season / o.step));
    const std::size_t two_days = static_cast<std::size_t>(std::round(2 * 86400 / o.step));
    const std::size_t refit = static_cast<std::size_t>(o.refit_every);
    history_ = o.history > 0 ? static_cast<std::size_t>(o.history)
                             : (season_steps > 0 ? 2 * season_steps : two_days) + refit;
    // Two seasons to start the model, and then enough one-step errors (a few
    // hundred) for its p10 and p90 to mean something.
    first_fit_ = season_steps > 0 ? std::min(history_, 2 * season_steps + kMinFitErrors) : history_;
    buffer_.reserve(2 * history_);
  }

  std::string_view name() const override { return "forecast-residual"; }
  bool Ready() const override { return ready_; }
  std::unique_ptr<AnomalyDetector> Clone() const override {
    return std::make_unique<ForecastResidualDetector>(*this);
  }

  double Update(Seconds t, double x) override {
    double score = 0;
    bool exceeds = false;
    ready_ = false;
    if (model_ != nullptr && !buffer_.empty()) {
      // The interval for this point from the points before it.
      History h;
      h.values = Window();
      h.step = options_.step;
      h.start_unix = t - options_.step * static_cast<double>(h.values.size());
      const Forecast fc = model_->Predict(h);
      // The one-step horizon (a model file may carry others too).
      std::size_t k = 0;
      while (k < fc.horizons.size() &&
             std::abs(fc.horizons[k] - options_.step) > 1e-9 * options_.step)
        ++k;
      if (k < fc.horizons.size() && std::isfinite(fc.p10[k]) && std::isfinite(fc.p90[k])) {
        ready_ = true;
        const double lo = fc.p10[k], hi = fc.p90[k];
        const double width = std::max(hi - lo, 1e-9 * (std::abs(lo) + std::abs(hi)) + 1e-12);
        const double outside = std::max({lo - x, x - hi, 0.0});
        const double excess = std::isfinite(x) ? outside / width : kNaN;
        score = Judge(excess);
        exceeds = excess > threshold();
      }
    }
    if (!ready_) score = Judge(std::isfinite(x) ? 0 : kNaN);

    // Then the point joins the history (NaN too: it keeps the time axis). A
    // point beyond the threshold joins as NaN (the models learn nothing from
    // it), so an anomaly does not teach the next fit that it is normal; after
    // exclude_limit such points in a row they are let in: the new normal
    // (and a model carried through a long gap drifts with its trend).
    excluded_run_ = exceeds ? excluded_run_ + 1 : 0;
    const bool exclude =
        exceeds && excluded_run_ <= static_cast<std::size_t>(options_.exclude_limit);
    if (buffer_.size() >= 2 * history_) {
      buffer_.erase(buffer_.begin(), buffer_.end() - static_cast<std::ptrdiff_t>(history_ - 1));
    }
    buffer_.push_back(exclude ? kNaN : x);
    ++since_fit_;
    if (!fixed_model_ && buffer_.size() >= first_fit_ &&
        (!tried_fit_ || since_fit_ >= static_cast<std::size_t>(options_.refit_every))) {
      Refit(t + options_.step);
    }
    return score;
  }

 private:
  std::span<const double> Window() const {
    const std::size_t n = std::min(buffer_.size(), history_);
    return std::span<const double>(buffer_).last(n);
  }

  // Fits a new model on the history so far; on failure keeps the old one and
  // tries again after another refit_every points.
  void Refit(Seconds origin) {
    since_fit_ = 0;
    tried_fit_ = true;
    ForecasterOptions fo;
    fo.horizons = {options_.step};
    fo.season = options_.season;
    absl::StatusOr<std::unique_ptr<Forecaster>> fresh = MakeForecaster(options_.forecaster, fo);
    if (!fresh.ok()) return;
    History h;
    h.values = Window();
    h.step = options_.step;
    h.start_unix = origin - options_.step * static_cast<double>(h.values.size());
    if ((*fresh)->Fit(h).ok()) model_ = std::shared_ptr<const Forecaster>(std::move(*fresh));
  }

  AnomalyDetectorOptions options_;
  std::shared_ptr<const Forecaster> model_;
  bool fixed_model_;
  std::size_t history_ = 0, first_fit_ = 0, since_fit_ = 0;
  std::vector<double> buffer_;  // the last points; at most 2 x history, compacted when full
  bool ready_ = false;
  bool tried_fit_ = false;
  std::size_t excluded_run_ = 0;  // points in a row kept out of the history
};

absl::Status CheckForecastResidual(const AnomalyDetectorOptions& o) {
  if (o.refit_every < 1) return Bad("refit_every", "a number of points >= 1", o.refit_every);
  if (o.exclude_limit < 0) return Bad("exclude_limit", "a number of points >= 0", o.exclude_limit);
  if (o.history < 0 || (o.history > 0 && o.history < 3)) {
    return Bad("history", "0 (automatic) or at least 3 points", o.history);
  }
  if (o.model_path.empty() && o.forecaster != "naive" && o.forecaster != "seasonal-naive" &&
      o.forecaster != "holt-winters") {
    return absl::InvalidArgumentError(
        "anomaly detector option forecaster: expected naive, seasonal-naive or holt-winters, "
        "got '" +
        o.forecaster + "' (a trained LSTM/GRU is used through model_path)");
  }
  return absl::OkStatus();
}

}  // namespace

AnomalyDetector::AnomalyDetector(int confirm, int confirm_window, double threshold,
                                 double instant_factor)
    : confirm_(confirm),
      confirm_window_(confirm_window),
      threshold_(threshold),
      instant_threshold_(instant_factor > 0 ? instant_factor * threshold
                                            : std::numeric_limits<double>::infinity()) {}

double AnomalyDetector::Judge(double x) {
  const bool known = std::isfinite(x);
  const bool exceeds = known && x > threshold_;
  exceed_bits_ = (exceed_bits_ << 1) | (exceeds ? 1u : 0u);
  const std::uint32_t mask =
      confirm_window_ >= 32 ? ~std::uint32_t{0} : (std::uint32_t{1} << confirm_window_) - 1;
  anomaly_ = std::popcount(exceed_bits_ & mask) >= confirm_ || (known && x > instant_threshold_);
  if (!known) return 0;
  if (std::isinf(x)) return 1;
  return x / (x + threshold_);
}

absl::StatusOr<std::unique_ptr<AnomalyDetector>> MakeDetector(
    std::string_view name, const AnomalyDetectorOptions& options) {
  MESHTWIN_RETURN_IF_ERROR(CheckCommon(options));
  if (name == "robust-z") {
    MESHTWIN_RETURN_IF_ERROR(CheckRobustZ(options));
    return std::unique_ptr<AnomalyDetector>(std::make_unique<RobustZDetector>(options));
  }
  if (name == "forecast-residual") {
    MESHTWIN_RETURN_IF_ERROR(CheckForecastResidual(options));
    std::shared_ptr<const Forecaster> loaded;
    if (!options.model_path.empty()) {
      MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Forecaster> model,
                                LoadForecaster(options.model_path));
      if (std::abs(model->step() - options.step) > 1e-9 * options.step) {
        return absl::InvalidArgumentError(options.model_path + ": fitted at a " +
                                          Number(model->step()) + " s step, the stream has " +
                                          Number(options.step) + " s");
      }
      if (std::find(model->horizons().begin(), model->horizons().end(), model->step()) ==
          model->horizons().end()) {
        return absl::InvalidArgumentError(options.model_path +
                                          ": the model has no one-step horizon (" +
                                          Number(model->step()) + " s) to judge points by");
      }
      loaded = std::move(model);
    }
    return std::unique_ptr<AnomalyDetector>(
        std::make_unique<ForecastResidualDetector>(options, std::move(loaded)));
  }
  return absl::InvalidArgumentError("unknown detector '" + std::string(name) + "'; expected " +
                                    std::string(DetectorNames()));
}

std::string_view DetectorNames() { return "robust-z, forecast-residual"; }

}  // namespace meshtwin
