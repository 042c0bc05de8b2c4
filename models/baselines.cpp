#include "models/baselines.h"

#include "datasets/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace meshtwin {

namespace {

using Json = nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kFormat = "meshtwin-model";
constexpr int kFormatVersion = 1;
constexpr Seconds kDay = 86400;
constexpr Seconds kWeek = 7 * kDay;
// DetectSeason: a lag must correlate at least this much to count as a season...
constexpr double kMinSeasonCorrelation = 0.3;
// ...and the week must beat the day by this much: a daily pattern correlates
// just as well at a week's lag, and the shorter season needs less history.
constexpr double kWeekMargin = 0.05;

// Shortest text that reads back as the same double.
std::string Num(double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("?");
}

// Whole steps in `duration`, or -1 if it is not a positive multiple of `step`
// (up to rounding in the caller's arithmetic, e.g. 0.1-s steps).
long long StepsIn(Seconds duration, Seconds step) {
  if (!(std::isfinite(duration) && std::isfinite(step) && step > 0 && duration > 0)) return -1;
  const double ratio = duration / step;
  const double rounded = std::round(ratio);
  if (rounded < 1 || std::abs(ratio - rounded) > 1e-6 * rounded) return -1;
  return static_cast<long long>(rounded);
}

// A season in whole steps (at least 2: one step is the naive forecast), or -1.
long long SeasonSteps(Seconds season, Seconds step) {
  if (!(std::isfinite(season) && season > 0 && step > 0)) return -1;
  const double steps = std::round(season / step);
  return steps >= 2 ? static_cast<long long>(steps) : -1;
}

// Quantile q of `v` (sorted ascending), linearly interpolated between order
// statistics (R's type 7).
double SortedQuantile(const std::vector<double>& v, double q) {
  if (v.empty()) return kNaN;
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// Pearson correlation of x[t] and x[t + lag] over the pairs where both are
// known; NaN when too few pairs or no variance.
double LagCorrelation(const std::vector<double>& x, std::size_t lag) {
  double n = 0, sa = 0, sb = 0;
  for (std::size_t t = 0; t + lag < x.size(); ++t) {
    if (std::isnan(x[t]) || std::isnan(x[t + lag])) continue;
    n += 1;
    sa += x[t];
    sb += x[t + lag];
  }
  // Fewer than half a season of pairs says more about the gaps than the data.
  if (n < std::max(2.0, static_cast<double>(lag) / 2)) return kNaN;
  const double ma = sa / n, mb = sb / n;
  double cov = 0, va = 0, vb = 0;
  for (std::size_t t = 0; t + lag < x.size(); ++t) {
    if (std::isnan(x[t]) || std::isnan(x[t + lag])) continue;
    const double a = x[t] - ma, b = x[t + lag] - mb;
    cov += a * b;
    va += a * a;
    vb += b * b;
  }
  if (!(va > 0 && vb > 0)) return kNaN;
  return cov / std::sqrt(va * vb);
}

// Nelder-Mead on the unit cube (points are clamped into it), from `start`.
// Deterministic: fixed initial simplex, fixed iteration cap.
std::vector<double> MinimiseInUnitCube(const std::function<double(const std::vector<double>&)>& f,
                                       std::vector<double> start, int max_iterations) {
  const std::size_t d = start.size();
  const auto clamp = [](std::vector<double> x) {
    for (double& v : x) v = std::clamp(v, 0.0, 1.0);
    return x;
  };
  const auto eval = [&](const std::vector<double>& x) {
    const double v = f(x);
    return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
  };
  std::vector<std::vector<double>> p(d + 1, clamp(start));
  for (std::size_t i = 0; i < d; ++i) {
    // Step into the interior, so a start on a face still spans the cube.
    p[i + 1][i] += p[i + 1][i] > 0.5 ? -0.1 : 0.1;
  }
  std::vector<double> fv(d + 1);
  for (std::size_t i = 0; i <= d; ++i) fv[i] = eval(p[i]);

  std::vector<std::size_t> order(d + 1);
  for (int it = 0; it < max_iterations; ++it) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return fv[a] < fv[b]; });
    const std::size_t best = order.front(), worst = order.back(), second = order[d - 1];
    double size = 0;
    for (std::size_t i = 0; i <= d; ++i) {
      for (std::size_t k = 0; k < d; ++k) size = std::max(size, std::abs(p[i][k] - p[best][k]));
    }
    if (size < 1e-5 || (fv[worst] - fv[best]) <= 1e-12 * (std::abs(fv[best]) + 1e-300)) break;

