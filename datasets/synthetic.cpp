#include "datasets/synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datasets/splitmix.h"
#include "datasets/text_util.h"

namespace meshtwin {
namespace {

// Numbers in the provenance string are the shortest text that reads back as
// the same double, so it records the exact parameters.
using text_util::Num;

constexpr double kSecondsPerDay = 86400;
constexpr double kTwoPi = 2 * std::numbers::pi;

// xoshiro256** (Blackman & Vigna). Written out here rather than taken from
// <random> so the stream is fixed by this file alone, whatever the standard
// library: the standard pins std::mt19937_64 but not the distributions.
class Xoshiro256 {
 public:
  // SplitMix64 expands the user's seed into the state, as the xoshiro
  // authors recommend (a state of all zeros would be a fixed point).
  explicit Xoshiro256(std::uint64_t seed) {
    SplitMix64 sm(seed);
    for (std::uint64_t& word : s_) word = sm.Next();
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits (every double of the form k * 2^-53).
  double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

// Standard normal deviates by the Box-Muller transform; each pair of uniforms
// gives two deviates, and both are used so the stream is z_0, z_1, z_2, ...
class NormalSampler {
 public:
  explicit NormalSampler(std::uint64_t seed) : rng_(seed) {}

  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // 1 - u lies in (0, 1], so the logarithm is always finite.
    const double u1 = 1.0 - rng_.NextUnit();
    const double u2 = rng_.NextUnit();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(kTwoPi * u2);
    has_spare_ = true;
    return r * std::cos(kTwoPi * u2);
  }

 private:
  Xoshiro256 rng_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// Shape of a spike at `dt` seconds after its start: 0 before, a linear ramp
// to 1, 1 during the hold, then an exponential decay.
double SpikeShape(const SpikeParams& s, Seconds dt) {
  if (dt < 0) return 0;
  if (dt < s.ramp) return dt / s.ramp;  // only reached when ramp > 0
  const Seconds after_hold = dt - s.ramp - s.hold;
  if (after_hold < 0) return 1;
  if (!(s.decay > 0)) return 0;  // no decay time: the spike ends at once
  return std::exp(-after_hold / s.decay);
}

// The spike's contribution to the multiplier S(t), i.e. its excess over the
// base curve. Before the decay it is (magnitude - 1) · shape, as it always
// was; the decay relaxes towards baseline_after - 1 instead of 0. With
// baseline_after == 1 the decay term is 0 + (m - 1)·exp(..), bit-identical to
// the original (m - 1)·shape.
double SpikeExcess(const SpikeParams& s, Seconds dt) {
  if (dt < 0) return 0;
  if (dt < s.ramp + s.hold) return (s.magnitude - 1) * SpikeShape(s, dt);
  const double settled = s.baseline_after - 1;
  if (!(s.decay > 0)) return settled;
  return settled + (s.magnitude - s.baseline_after) * SpikeShape(s, dt);
}

// Smooth step: 0 for x <= 0, a raised cosine up to 1 at x = 1.
double SmoothStep(double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return 0.5 * (1 - std::cos(std::numbers::pi * x));
}

// The business-hours daily shape at local hour `h` of a weekday (see
// GENERATORS.md): 1 - a at night, 1 + a on the plateau, less the lunch dip.
double BusinessHoursShape(const BusinessHoursParams& b, double amplitude, double h) {
  double plateau = 0;
  if (b.transition_hours > 0) {
    plateau = SmoothStep((h - b.open_hour) / b.transition_hours + 0.5) *
              SmoothStep((b.close_hour - h) / b.transition_hours + 0.5);
  } else {
    plateau = (h >= b.open_hour && h < b.close_hour) ? 1 : 0;
  }
  double lunch = 0;
  if (b.lunch_width_hours > 0 && std::abs(h - b.lunch_hour) < b.lunch_width_hours / 2) {
    lunch = 0.5 * (1 + std::cos(kTwoPi * (h - b.lunch_hour) / b.lunch_width_hours));
  }
  return 1 - amplitude + 2 * amplitude * plateau * (1 - b.lunch_dip * lunch);
}

// The generator's calendar: trace time -> local day, weekday and hour.
// `offset` is the local time of day at trace time 0 in seconds, and
// `epoch_day` the UTC day number (days since 1970-01-01) of the epoch's
// midnight. With the default epoch (a Monday midnight) and UTC, offset is
// exactly 0, so `days` below is t / 86400 bit for bit, as it always was.
struct Calendar {
  double offset = 0;
  long long epoch_day = 0;

  explicit Calendar(const DiurnalParams& p) {
    const double epoch_days = std::floor(p.epoch / kSecondsPerDay);
    epoch_day = static_cast<long long>(epoch_days);
    offset = (p.epoch - epoch_days * kSecondsPerDay) + p.utc_offset_hours * 3600;
  }
  // Local days since the local midnight before trace time 0, fractional.
  double Days(Seconds t) const { return (t + offset) / kSecondsPerDay; }
  // 0 = Monday ... 6 = Sunday of local day number `day` (floor of Days()).
  // 1970-01-01 was a Thursday, hence the + 3.
  int Weekday(long long day) const {
    const long long w = (day + epoch_day + 3) % 7;
    return static_cast<int>(w < 0 ? w + 7 : w);
  }
};

// Quotes free text for the provenance string (backslash-escapes " and \).
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// Parameters added after the first version are listed only when they differ
// from their defaults, so older parameter sets keep their exact provenance.
std::string Provenance(const DiurnalParams& p, Seconds duration, std::uint64_t seed) {
  const DiurnalParams defaults;
  const SpikeParams spike_defaults;
  std::string out = "synthetic diurnal (datasets/GENERATORS.md): base_rps=" + Num(p.base_rps) +
                    " daily_amplitude=" + Num(p.daily_amplitude) +
                    " peak_hour=" + Num(p.peak_hour) + " weekend_factor=" + Num(p.weekend_factor) +
                    " noise=" + Num(p.noise) + " step=" + Num(p.step) +
                    " duration=" + Num(duration) + " seed=" + std::to_string(seed) + " spikes=[";
  for (std::size_t i = 0; i < p.spikes.size(); ++i) {
    const SpikeParams& s = p.spikes[i];
    if (i > 0) out += ", ";
    out += "{start=" + Num(s.start) + " ramp=" + Num(s.ramp) + " hold=" + Num(s.hold) +
           " decay=" + Num(s.decay) + " magnitude=" + Num(s.magnitude) +
           " announced=" + Num(s.announced) + " category=" + Quote(s.category) +
           " text=" + Quote(s.text);
    if (s.baseline_after != spike_defaults.baseline_after) {
      out += " baseline_after=" + Num(s.baseline_after);
    }
    if (s.lead_time != spike_defaults.lead_time) out += " lead_time=" + Num(s.lead_time);
    if (!s.role.empty()) out += " role=" + Quote(s.role);
    out += "}";
  }
  out += "]";
  if (p.epoch != defaults.epoch) out += " epoch=" + Num(p.epoch);
  if (p.utc_offset_hours != defaults.utc_offset_hours) {
    out += " utc_offset_hours=" + Num(p.utc_offset_hours);
  }
  if (p.shape == DailyShape::kBusinessHours) {
    const BusinessHoursParams& b = p.business;
    out += " shape=business-hours business={open_hour=" + Num(b.open_hour) +
           " close_hour=" + Num(b.close_hour) + " transition_hours=" + Num(b.transition_hours) +
           " lunch_hour=" + Num(b.lunch_hour) + " lunch_width_hours=" + Num(b.lunch_width_hours) +
           " lunch_dip=" + Num(b.lunch_dip) + "}";
  }
  if (p.trend_per_day != defaults.trend_per_day) {
    out += " trend_per_day=" + Num(p.trend_per_day);
  }
  if (!p.recurring.empty()) {
    out += " recurring=[";
    for (std::size_t i = 0; i < p.recurring.size(); ++i) {
      const RecurringSpikeParams& r = p.recurring[i];
      if (i > 0) out += ", ";
      out += "{local_hour=" + Num(r.local_hour) + " weekdays=" + std::to_string(r.weekdays) +
             " ramp=" + Num(r.ramp) + " hold=" + Num(r.hold) + " decay=" + Num(r.decay) +
             " magnitude=" + Num(r.magnitude) + " magnitude_jitter=" + Num(r.magnitude_jitter) +
             " lead_time=" + Num(r.lead_time) + " category=" + Quote(r.category) +
             " text=" + Quote(r.text);
      if (!r.role.empty()) out += " role=" + Quote(r.role);
      out += "}";
    }
    out += "]";
  }
  if (!p.roles.empty()) {
    out += " roles=[";
    for (std::size_t i = 0; i < p.roles.size(); ++i) {
      const RoleParams& r = p.roles[i];
      if (i > 0) out += ", ";
      out += "{name=" + Quote(r.name) + " share=" + Num(r.share) +
             " daily_amplitude=" + Num(r.daily_amplitude) + " peak_hour=" + Num(r.peak_hour) +
             " weekend_factor=" + Num(r.weekend_factor) + "}";
    }
    out += "]";
  }
  return out;
}

// Seeds of the streams other than the demand noise: distinct odd constants
// XORed into the user's seed, so the demand noise z_i stays what it always was.
constexpr std::uint64_t kEventStreamKey = 0xA0761D6478BD642FULL;
constexpr std::uint64_t kRoleStreamKey = 0xD1B54A32D192ED03ULL;

// Expands the recurring spikes into one spike per occurrence inside
// [0, duration). The jitter uniforms are drawn day by day (from the local day
// before the trace to the one after it), one per recurring spike and day
// whether or not that day has an occurrence, so that a day's magnitudes do
// not depend on the trace length or the weekday masks. Occurrences come out
// in that order: by day, then in the order of `recurring`.
std::vector<SpikeParams> ExpandRecurring(const DiurnalParams& p, const Calendar& cal,
                                         Seconds duration, std::uint64_t seed) {
  std::vector<SpikeParams> out;
  if (p.recurring.empty() || !(duration > 0) || !std::isfinite(duration)) return out;
  Xoshiro256 rng(seed ^ kEventStreamKey);
  // One day of margin on each side admits local hours in (-24, 48).
  const auto first_day = static_cast<long long>(std::floor(cal.Days(0))) - 1;
  const auto last_day = static_cast<long long>(std::floor(cal.Days(duration))) + 1;
  for (long long day = first_day; day <= last_day; ++day) {
    for (const RecurringSpikeParams& r : p.recurring) {
      const double u = rng.NextUnit();
      const Seconds start =
          static_cast<double>(day) * kSecondsPerDay + r.local_hour * 3600 - cal.offset;
      if (start < 0 || start >= duration) continue;
      if (((r.weekdays >> cal.Weekday(day)) & 1U) == 0) continue;
      SpikeParams s;
      s.start = start;
      s.ramp = r.ramp;
      s.hold = r.hold;
      s.decay = r.decay;
      s.magnitude = 1 + (r.magnitude - 1) * (1 + r.magnitude_jitter * (2 * u - 1));
      s.lead_time = r.lead_time;
      s.category = r.category;
      s.text = r.text;
      s.role = r.role;
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace

Trace GenerateDiurnal(const DiurnalParams& params, Seconds duration, std::uint64_t seed) {
  Trace trace;
  trace.start = 0;
  trace.step = params.step;
  trace.epoch = params.epoch;
  trace.provenance = Provenance(params, duration, seed);

  const Calendar cal(params);
  std::vector<SpikeParams> spikes = params.spikes;
  // A recurring spike repeats hundreds of times in a long trace; once an
  // occurrence has decayed for 40 time constants (exp(-40) < 5e-18 of its
  // excess) it is replaced by its settled level, so each sample only pays for
  // the occurrences near it. Explicit spikes are always evaluated in full,
  // which keeps older parameter sets bit-identical.
  std::vector<Seconds> negligible_after(spikes.size(), std::numeric_limits<double>::infinity());
  for (SpikeParams& s : ExpandRecurring(params, cal, duration, seed)) {
    negligible_after.push_back(s.decay > 0 ? s.start + s.ramp + s.hold + 40 * s.decay
                                           : s.start + s.ramp + s.hold);
    spikes.push_back(std::move(s));
  }

  for (const SpikeParams& s : spikes) {
    Event e;
    e.start = s.start;
    // By three decay times the spike is down to 5% of its height: call that its end.
    e.end = s.start + s.ramp + s.hold + 3 * s.decay;
    if (s.lead_time >= 0) {
      e.announced = s.start - s.lead_time;
    } else {
      e.announced = s.announced >= 0 ? s.announced : s.start;
    }
    e.source = "synthetic";
    e.category = s.category;
    e.magnitude = s.magnitude;
    e.text = s.text;
    trace.events.push_back(std::move(e));
  }

  // A non-positive or non-finite step or duration describes no samples.
  if (!(params.step > 0) || !std::isfinite(params.step) || !(duration > 0) ||
      !std::isfinite(duration)) {
    return trace;
  }
  const auto n = static_cast<std::size_t>(std::ceil(duration / params.step));
  trace.demand.resize(n);

  // The parts of the model that every role shares, at trace time t.
  struct Calendarised {
    double days;  // local days, fractional
    int weekday;  // 0 = Monday
    bool weekend;
  };
  auto calendar_at = [&cal](Seconds t) {
    Calendarised c;
    c.days = cal.Days(t);
    c.weekday = cal.Weekday(static_cast<long long>(std::floor(c.days)));
    c.weekend = c.weekday == 5 || c.weekday == 6;
    return c;
  };
  auto trend_at = [&params](Seconds t) {
    return std::max(0.0, 1 + params.trend_per_day * (t / kSecondsPerDay));
  };
  // S(t) over the spikes that apply to `role` (empty: the whole demand).
  auto spikes_at = [&spikes, &negligible_after](Seconds t, const std::string* role) {
    double total = 1;
    for (std::size_t k = 0; k < spikes.size(); ++k) {
      const SpikeParams& s = spikes[k];
      if (t < s.start) continue;
      if (role != nullptr && !s.role.empty() && s.role != *role) continue;
      total += t >= negligible_after[k] ? s.baseline_after - 1 : SpikeExcess(s, t - s.start);
    }
    return total;
  };

  if (params.roles.empty()) {
    NormalSampler normal(seed);
    for (std::size_t i = 0; i < n; ++i) {
      // Mid-sample time: the sample stands for the whole interval, and the
      // midpoint makes whole-day means of the cosine vanish exactly.
      const Seconds t = (static_cast<double>(i) + 0.5) * params.step;
      const Calendarised c = calendar_at(t);
      double daily = 0;
      if (params.shape == DailyShape::kBusinessHours) {
        // The plateau belongs to working days only: weekends stay at the night level.
        const double hour = (c.days - std::floor(c.days)) * 24;
        daily = c.weekend ? 1 - params.daily_amplitude
                          : BusinessHoursShape(params.business, params.daily_amplitude, hour);
      } else {
        daily = 1 + params.daily_amplitude * std::cos(kTwoPi * (c.days - params.peak_hour / 24));
      }
      const double weekly = c.weekend ? params.weekend_factor : 1.0;
      const double spike = spikes_at(t, nullptr);
      // Draw z_i for every sample, even with noise == 0, so that sample i always
      // sees the i-th deviate of the seed's stream whatever the other parameters.
      const double z = normal.Next();
      const double value =
          params.base_rps * daily * weekly * trend_at(t) * spike * (1 + params.noise * z);
      trace.demand[i] = std::max(0.0, value);
    }
    return trace;
  }

  // Per-role channels, each with its own noise stream so that adding a role
  // does not reshuffle the others; demand is their sum.
  std::fill(trace.demand.begin(), trace.demand.end(), 0.0);
  for (std::size_t r = 0; r < params.roles.size(); ++r) {
    const RoleParams& role = params.roles[r];
    TraceChannel channel;
    channel.name = role.name;
    channel.kind = "role";
    channel.unit = trace.unit;
    channel.values.resize(n);
    NormalSampler normal(seed ^ (kRoleStreamKey * (static_cast<std::uint64_t>(r) + 1)));
    for (std::size_t i = 0; i < n; ++i) {
      const Seconds t = (static_cast<double>(i) + 0.5) * params.step;
      const Calendarised c = calendar_at(t);
      const double daily =
          1 + role.daily_amplitude * std::cos(kTwoPi * (c.days - role.peak_hour / 24));
      const double weekly = c.weekend ? role.weekend_factor : 1.0;
      const double z = normal.Next();
      const double value = params.base_rps * role.share * daily * weekly * trend_at(t) *
                           spikes_at(t, &role.name) * (1 + params.noise * z);
      channel.values[i] = std::max(0.0, value);
      trace.demand[i] += channel.values[i];
    }
    trace.channels.push_back(std::move(channel));
  }
  return trace;
}

}  // namespace meshtwin
