#include "models/features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace meshtwin {
namespace {

constexpr double kMonday = 1704067200;  // 2024-01-01 00:00 UTC, a Monday
constexpr double kHour = 3600;
constexpr double kDay = 86400;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A normaliser that is just log1p, so expected values are easy to write.
Normalizer Log1p() {
  Normalizer n;
  n.scale = 1;
  n.mean = 0;
  n.stddev = 1;
  return n;
}

// Hourly ramp y_i = i from Monday 00:00: lags are easy to read.
std::vector<double> Ramp(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return v;
}

FeatureSpec HourlySpec(std::vector<int> horizon_steps) {
  FeatureSpec spec;
  spec.step = kHour;
  spec.horizon_steps = std::move(horizon_steps);
  spec.window = 6;
  spec.lag_radius = 0;
  return spec;
}

struct Built {
  std::vector<float> sequence, statics;
  float anchor = 0;
};

Built BuildAt(const FeatureSpec& spec, const History& h, std::size_t n) {
  Built b;
  b.sequence.resize(static_cast<std::size_t>(spec.window * spec.SequenceWidth()));
  b.statics.resize(static_cast<std::size_t>(spec.StaticWidth()));
  const FeatureBuilder builder(spec, Log1p(), h);
  b.anchor = builder.Build(n, b.sequence.data(), b.statics.data());
  return b;
}

// Offsets into statics, following the layout in features.h.
int EventWidth(const FeatureSpec& s) {
  return s.use_events ? s.event_slots * s.SlotWidth() + 7 : 0;
}
int CalendarWidth(const FeatureSpec& s) { return s.use_calendar ? 6 : 0; }
int RecentWidth(const FeatureSpec& s) { return s.use_recent_means ? 2 : 0; }
// The origin's calendar block.
int OriginCalendar(const FeatureSpec& s) { return 5 + RecentWidth(s); }
int HorizonBlock(const FeatureSpec& s, int j) {
  const int origin = 5 + RecentWidth(s) + CalendarWidth(s) + EventWidth(s);
  return origin + j * (4 + CalendarWidth(s) + 2 * EventWidth(s));
}

TEST(FeatureCalendarTest, MondayMidnightAndSaturdayNoon) {
  float c[5];
  CalendarFeatures(kMonday, c);
  EXPECT_NEAR(c[0], 0, 1e-6);  // sin time of day
  EXPECT_NEAR(c[1], 1, 1e-6);  // cos time of day
  EXPECT_NEAR(c[2], 0, 1e-6);  // Monday 00:00 is the week's phase 0
  EXPECT_NEAR(c[3], 1, 1e-6);
  EXPECT_EQ(c[4], 0);

  CalendarFeatures(kMonday + 6 * kHour, c);  // a quarter day
  EXPECT_NEAR(c[0], 1, 1e-6);
  EXPECT_NEAR(c[1], 0, 1e-6);

  CalendarFeatures(kMonday + 5.5 * kDay, c);  // Saturday noon
  const double phase = 5.5 / 7;
  EXPECT_NEAR(c[2], std::sin(2 * std::numbers::pi * phase), 1e-6);
  EXPECT_NEAR(c[3], std::cos(2 * std::numbers::pi * phase), 1e-6);
  EXPECT_EQ(c[4], 1);
  CalendarFeatures(kMonday + 4.99 * kDay, c);  // Friday late evening
  EXPECT_EQ(c[4], 0);
}

TEST(FeatureNormalizerTest, RoundTripsAndClampsNegatives) {
  const std::vector<double> v = {100, 200, 300, kNaN, 400};
  const Normalizer n = Normalizer::Fit(v);
  EXPECT_DOUBLE_EQ(n.scale, 250);  // mean of the finite values
  for (double y : {0.0, 1.0, 250.0, 1234.5})
    EXPECT_NEAR(n.Inverse(n.Forward(y)), y, 1e-9 * (1 + y));
  EXPECT_TRUE(std::isnan(n.Forward(kNaN)));
  EXPECT_EQ(n.Forward(-5), n.Forward(0));
  EXPECT_GE(n.Inverse(-100), 0);
  const Normalizer flat = Normalizer::Fit(std::vector<double>{7, 7, 7});
  EXPECT_EQ(flat.stddev, 1);  // no division by zero on a constant series
}

TEST(FeatureWidthTest, WidthsFollowTheLayout) {
  FeatureSpec spec = HourlySpec({1, 3});
  EXPECT_EQ(spec.DaySteps(), 24);
  EXPECT_EQ(spec.WeekSteps(), 168);
  EXPECT_EQ(spec.SequenceWidth(), 6);
  const int slot = static_cast<int>(spec.categories.size()) + 1 + 9;
  EXPECT_EQ(spec.SlotWidth(), slot);
  const int events = 2 * slot + 7;  // two slots and the aggregate
  EXPECT_EQ(spec.EventWidth(), events);
  EXPECT_EQ(spec.StaticWidth(), (5 + 6 + events) + 2 * (4 + 6 + 2 * events));
  spec.use_recent_means = true;  // a lean network's two recent means
  EXPECT_EQ(spec.StaticWidth(), (5 + 2 + 6 + events) + 2 * (4 + 6 + 2 * events));
  spec.use_events = false;
  spec.use_calendar = false;
  EXPECT_EQ(spec.SequenceWidth(), 4);
  EXPECT_EQ(spec.EventWidth(), 0);
  EXPECT_EQ(spec.StaticWidth(), 5 + 2 + 2 * 4);
}

TEST(FeatureLagTest, DailyAndWeeklyLagsOfOriginAndTargets) {
  const std::vector<double> v = Ramp(400);
  History h{v, kHour, kMonday, {}};
  const FeatureSpec spec = HourlySpec({1, 5, 30});
  const std::size_t n = 200;
  const Built b = BuildAt(spec, h, n);
  EXPECT_FLOAT_EQ(b.anchor, std::log1p(199.0F));
  const float* s = b.statics.data();
  EXPECT_FLOAT_EQ(s[0], std::log1p(199.0F));
  EXPECT_FLOAT_EQ(s[1], std::log1p(199.0F - 24));   // origin's daily lag
  EXPECT_FLOAT_EQ(s[2], std::log1p(199.0F - 168));  // origin's weekly lag
  EXPECT_EQ(s[3], 1);
  EXPECT_EQ(s[4], 1);
  // Horizon k targets sample n + k - 1.
  const float* h1 = s + HorizonBlock(spec, 0);
  EXPECT_FLOAT_EQ(h1[0], std::log1p(200.0F - 24));
  EXPECT_FLOAT_EQ(h1[1], std::log1p(200.0F - 168));
  const float* h5 = s + HorizonBlock(spec, 1);
  EXPECT_FLOAT_EQ(h5[0], std::log1p(204.0F - 24));
  // 30 h ahead the daily lag (sample 205) is not known yet at the origin: it
  // falls back to the anchor and says so.
  const float* h30 = s + HorizonBlock(spec, 2);
  EXPECT_FLOAT_EQ(h30[0], b.anchor);
  EXPECT_EQ(h30[2], 0);
  EXPECT_FLOAT_EQ(h30[1], std::log1p(229.0F - 168));
  EXPECT_EQ(h30[3], 1);
  // The target's calendar: sample 200 is Tuesday of week 2, 08:00-09:00.
  float cal[5];
  CalendarFeatures(kMonday + 200.5 * kHour, cal);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(h1[4 + i], cal[i]);
}

TEST(FeatureLagTest, RecentMeansOfTheLastHourAndFourHours) {
  std::vector<double> v = Ramp(400);
  History h{v, 600, kMonday, {}};  // 10-minute samples: 6 per hour, 24 per 4 hours
  FeatureSpec spec = HourlySpec({1});
  spec.step = 600;
  spec.use_recent_means = true;
  const std::size_t n = 300;
  auto mean_log = [&](std::size_t from, std::size_t to) {  // samples [from, to)
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) sum += std::log1p(v[i]);
    return static_cast<float>(sum / static_cast<double>(to - from));
  };
  Built b = BuildAt(spec, h, n);
  EXPECT_FLOAT_EQ(b.statics[5], mean_log(n - 6, n));
  EXPECT_FLOAT_EQ(b.statics[6], mean_log(n - 24, n));
  // Missing samples are left out; nothing known in the hour: the anchor.
  for (std::size_t i = n - 6; i < n; ++i) v[i] = kNaN;
  b = BuildAt(spec, h, n);
  EXPECT_FLOAT_EQ(b.anchor, std::log1p(static_cast<float>(n - 7)));
  EXPECT_FLOAT_EQ(b.statics[5], b.anchor);
  EXPECT_FLOAT_EQ(b.statics[6], mean_log(n - 24, n - 6));
  // Nothing at or after the origin is read.
  std::vector<double> future = v;
  for (std::size_t i = n; i < future.size(); ++i) future[i] = 1e6;
  History hf{future, 600, kMonday, {}};
  EXPECT_EQ(BuildAt(spec, hf, n).statics, b.statics);
}

