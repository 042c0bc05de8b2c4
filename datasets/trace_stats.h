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
  // Strength of a seasonality in [0, 1]: max(0, 1 - Var(R) / Var(S + R)),
  // with S + R the detrended series and R what is left after also removing
  // the mean profile of the period (classical decomposition, as in Hyndman &
  // Athanasopoulos, FPP3 §3.4 and §4.3). For a period P (86400 s, 604800 s):
  //   trend T: the centred moving average over one period (w = round(P/step)
  //     samples; the 2 x w average when w is even), over the window's present
  //     samples, undefined within w/2 of either end or when less than half the
  //     window is present. Traces shorter than 3 P use the mean of the
  //     present samples instead, so that some data is left to decompose.
  //   D_i = x_i - T_i where both are defined; phase(i) =
  //     floor(((start + i·step) mod P) / step); S_p = mean of D over phase p;
  //     R_i = D_i - S_phase(i). Variances are population variances over the
  //     samples where D is defined (NaN samples are skipped).
  // NaN when the series covers fewer than two periods (rows·step < 2 P), has
  // fewer than two samples per period, or fewer than two D values; 0 for a
  // constant series. The mean profile fits noise too: white noise over K
  // periods reads about 1/K, so trust small values only on long traces.
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
