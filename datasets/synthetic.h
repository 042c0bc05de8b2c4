// Synthetic demand: a diurnal (daily) cycle with noise and announced spikes.
// The model is written out in datasets/GENERATORS.md.
//
//   DiurnalParams p;  p.base_rps = 2000;  p.spikes.push_back({...});
//   Trace t = GenerateDiurnal(p, /*duration=*/86400, /*seed=*/42);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/trace.h"

namespace meshtwin {

// A demand spike: a linear ramp to `magnitude` times the base curve, a hold,
// then an exponential decay back (time constant `decay`).
struct SpikeParams {
  Seconds start = 0;          // when the ramp begins
  Seconds ramp = 600;         // ramp-up duration
  Seconds hold = 1800;        // at full height
  Seconds decay = 1800;       // e-folding time of the decay
  double magnitude = 2.0;     // peak multiplier of the base curve (> 1 is a spike)
  Seconds announced = -1;     // when it became known; < 0 means "at start" (unannounced)
  std::string category = "launch";
  std::string text;
};

struct DiurnalParams {
  double base_rps = 1000;        // mean request rate
  double daily_amplitude = 0.5;  // relative swing of the daily cycle, 0..1
  double peak_hour = 14;         // hour of the day (UTC) of the daily peak, 0..24
  double weekend_factor = 1.0;   // multiplier on Saturdays and Sundays (day 0 is a Monday)
  double noise = 0.05;           // relative standard deviation of per-sample noise
  Seconds step = 60;             // sample spacing
  std::vector<SpikeParams> spikes;
};

// Generates `duration` seconds of demand; deterministic in (params, seed) on
// every platform (own normal sampler, no std::normal_distribution).
Trace GenerateDiurnal(const DiurnalParams& params, Seconds duration, std::uint64_t seed);

}  // namespace meshtwin