TEST(FeatureLagTest, WeeklyLagsOffGiveTheDailyOnesAndNoFlag) {
  const std::vector<double> v = Ramp(400);
  History h{v, kHour, kMonday, {}};
  FeatureSpec spec = HourlySpec({1, 5});
  spec.use_weekly = false;
  const Built b = BuildAt(spec, h, 200);
  const float* s = b.statics.data();
  EXPECT_FLOAT_EQ(s[2], s[1]);  // the origin's weekly lag is its daily one
  EXPECT_EQ(s[3], 1);
  EXPECT_EQ(s[4], 0);
  const float* h1 = s + HorizonBlock(spec, 0);
  EXPECT_FLOAT_EQ(h1[1], h1[0]);
  EXPECT_EQ(h1[3], 0);
  // The sequence's weekly column too.
  for (int w = 0; w < spec.window; ++w) {
    EXPECT_FLOAT_EQ(b.sequence[static_cast<std::size_t>(w * spec.SequenceWidth() + 3)],
                    b.sequence[static_cast<std::size_t>(w * spec.SequenceWidth() + 2)]);
  }
}

TEST(FeatureLagTest, ShortHistoryFallsBackAndFlags) {
  const std::vector<double> v = Ramp(50);
  History h{v, kHour, kMonday, {}};
  const FeatureSpec spec = HourlySpec({2});
  const Built b = BuildAt(spec, h, 50);
  const float* h2 = b.statics.data() + HorizonBlock(spec, 0);
  EXPECT_FLOAT_EQ(h2[0], std::log1p(51.0F - 24));
  EXPECT_FLOAT_EQ(h2[1], h2[0]);  // no week of history: the weekly lag is the daily one
  EXPECT_EQ(h2[2], 1);
  EXPECT_EQ(h2[3], 0);
}