    std::vector<double> centroid(d, 0.0);
    for (std::size_t i = 0; i <= d; ++i) {
      if (i == worst) continue;
      for (std::size_t k = 0; k < d; ++k) centroid[k] += p[i][k] / static_cast<double>(d);
    }
    const auto along = [&](double t) {
      std::vector<double> x(d);
      for (std::size_t k = 0; k < d; ++k) x[k] = centroid[k] + t * (p[worst][k] - centroid[k]);
      return clamp(std::move(x));
    };
    const std::vector<double> reflected = along(-1.0);
    const double fr = eval(reflected);
    if (fr < fv[best]) {
      const std::vector<double> expanded = along(-2.0);
      const double fe = eval(expanded);
      if (fe < fr) {
        p[worst] = expanded;
        fv[worst] = fe;
      } else {
        p[worst] = reflected;
        fv[worst] = fr;
      }
    } else if (fr < fv[second]) {
      p[worst] = reflected;
      fv[worst] = fr;
    } else {
      const std::vector<double> contracted = fr < fv[worst] ? along(-0.5) : along(0.5);
      const double fc = eval(contracted);
      if (fc < std::min(fr, fv[worst])) {
        p[worst] = contracted;
        fv[worst] = fc;
      } else {
        for (std::size_t i = 0; i <= d; ++i) {
          if (i == best) continue;
          for (std::size_t k = 0; k < d; ++k) p[i][k] = (p[i][k] + p[best][k]) / 2;
          fv[i] = eval(p[i]);
        }
      }
    }
  }
  const std::size_t best =
      static_cast<std::size_t>(std::min_element(fv.begin(), fv.end()) - fv.begin());
  return p[best];
}


// Field readers for LoadBaselineFile: every error names the file and field.
class FieldReader {
 public:
  FieldReader(const std::string& path, const Json& root) : path_(path), root_(root) {}

  absl::Status Error(const std::string& field, const std::string& what) const {
    return absl::InvalidArgumentError(path_ + ": " + field + ": " + what);
  }

  absl::StatusOr<double> Number(const std::string& field, double lo, double hi,
                                const std::string& expected) const {
    const auto it = root_.find(field);
    if (it == root_.end()) return Error(field, "missing (expected " + expected + ")");
    if (!it->is_number()) return Error(field, "expected " + expected + ", got " + it->dump());
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < lo || v > hi) {
      return Error(field, "expected " + expected + ", got " + Num(v));
    }
    return v;
  }

  absl::StatusOr<std::vector<double>> Numbers(const Json& array, const std::string& field,
                                              std::size_t size) const {
    if (!array.is_array() || array.size() != size) {
      return Error(field, "expected an array of " + std::to_string(size) + " numbers");
    }
    std::vector<double> out;
    for (std::size_t i = 0; i < size; ++i) {
      const std::string where = field + "[" + std::to_string(i) + "]";
      if (!array[i].is_number()) return Error(where, "expected a number, got " + array[i].dump());
      out.push_back(array[i].get<double>());
      if (!std::isfinite(out.back())) return Error(where, "expected a finite number");
    }
    return out;
  }

 private:
  const std::string& path_;
  const Json& root_;
};

// The common part of the three baselines: step and horizon bookkeeping,
// residual quantiles, Predict/PredictMany on top of one batched point
// forecast, and the JSON file.
class BaselineForecaster : public Forecaster {
 public:
  BaselineForecaster(std::string kind, const ForecasterOptions& options)
      : kind_(std::move(kind)), horizons_(options.horizons), requested_season_(options.season) {}

  std::string name() const override { return kind_; }
  const std::vector<Seconds>& horizons() const override { return horizons_; }
  Seconds step() const override { return step_; }

  // Fits a copy and keeps it only if the fit succeeds: a failed refit (say,
  // on a window that turned out all NaN) must not lose a working model.
  absl::Status Fit(const History& history) override {
    std::unique_ptr<BaselineForecaster> fresh = Clone();
    MESHTWIN_RETURN_IF_ERROR(fresh->FitHere(history));
    AssignFrom(*fresh);
    return absl::OkStatus();
  }

  Forecast Predict(const History& history) const override {
    const std::size_t origin = history.values.size();
    return std::move(PredictMany(history, std::span<const std::size_t>(&origin, 1)).front());
  }

