#include "models/backtest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "datasets/splitmix.h"
#include "datasets/timestamp.h"
#include "models/baselines.h"

namespace meshtwin {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// An event without an end counts as lasting an hour.
constexpr Seconds kInstantEventWindow = 3600;

std::string Num(double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("?");
}

// Whole steps in a horizon, or -1 if it is not a positive multiple of the step.
long long StepsIn(Seconds duration, Seconds step) {
  if (!(std::isfinite(duration) && duration > 0)) return -1;
  const double ratio = duration / step;
  const double rounded = std::round(ratio);
  if (rounded < 1 || std::abs(ratio - rounded) > 1e-6 * rounded) return -1;
  return static_cast<long long>(rounded);
}

// The model's forecasts from every origin in [first, last]: fitted on the
// samples before `first` (unless !fit_first: the model as it is), refitted
// every `retrain_every` origins on the samples before the origin. One
// PredictMany call per fit.
absl::StatusOr<std::vector<Forecast>> RollingForecasts(Forecaster& model, const History& history,
                                                       std::size_t first, std::size_t last,
                                                       int retrain_every, bool fit_first) {
  const std::size_t count = last - first + 1;
  const std::size_t chunk = retrain_every > 0 ? static_cast<std::size_t>(retrain_every) : count;
  std::vector<Forecast> out;
  out.reserve(count);
  std::vector<std::size_t> origins;
  for (std::size_t begin = first; begin <= last; begin += chunk) {
    if (absl::Status s =
            begin == first && !fit_first ? absl::OkStatus() : model.Fit(history.Prefix(begin));
        !s.ok()) {
      return absl::Status(s.code(), "backtest: fitting " + model.name() + " on the " +
                                        std::to_string(begin) +
                                        " samples before the origin: " + ErrorText(s));
    }
    if (std::abs(model.step() - history.step) > 1e-9 * history.step) {
      return absl::InvalidArgumentError("backtest: " + model.name() + " works at a step of " +
                                        Num(model.step()) + " s, the history at " +
                                        Num(history.step) + " s");
    }
    const std::size_t end = std::min(last + 1, begin + chunk);
    origins.resize(end - begin);
    std::iota(origins.begin(), origins.end(), begin);
    std::vector<Forecast> part = model.PredictMany(history, origins);
    if (part.size() != origins.size()) {
      return absl::InternalError("backtest: " + model.name() + " returned " +
                                 std::to_string(part.size()) + " forecasts for " +
                                 std::to_string(origins.size()) + " origins");
    }
    for (Forecast& f : part) out.push_back(std::move(f));
  }
  return out;
}

// A forecast's p50 at `horizon`, or NaN if it has none.
double P50At(const Forecast& f, Seconds horizon) {
  for (std::size_t k = 0; k < f.horizons.size() && k < f.p50.size(); ++k) {
    if (f.horizons[k] == horizon) return f.p50[k];
  }
  return kNaN;
}

// Merged [start, end] windows of the history's events, sorted.
std::vector<std::pair<double, double>> EventWindows(std::span<const Event> events) {
  std::vector<std::pair<double, double>> w;
  for (const Event& e : events) {
    const double end = std::isnan(e.end) ? e.start + kInstantEventWindow : e.end;
    if (std::isfinite(e.start) && std::isfinite(end)) w.emplace_back(e.start, end);
  }
  std::sort(w.begin(), w.end());
  std::vector<std::pair<double, double>> merged;
  for (const auto& [s, e] : w) {
    if (!merged.empty() && s <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, e);
    } else {
      merged.emplace_back(s, e);
    }
  }
  return merged;
}

