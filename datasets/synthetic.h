// Synthetic demand: a daily cycle (a cosine or a business-hours profile) with
// a weekend level, a linear trend, noise, announced spikes, recurring daily
// spikes and optional per-role channels. The model is written out in
// datasets/GENERATORS.md.
//
//   DiurnalParams p;  p.base_rps = 2000;  p.spikes.push_back({...});
//   Trace t = GenerateDiurnal(p, /*duration=*/86400, /*seed=*/42);
//
// Every field added after the first version defaults to a value that leaves
// the output of older parameter sets bit-identical (scenarios and pinned
// tests depend on it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/trace.h"

namespace meshtwin {

// A demand spike: a linear ramp to `magnitude` times the base curve, a hold,
// then an exponential decay (time constant `decay`) to `baseline_after` times
// the base curve (1 = back to where it was).
struct SpikeParams {
  Seconds start = 0;       // when the ramp begins
  Seconds ramp = 600;      // ramp-up duration
  Seconds hold = 1800;     // at full height
  Seconds decay = 1800;    // e-folding time of the decay
  double magnitude = 2.0;  // peak multiplier of the base curve (> 1 is a spike)
  Seconds announced = -1;  // when it became known; < 0 means "at start" (unannounced)
  std::string category = "launch";
  std::string text;
  // Level the spike settles at after its decay, as a multiplier of the base
  // curve (a launch that leaves more users behind than it found has > 1).
  double baseline_after = 1.0;
  // If >= 0, the event is announced this long before `start` (overriding
  // `announced`); unlike `announced` it may point before the trace start.
  Seconds lead_time = -1;
  // Only this role's channel responds (see DiurnalParams::roles); empty: the
  // whole demand, i.e. every role.
  std::string role;
};

// A spike that repeats every (local) day at the same time of day, e.g. the
// opening of a stock exchange. Each occurrence inside the trace becomes a
// spike and an event of its own.
struct RecurringSpikeParams {
  double local_hour = 9.5;  // ramp start, local hour of day (see utc_offset_hours), in (-24, 48)
  // Days of the week it occurs on: bit d for day d, 0 = Monday ... 6 = Sunday.
  // 0x1F is Monday to Friday, 0x7F every day.
  unsigned weekdays = 0x1F;
  Seconds ramp = 300;
  Seconds hold = 600;
  Seconds decay = 900;
  double magnitude = 2.0;
  // Relative spread of each occurrence's excess (magnitude - 1): uniform in
  // [1 - jitter, 1 + jitter] times it, drawn from the event stream.
  double magnitude_jitter = 0;
  Seconds lead_time = 0;  // each occurrence is announced this long before its start
  std::string category = "market";
  std::string text;
  std::string role;  // as SpikeParams::role
};

// One role's share of the demand, with its own daily cycle: a TraceChannel of
// kind "role". With roles, demand is the sum of the role channels.
struct RoleParams {
  std::string name;              // e.g. "interactive", "batch"
  double share = 1;              // fraction of base_rps (the role's mean level)
  double daily_amplitude = 0.5;  // as DiurnalParams (a cosine)
  double peak_hour = 14;         // local hour of the role's daily peak
  double weekend_factor = 1.0;   // as DiurnalParams, for this role
};

enum class DailyShape {
  kCosine,         // 1 + a·cos(...), peak at peak_hour
  kBusinessHours,  // low at night and on weekends, a plateau in working hours with a lunch dip
};

// The working-hours plateau of DailyShape::kBusinessHours, in local hours.
struct BusinessHoursParams {
  double open_hour = 9;         // the plateau is half-way up here
  double close_hour = 17;       // and half-way down here
  double transition_hours = 1;  // width of the smooth rise and fall
  double lunch_hour = 12.5;     // centre of the lunch dip
  double lunch_width_hours = 1.5;
  double lunch_dip = 0.2;  // relative depth of the dip at its centre
};

struct DiurnalParams {
  double base_rps = 1000;        // mean request rate (cosine shape)
  double daily_amplitude = 0.5;  // relative swing of the daily cycle, 0..1
  double peak_hour = 14;         // hour of the day (local; UTC by default) of the daily peak, 0..24
  double weekend_factor = 1.0;   // multiplier on Saturdays and Sundays (day 0 is a Monday)
  double noise = 0.05;           // relative standard deviation of per-sample noise
  Seconds step = 60;             // sample spacing
  std::vector<SpikeParams> spikes;

  // UTC unix time of trace time 0 (Trace::epoch). The calendar (weekdays,
  // local hours) is derived from it; 2024-01-01T00:00:00Z is a Monday.
  double epoch = 1704067200;
  // Local time = UTC + this many hours, for every hour of day and weekday
  // above and below (no daylight saving time).
  double utc_offset_hours = 0;
  DailyShape shape = DailyShape::kCosine;
  BusinessHoursParams business;
  // Relative linear trend: the curve is multiplied by 1 + trend_per_day · t/86400.
  double trend_per_day = 0;
  std::vector<RecurringSpikeParams> recurring;
  std::vector<RoleParams> roles;  // empty: no channels, demand from the shape above
};

// Generates `duration` seconds of demand; deterministic in (params, seed) on
// every platform (own normal sampler, no std::normal_distribution).
Trace GenerateDiurnal(const DiurnalParams& params, Seconds duration, std::uint64_t seed);

}  // namespace meshtwin