  std::vector<Forecast> PredictMany(const History& full,
                                    std::span<const std::size_t> origins) const override {
    std::vector<Forecast> out(origins.size());
    // Unfitted, or a history at another step: no forecast (empty), rather
    // than numbers on the wrong time axis.
    if (!fitted_ || std::abs(full.step - step_) > 1e-9 * step_) return out;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < origins.size(); ++i) {
      if (origins[i] <= full.values.size()) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return origins[a] < origins[b]; });
    std::vector<std::size_t> sorted(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) sorted[i] = origins[order[i]];
    std::vector<double> points;
    PointForecasts(full.values, sorted, &points);

    const std::size_t nh = horizon_steps_.size();
    for (std::size_t i = 0; i < order.size(); ++i) {
      const double* p = &points[i * nh];
      if (std::none_of(p, p + nh, [](double v) { return std::isfinite(v); })) continue;
      Forecast& f = out[order[i]];
      f.horizons = horizons_;
      for (std::size_t k = 0; k < nh; ++k) {
        // Demand is never negative; NaN (no value to go on) stays NaN.
        const auto at = [&](double q) { return std::isnan(p[k]) ? kNaN : std::max(0.0, p[k] + q); };
        f.p10.push_back(at(quantiles_[k][0]));
        f.p50.push_back(at(quantiles_[k][1]));
        f.p90.push_back(at(quantiles_[k][2]));
      }
    }
    return out;
  }

  absl::Status Save(const std::string& path) const override {
    if (!fitted_) return absl::FailedPreconditionError(kind_ + ": cannot save an unfitted model");
    Json j;
    j["format"] = kFormat;
    j["format_version"] = kFormatVersion;
    j["kind"] = kind_;
    j["step"] = step_;
    j["horizons"] = horizons_;
    j["season"] = season_;
    ParametersToJson(&j);
    Json q;
    for (std::size_t k = 0; k < quantiles_.size(); ++k) {
      q["p10"].push_back(quantiles_[k][0]);
      q["p50"].push_back(quantiles_[k][1]);
      q["p90"].push_back(quantiles_[k][2]);
    }
    j["residual_quantiles"] = q;
    j["training_samples"] = training_samples_;
    return WriteTextFileAtomically(path, j.dump(2) + "\n");
  }

  // The rest of a loaded file (format, version and kind already checked).
  absl::Status FromJson(const std::string& path, const Json& j) {
    const FieldReader r(path, j);
    MESHTWIN_ASSIGN_OR_RETURN(const double step,
                              r.Number("step", 1e-9, 1e12, "a positive number of seconds"));
    const auto hs = j.find("horizons");
    if (hs == j.end() || !hs->is_array() || hs->empty()) {
      return r.Error("horizons", "expected a non-empty array of seconds");
    }
    std::vector<Seconds> horizons;
    for (std::size_t i = 0; i < hs->size(); ++i) {
      const Json& h = (*hs)[i];
      if (!h.is_number() || StepsIn(h.get<double>(), step) < 0) {
        return r.Error(
            "horizons[" + std::to_string(i) + "]",
            "expected a positive multiple of the step (" + Num(step) + " s), got " + h.dump());
      }
      horizons.push_back(h.get<double>());
    }
    MESHTWIN_ASSIGN_OR_RETURN(const double season,
                              r.Number("season", 0, 1e12, "a number of seconds >= 0"));
    if (season > 0 && SeasonSteps(season, step) < 0) {
      return r.Error("season",
                     "expected 0 or at least two steps (" + Num(step) + " s), got " + Num(season));
    }
    horizons_ = horizons;
    MESHTWIN_RETURN_IF_ERROR(SetStepAndHorizons(step, horizons));
    season_ = season;
    season_steps_ = season > 0 ? static_cast<std::size_t>(SeasonSteps(season, step)) : 0;
    MESHTWIN_RETURN_IF_ERROR(ParametersFromJson(r));

    const auto q = j.find("residual_quantiles");
    if (q == j.end() || !q->is_object()) {
      return r.Error("residual_quantiles", "expected an object with p10, p50 and p90");
    }
    std::array<std::vector<double>, 3> qs;
    const char* names[3] = {"p10", "p50", "p90"};
    for (int i = 0; i < 3; ++i) {
      const std::string field = std::string("residual_quantiles.") + names[i];
      const auto it = q->find(names[i]);
      if (it == q->end()) return r.Error(field, "missing");
      MESHTWIN_ASSIGN_OR_RETURN(qs[i], r.Numbers(*it, field, horizons.size()));
    }
    for (std::size_t k = 0; k < horizons.size(); ++k) {
      if (!(qs[0][k] <= qs[1][k] && qs[1][k] <= qs[2][k])) {
        return r.Error("residual_quantiles",
                       "expected p10 <= p50 <= p90 at horizon " + Num(horizons[k]) + " s");
      }
      quantiles_[k] = {qs[0][k], qs[1][k], qs[2][k]};
    }
    MESHTWIN_ASSIGN_OR_RETURN(const double samples,
                              r.Number("training_samples", 0, 1e15, "a count >= 0"));
    if (samples != std::floor(samples)) {
      return r.Error("training_samples", "expected a whole number, got " + Num(samples));
    }
    training_samples_ = static_cast<std::size_t>(samples);
    fitted_ = true;
    return absl::OkStatus();
  }

 protected:
  virtual std::unique_ptr<BaselineForecaster> Clone() const = 0;
  // *this = other, which is of the same class.
  virtual void AssignFrom(const BaselineForecaster& other) = 0;
  // Resolves the season and fits the model's parameters (step and horizons
  // are set, the history has at least one known sample).
  virtual absl::Status FitParameters(const History& history) = 0;
  // Point forecasts of every horizon from each origin (ascending, each <=
  // y.size()) into out[i * horizons + k]; NaN where there is nothing to go on.
  // Must only read y[0, origin) for an origin. Horizon k steps from origin o
  // targets sample o + k - 1, the one that ends k steps after the origin (as
  // in models/features.h, so every forecaster is scored on the same sample).
  virtual void PointForecasts(std::span<const double> y, std::span<const std::size_t> origins,
                              std::vector<double>* out) const = 0;
  // The first origin whose forecasts count towards the residual quantiles.
  virtual std::size_t Warmup(std::span<const double> y) const = 0;
  virtual void ParametersToJson(Json*) const {}
  virtual absl::Status ParametersFromJson(const FieldReader&) { return absl::OkStatus(); }

  // The season for a fit: the requested one, else the detected one (0:
  // none). An error when it is shorter than two steps, when one is required
  // and none is found, or when the history is shorter than one season.
  absl::Status ResolveSeason(const History& history, bool required) {
    season_ = requested_season_ > 0 ? requested_season_ : DetectSeason(history);
    season_steps_ = 0;
    if (season_ > 0) {
      const long long m = SeasonSteps(season_, step_);
      if (m < 0) {
        return absl::InvalidArgumentError(kind_ + ": season " + Num(season_) +
                                          " s is shorter than two steps of " + Num(step_) + " s");
      }
      season_steps_ = static_cast<std::size_t>(m);
    } else if (required) {
      return absl::InvalidArgumentError(
          kind_ + ": no daily or weekly season found in the history (" +
          std::to_string(history.values.size()) + " samples); give the season explicitly");
    }
    if (season_steps_ > history.values.size()) {
      return absl::InvalidArgumentError(
          kind_ + ": the history (" + std::to_string(history.values.size()) +
          " samples) is shorter than one season (" + std::to_string(season_steps_) + " samples)");
    }
    return absl::OkStatus();
  }

  std::vector<std::size_t> horizon_steps_;
  Seconds season_ = 0;
  std::size_t season_steps_ = 0;

 private:
  absl::Status FitHere(const History& history) {
    fitted_ = false;
    MESHTWIN_RETURN_IF_ERROR(SetStepAndHorizons(history.step, horizons_));
    const std::span<const double> y = history.values;
    if (std::none_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); })) {
      return absl::InvalidArgumentError(kind_ + ": the history has no known sample to fit on");
    }
    MESHTWIN_RETURN_IF_ERROR(FitParameters(history));

    // In-sample errors at each horizon: run the model from every origin of
    // the history and compare with what followed.
    const std::size_t start = Warmup(y);
    std::vector<std::size_t> origins;
    for (std::size_t o = start; o < y.size(); ++o) origins.push_back(o);
    std::vector<double> points;
    PointForecasts(y, origins, &points);
    const std::size_t nh = horizon_steps_.size();
    for (std::size_t k = 0; k < nh; ++k) {
      std::vector<double> errors;
      for (std::size_t i = 0; i < origins.size(); ++i) {
        const std::size_t target = origins[i] + horizon_steps_[k] - 1;
        if (target >= y.size()) break;
        const double f = points[i * nh + k];
        if (std::isfinite(y[target]) && std::isfinite(f)) errors.push_back(y[target] - f);
      }
      if (errors.empty()) {
        return absl::InvalidArgumentError(
            kind_ + ": the history (" + std::to_string(y.size()) +
            " samples) is too short to measure the error at horizon " + Num(horizons_[k]) + " s");
      }
      std::sort(errors.begin(), errors.end());
      quantiles_[k] = {SortedQuantile(errors, 0.1), SortedQuantile(errors, 0.5),
                       SortedQuantile(errors, 0.9)};
    }
    training_samples_ = y.size();
    fitted_ = true;
    return absl::OkStatus();
  }

  absl::Status SetStepAndHorizons(Seconds step, const std::vector<Seconds>& horizons) {
    if (!(std::isfinite(step) && step > 0)) {
      return absl::InvalidArgumentError(kind_ + ": the history's step must be positive, got " +
                                        Num(step));
    }
    if (horizons.empty()) return absl::InvalidArgumentError(kind_ + ": no horizons to forecast");
    std::vector<std::size_t> steps;
    for (const Seconds h : horizons) {
      const long long s = StepsIn(h, step);
      if (s < 0) {
        return absl::InvalidArgumentError(kind_ + ": horizon " + Num(h) +
                                          " s is not a positive multiple of the step (" +
                                          Num(step) + " s)");
      }
      steps.push_back(static_cast<std::size_t>(s));
    }
    step_ = step;
    horizon_steps_ = std::move(steps);
    quantiles_.assign(horizons.size(), {0, 0, 0});
    return absl::OkStatus();
  }

  std::string kind_;
  std::vector<Seconds> horizons_;
  Seconds requested_season_ = 0;
  Seconds step_ = 0;
  bool fitted_ = false;
  std::size_t training_samples_ = 0;
  std::vector<std::array<double, 3>> quantiles_;  // residual p10, p50, p90 per horizon
};

