#include "gui/time_axis.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace meshtwin::gui {

double NiceStep(double span, int target) {
  if (!std::isfinite(span) || span <= 0) return 1;
  const double raw = span / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / power;
  const double nice = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
  return nice * power;
}

std::vector<AxisTick> ValueTicks(double lo, double hi, int target) {
  std::vector<AxisTick> out;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return out;
  const double step = NiceStep(hi - lo, target);
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; i < 1000; ++i) {
    double v = first + i * step;
    if (v > hi + step * 1e-9) break;
    if (std::abs(v) < step * 1e-9) v = 0;  // no "-0" or 1e-17
    out.push_back({v, FormatValue(v)});
  }
  return out;
}

double TimeStep(double span, int target) {
  static constexpr std::array<double, 21> kLadder = {
      1,    2,    5,    10,    15,    30,    60,    120,    300,    600,    900,
      1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600};
  const double want = span / std::max(1, target);
  for (double s : kLadder) {
    if (s >= want) return s;
  }
  // Past two weeks: multiples of 30 days.
  return 2592000 * std::ceil(want / 2592000);
}

std::vector<AxisTick> TimeTicks(double t0, double t1, int target) {
  std::vector<AxisTick> out;
  if (!(t1 > t0) || !std::isfinite(t0) || !std::isfinite(t1)) return out;
  const double step = TimeStep(t1 - t0, target);
  const double first = std::ceil(t0 / step - 1e-9) * step;
  for (int i = 0; i < 1000; ++i) {
    const double t = first + i * step;
    if (t > t1 + step * 1e-9) break;
    out.push_back({t, FormatRunTime(t, step)});
  }
  return out;
}

namespace {

struct Split {
  bool negative = false;
  long long days = 0;
  int h = 0, m = 0, s = 0;
};

Split SplitTime(double t) {
  Split p;
  p.negative = t < 0;
  auto total = static_cast<long long>(std::llround(std::abs(t)));
  p.days = total / 86400;
  total %= 86400;
  p.h = static_cast<int>(total / 3600);
  p.m = static_cast<int>(total % 3600 / 60);
  p.s = static_cast<int>(total % 60);
  return p;
}

}  // namespace

std::string FormatRunTime(double t, double step) {
  const Split p = SplitTime(t);
  char buf[64];
  const char* sign = p.negative ? "-" : "";
  if (step >= 86400 && p.h == 0 && p.m == 0 && p.s == 0) {
    std::snprintf(buf, sizeof buf, "%s%lldd", sign, p.days);
  } else if (step < 60) {
    if (p.days > 0) {
      std::snprintf(buf, sizeof buf, "%s%lldd %02d:%02d:%02d", sign, p.days, p.h, p.m, p.s);
    } else {
      std::snprintf(buf, sizeof buf, "%s%02d:%02d:%02d", sign, p.h, p.m, p.s);
    }
  } else if (p.days > 0) {
    std::snprintf(buf, sizeof buf, "%s%lldd %02d:%02d", sign, p.days, p.h, p.m);
  } else {
    std::snprintf(buf, sizeof buf, "%s%02d:%02d", sign, p.h, p.m);
  }
  return buf;
}

std::string FormatRunTimeFull(double t) { return FormatRunTime(t, 1); }

std::string FormatCalendar(double epoch, double t) {
  const auto unix_seconds = static_cast<std::time_t>(std::llround(epoch + t));
  std::tm tm{};
  gmtime_r(&unix_seconds, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "-";
  const double a = std::abs(v);
  const char* suffix = "";
  double scaled = v;
  if (a >= 1e9) {
    scaled = v / 1e9;
    suffix = "G";
  } else if (a >= 1e6) {
    scaled = v / 1e6;
    suffix = "M";
  } else if (a >= 1e3) {
    scaled = v / 1e3;
    suffix = "k";
  }
  char buf[32];
  const double s = std::abs(scaled);
  if (s == 0) {
    std::snprintf(buf, sizeof buf, "0");
  } else if (s >= 100 || std::abs(scaled - std::round(scaled)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f%s", scaled, suffix);
  } else if (s >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f%s", scaled, suffix);
  } else if (s >= 0.01) {
    std::snprintf(buf, sizeof buf, "%.2f%s", scaled, suffix);
  } else {
    std::snprintf(buf, sizeof buf, "%.2g%s", scaled, suffix);
  }
  std::string out = buf;
  // "2.50k" -> "2.5k", "0.10" -> "0.1": trailing zeros of a fraction say nothing.
  if (out.find('.') != std::string::npos) {
    const std::size_t suffix_len = std::string(suffix).size();
    std::string num = out.substr(0, out.size() - suffix_len);
    if (num.find('e') == std::string::npos) {
      while (!num.empty() && num.back() == '0') num.pop_back();
      if (!num.empty() && num.back() == '.') num.pop_back();
    }
    out = num + suffix;
  }
  return out;
}

double MapRange(double v, double a0, double a1, double b0, double b1) {
  if (a1 == a0) return 0.5 * (b0 + b1);
  return b0 + (v - a0) * (b1 - b0) / (a1 - a0);
}

}  // namespace meshtwin::gui
