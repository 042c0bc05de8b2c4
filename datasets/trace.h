// A demand trace: a regular series of request rates with the global events
// attached to it. In memory only; HDF5 and CSV import come with the traces work.
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

// Request rate sampled every `step` seconds from time `start`; sample i covers
// [start + i*step, start + (i+1)*step). NaN marks a missing sample.
struct Trace {
  Seconds start = 0;
  Seconds step = 60;
  std::vector<double> demand;   // requests/s
  std::string unit = "requests/s";
  std::string provenance;       // where it came from (generator and parameters, file)
  std::vector<Event> events;

  Seconds end() const { return start + step * static_cast<double>(demand.size()); }

  // Mean rate over [t0, t1), integrating the piecewise-constant samples.
  // Times outside the trace take the nearest sample; NaN samples count as 0.
  double MeanRate(Seconds t0, Seconds t1) const;
};

}  // namespace meshtwin