bool InWindows(const std::vector<std::pair<double, double>>& windows, double t) {
  auto it = std::upper_bound(windows.begin(), windows.end(), std::make_pair(t, kNaN),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  if (it == windows.begin()) return false;
  return t <= std::prev(it)->second;
}

double Pinball(double actual, double quantile, double q) {
  const double d = actual - quantile;
  return std::max(q * d, (q - 1) * d);
}

// Sums for one horizon's metrics.
struct Accumulator {
  std::size_t n = 0;
  double abs = 0, sq = 0, ape = 0, sape = 0, pinball = 0;
  std::size_t ape_n = 0, covered = 0, events_n = 0;
  double events_abs = 0;
  double naive_model = 0, naive_ref = 0;  // |error| sums where naive has a forecast
  std::size_t naive_n = 0;
  double seasonal_model = 0, seasonal_ref = 0;  // ... and where seasonal naive has one
  std::size_t seasonal_n = 0;
  // The pairs behind those sums, in target order (for the intervals).
  std::vector<double> naive_pairs_model, naive_pairs_ref;
  std::vector<double> seasonal_pairs_model, seasonal_pairs_ref;
};

double Ratio(double model, double reference, std::size_t n) {
  if (n == 0) return kNaN;
  if (reference == 0) return model == 0 ? 1.0 : std::numeric_limits<double>::infinity();
  return model / reference;
}

}  // namespace

