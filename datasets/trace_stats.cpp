#include "datasets/trace_stats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace meshtwin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDayPeriod = 86400;
constexpr double kWeekPeriod = 7 * kDayPeriod;

// Population variance, two-pass: the values are request rates in the
// thousands, so the one-pass sum of squares would lose digits.
double Variance(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size());
}

// The trend of the classical decomposition at every sample (NaN where it is
// undefined): a centred moving average over one period of `w` samples (the
// 2 x w average when w is even, so it stays centred), over the present
// samples of the window, defined where the window lies inside the trace and
// at least half of it is present.
std::vector<double> MovingAverageTrend(const std::vector<double>& x, std::size_t w) {
  const std::size_t n = x.size();
  std::vector<double> trend(n, kNaN);
  // Prefix sums of the present values and of their count.
  std::vector<double> sum(n + 1, 0);
  std::vector<double> count(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const bool present = !std::isnan(x[i]);
    sum[i + 1] = sum[i] + (present ? x[i] : 0);
    count[i + 1] = count[i] + (present ? 1 : 0);
  }
  const std::size_t half = w / 2;
  if (n < 2 * half + 1) return trend;
  for (std::size_t i = half; i + half < n; ++i) {
    double s = 0, c = 0;
    if (w % 2 == 1) {
      s = sum[i + half + 1] - sum[i - half];
      c = count[i + half + 1] - count[i - half];
    } else {
      // Inner w - 1 samples at weight 1, the two ends at weight 1/2.
      s = sum[i + half] - sum[i - half + 1];
      c = count[i + half] - count[i - half + 1];
      for (std::size_t end : {i - half, i + half}) {
        if (!std::isnan(x[end])) {
          s += 0.5 * x[end];
          c += 0.5;
        }
      }
    }
    if (c > 0 && c >= 0.5 * static_cast<double>(w)) trend[i] = s / c;
  }
  return trend;
}

// Seasonality strength for `period` seconds, as documented in trace_stats.h.
double SeasonalStrength(const std::vector<double>& x, double start, double step, double period) {
  const std::size_t n = x.size();
  if (!(step > 0) || !std::isfinite(step) || !std::isfinite(start)) return kNaN;
  const double per_period = period / step;
  // Fewer than two samples per period cannot show a cycle; fewer than two
  // periods cannot tell a cycle from a one-off. (The 1e-9 forgives rounding
  // in step sizes such as 86400/7.)
  if (per_period < 2 || static_cast<double>(n) < 2 * per_period - 1e-9) return kNaN;

  std::vector<double> trend;
  if (static_cast<double>(n) >= 3 * per_period - 1e-9) {
    trend = MovingAverageTrend(x, static_cast<std::size_t>(std::llround(per_period)));
  } else {
    // The moving average would leave less than one period to decompose:
    // take the mean of the present samples as a flat trend instead.
    double s = 0;
    std::size_t c = 0;
    for (double v : x) {
      if (!std::isnan(v)) {
        s += v;
        ++c;
      }
    }
    if (c == 0) return kNaN;
    trend.assign(n, s / static_cast<double>(c));
  }

  const auto phases = static_cast<std::size_t>(std::ceil(per_period - 1e-9));
  std::vector<std::size_t> phase_of;
  std::vector<double> detrended;
  phase_of.reserve(n);
  detrended.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]) || std::isnan(trend[i])) continue;
    double t = std::fmod(start + static_cast<double>(i) * step, period);
    if (t < 0) t += period;
    const auto phase = std::min(phases - 1, static_cast<std::size_t>(std::floor(t / step)));
    phase_of.push_back(phase);
    detrended.push_back(x[i] - trend[i]);
  }
  if (detrended.size() < 2) return kNaN;

  std::vector<double> phase_sum(phases, 0);
  std::vector<double> phase_count(phases, 0);
  for (std::size_t k = 0; k < detrended.size(); ++k) {
    phase_sum[phase_of[k]] += detrended[k];
    phase_count[phase_of[k]] += 1;
  }
  std::vector<double> remainder(detrended.size());
  for (std::size_t k = 0; k < detrended.size(); ++k) {
    const std::size_t p = phase_of[k];
    remainder[k] = detrended[k] - phase_sum[p] / phase_count[p];
  }
  const double var_detrended = Variance(detrended);
  // A flat series has no seasonality to speak of.
  if (!(var_detrended > 0)) return 0;
  return std::max(0.0, 1 - Variance(remainder) / var_detrended);
}

SeriesStats Summarise(const std::vector<double>& x, double start, double step) {
  SeriesStats s;
  double sum = 0;
  std::size_t present = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  for (double v : x) {
    if (std::isnan(v)) {
      ++s.missing;
      continue;
    }
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
    ++present;
  }
  if (present == 0) {
    s.min = s.mean = s.max = kNaN;
  } else {
    s.mean = sum / static_cast<double>(present);
  }
  s.daily_strength = SeasonalStrength(x, start, step, kDayPeriod);
  s.weekly_strength = SeasonalStrength(x, start, step, kWeekPeriod);
  return s;
}

}  // namespace

TraceStats ComputeTraceStats(const Trace& trace) {
  TraceStats stats;
  stats.start_unix = trace.epoch + trace.start;
  stats.end_unix = trace.epoch + trace.end();
  stats.step = trace.step;
  stats.rows = trace.demand.size();
  for (std::size_t i = 0; i < trace.demand.size();) {
    if (!std::isnan(trace.demand[i])) {
      ++i;
      continue;
    }
    TraceGap gap;
    gap.start = trace.start + static_cast<double>(i) * trace.step;
    while (i < trace.demand.size() && std::isnan(trace.demand[i])) {
      ++gap.samples;
      ++i;
    }
    stats.gaps.push_back(gap);
  }
  stats.demand = Summarise(trace.demand, trace.start, trace.step);
  for (const TraceChannel& channel : trace.channels) {
    stats.channels.push_back(Summarise(channel.values, trace.start, trace.step));
  }
  stats.events = trace.events.size();
  return stats;
}

}  // namespace meshtwin
