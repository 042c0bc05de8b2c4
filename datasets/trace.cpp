#include "datasets/trace.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace meshtwin {
namespace {

// A missing sample contributes no requests (documented in trace.h).
double SampleOrZero(double v) { return std::isnan(v) ? 0.0 : v; }

}  // namespace

double Trace::MeanRate(Seconds t0, Seconds t1) const {
  // Degenerate inputs have no meaningful answer; NaN makes that visible to
  // the caller instead of a plausible-looking number. An empty trace offers
  // no demand at all.
  if (!std::isfinite(t0) || !std::isfinite(t1) || !(step > 0) || !std::isfinite(step)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (demand.empty()) return 0.0;

  const std::size_t n = demand.size();
  const double last = static_cast<double>(n - 1);
  // Index of the sample covering `t`, clamped so that times before the trace
  // use the first sample and times after it the last one. The clamp happens
  // in double so a far-away time never overflows the integer conversion.
  auto index_at = [&](Seconds t) {
    const double i = std::clamp(std::floor((t - start) / step), 0.0, last);
    return static_cast<std::size_t>(i);
  };

  if (t1 <= t0) return SampleOrZero(demand[index_at(t0)]);

  const Seconds trace_end = end();
  double integral = 0;  // requests over [t0, t1)
  // Before the first sample: the first sample's rate.
  if (t0 < start) integral += (std::min(t1, start) - t0) * SampleOrZero(demand.front());
  // After the last sample: the last sample's rate.
  if (t1 > trace_end) integral += (t1 - std::max(t0, trace_end)) * SampleOrZero(demand.back());
  // The covered samples, each weighted by its overlap with [t0, t1). Only the
  // samples in range are visited, so the cost is O(samples covered).
  const Seconds a = std::max(t0, start);
  const Seconds b = std::min(t1, trace_end);
  if (a < b) {
    const std::size_t first = index_at(a);
    const std::size_t last_index = index_at(std::nextafter(b, a));
    for (std::size_t i = first; i <= last_index; ++i) {
      const Seconds lo = std::max(a, start + step * static_cast<double>(i));
      const Seconds hi = std::min(b, start + step * static_cast<double>(i + 1));
      if (hi > lo) integral += (hi - lo) * SampleOrZero(demand[i]);
    }
  }
  return integral / (t1 - t0);
}

}  // namespace meshtwin