// The last known value, at every horizon.
class NaiveForecaster : public BaselineForecaster {
 public:
  explicit NaiveForecaster(const ForecasterOptions& options)
      : BaselineForecaster("naive", options) {}

 protected:
  std::unique_ptr<BaselineForecaster> Clone() const override {
    return std::make_unique<NaiveForecaster>(*this);
  }
  void AssignFrom(const BaselineForecaster& other) override {
    *this = static_cast<const NaiveForecaster&>(other);
  }
  absl::Status FitParameters(const History&) override { return absl::OkStatus(); }

  void PointForecasts(std::span<const double> y, std::span<const std::size_t> origins,
                      std::vector<double>* out) const override {
    const std::size_t nh = horizon_steps_.size();
    out->assign(origins.size() * nh, kNaN);
    double last = kNaN;
    std::size_t t = 0;
    for (std::size_t i = 0; i < origins.size(); ++i) {
      for (; t < origins[i]; ++t) {
        if (std::isfinite(y[t])) last = y[t];
      }
      std::fill_n(out->begin() + static_cast<std::ptrdiff_t>(i * nh), nh, last);
    }
  }

  std::size_t Warmup(std::span<const double>) const override { return 1; }
};

// The value one season before the target; when the horizon reaches past one
// season (or that sample is missing), the same phase in an earlier season.
class SeasonalNaiveForecaster : public BaselineForecaster {
 public:
  explicit SeasonalNaiveForecaster(const ForecasterOptions& options)
      : BaselineForecaster("seasonal-naive", options) {}

