// Axis arithmetic for the plots and the timeline, free of any drawing: nice
// tick steps for values, tick choice for simulated time (seconds to days),
// and the labels (run time "1d 16:00", calendar "2024-03-05 16:00 UTC",
// values "6.5k").
//
//   for (const AxisTick& t : TimeTicks(0, 86400, 8)) Label(t.value, t.label);
#pragma once

#include <string>
#include <vector>

namespace meshtwin::gui {

struct AxisTick {
  double value = 0;
  std::string label;
};

// The "nice" step (1, 2 or 5 times a power of ten) closest to span / target.
// `target` is the wanted number of intervals (>= 1). A zero or non-finite
// span gives 1.
double NiceStep(double span, int target);

// Ticks over [lo, hi] at a nice step, about `target` of them, labelled with
// FormatValue. An empty or inverted range gives no ticks.
std::vector<AxisTick> ValueTicks(double lo, double hi, int target);

// A step from the time ladder (1, 2, 5, 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min;
// 1, 2, 3, 6, 12 h; 1, 2, 7, 14, 30 d) giving at most about `target`
// intervals over `span` seconds.
double TimeStep(double span, int target);

// Ticks over [t0, t1] (run time, s) at TimeStep, at multiples of the step,
// labelled with FormatRunTime(value, step).
std::vector<AxisTick> TimeTicks(double t0, double t1, int target);

// Run time as a label whose precision suits `step`: "16:00" under a day,
// "1d 16:00" past it, "16:00:30" for steps under a minute, "2d" for whole-day
// steps. Negative times get a leading '-'.
std::string FormatRunTime(double t, double step);

// Full run time for readouts: "1d 16:02:15" (or "16:02:15" under a day).
std::string FormatRunTimeFull(double t);

// The calendar time of run time `t` when run time 0 is the UTC unix time
// `epoch`: "2024-03-05 16:02:15 UTC".
std::string FormatCalendar(double epoch, double t);

// A value with an SI suffix and about three significant digits: 0.42, 12.5,
// 6.5k, 1.2M. NaN gives "-".
std::string FormatValue(double v);

// Linear map of `v` from [a0, a1] to [b0, b1]; a degenerate source range maps
// to the middle of the target.
double MapRange(double v, double a0, double a1, double b0, double b1);

}  // namespace meshtwin::gui
