#include "models/features.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

namespace meshtwin {
namespace {

constexpr double kDay = 86400;
constexpr double kWeek = 7 * kDay;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Per slot, after the one-hot category: magnitude, active, 2 kernels before
// the start, 3 after it, 1 after the end, duration.
constexpr int kSlotExtra = 9;
// The aggregate block: over all relevant events, the sum of magnitude times
// active, the 2 before-kernels, the 3 after-kernels and the after-end kernel.
// Category-blind, so every event teaches it: a market open seen 16 times in
// training is enough to learn "magnitude x shape", where the one-hot slots
// alone would need many examples per category and slot.
constexpr int kAggregateWidth = 7;
// Kernels exp(-dt / tau): several time scales, because a spike ramps over
// minutes and a launch decays over a day, and a few kernels describe either
// shape far better than one clipped linear time.
constexpr std::array<double, 2> kBeforeTau = {900, 7200};
constexpr std::array<double, 3> kAfterTau = {900, 3600, 21600};
constexpr double kAfterEndTau = 3600;
// An event matters to a time from this long before its start to this long
// after its end.
constexpr double kBeforeSpan = 6 * 3600;
constexpr double kAfterSpan = 6 * 3600;

constexpr int kCalendarWidth = 6;  // CalendarFeatures' 5 + the holiday flag
constexpr int kLagWidth = 4;       // daily lag, weekly lag, and their availability flags
constexpr int kRecentMeans = 2;    // means of the last 1 h and 4 h

double PositiveMod(double x, double m) {
  const double r = std::fmod(x, m);
  return r < 0 ? r + m : r;
}

// End of an event's window: its end when it has one, else one sample (an
// instant event).
double EffectiveEnd(const Event& e, double step) {
  return std::isfinite(e.end) && e.end > e.start ? e.end : e.start + step;
}

}  // namespace

const std::vector<std::string>& DefaultEventCategories() {
  static const std::vector<std::string> kCategories = {
      "launch", "sale",   "market",  "earnings", "news",         "social",
      "sports", "outage", "weather", "media",    "notification", "campaign"};
  return kCategories;
}

int FeatureSpec::DaySteps() const {
  return std::max(1, static_cast<int>(std::lround(kDay / step)));
}

int FeatureSpec::WeekSteps() const {
  return std::max(1, static_cast<int>(std::lround(kWeek / step)));
}

int FeatureSpec::SlotWidth() const { return static_cast<int>(categories.size()) + 1 + kSlotExtra; }

int FeatureSpec::EventWidth() const {
  return use_events ? event_slots * SlotWidth() + kAggregateWidth : 0;
}

int FeatureSpec::SequenceWidth() const { return 4 + (use_calendar ? 2 : 0); }

int FeatureSpec::StaticWidth() const {
  const int calendar = use_calendar ? kCalendarWidth : 0;
  const int events = EventWidth();
  const int origin = 1 + kLagWidth + (use_recent_means ? kRecentMeans : 0) + calendar + events;
  const int per_horizon = kLagWidth + calendar + 2 * events;
  return origin + per_horizon * static_cast<int>(horizon_steps.size());
}

Normalizer Normalizer::Fit(std::span<const double> values) {
  Normalizer n;
  double sum = 0;
  std::size_t count = 0;
  for (double v : values) {
    if (std::isfinite(v) && v > 0) {
      sum += v;
      ++count;
    }
  }
  // Scaling by the mean makes log1p act alike on 0.4 (a CPU share) and
  // 5000 requests/s: near-linear around the usual level, compressive on spikes.
  n.scale = count > 0 && sum > 0 ? sum / static_cast<double>(count) : 1;
  double s1 = 0, s2 = 0;
  std::size_t m = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    const double u = std::log1p(std::max(v, 0.0) / n.scale);
    s1 += u;
    s2 += u * u;
    ++m;
  }
  if (m > 0) {
    n.mean = s1 / static_cast<double>(m);
    const double var = s2 / static_cast<double>(m) - n.mean * n.mean;
    n.stddev = var > 1e-12 ? std::sqrt(var) : 1;
  }
  return n;
}