 protected:
  std::unique_ptr<BaselineForecaster> Clone() const override {
    return std::make_unique<SeasonalNaiveForecaster>(*this);
  }
  void AssignFrom(const BaselineForecaster& other) override {
    *this = static_cast<const SeasonalNaiveForecaster&>(other);
  }
  absl::Status FitParameters(const History& history) override {
    return ResolveSeason(history, /*required=*/true);
  }

  void PointForecasts(std::span<const double> y, std::span<const std::size_t> origins,
                      std::vector<double>* out) const override {
    const std::size_t nh = horizon_steps_.size();
    const std::size_t m = season_steps_;
    out->assign(origins.size() * nh, kNaN);
    for (std::size_t i = 0; i < origins.size(); ++i) {
      const std::size_t o = origins[i];
      for (std::size_t k = 0; k < nh; ++k) {
        const std::size_t target = o + horizon_steps_[k] - 1;
        // The most recent season whose sample at the target's phase is
        // known: target - back < o, i.e. back >= the horizon in steps.
        std::size_t back = (horizon_steps_[k] + m - 1) / m * m;
        for (; back <= target; back += m) {
          const double v = y[target - back];
          if (std::isfinite(v)) {
            (*out)[i * nh + k] = v;
            break;
          }
        }
      }
    }
  }