TEST(FeatureSequenceTest, WindowIsOldestFirstAndCarriesMissingValues) {
  std::vector<double> v = Ramp(100);
  v[97] = kNaN;
  History h{v, kHour, kMonday, {}};
  const FeatureSpec spec = HourlySpec({1});
  const Built b = BuildAt(spec, h, 100);
  const int w = spec.SequenceWidth();
  // Rows 0..5 are samples 94..99.
  EXPECT_FLOAT_EQ(b.sequence[0], std::log1p(94.0F));
  EXPECT_FLOAT_EQ(b.sequence[static_cast<std::size_t>(5 * w)], std::log1p(99.0F));
  EXPECT_FLOAT_EQ(b.sequence[static_cast<std::size_t>(3 * w)], std::log1p(96.0F));  // carried
  EXPECT_EQ(b.sequence[static_cast<std::size_t>(3 * w + 1)], 1);                    // flagged
  EXPECT_EQ(b.sequence[static_cast<std::size_t>(2 * w + 1)], 0);
  EXPECT_FLOAT_EQ(b.sequence[static_cast<std::size_t>(5 * w + 2)], std::log1p(99.0F - 24));
}

TEST(FeatureSequenceTest, AnchorSkipsMissingTail) {
  std::vector<double> v = Ramp(100);
  v[98] = v[99] = kNaN;
  History h{v, kHour, kMonday, {}};
  const FeatureSpec spec = HourlySpec({1});
  const Built b = BuildAt(spec, h, 100);
  EXPECT_FLOAT_EQ(b.anchor, std::log1p(97.0F));
  const FeatureBuilder builder(spec, Log1p(), h);
  EXPECT_TRUE(std::isnan(builder.Target(100, 0, b.anchor)));  // beyond the history
  EXPECT_FLOAT_EQ(builder.Target(90, 0, 0), std::log1p(90.0F));
}