double Normalizer::Forward(double y) const {
  if (!std::isfinite(y)) return kNaN;
  return (std::log1p(std::max(y, 0.0) / scale) - mean) / stddev;
}

double Normalizer::Inverse(double x) const {
  // Clamped so that a wild network output cannot overflow to infinity.
  const double u = std::clamp(x * stddev + mean, 0.0, 50.0);
  return scale * std::expm1(u);
}

void CalendarFeatures(double unix_time, float* out) {
  constexpr double kTwoPi = 2 * std::numbers::pi;
  const double day_phase = PositiveMod(unix_time, kDay) / kDay;
  // 1970-01-01 was a Thursday: +3 days puts Monday 00:00 at phase 0.
  const double week_phase = PositiveMod(unix_time + 3 * kDay, kWeek) / kWeek;
  out[0] = static_cast<float>(std::sin(kTwoPi * day_phase));
  out[1] = static_cast<float>(std::cos(kTwoPi * day_phase));
  out[2] = static_cast<float>(std::sin(kTwoPi * week_phase));
  out[3] = static_cast<float>(std::cos(kTwoPi * week_phase));
  out[4] = week_phase >= 5.0 / 7.0 ? 1.0F : 0.0F;
}

FeatureBuilder::FeatureBuilder(const FeatureSpec& spec, const Normalizer& norm,
                               const History& history)
    : spec_(spec),
      norm_(norm),
      history_(history),
      day_steps_(spec.DaySteps()),
      week_steps_(spec.WeekSteps()) {
  events_.reserve(history.events.size());
  for (const Event& e : history.events) {
    if (!std::isfinite(e.start)) continue;
    PreparedEvent p;
    p.start = e.start;
    // No announcement time: known when it starts (as the generator's
    // unannounced events), never earlier.
    p.announced = std::isfinite(e.announced) ? e.announced : e.start;
    const bool holiday = e.category == "holiday";
    if (holiday && !(std::isfinite(e.end) && e.end > e.start)) {
      // A holiday given as an instant covers its (UTC) day.
      p.end = std::floor(e.start / kDay) * kDay + kDay;
    } else {
      p.end = EffectiveEnd(e, spec.step);
    }
    const auto it = std::find(spec.categories.begin(), spec.categories.end(), e.category);
    p.category = static_cast<int>(it - spec.categories.begin());
    const double m = std::isfinite(e.magnitude) ? e.magnitude : 0;
    p.magnitude = static_cast<float>(std::copysign(std::log1p(std::abs(m)), m) / 2);
    p.duration = static_cast<float>(std::log1p((p.end - p.start) / 3600) / 5);
    (holiday ? holidays_ : events_).push_back(p);
  }
  std::stable_sort(
      events_.begin(), events_.end(),
      [](const PreparedEvent& a, const PreparedEvent& b) { return a.start < b.start; });
  for (const PreparedEvent& p : events_) {
    max_event_length_ = std::max(max_event_length_, p.end - p.start);
  }
}

double FeatureBuilder::SampleTime(long i) const {
  return history_.start_unix + (static_cast<double>(i) + 0.5) * history_.step;
}

double FeatureBuilder::Value(long i, std::size_t n) const {
  if (i < 0 || i >= static_cast<long>(n)) return kNaN;
  return norm_.Forward(history_.values[static_cast<std::size_t>(i)]);
}

double FeatureBuilder::Lag(long c, std::size_t n) const {
  double sum = 0;
  int count = 0;
  for (long i = c - spec_.lag_radius; i <= c + spec_.lag_radius; ++i) {
    const double v = Value(i, n);
    if (std::isfinite(v)) {
      sum += v;
      ++count;
    }
  }
  return count > 0 ? sum / count : kNaN;
}

void FeatureBuilder::Calendar(double t, double t0, float* out) const {
  CalendarFeatures(t, out);
  float holiday = 0;
  // Holidays are few; a linear pass is cheap and simple.
  for (const PreparedEvent& e : holidays_) {
    if (e.announced <= t0 && e.start <= t && t < e.end) {
      holiday = 1;
      break;
    }
  }
  out[5] = holiday;
}