  std::size_t Warmup(std::span<const double>) const override { return 1; }

  void ParametersToJson(Json*) const override {}
  absl::Status ParametersFromJson(const FieldReader& r) override {
    if (season_steps_ == 0) return r.Error("season", "expected a positive season");
    return absl::OkStatus();
  }
};

// Additive Holt-Winters (level, trend, season); Holt's linear trend when
// there is no season. Smoothing parameters minimise the one-step in-sample
// squared error.
class HoltWintersForecaster : public BaselineForecaster {
 public:
  explicit HoltWintersForecaster(const ForecasterOptions& options)
      : BaselineForecaster("holt-winters", options) {}

 protected:
  std::unique_ptr<BaselineForecaster> Clone() const override {
    return std::make_unique<HoltWintersForecaster>(*this);
  }
  void AssignFrom(const BaselineForecaster& other) override {
    *this = static_cast<const HoltWintersForecaster&>(other);
  }
  struct State {
    double level = 0, trend = 0;
    std::vector<double> season;  // by phase (sample index mod m); empty without a season
    std::size_t first = 0;       // the first sample the filter reads
  };

  // Samples the initial state of a history of n samples is estimated from:
  // two seasons when there are (level, trend and season), else one (level
  // and season); without a season, up to and including the first known
  // sample (`first_known`, an index into the same series). 0: cannot start.
  std::size_t InitLength(std::size_t n, std::size_t first_known) const {
    const std::size_t m = season_steps_;
    if (m > 0) return n >= 2 * m ? 2 * m : (n >= m ? m : 0);
    return first_known < n ? first_known + 1 : 0;
  }

  static std::size_t FirstKnown(std::span<const double> y) {
    std::size_t t = 0;
    while (t < y.size() && !std::isfinite(y[t])) ++t;
    return t;
  }

  // The state before reading y[first], from y[0, len) only (len from
  // InitLength). False if those samples hold no information.
  bool Init(std::span<const double> y, std::size_t len, State* s) const {
    const std::size_t m = season_steps_;
    if (m == 0) {
      s->level = y[len - 1];
      s->trend = 0;
      s->season.clear();
      s->first = len;
      return true;
    }
    // Classical decomposition: season means give level and trend, the
    // detrended deviations give the seasonal profile.
    const std::size_t seasons = len / m;
    std::vector<double> means;
    for (std::size_t j = 0; j < seasons; ++j) {
      double sum = 0, n = 0;
      for (std::size_t i = 0; i < m; ++i) {
        if (std::isfinite(y[j * m + i])) {
          sum += y[j * m + i];
          n += 1;
        }
      }
      means.push_back(n > 0 ? sum / n : kNaN);
    }
    if (std::isnan(means[0])) return false;
    const double trend = seasons == 2 && std::isfinite(means[1])
                             ? (means[1] - means[0]) / static_cast<double>(m)
                             : 0.0;
    const double mid = (static_cast<double>(m) - 1) / 2;
    s->season.assign(m, 0.0);
    double total = 0;
    for (std::size_t i = 0; i < m; ++i) {
      double sum = 0, n = 0;
      for (std::size_t j = 0; j < seasons; ++j) {
        const double v = y[j * m + i];
        if (std::isfinite(v) && std::isfinite(means[j])) {
          sum += v - (means[j] + (static_cast<double>(i) - mid) * trend);
          n += 1;
        }
      }
      s->season[i] = n > 0 ? sum / n : 0.0;
      total += s->season[i];
    }
    for (double& v : s->season) v -= total / static_cast<double>(m);
    // So that the first one-step forecast, level + trend + season[0], is the
    // fitted line at sample 0.
    s->trend = trend;
    s->level = means[0] - (mid + 1) * trend;
    s->first = 0;
    return true;
  }

  // One filter step on y[t] (NaN: carry the one-step forecast, i.e. level
  // moves by the trend and nothing is learnt). Returns the one-step error.
  static double Step(State* s, std::size_t t, double x, double alpha, double beta, double gamma) {
    const std::size_t m = s->season.size();
    double* seasonal = m > 0 ? &s->season[t % m] : nullptr;
    const double sv = seasonal ? *seasonal : 0.0;
    const double prediction = s->level + s->trend + sv;
    if (!std::isfinite(x)) {
      s->level += s->trend;
      return kNaN;
    }
    const double level = alpha * (x - sv) + (1 - alpha) * (s->level + s->trend);
    s->trend = beta * (level - s->level) + (1 - beta) * s->trend;
    s->level = level;
    if (seasonal) *seasonal = gamma * (x - level) + (1 - gamma) * sv;
    return x - prediction;
  }

