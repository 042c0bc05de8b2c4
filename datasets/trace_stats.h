// What `meshtwin trace inspect` reports about a trace: its range, step and
// size, gaps, the range of its values, how strongly it repeats daily and
// weekly, and its events.
#pragma once

#include <cstddef>
#include <vector>

#include "datasets/trace.h"

namespace meshtwin {

struct TraceGap {
  double start = 0;          // trace time of the first missing sample
  std::size_t samples = 0;   // how many in a row
};

struct SeriesStats {
  double min = 0, mean = 0, max = 0;  // over present samples (NaN if none)
  std::size_t missing = 0;
  // Strength of a seasonality in [0, 1]: 1 - Var(remainder) / Var(deseasonalised + remainder)
  // after removing the mean profile of that period (classical decomposition,
  // as in Hyndman & Athanasopoulos, FPP3 §4.3); NaN when the trace is shorter
  // than two periods.
  double daily_strength = 0;
  double weekly_strength = 0;
};

struct TraceStats {
  double start_unix = 0, end_unix = 0;  // epoch + start, epoch + end
  double step = 0;
  std::size_t rows = 0;
  std::vector<TraceGap> gaps;
  SeriesStats demand;
  std::vector<SeriesStats> channels;  // in trace.channels order
  std::size_t events = 0;
};

TraceStats ComputeTraceStats(const Trace& trace);

}  // namespace meshtwin