void FeatureBuilder::EventSlots(double t, double t0, float* out) const {
  const int width = spec_.SlotWidth();
  const int slots = std::clamp(spec_.event_slots, 0, kMaxEventSlots);
  float* aggregate = out + spec_.event_slots * width;
  std::fill(out, out + spec_.EventWidth(), 0.0F);
  // Candidates: events that start no later than kBeforeSpan after t and, as
  // none lasts longer than max_event_length_, no earlier than that before.
  const double lo = t - max_event_length_ - kAfterSpan;
  auto it = std::lower_bound(events_.begin(), events_.end(), lo,
                             [](const PreparedEvent& e, double v) { return e.start < v; });
  // The most relevant events so far (score: 0 while active, else the
  // distance to its window), best first.
  std::array<std::pair<double, const PreparedEvent*>, kMaxEventSlots> best{};
  int found = 0;
  std::array<float, kSlotExtra> x{};
  for (; it != events_.end() && it->start <= t + kBeforeSpan; ++it) {
    const PreparedEvent& e = *it;
    // The no-peeking rule: an event announced after the origin does not exist yet.
    if (e.announced > t0 || t > e.end + kAfterSpan) continue;
    Kernels(e, t, x.data());
    for (int k = 0; k < kAggregateWidth; ++k)
      aggregate[k] += e.magnitude * x[static_cast<std::size_t>(k + 1)];
    const bool active = e.start <= t && t < e.end;
    const double score = active ? 0 : std::min(std::abs(t - e.start), std::abs(t - e.end));
    // Insertion into the short sorted list (stable: earlier starts win ties).
    int pos = found;
    while (pos > 0 && best[static_cast<std::size_t>(pos - 1)].first > score) --pos;
    if (pos >= slots) continue;
    for (int q = std::min(found, slots - 1); q > pos; --q) {
      best[static_cast<std::size_t>(q)] = best[static_cast<std::size_t>(q - 1)];
    }
    best[static_cast<std::size_t>(pos)] = {score, &e};
    found = std::min(found + 1, slots);
  }
  const int n_categories = static_cast<int>(spec_.categories.size());
  for (int s = 0; s < found; ++s) {
    const PreparedEvent& e = *best[static_cast<std::size_t>(s)].second;
    float* o = out + s * width;
    o[std::min(e.category, n_categories)] = 1;
    Kernels(e, t, o + n_categories + 1);
  }
}

void FeatureBuilder::Kernels(const PreparedEvent& e, double t, float* x) {
  x[0] = e.magnitude;
  x[1] = e.start <= t && t < e.end ? 1.0F : 0.0F;
  for (std::size_t k = 0; k < kBeforeTau.size(); ++k) {
    x[2 + k] = t < e.start ? static_cast<float>(std::exp(-(e.start - t) / kBeforeTau[k])) : 0;
  }
  for (std::size_t k = 0; k < kAfterTau.size(); ++k) {
    x[4 + k] = t >= e.start ? static_cast<float>(std::exp(-(t - e.start) / kAfterTau[k])) : 0;
  }
  x[7] = t >= e.end ? static_cast<float>(std::exp(-(t - e.end) / kAfterEndTau)) : 0;
  x[8] = e.duration;
}