  double Sse(std::span<const double> y, const State& init, std::size_t from, double alpha,
             double beta, double gamma) const {
    State s = init;
    double sse = 0;
    for (std::size_t t = s.first; t < y.size(); ++t) {
      const double e = Step(&s, t, y[t], alpha, beta, gamma);
      if (t >= from && std::isfinite(e)) sse += e * e;
    }
    return sse;
  }

  absl::Status FitParameters(const History& history) override {
    MESHTWIN_RETURN_IF_ERROR(ResolveSeason(history, /*required=*/false));
    const std::span<const double> y = history.values;
    const std::size_t len = InitLength(y.size(), FirstKnown(y));
    State init;
    if (len == 0 || !Init(y, len, &init)) {
      return absl::InvalidArgumentError(
          "holt-winters: the first season of the history has no known sample");
    }
    const bool seasonal = season_steps_ > 0;
    // The errors inside the initialisation window flatter the fit (those
    // samples set the start), so the objective starts after it.
    const auto sse = [&](const std::vector<double>& p) {
      return Sse(y, init, len, p[0], p[1], seasonal ? p[2] : 0.0);
    };
    // A coarse grid picks the basin, Nelder-Mead refines: deterministic, and
    // a few hundred O(n) passes.
    std::vector<double> best;
    double best_sse = std::numeric_limits<double>::infinity();
    for (const double a : {0.05, 0.2, 0.4, 0.6, 0.8, 0.95}) {
      for (const double b : {0.0, 0.02, 0.1, 0.3}) {
        for (const double g :
             seasonal ? std::vector<double>{0.02, 0.1, 0.3, 0.6} : std::vector<double>{0.0}) {
          std::vector<double> p = {a, b};
          if (seasonal) p.push_back(g);
          const double v = sse(p);
          if (v < best_sse) {
            best_sse = v;
            best = p;
          }
        }
      }
    }
    if (best.empty()) best = seasonal ? std::vector<double>{0.5, 0.0, 0.1} : std::vector{0.5, 0.0};
    best = MinimiseInUnitCube(sse, best, 300);
    alpha_ = best[0];
    beta_ = best[1];
    gamma_ = seasonal ? best[2] : 0.0;
    return absl::OkStatus();
  }

  void PointForecasts(std::span<const double> y, std::span<const std::size_t> origins,
                      std::vector<double>* out) const override {
    const std::size_t nh = horizon_steps_.size();
    out->assign(origins.size() * nh, kNaN);
    // An origin's forecast may only depend on samples before it, the
    // initialisation included; origins are grouped by the initialisation
    // window their own prefix would use, one filter pass per group.
    const std::size_t first_known = FirstKnown(y);
    std::size_t i = 0;
    while (i < origins.size()) {
      const std::size_t len = InitLength(origins[i], first_known);
      std::size_t end = i;
      while (end < origins.size() && InitLength(origins[end], first_known) == len) ++end;
      State s;
      if (len > 0 && Init(y, len, &s)) {
        std::size_t t = s.first;
        for (std::size_t j = i; j < end; ++j) {
          for (; t < origins[j]; ++t) Step(&s, t, y[t], alpha_, beta_, gamma_);
          for (std::size_t k = 0; k < nh; ++k) {
            // The state has read y[0, origin): the target is `ahead` samples
            // after the last one read.
            const std::size_t target = origins[j] + horizon_steps_[k] - 1;
            const double ahead = static_cast<double>(horizon_steps_[k]);
            const double sv = s.season.empty() ? 0.0 : s.season[target % s.season.size()];
            (*out)[j * nh + k] = s.level + ahead * s.trend + sv;
          }
        }
      }
      i = end;
    }
  }

  std::size_t Warmup(std::span<const double> y) const override {
    return std::max<std::size_t>(InitLength(y.size(), FirstKnown(y)), 1);
  }

  void ParametersToJson(Json* j) const override {
    (*j)["alpha"] = alpha_;
    (*j)["beta"] = beta_;
    (*j)["gamma"] = gamma_;
  }
  absl::Status ParametersFromJson(const FieldReader& r) override {
    MESHTWIN_ASSIGN_OR_RETURN(alpha_, r.Number("alpha", 0, 1, "a number in [0,1]"));
    MESHTWIN_ASSIGN_OR_RETURN(beta_, r.Number("beta", 0, 1, "a number in [0,1]"));
    MESHTWIN_ASSIGN_OR_RETURN(gamma_, r.Number("gamma", 0, 1, "a number in [0,1]"));
    return absl::OkStatus();
  }