absl::StatusOr<BacktestResult> Backtest(Forecaster& model, const History& history,
                                        const BacktestOptions& options) {
  if (!(options.train_fraction > 0 && options.train_fraction < 1)) {
    return absl::InvalidArgumentError("train-fraction: expected a number in (0,1), got " +
                                      Num(options.train_fraction));
  }
  if (options.retrain_every < 0) {
    return absl::InvalidArgumentError("retrain-every: expected a count >= 0, got " +
                                      std::to_string(options.retrain_every));
  }
  if (!(std::isfinite(history.step) && history.step > 0)) {
    return absl::InvalidArgumentError("backtest: the history's step must be positive");
  }

  // The horizons to score, in the model's order, with their length in steps.
  std::vector<Seconds> horizons;
  if (options.horizon == 0) {
    horizons = model.horizons();
  } else {
    const auto& mh = model.horizons();
    if (std::find(mh.begin(), mh.end(), options.horizon) == mh.end()) {
      std::string list;
      for (const Seconds h : mh) list += (list.empty() ? "" : ", ") + Num(h);
      return absl::InvalidArgumentError("horizon: " + Num(options.horizon) + " s is not one of " +
                                        model.name() + "'s horizons (" + list + " s)");
    }
    horizons = {options.horizon};
  }
  if (horizons.empty()) return absl::InvalidArgumentError("backtest: the model has no horizons");
  std::vector<std::size_t> steps;
  for (const Seconds h : horizons) {
    const long long s = StepsIn(h, history.step);
    if (s < 0) {
      return absl::InvalidArgumentError("horizon: " + Num(h) +
                                        " s is not a positive multiple of the step (" +
                                        Num(history.step) + " s)");
    }
    steps.push_back(static_cast<std::size_t>(s));
  }
  const std::size_t shortest = *std::min_element(steps.begin(), steps.end());
  const std::size_t longest = *std::max_element(steps.begin(), steps.end());

  // Origins: from the end of the training part to the last one whose
  // shortest horizon's target is a sample of the history; each horizon is
  // scored where its own target is inside. Horizon k steps from origin o
  // targets sample o + k - 1 (the sample that ends k steps after the origin,
  // as models/features.h defines it), whose time is origin + horizon.
  //
  // Without `fit` the training part is only skipped (the model is scored as
  // loaded); the yardsticks are still fitted on it.
  const std::span<const double> y = history.values;
  const std::size_t n = y.size();
  const std::size_t train =
      // The epsilon keeps 0.7 x 5760 = 4031.9999... from losing a sample.
      static_cast<std::size_t>(std::floor(options.train_fraction * static_cast<double>(n) + 1e-9));
  if (train == 0 || train + longest > n) {
    return absl::InvalidArgumentError(
        "backtest: the history (" + std::to_string(n) + " samples) is too short: training on " +
        std::to_string(train) + " leaves no target " + std::to_string(longest) +
        " steps after the origin for the longest horizon");
  }
  const std::size_t first = train;
  const std::size_t last = n - shortest;

  MESHTWIN_ASSIGN_OR_RETURN(
      std::vector<Forecast> forecasts,
      RollingForecasts(model, history, first, last, options.retrain_every, options.fit));

  // The yardsticks, run through exactly the same procedure and scored on the
  // same targets. Without a usable season the seasonal ratio is NaN.
  ForecasterOptions reference_options;
  reference_options.horizons = horizons;
  reference_options.season = options.season;
  std::vector<Forecast> naive, seasonal;
  {
    std::unique_ptr<Forecaster> ref = MakeBaseline("naive", reference_options);
    absl::StatusOr<std::vector<Forecast>> r =
        RollingForecasts(*ref, history, first, last, options.retrain_every, true);
    if (r.ok()) naive = std::move(*r);
  }
  {
    std::unique_ptr<Forecaster> ref = MakeBaseline("seasonal-naive", reference_options);
    absl::StatusOr<std::vector<Forecast>> r =
        RollingForecasts(*ref, history, first, last, options.retrain_every, true);
    if (r.ok()) seasonal = std::move(*r);
  }

  const std::vector<std::pair<double, double>> windows = EventWindows(history.events);
  BacktestResult result;
  std::vector<Accumulator> acc(horizons.size());
  for (std::size_t o = first; o <= last; ++o) {
    const std::size_t i = o - first;
    const Forecast& f = forecasts[i];
    if (f.empty()) continue;  // the model had nothing to go on here
    if (f.p10.size() != f.horizons.size() || f.p50.size() != f.horizons.size() ||
        f.p90.size() != f.horizons.size()) {
      return absl::InternalError("backtest: " + model.name() +
                                 " returned a forecast with mismatched horizon and quantile "
                                 "counts");
    }
    for (std::size_t k = 0; k < horizons.size(); ++k) {
      const std::size_t target = o + steps[k] - 1;
      if (target >= n || !std::isfinite(y[target])) continue;
      const auto at = std::find(f.horizons.begin(), f.horizons.end(), horizons[k]);
      if (at == f.horizons.end()) {
        return absl::InternalError("backtest: " + model.name() + " returned no forecast for " +
                                   Num(horizons[k]) + " s");
      }
      const std::size_t j = static_cast<std::size_t>(at - f.horizons.begin());
      BacktestRow row;
      // The target time: the end of the target sample, origin + horizon.
      row.timestamp = history.start_unix + static_cast<double>(target + 1) * history.step;
      row.horizon = horizons[k];
      row.actual = y[target];
      row.p10 = f.p10[j];
      row.p50 = f.p50[j];
      row.p90 = f.p90[j];
      if (!std::isfinite(row.p50)) continue;

      Accumulator& a = acc[k];
      const double error = row.actual - row.p50;
      a.n += 1;
      a.abs += std::abs(error);
      a.sq += error * error;
      if (row.actual != 0) {
        a.ape += std::abs(error) / std::abs(row.actual);
        a.ape_n += 1;
      }
      // sMAPE of two zeros is a perfect forecast, not 0/0.
      const double scale = std::abs(row.actual) + std::abs(row.p50);
      if (scale > 0) a.sape += 2 * std::abs(error) / scale;
      a.pinball += (Pinball(row.actual, row.p10, 0.1) + Pinball(row.actual, row.p50, 0.5) +
                    Pinball(row.actual, row.p90, 0.9)) /
                   3;
      if (row.p10 <= row.actual && row.actual <= row.p90) a.covered += 1;
      if (InWindows(windows, row.timestamp)) {
        a.events_abs += std::abs(error);
        a.events_n += 1;
      }
      if (!naive.empty()) {
        if (const double r = P50At(naive[i], horizons[k]); std::isfinite(r)) {
          a.naive_model += std::abs(error);
          a.naive_ref += std::abs(row.actual - r);
          a.naive_n += 1;
          a.naive_pairs_model.push_back(std::abs(error));
          a.naive_pairs_ref.push_back(std::abs(row.actual - r));
        }
      }
      if (!seasonal.empty()) {
        if (const double r = P50At(seasonal[i], horizons[k]); std::isfinite(r)) {
          a.seasonal_model += std::abs(error);
          a.seasonal_ref += std::abs(row.actual - r);
          a.seasonal_n += 1;
          a.seasonal_pairs_model.push_back(std::abs(error));
          a.seasonal_pairs_ref.push_back(std::abs(row.actual - r));
        }
      }
      result.rows.push_back(row);
    }
  }

  for (std::size_t k = 0; k < horizons.size(); ++k) {
    const Accumulator& a = acc[k];
    ForecastMetrics m;
    m.n = a.n;
    const double count = static_cast<double>(a.n);
    m.mae = a.n ? a.abs / count : kNaN;
    m.rmse = a.n ? std::sqrt(a.sq / count) : kNaN;
    m.mape = a.ape_n ? a.ape / static_cast<double>(a.ape_n) : kNaN;
    m.smape = a.n ? a.sape / count : kNaN;
    m.mae_ratio_naive = Ratio(a.naive_model, a.naive_ref, a.naive_n);
    m.mae_ratio_seasonal_naive = Ratio(a.seasonal_model, a.seasonal_ref, a.seasonal_n);
    m.ratio_block = RatioBlock(steps[k], a.n);
    m.mae_ratio_naive_90 = RatioInterval(a.naive_pairs_model, a.naive_pairs_ref, m.ratio_block);
    m.mae_ratio_seasonal_naive_90 =
        RatioInterval(a.seasonal_pairs_model, a.seasonal_pairs_ref, m.ratio_block);
    m.pinball = a.n ? a.pinball / count : kNaN;
    m.coverage = a.n ? static_cast<double>(a.covered) / count : kNaN;
    m.mae_in_events = a.events_n ? a.events_abs / static_cast<double>(a.events_n) : kNaN;
    result.by_horizon[horizons[k]] = m;
  }
  return result;
}

