// The pure parts of plot_widget.h: decimation and axis range.
#include <algorithm>
#include <cmath>

#include "gui/plot_widget.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {
namespace {

// [begin, end) of the indexes to consider for [x0, x1], one point either side.
std::pair<std::size_t, std::size_t> VisibleRange(std::span<const double> x, double x0, double x1) {
  auto lo = std::lower_bound(x.begin(), x.end(), x0);
  auto hi = std::upper_bound(x.begin(), x.end(), x1);
  std::size_t b = static_cast<std::size_t>(lo - x.begin());
  std::size_t e = static_cast<std::size_t>(hi - x.begin());
  if (b > 0) --b;
  if (e < x.size()) ++e;
  return {b, e};
}

}  // namespace

std::vector<XY> DecimateMinMax(std::span<const double> x, std::span<const double> y, double x0,
                               double x1, int columns) {
  std::vector<XY> out;
  const std::size_t n = std::min(x.size(), y.size());
  if (n == 0 || !(x1 > x0)) return out;
  const auto [b, e] = VisibleRange(x.first(n), x0, x1);
  columns = std::max(1, columns);
  if (e - b <= static_cast<std::size_t>(4 * columns)) {
    for (std::size_t i = b; i < e; ++i) out.push_back({x[i], y[i]});
    return out;
  }
  out.reserve(static_cast<std::size_t>(4 * columns) + 4);
  const double scale = columns / (x1 - x0);
  std::size_t i = b;
  while (i < e) {
    const auto col = static_cast<long>(std::floor((x[i] - x0) * scale));
    std::size_t first = i, last = i, lo = i, hi = i;
    bool has_nan = false;
    while (i < e && static_cast<long>(std::floor((x[i] - x0) * scale)) == col) {
      if (std::isnan(y[i])) {
        has_nan = true;
      } else {
        if (std::isnan(y[lo]) || y[i] < y[lo]) lo = i;
        if (std::isnan(y[hi]) || y[i] > y[hi]) hi = i;
      }
      last = i++;
    }
    std::size_t idx[4] = {first, lo, hi, last};
    std::sort(idx, idx + 4);
    std::size_t prev = static_cast<std::size_t>(-1);
    for (std::size_t k : idx) {
      if (k != prev) out.push_back({x[k], y[k]});
      prev = k;
    }
    if (has_nan && !std::isnan(out.back().y)) out.push_back({x[last], std::nan("")});
  }
  return out;
}

double NiceCeil(double peak) {
  if (!std::isfinite(peak) || peak <= 0) return 1;
  const double target = peak * 1.08;
  const double step = NiceStep(target, 5);
  return std::ceil(target / step - 1e-9) * step;
}

double PeakIn(std::span<const double> x, std::span<const double> y, double x0, double x1) {
  double peak = std::nan("");
  const std::size_t n = std::min(x.size(), y.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] < x0 || x[i] > x1 || !std::isfinite(y[i])) continue;
    if (std::isnan(peak) || y[i] > peak) peak = y[i];
  }
  return peak;
}

}  // namespace meshtwin::gui