 private:
  double alpha_ = 0.5, beta_ = 0, gamma_ = 0.1;
};

}  // namespace

std::unique_ptr<Forecaster> MakeBaseline(std::string_view name, const ForecasterOptions& options) {
  if (name == "naive") return std::make_unique<NaiveForecaster>(options);
  if (name == "seasonal-naive") return std::make_unique<SeasonalNaiveForecaster>(options);
  if (name == "holt-winters") return std::make_unique<HoltWintersForecaster>(options);
  return nullptr;
}

absl::StatusOr<std::unique_ptr<Forecaster>> LoadBaselineFile(const std::string& path,
                                                             std::string_view text) {
  Json j;
  try {
    j = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        path + ": not a meshtwin model file (invalid JSON: " + e.what() + ")");
  }
  if (!j.is_object()) return absl::InvalidArgumentError(path + ": expected a JSON object");
  const FieldReader r(path, j);
  const auto format = j.find("format");
  if (format == j.end() || *format != kFormat) {
    return r.Error("format", std::string("expected \"") + kFormat + "\"" +
                                 (format == j.end() ? ", missing" : ", got " + format->dump()));
  }
  const auto version = j.find("format_version");
  if (version == j.end() || !version->is_number_integer()) {
    return r.Error("format_version", "expected an integer");
  }
  if (version->get<long long>() != kFormatVersion) {
    return absl::InvalidArgumentError(path + ": format_version " + version->dump() +
                                      " is not supported (this build reads version " +
                                      std::to_string(kFormatVersion) + ")");
  }
  const auto kind = j.find("kind");
  if (kind == j.end() || !kind->is_string()) {
    return r.Error("kind", "expected naive, seasonal-naive or holt-winters");
  }
  ForecasterOptions options;
  std::unique_ptr<Forecaster> model = MakeBaseline(kind->get<std::string>(), options);
  if (!model) {
    return r.Error("kind", "expected naive, seasonal-naive or holt-winters, got " + kind->dump());
  }
  MESHTWIN_RETURN_IF_ERROR(static_cast<BaselineForecaster*>(model.get())->FromJson(path, j));
  return model;
}

Seconds DetectSeason(const History& history) {
  const std::span<const double> y = history.values;
  if (!(std::isfinite(history.step) && history.step > 0)) return 0;
  // Remove a least-squares line first: a trend correlates with itself at
  // any lag and would pass for a season.
  double n = 0, st = 0, sy = 0, stt = 0, sty = 0;
  for (std::size_t t = 0; t < y.size(); ++t) {
    if (!std::isfinite(y[t])) continue;
    const double x = static_cast<double>(t);
    n += 1;
    st += x;
    sy += y[t];
    stt += x * x;
    sty += x * y[t];
  }
  if (n < 4) return 0;
  const double denom = n * stt - st * st;
  const double slope = denom > 0 ? (n * sty - st * sy) / denom : 0.0;
  const double intercept = (sy - slope * st) / n;
  std::vector<double> e(y.size(), kNaN);
  double var_y = 0, var_e = 0;
  const double mean_y = sy / n;
  for (std::size_t t = 0; t < y.size(); ++t) {
    if (!std::isfinite(y[t])) continue;
    e[t] = y[t] - (intercept + slope * static_cast<double>(t));
    var_y += (y[t] - mean_y) * (y[t] - mean_y);
    var_e += e[t] * e[t];
  }
  // A constant or a straight line has no season (what is left is rounding).
  if (!(var_e > 1e-18 * var_y) || var_e == 0) return 0;

  const auto correlation = [&](Seconds period) {
    const double lag = std::round(period / history.step);
    if (lag < 2 || static_cast<double>(y.size()) < 2 * lag) return kNaN;  // two seasons at least
    return LagCorrelation(e, static_cast<std::size_t>(lag));
  };
  const double day = correlation(kDay);
  const double week = correlation(kWeek);
  const bool day_ok = day >= kMinSeasonCorrelation;  // false for NaN
  const bool week_ok = week >= kMinSeasonCorrelation;
  if (week_ok && (!day_ok || week > day + kWeekMargin)) return kWeek;
  if (day_ok) return kDay;
  return 0;
}

}  // namespace meshtwin
