#include "datasets/anomaly_series.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "datasets/splitmix.h"
#include "datasets/synthetic.h"
#include "datasets/text_util.h"

namespace meshtwin {
namespace {

using text_util::Num;

// SplitMix64 with the draws the generator needs.
class SplitMix : public SplitMix64 {
 public:
  using SplitMix64::SplitMix64;
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Unit(); }
  std::size_t Int(std::size_t lo, std::size_t hi) {  // [lo, hi]
    return lo + static_cast<std::size_t>(Unit() * static_cast<double>(hi - lo + 1));
  }
  // Box-Muller, one deviate per call (the stream stays simple to reason about).
  double Normal() {
    const double u1 = 1.0 - Unit();
    const double u2 = Unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }
};

// The longest an anomaly of `kind` lasts, in samples (see AnomalyKind).
std::size_t MaxLength(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kSpike:
      return 3;
    case AnomalyKind::kLevelShift:
      return 240;
    case AnomalyKind::kSlowdown:
      return 360;
    case AnomalyKind::kVarianceBurst:
      return 120;
    case AnomalyKind::kDrift:
      return 900 + 60;
  }
  return 1;
}

}  // namespace

const char* ToString(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kSpike:
      return "spike";
    case AnomalyKind::kLevelShift:
      return "level-shift";
    case AnomalyKind::kSlowdown:
      return "slowdown";
    case AnomalyKind::kVarianceBurst:
      return "variance-burst";
    case AnomalyKind::kDrift:
      return "drift";
  }
  return "?";
}

absl::StatusOr<AnomalyKind> ParseAnomalyKind(std::string_view name) {
  for (int k = 0; k < kNumAnomalyKinds; ++k) {
    const auto kind = static_cast<AnomalyKind>(k);
    if (name == ToString(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      text_util::Cat("unknown anomaly kind '", name,
                     "'; expected spike, level-shift, slowdown, variance-burst or drift"));
}

absl::StatusOr<AnomalySeries> GenerateAnomalySeries(const AnomalySeriesParams& p,
                                                    std::uint64_t seed) {
  if (!(p.step > 0 && std::isfinite(p.step)) || !(p.days > 0 && p.days <= 400) || !(p.base > 0) ||
      !(p.noise >= 0) || !(p.daily_amplitude >= 0 && p.daily_amplitude < 1) ||
      !(p.weekend_factor > 0) || !(p.clean_start >= 0) || !(p.min_gap >= 0) || p.count < 0) {
    return absl::InvalidArgumentError(
        "anomaly series: expected step > 0, days in (0, 400], base > 0, noise >= 0, "
        "daily_amplitude in [0, 1), weekend_factor > 0, clean_start, min_gap and count >= 0");
  }
  DiurnalParams d;
  d.base_rps = p.base;
  d.daily_amplitude = p.daily_amplitude;
  d.peak_hour = p.peak_hour;
  d.weekend_factor = p.weekend_factor;
  d.noise = 0;  // the noise is added below, where a variance burst can scale it
  d.step = p.step;
  AnomalySeries out;
  out.trace = GenerateDiurnal(d, p.days * 86400, seed);
  std::vector<double>& y = out.trace.demand;
  const std::size_t n = y.size();
  out.clean_start = std::min(n, static_cast<std::size_t>(std::ceil(p.clean_start / p.step)));
  out.trace.provenance = "anomaly-series days=" + Num(p.days) + " step=" + Num(p.step) +
                         " noise=" + Num(p.noise) + " count=" + std::to_string(p.count) +
                         " seed=" + std::to_string(seed);

  SplitMix rng(seed * 0x2545F4914F6CDD1DULL + 0x632BE59BD9B4E019ULL);
  if (!p.kinds.empty() && p.count > 0) {
    // One anomaly per equal segment of the clean part, at a random place
    // inside it with at least half a gap of clean samples on either side.
    const auto gap = static_cast<std::size_t>(std::ceil(p.min_gap / p.step));
    const std::size_t segment = (n - out.clean_start) / static_cast<std::size_t>(p.count);
    std::size_t longest = 0;
    for (AnomalyKind k : p.kinds) longest = std::max(longest, MaxLength(k));
    if (segment < longest + gap + 2) {
      return absl::InvalidArgumentError(
          "anomaly series: " + std::to_string(p.count) + " anomalies do not fit in " +
          std::to_string(n - out.clean_start) + " samples with gaps of " + std::to_string(gap));
    }
    for (int i = 0; i < p.count; ++i) {
      AnomalyWindow w;
      w.kind = p.kinds[static_cast<std::size_t>(i) % p.kinds.size()];
      std::size_t length = 1;
      switch (w.kind) {
        case AnomalyKind::kSpike:
          length = rng.Int(1, 3);
          w.factor = rng.Uniform(1.3, 1.8);
          break;
        case AnomalyKind::kLevelShift:
          length = rng.Int(30, 240);
          w.factor = rng.Unit() < 0.5 ? rng.Uniform(0.6, 0.75) : rng.Uniform(1.3, 1.5);
          break;
        case AnomalyKind::kSlowdown:
          length = rng.Int(60, 360);
          w.factor = i % 2 == 0 ? 3.0 : 0.5;  // a latency and a throughput view in turn
          break;
        case AnomalyKind::kVarianceBurst:
          length = rng.Int(30, 120);
          w.factor = rng.Uniform(4, 6);
          break;
        case AnomalyKind::kDrift:
          length = rng.Int(300, 900) + 60;
          w.factor = rng.Uniform(1.3, 1.5);
          break;
      }
      const std::size_t seg_begin = out.clean_start + static_cast<std::size_t>(i) * segment;
      w.begin = seg_begin + gap / 2 + rng.Int(0, segment - gap - length - 1);
      w.end = w.begin + length;
      out.anomalies.push_back(w);
    }
  }

  // The values: clean curve x anomaly factor x (1 + noise x burst factor x z).
  // The noise has its own stream: with and without anomalies, sample i gets
  // the same deviate, so a labelled series is its clean twin plus the labels.
  SplitMix noise_rng(seed ^ 0xA0761D6478BD642FULL);
  std::size_t next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (next < out.anomalies.size() && out.anomalies[next].end <= i) ++next;
    double factor = 1, noise = p.noise;
    if (next < out.anomalies.size() && out.anomalies[next].begin <= i) {
      const AnomalyWindow& w = out.anomalies[next];
      switch (w.kind) {
        case AnomalyKind::kVarianceBurst:
          noise *= w.factor;
          break;
        case AnomalyKind::kDrift: {
          const double ramp = static_cast<double>(w.end - w.begin - 60);
          const double x = std::min(1.0, static_cast<double>(i - w.begin + 1) / ramp);
          factor = 1 + (w.factor - 1) * x;
          break;
        }
        default:
          factor = w.factor;
      }
    }
    const double z = noise_rng.Normal();
    y[i] = std::max(0.0, y[i] * factor * (1 + noise * z));
  }
  return out;
}

}  // namespace meshtwin
