// A demand trace: a regular series of request rates, optional extra channels
// (per class, per role, or imported series) on the same time axis, and the
// global events attached to it. On disk: datasets/trace_file.h (HDF5).
//
// Times inside a trace are "trace time": seconds on the trace's own axis,
// where a simulation's run time 0 is trace time 0. `epoch` anchors trace time
// to the calendar (UTC unix seconds at trace time 0).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "twin/types.h"

namespace meshtwin {

// A global event (news, social trend, market move, launch...). `announced` is
// when it became known: a forecaster may only use events announced at or
// before its forecast origin. `end` is NaN for an instant event.
struct Event {
  Seconds start = 0;
  Seconds end = std::numeric_limits<double>::quiet_NaN();
  Seconds announced = 0;
  std::string source;      // e.g. "scenario", "news-feed"
  std::string category;    // e.g. "launch", "news", "market"
  double magnitude = 0;    // effect size, as the source states it
  std::string text;
};

// A named series on a trace's time axis (same length as `demand`).
struct TraceChannel {
  std::string name;   // e.g. "interactive", "batch", "cpu{instance=\"a\"}"
  std::string kind;   // "role", "class" or "series"
  std::string unit;
  std::vector<double> values;
};

// Request rate sampled every `step` seconds from trace time `start`; sample i
// covers [start + i*step, start + (i+1)*step). NaN marks a missing sample.
struct Trace {
  Seconds start = 0;
  Seconds step = 60;
  double epoch = 0;             // UTC unix time of trace time 0
  std::vector<double> demand;   // requests/s (the sum of the role/class channels, if any)
  std::string unit = "requests/s";
  std::string provenance;       // where it came from (generator and parameters, file)
  std::vector<TraceChannel> channels;
  std::vector<Event> events;    // times in trace time

  Seconds end() const { return start + step * static_cast<double>(demand.size()); }

  // Mean rate over [t0, t1), integrating the piecewise-constant samples.
  // Times outside the trace take the nearest sample; NaN samples count as 0.
  double MeanRate(Seconds t0, Seconds t1) const;
};

}  // namespace meshtwin