TEST(FeatureEventTest, EventAnnouncedAfterOriginChangesNothing) {
  const std::vector<double> v = Ramp(300);
  const FeatureSpec spec = HourlySpec({1, 2, 6});
  const std::size_t n = 200;
  const double origin = kMonday + static_cast<double>(n) * kHour;
  // A launch 2 h after the origin, inside every horizon's reach.
  Event launch;
  launch.start = origin + 2 * kHour;
  launch.end = origin + 6 * kHour;
  launch.category = "launch";
  launch.magnitude = 4;

  History none{v, kHour, kMonday, {}};
  const Built without = BuildAt(spec, none, n);

  std::vector<Event> late = {launch};
  late[0].announced = origin + 1;  // one second too late
  History h_late{v, kHour, kMonday, late};
  const Built with_late = BuildAt(spec, h_late, n);
  EXPECT_EQ(with_late.statics, without.statics);
  EXPECT_EQ(with_late.sequence, without.sequence);

  // A holiday announced after the origin is no flag either.
  std::vector<Event> holiday = {launch};
  holiday[0].category = "holiday";
  holiday[0].announced = origin + kHour;
  History h_holiday{v, kHour, kMonday, holiday};
  EXPECT_EQ(BuildAt(spec, h_holiday, n).statics, without.statics);

  // Announced exactly at the origin: it is known, and it shows.
  std::vector<Event> known = {launch};
  known[0].announced = origin;
  History h_known{v, kHour, kMonday, known};
  const Built with_known = BuildAt(spec, h_known, n);
  EXPECT_NE(with_known.statics, without.statics);
  // The 6 h target (sample n + 5, its middle 3.5 h after the start) has
  // slot 0 describing the launch: one-hot "launch", active.
  const float* ev = with_known.statics.data() + HorizonBlock(spec, 2) + 4 + 6;
  EXPECT_EQ(ev[0], 1);  // "launch" is category 0
  const float* x = ev + spec.categories.size() + 1;
  EXPECT_FLOAT_EQ(x[0], static_cast<float>(std::log1p(4.0) / 2));
  EXPECT_EQ(x[1], 1);  // active
  EXPECT_EQ(x[2], 0);  // no "before" kernels once started
  EXPECT_GT(x[4], 0);  // "after start" kernel
  // The aggregate after the slots: magnitude times the kernels.
  const float* agg = ev + 2 * spec.SlotWidth();
  EXPECT_FLOAT_EQ(agg[0], x[0] * x[1]);
  EXPECT_FLOAT_EQ(agg[3], x[0] * x[4]);
  // The 1 h target is before the start: the before kernels are on.
  const float* ev1 = with_known.statics.data() + HorizonBlock(spec, 0) + 4 + 6;
  const float* x1 = ev1 + spec.categories.size() + 1;
  EXPECT_EQ(x1[1], 0);
  EXPECT_NEAR(x1[2], std::exp(-1.5 * kHour / 900), 1e-6);  // target mid-sample is 1.5 h before
  EXPECT_NEAR(x1[3], std::exp(-1.5 * kHour / 7200), 1e-6);
}

TEST(FeatureEventTest, UnknownCategoryIsOtherAndFarEventsAreIgnored) {
  const std::vector<double> v = Ramp(300);
  const FeatureSpec spec = HourlySpec({1});
  const std::size_t n = 200;
  const double origin = kMonday + static_cast<double>(n) * kHour;
  std::vector<Event> events(2);
  events[0].start = origin;
  events[0].announced = origin - kDay;
  events[0].category = "volcano";
  events[1].start = origin + 3 * kDay;  // far beyond every horizon
  events[1].announced = origin - kDay;
  events[1].category = "launch";
  History h{v, kHour, kMonday, events};
  const Built b = BuildAt(spec, h, n);
  const float* ev = b.statics.data() + HorizonBlock(spec, 0) + 4 + 6;
  const std::size_t other = spec.categories.size();
  EXPECT_EQ(ev[other], 1);
  EXPECT_EQ(ev[0], 0);
  // Slot 1 (the far launch) stays empty.
  const float* slot1 = ev + spec.SlotWidth();
  for (int i = 0; i < spec.SlotWidth(); ++i) EXPECT_EQ(slot1[i], 0);
}

TEST(FeatureEventTest, HolidayFlagCoversItsDay) {
  const std::vector<double> v = Ramp(300);
  const FeatureSpec spec = HourlySpec({1, 20});
  const std::size_t n = 200;  // Tuesday of week 2, 08:00
  Event holiday;
  holiday.start = kMonday + 9 * kDay + 3 * kHour;  // an instant on Wednesday: the whole day
  holiday.announced = kMonday;
  holiday.category = "holiday";
  History h{v, kHour, kMonday, std::span<const Event>(&holiday, 1)};
  const Built b = BuildAt(spec, h, n);
  // The origin (Tuesday): no holiday.
  EXPECT_EQ(b.statics[static_cast<std::size_t>(OriginCalendar(spec) + 5)], 0);
  EXPECT_EQ(b.statics[static_cast<std::size_t>(HorizonBlock(spec, 0) + 4 + 5)], 0);  // Tue 08:30
  EXPECT_EQ(b.statics[static_cast<std::size_t>(HorizonBlock(spec, 1) + 4 + 5)], 1);  // Wed 03:30
}

TEST(FeatureHashTest, HashIdentifiesData) {
  std::vector<double> a = Ramp(100);
  std::vector<double> b = a;
  History ha{a, 60, 0, {}};
  History hb{b, 60, 0, {}};
  EXPECT_EQ(TrainingDataHash(ha), TrainingDataHash(hb));
  b[50] += 1e-9;
  EXPECT_NE(TrainingDataHash(ha), TrainingDataHash(hb));
  hb = History{a, 300, 0, {}};
  EXPECT_NE(TrainingDataHash(ha), TrainingDataHash(hb));
}

}  // namespace
}  // namespace meshtwin
