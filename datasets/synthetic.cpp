#include "datasets/synthetic.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>
#include <string_view>
#include <system_error>

namespace meshtwin {
namespace {

constexpr double kSecondsPerDay = 86400;
constexpr double kTwoPi = 2 * std::numbers::pi;

// SplitMix64: expands the user's seed into the xoshiro state, as the xoshiro
// authors recommend (a state of all zeros would be a fixed point).
std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna). Written out here rather than taken from
// <random> so the stream is fixed by this file alone, whatever the standard
// library: the standard pins std::mt19937_64 but not the distributions.
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (std::uint64_t& word : s_) word = SplitMix64(sm);
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

// Shortest text that reads back as the same double, so the provenance string
// records the exact parameters (and does not depend on the locale).
std::string Num(double v) {
  std::array<char, 32> buf{};
  const auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "?";
  return std::string(buf.data(), ptr);
}

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

std::string Provenance(const DiurnalParams& p, Seconds duration, std::uint64_t seed) {
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
           " text=" + Quote(s.text) + "}";
  }
  out += "]";
  return out;
}

}  // namespace

Trace GenerateDiurnal(const DiurnalParams& params, Seconds duration, std::uint64_t seed) {
  Trace trace;
  trace.start = 0;
  trace.step = params.step;
  trace.provenance = Provenance(params, duration, seed);

  for (const SpikeParams& s : params.spikes) {
    Event e;
    e.start = s.start;
    // By three decay times the spike is down to 5% of its height: call that its end.
    e.end = s.start + s.ramp + s.hold + 3 * s.decay;
    e.announced = s.announced >= 0 ? s.announced : s.start;
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

  NormalSampler normal(seed);
  for (std::size_t i = 0; i < n; ++i) {
    // Mid-sample time: the sample stands for the whole interval, and the
    // midpoint makes whole-day means of the cosine vanish exactly.
    const Seconds t = (static_cast<double>(i) + 0.5) * params.step;
    const double days = t / kSecondsPerDay;
    const double daily =
        1 + params.daily_amplitude * std::cos(kTwoPi * (days - params.peak_hour / 24));
    const auto day_of_week = static_cast<long long>(std::floor(days)) % 7;
    const double weekly = (day_of_week == 5 || day_of_week == 6) ? params.weekend_factor : 1.0;
    double spikes = 1;
    for (const SpikeParams& s : params.spikes) {
      spikes += (s.magnitude - 1) * SpikeShape(s, t - s.start);
    }
    // Draw z_i for every sample, even with noise == 0, so that sample i always
    // sees the i-th deviate of the seed's stream whatever the other parameters.
    const double z = normal.Next();
    const double value = params.base_rps * daily * weekly * spikes * (1 + params.noise * z);
    trace.demand[i] = std::max(0.0, value);
  }
  return trace;
}

}  // namespace meshtwin