Interval RatioInterval(std::span<const double> model_abs, std::span<const double> reference_abs,
                       std::size_t block, double level, int resamples, std::uint64_t seed) {
  Interval out;
  const std::size_t n = std::min(model_abs.size(), reference_abs.size());
  block = std::max<std::size_t>(1, block);
  if (n < 2 * block || resamples < 2 || !(level > 0 && level < 1)) return out;
  // The sum of every block, once, so that a resample costs one addition per
  // block. Summed directly, not by a sliding difference, which can leave a
  // residue where a block's true sum is 0.
  const std::size_t starts = n - block + 1;
  std::vector<double> model_block(starts), reference_block(starts);
  for (std::size_t s = 0; s < starts; ++s) {
    double sm = 0, sr = 0;
    for (std::size_t i = s; i < s + block; ++i) {
      sm += model_abs[i];
      sr += reference_abs[i];
    }
    model_block[s] = sm;
    reference_block[s] = sr;
  }
  const std::size_t blocks = (n + block - 1) / block;
  SplitMix64 rng(seed);
  std::vector<double> ratios;
  ratios.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    double m = 0, ref = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t s = rng.Below(starts);
      m += model_block[s];
      ref += reference_block[s];
    }
    // As Ratio: a perfect yardstick gives 1 against a perfect model, else infinity.
    ratios.push_back(ref > 0 ? m / ref : m == 0 ? 1.0 : std::numeric_limits<double>::infinity());
  }
  std::sort(ratios.begin(), ratios.end());
  // Quantiles by linear interpolation between order statistics.
  const auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(ratios.size() - 1);
    const std::size_t i = static_cast<std::size_t>(std::floor(pos));
    const double f = pos - static_cast<double>(i);
    if (f == 0 || i + 1 == ratios.size()) return ratios[i];
    return ratios[i] * (1 - f) + ratios[i + 1] * f;
  };
  out.lo = quantile((1 - level) / 2);
  out.hi = quantile((1 + level) / 2);
  return out;
}

std::size_t RatioBlock(std::size_t steps, std::size_t n) {
  std::size_t cube_root = 1;  // the smallest b with b^3 >= n, in integers
  while (cube_root * cube_root * cube_root < n) ++cube_root;
  return std::max<std::size_t>({1, 2 * steps, cube_root});
}

std::string BacktestCsv(const std::vector<BacktestRow>& rows) {
  std::string out = "timestamp,horizon_s,actual,p10,p50,p90\n";
  out.reserve(out.size() + rows.size() * 64);
  for (const BacktestRow& r : rows) {
    out += FormatIso8601(r.timestamp);
    for (const double v : {r.horizon, r.actual, r.p10, r.p50, r.p90}) {
      out += ',';
      out += std::isnan(v) ? std::string("nan") : Num(v);
    }
    out += '\n';
  }
  return out;
}

}  // namespace meshtwin