float FeatureBuilder::Build(std::size_t n, float* sequence, float* statics) const {
  const long origin = static_cast<long>(n);
  const double t0 = history_.start_unix + history_.step * static_cast<double>(n);
  // Anchor: the last known value. Searching back a week at most keeps a
  // long outage from costing a scan of the whole history.
  double anchor = kNaN;
  for (long i = origin - 1; i >= 0 && i >= origin - week_steps_; --i) {
    anchor = Value(i, n);
    if (std::isfinite(anchor)) break;
  }
  if (!std::isfinite(anchor)) anchor = 0;

  // Sequence, oldest first; a missing sample carries the previous value
  // forward (the anchor's search guarantees something sensible to carry).
  const int sw = spec_.SequenceWidth();
  const long first = origin - spec_.window;
  double carry = kNaN;
  for (long i = first - 1; i >= 0 && i >= first - spec_.window; --i) {
    carry = Value(i, n);
    if (std::isfinite(carry)) break;
  }
  if (!std::isfinite(carry)) carry = anchor;
  for (int w = 0; w < spec_.window; ++w) {
    const long i = first + w;
    float* row = sequence + w * sw;
    const double v = Value(i, n);
    const bool missing = !std::isfinite(v);
    if (!missing) carry = v;
    double lag_d = Value(i - day_steps_, n);
    if (!std::isfinite(lag_d)) lag_d = carry;
    double lag_w = spec_.use_weekly ? Value(i - week_steps_, n) : kNaN;
    if (!std::isfinite(lag_w)) lag_w = lag_d;
    row[kSequenceValueColumn] = static_cast<float>(carry);
    row[1] = missing ? 1.0F : 0.0F;
    row[2] = static_cast<float>(lag_d);
    row[3] = static_cast<float>(lag_w);
    if (spec_.use_calendar) {
      constexpr double kTwoPi = 2 * std::numbers::pi;
      const double phase = PositiveMod(SampleTime(i), kDay) / kDay;
      row[4] = static_cast<float>(std::sin(kTwoPi * phase));
      row[5] = static_cast<float>(std::cos(kTwoPi * phase));
    }
  }

  // Lags of sample c: the day and week before it, from known samples only
  // (Lag ignores anything at or after the origin). A missing daily lag falls
  // back to the anchor, a missing weekly lag to the daily one, so that a
  // short history still gives usable inputs; the flags tell the network.
  auto write_lags = [&](long c, float* out) {
    double d = Lag(c - day_steps_, n);
    const bool has_d = std::isfinite(d);
    if (!has_d) d = anchor;
    double wk = spec_.use_weekly ? Lag(c - week_steps_, n) : kNaN;
    const bool has_w = std::isfinite(wk);
    if (!has_w) wk = d;
    out[0] = static_cast<float>(d);
    out[1] = static_cast<float>(wk);
    out[2] = has_d ? 1.0F : 0.0F;
    out[3] = has_w ? 1.0F : 0.0F;
  };

  float* s = statics;
  static_assert(kStaticAnchorColumn == 0, "the anchor is the first static");
  *s++ = static_cast<float>(anchor);
  write_lags(origin - 1, s);
  s += kLagWidth;
  if (spec_.use_recent_means) {
    // The known samples of the last hour and 4 hours (at least one sample
    // each); none known: the anchor.
    for (double span : {3600.0, 4 * 3600.0}) {
      const long count = std::max(1L, std::lround(span / history_.step));
      double sum = 0;
      long known = 0;
      for (long i = origin - count; i < origin; ++i) {
        const double v = Value(i, n);
        if (std::isfinite(v)) {
          sum += v;
          ++known;
        }
      }
      *s++ = static_cast<float>(known > 0 ? sum / static_cast<double>(known) : anchor);
    }
  }
  const int event_width = spec_.EventWidth();
  if (spec_.use_calendar) {
    Calendar(t0, t0, s);
    s += kCalendarWidth;
  }
  if (spec_.use_events) {
    EventSlots(t0, t0, s);
    s += event_width;
  }
  for (int k : spec_.horizon_steps) {
    const long target = origin + k - 1;
    const double t = SampleTime(target);
    write_lags(target, s);
    s += kLagWidth;
    if (spec_.use_calendar) {
      Calendar(t, t0, s);
      s += kCalendarWidth;
    }
    if (spec_.use_events) {
      EventSlots(t, t0, s);
      s += event_width;
      EventSlots(t - kDay, t0, s);
      s += event_width;
    }
  }
  return static_cast<float>(anchor);
}

float FeatureBuilder::Target(std::size_t n, std::size_t j, float anchor) const {
  const long target = static_cast<long>(n) + spec_.horizon_steps[j] - 1;
  const double v = Value(target, history_.values.size());
  return std::isfinite(v) ? static_cast<float>(v - anchor)
                          : std::numeric_limits<float>::quiet_NaN();
}

std::uint64_t TrainingDataHash(const History& history) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](double v) {
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    unsigned char bytes[sizeof(double)];
    std::memcpy(bytes, &v, sizeof v);
    for (unsigned char b : bytes) {
      h ^= b;
      h *= 0x100000001b3ULL;
    }
  };
  mix(history.step);
  for (double v : history.values) mix(v);
  return h;
}

}  // namespace meshtwin
