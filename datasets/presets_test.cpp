#include "datasets/presets.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "datasets/timestamp.h"
#include "datasets/trace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "twin/status.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

constexpr double kDay = 86400;
constexpr double kHour = 3600;
constexpr double kMinute = 60;

Trace MustGenerate(const std::string& name, double days, std::uint64_t seed) {
  absl::StatusOr<Trace> t = GeneratePreset(name, days, seed);
  EXPECT_TRUE(t.ok()) << ErrorText(t.status());
  return t.ok() ? *std::move(t) : Trace{};
}

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (const PresetInfo& p : Presets()) names.push_back(p.name);
  return names;
}

// UTC seconds into the day and weekday (0 = Monday) of trace time t.
double UtcSecondOfDay(const Trace& t, double time) { return std::fmod(t.epoch + time, kDay); }
int UtcWeekday(const Trace& t, double time) {
  return static_cast<int>((static_cast<long long>(std::floor((t.epoch + time) / kDay)) + 3) % 7);
}

// Mean of `values` (a channel on the trace's axis) over [t0, t1).
double ChannelMean(const Trace& t, const std::vector<double>& values, double t0, double t1) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double mid = t.start + (static_cast<double>(i) + 0.5) * t.step;
    if (mid >= t0 && mid < t1) {
      sum += values[i];
      ++n;
    }
  }
  return sum / static_cast<double>(n);
}

// Hour of day (0..23, trace time) with the highest mean over the first `days`.
int PeakHour(const Trace& t, const std::vector<double>& values, double days) {
  std::vector<double> sum(24, 0);
  const auto n = std::min(values.size(), static_cast<std::size_t>(days * kDay / t.step));
  for (std::size_t i = 0; i < n; ++i) {
    const double mid = (static_cast<double>(i) + 0.5) * t.step;
    sum[static_cast<std::size_t>(std::fmod(mid, kDay) / kHour)] += values[i];
  }
  return static_cast<int>(std::max_element(sum.begin(), sum.end()) - sum.begin());
}

std::vector<const Event*> EventsOf(const Trace& t, const std::string& category) {
  std::vector<const Event*> out;
  for (const Event& e : t.events) {
    if (e.category == category) out.push_back(&e);
  }
  return out;
}

// ---------------------------------------------------------------------------

TEST(PresetsTest, ListsTheEightPresetsWithDescriptions) {
  EXPECT_THAT(PresetNames(), ::testing::ElementsAre("diurnal-web", "weekly-business",
                                                    "product-launch", "flash-crowd", "black-friday",
                                                    "market-open", "role-mix", "event-mix"));
  for (const PresetInfo& p : Presets()) EXPECT_FALSE(p.description.empty()) << p.name;
}

TEST(PresetsTest, EveryPresetHasTheRightShapeAndEvents) {
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    const Trace t = MustGenerate(name, 14, 7);
    EXPECT_EQ(t.demand.size(), 14u * 1440);
    EXPECT_EQ(t.start, 0);
    EXPECT_EQ(t.step, 60);
    EXPECT_EQ(t.unit, "requests/s");
    EXPECT_GT(t.epoch, 1.7e9);  // a 2024 calendar
    EXPECT_THAT(t.provenance, HasSubstr("preset " + name));
    EXPECT_THAT(t.provenance, HasSubstr("days=14"));
    EXPECT_THAT(t.provenance, HasSubstr("seed=7"));
    // Base rates in the thousands, as autoscaling tests need.
    double sum = 0;
    for (double v : t.demand) {
      ASSERT_TRUE(std::isfinite(v));
      ASSERT_GE(v, 0);
      sum += v;
    }
    const double mean = sum / static_cast<double>(t.demand.size());
    EXPECT_GT(mean, 1000);
    EXPECT_LT(mean, 10000);
    // Every preset responds to events, and describes them.
    if (name != "black-friday") {
      ASSERT_FALSE(t.events.empty());
    }
    for (const Event& e : t.events) {
      EXPECT_EQ(e.source, "synthetic");
      EXPECT_FALSE(e.category.empty());
      EXPECT_FALSE(e.text.empty());
      EXPECT_GT(e.magnitude, 1);
      EXPECT_LE(e.announced, e.start);
      EXPECT_LT(e.announced, 14 * kDay);
      EXPECT_GT(e.end, e.start);
    }
    EXPECT_TRUE(std::is_sorted(t.events.begin(), t.events.end(),
                               [](const Event& a, const Event& b) { return a.start < b.start; }));
  }
}

TEST(PresetsTest, FractionalDaysRoundUpToWholeSamples) {
  EXPECT_EQ(MustGenerate("diurnal-web", 1.5, 1).demand.size(), 2160u);
  EXPECT_EQ(MustGenerate("diurnal-web", 0.0001, 1).demand.size(), 1u);  // 8.64 s
  EXPECT_EQ(MustGenerate("diurnal-web", 400, 1).demand.size(), 400u * 1440);
}

TEST(PresetsTest, DeterministicPerSeed) {
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    const Trace a = MustGenerate(name, 10, 42);
    const Trace b = MustGenerate(name, 10, 42);
    const Trace c = MustGenerate(name, 10, 43);
    ASSERT_EQ(a.demand.size(), b.demand.size());
    for (std::size_t i = 0; i < a.demand.size(); ++i) ASSERT_EQ(a.demand[i], b.demand[i]) << i;
    ASSERT_EQ(a.events.size(), b.events.size());
    for (std::size_t i = 0; i < a.events.size(); ++i) {
      EXPECT_EQ(a.events[i].start, b.events[i].start);
      EXPECT_EQ(a.events[i].magnitude, b.events[i].magnitude);
      EXPECT_EQ(a.events[i].text, b.events[i].text);
    }
    ASSERT_EQ(a.channels.size(), b.channels.size());
    for (std::size_t k = 0; k < a.channels.size(); ++k) {
      EXPECT_EQ(a.channels[k].values, b.channels[k].values);
    }
    EXPECT_EQ(a.provenance, b.provenance);
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.demand.size(); ++i) same += a.demand[i] == c.demand[i];
    EXPECT_LT(same, 20u);
  }
}

TEST(PresetsTest, LongerTracesExtendShorterOnes) {
  // `days` only cuts the preset's fixed calendar: the first days are the same.
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    const Trace short_trace = MustGenerate(name, 5, 9);
    const Trace long_trace = MustGenerate(name, 20, 9);
    for (std::size_t i = 0; i < short_trace.demand.size(); ++i) {
      ASSERT_EQ(short_trace.demand[i], long_trace.demand[i]) << i;
    }
  }
}

TEST(PresetsTest, UnknownNameListsTheValidOnes) {
  absl::StatusOr<Trace> t = GeneratePreset("diurnal", 7, 1);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(t.status()), HasSubstr("\"diurnal\""));
  for (const std::string& name : PresetNames()) {
    EXPECT_THAT(ErrorText(t.status()), HasSubstr(name));
  }
}

TEST(PresetsTest, DaysOutsideTheRangeAreRejected) {
  for (double days : {0.0, -1.0, 400.001, 1e9, std::numeric_limits<double>::quiet_NaN(),
                      std::numeric_limits<double>::infinity()}) {
    absl::StatusOr<Trace> t = GeneratePreset("diurnal-web", days, 1);
    ASSERT_FALSE(t.ok()) << days;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ErrorText(t.status()), HasSubstr("(0, 400]"));
  }
}

TEST(PresetsTest, EventsAnnouncedAfterTheEndAreLeftOut) {
  // The launch is announced on day 0 at 08:00 and starts on day 1 at 16:00.
  EXPECT_TRUE(MustGenerate("product-launch", 0.3, 1).events.empty());
  const Trace t = MustGenerate("product-launch", 0.5, 1);
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_GT(t.events[0].start, t.end());
}

// ---------------------------------------------------------------------------

TEST(DiurnalWebPresetTest, EveningPeakMildWeekendLiftAndSundayStream) {
  const Trace t = MustGenerate("diurnal-web", 28, 3);
  EXPECT_EQ(PeakHour(t, t.demand, 5), 20);  // Monday to Friday: no live stream
  // A midday digest push every day, 1.3x-1.7x.
  const std::vector<const Event*> pushes = EventsOf(t, "notification");
  ASSERT_EQ(pushes.size(), 28u);
  for (const Event* e : pushes) {
    EXPECT_EQ(UtcSecondOfDay(t, e->start), 12 * kHour);
    EXPECT_GE(e->magnitude, 1.4 - 1e-9);
    EXPECT_LE(e->magnitude, 1.6 + 1e-9);
  }
  // Saturdays (no stream) against the weekdays around them.
  double weekday = 0, saturday = 0;
  for (int week = 0; week < 4; ++week) {
    const double w0 = week * 7 * kDay;
    weekday += t.MeanRate(w0, w0 + 5 * kDay) / 4;
    saturday += t.MeanRate(w0 + 5 * kDay, w0 + 6 * kDay) / 4;
  }
  EXPECT_NEAR(saturday / weekday, 1.15, 0.02);
  // The weekly live stream: Sundays 19:00 UTC, announced 3 days ahead, 1.8x-2.2x.
  const std::vector<const Event*> streams = EventsOf(t, "media");
  ASSERT_EQ(streams.size(), 4u);
  for (const Event* e : streams) {
    EXPECT_EQ(UtcWeekday(t, e->start), 6);
    EXPECT_EQ(UtcSecondOfDay(t, e->start), 19 * kHour);
    EXPECT_EQ(e->announced, e->start - 3 * kDay);
    const double hold = e->start + 10 * kMinute;
    const double ratio =
        t.MeanRate(hold, hold + 90 * kMinute) / t.MeanRate(hold - kDay, hold - kDay + 90 * kMinute);
    // Against Saturday: Saturday and Sunday have the same weekend lift.
    EXPECT_NEAR(ratio, e->magnitude, 0.1);
    EXPECT_GE(e->magnitude, 1.8 - 1e-9);
    EXPECT_LE(e->magnitude, 2.2 + 1e-9);
  }
}

TEST(WeeklyBusinessPresetTest, WeekdayWorkingHoursQuietNightsAndWeekends) {
  const Trace t = MustGenerate("weekly-business", 28, 5);
  double weekday = 0, weekend = 0;
  for (int week = 0; week < 4; ++week) {
    const double w0 = week * 7 * kDay;
    weekday += t.MeanRate(w0, w0 + 5 * kDay) / 4;
    weekend += t.MeanRate(w0 + 5 * kDay, w0 + 7 * kDay) / 4;
  }
  // Designed: weekday mean about 0.8 x base (0.3 at night, 1.7 on the
  // plateau), weekends 0.3 x 0.6 = 0.18 x base: about 4.4.
  EXPECT_GT(weekday / weekend, 4.2);
  EXPECT_LT(weekday / weekend, 5.0);
  // Tuesday of the second week: plateau against night, and the lunch dip.
  const double tue = 8 * kDay;
  const double plateau = t.MeanRate(tue + 10.5 * kHour, tue + 11.5 * kHour);
  const double night = t.MeanRate(tue + 2 * kHour, tue + 5 * kHour);
  const double lunch = t.MeanRate(tue + 12.25 * kHour, tue + 12.75 * kHour);
  EXPECT_NEAR(plateau / night, 1.7 / 0.3, 0.3);
  EXPECT_LT(lunch, 0.9 * plateau);
  EXPECT_GT(plateau, 4000);
  // Growth of 0.2 %/day: the fourth week against the first.
  EXPECT_NEAR(t.MeanRate(21 * kDay, 28 * kDay) / t.MeanRate(0, 7 * kDay),
              (1 + 0.002 * 24.5) / (1 + 0.002 * 3.5), 0.01);
  // Monday-morning surges only.
  for (const Event* e : EventsOf(t, "business")) {
    EXPECT_EQ(UtcWeekday(t, e->start), 0);
    EXPECT_EQ(UtcSecondOfDay(t, e->start), 8.75 * kHour);
  }
  EXPECT_EQ(EventsOf(t, "business").size(), 4u);
}

TEST(ProductLaunchPresetTest, AnnouncedAheadThenSpikeAndHigherBaseline) {
  const Trace t = MustGenerate("product-launch", 21, 11);
  ASSERT_EQ(t.events.size(), 1u);
  const Event& e = t.events[0];
  EXPECT_EQ(e.category, "launch");
  EXPECT_EQ(e.magnitude, 4);
  EXPECT_GE(e.start - e.announced, kDay);
  EXPECT_EQ(e.start - e.announced, 32 * kHour);
  EXPECT_EQ(UtcWeekday(t, e.start), 1);  // Tuesday 16:00 UTC
  EXPECT_EQ(UtcSecondOfDay(t, e.start), 16 * kHour);
  // The same hour of the day before (a Monday, also a weekday) is the reference.
  auto ratio = [&t](double t0, double t1) {
    return t.MeanRate(t0, t1) / t.MeanRate(t0 - kDay, t1 - kDay);
  };
  EXPECT_NEAR(ratio(e.start + 15 * kMinute, e.start + 2 * kHour + 15 * kMinute), 4, 0.2);
  EXPECT_NEAR(ratio(e.start - kHour, e.start), 1, 0.05);  // nothing before it starts
  // The ramp takes minutes: 5 minutes in, less than half way.
  EXPECT_LT(ratio(e.start + 4 * kMinute, e.start + 5 * kMinute), 2.5);
  // Two weeks later the level has settled about 30 % higher (Mondays).
  EXPECT_NEAR(t.MeanRate(14 * kDay, 15 * kDay) / t.MeanRate(0, kDay), 1.3, 0.03);
}

TEST(FlashCrowdPresetTest, UnannouncedMinutesLongRampFastDecay) {
  const Trace t = MustGenerate("flash-crowd", 14, 13);
  ASSERT_EQ(t.events.size(), 2u);
  for (const Event& e : t.events) EXPECT_EQ(e.announced, e.start);
  const Event& e = t.events[0];
  EXPECT_EQ(e.magnitude, 5);
  const double week = 7 * kDay;
  auto ratio = [&](double t0, double t1) {
    return t.MeanRate(t0, t1) / t.MeanRate(t0 + week, t1 + week);
  };
  EXPECT_NEAR(ratio(e.start + 5 * kMinute, e.start + 25 * kMinute), 5, 0.25);
  EXPECT_LT(ratio(e.start, e.start + kMinute), 1.6);  // the first minute of the ramp
  EXPECT_NEAR(ratio(e.start + 85 * kMinute, e.start + 115 * kMinute), 1, 0.08);  // an hour after
  EXPECT_EQ(UtcSecondOfDay(t, e.start), 15 * kHour + 20 * kMinute);              // on the first day
  // The second one, on Friday night, is smaller (3x).
  const Event& f = t.events[1];
  EXPECT_EQ(f.magnitude, 3);
  EXPECT_NEAR(ratio(f.start + 3 * kMinute, f.start + 13 * kMinute), 3, 0.2);
}

TEST(BlackFridayPresetTest, SaleEventsInLateNovember2024) {
  const Trace t = MustGenerate("black-friday", 42, 17);
  // Trace time 0 is Monday 2024-10-28 00:00 US/Eastern (05:00 UTC).
  EXPECT_EQ(t.epoch, static_cast<double>(DaysFromCivil(2024, 10, 28)) * kDay + 5 * kHour);
  EXPECT_EQ(UtcWeekday(t, 0), 0);
  ASSERT_EQ(t.events.size(), 4u);
  const double thanksgiving = static_cast<double>(DaysFromCivil(2024, 11, 28)) * kDay;
  const double black_friday = static_cast<double>(DaysFromCivil(2024, 11, 29)) * kDay;
  const double cyber_monday = static_cast<double>(DaysFromCivil(2024, 12, 2)) * kDay;
  bool on_black_friday = false, on_cyber_monday = false;
  for (const Event& e : t.events) {
    SCOPED_TRACE(e.text);
    EXPECT_EQ(e.category, "sale");
    const double start = t.epoch + e.start;
    EXPECT_GE(start, thanksgiving);
    EXPECT_LT(start, cyber_monday + kDay);
    // Announced weeks (or at least ten days) ahead.
    EXPECT_GE(e.start - e.announced, 10 * kDay);
    on_black_friday |= start >= black_friday && start < black_friday + kDay;
    on_cyber_monday |= start >= cyber_monday && start < cyber_monday + kDay;
  }
  EXPECT_TRUE(on_black_friday);
  EXPECT_TRUE(on_cyber_monday);
  EXPECT_THAT(FormatIso8601(t.epoch + t.events[1].start), "2024-11-29T05:00:00Z");
  // Weeks of normal load: no day before Thanksgiving is more than 1.3x the
  // same weekday of the first week.
  for (int day = 7; day < 31; ++day) {
    const double d0 = day * kDay;
    EXPECT_LT(t.MeanRate(d0, d0 + kDay) /
                  t.MeanRate(d0 - 7 * kDay * (day / 7), d0 + kDay - 7 * kDay * (day / 7)),
              1.3)
        << "day " << day;
  }
  // The midnight doorbusters on top of the sale: 1 + 0.8 + 2.5 = 4.3x the
  // Friday before (plus a week of 0.4 %/day trend).
  const double doorbuster = t.events[1].start + 5 * kMinute;
  const double ratio = t.MeanRate(doorbuster, doorbuster + 30 * kMinute) /
                       t.MeanRate(doorbuster - 7 * kDay, doorbuster + 30 * kMinute - 7 * kDay);
  EXPECT_NEAR(ratio, 4.3 * 1.13 / 1.1, 0.25);
  // Cyber Monday, midday: 1 + 0.8 + 1.2 = 3x.
  const double cyber = t.events[3].start + 2 * kHour;
  EXPECT_NEAR(t.MeanRate(cyber, cyber + 4 * kHour) /
                  t.MeanRate(cyber - 7 * kDay, cyber + 4 * kHour - 7 * kDay),
              3.0 * 1.14 / 1.112, 0.15);
  // Over by the next week.
  EXPECT_NEAR(
      t.MeanRate(38 * kDay, 39 * kDay) / t.MeanRate(31 * kDay - 7 * kDay, 32 * kDay - 7 * kDay),
      1.0, 0.15);
}

TEST(MarketOpenPresetTest, WeekdayOpeningSpikesAt1430Utc) {
  const Trace t = MustGenerate("market-open", 91, 3);
  EXPECT_EQ(t.epoch, 1704067200);
  const std::vector<const Event*> opens = EventsOf(t, "market");
  // 13 weeks of 5 trading days.
  ASSERT_EQ(opens.size(), 65u);
  std::vector<double> ratios;
  for (const Event* e : opens) {
    EXPECT_EQ(UtcSecondOfDay(t, e->start), 14.5 * kHour);
    EXPECT_LT(UtcWeekday(t, e->start), 5);
    EXPECT_GE(e->start - e->announced, kDay);
    EXPECT_GE(e->magnitude, 2.5 - 1e-9);
    EXPECT_LE(e->magnitude, 3.5 + 1e-9);
  }
  const std::vector<const Event*> earnings = EventsOf(t, "earnings");
  ASSERT_GE(earnings.size(), 2u);
  std::vector<double> earnings_days;
  for (const Event* e : earnings) {
    EXPECT_EQ(UtcSecondOfDay(t, e->start), 14.5 * kHour);
    EXPECT_LT(UtcWeekday(t, e->start), 5);
    EXPECT_GE(e->start - e->announced, 14 * kDay);
    EXPECT_THAT(e->text, HasSubstr("earnings of "));
    earnings_days.push_back(std::floor(e->start / kDay));
  }
  // The spike: the hold (09:35-09:45 ET) against the plateau (11:00-11:30 ET).
  double normal_open = 0, earnings_open = 0;
  std::size_t normal_count = 0;
  for (const Event* e : opens) {
    const double hold = t.MeanRate(e->start + 5 * kMinute, e->start + 15 * kMinute);
    const double plateau = t.MeanRate(e->start + 90 * kMinute, e->start + 120 * kMinute);
    const bool earnings_day =
        std::count(earnings_days.begin(), earnings_days.end(), std::floor(e->start / kDay)) > 0;
    if (earnings_day) {
      // Both excesses add up: about 1 + 2 + 2 = 5x.
      EXPECT_GT(hold / plateau, 3.5) << e->start;
      earnings_open += hold;
    } else {
      // Within the designed 2.5x-3.5x: the base is still rising at
      // 09:35-09:45 (about 7 % below the plateau).
      EXPECT_NEAR(hold / plateau, 0.93 * e->magnitude, 0.15) << e->start;
      normal_open += hold;
      ++normal_count;
    }
  }
  EXPECT_GT(earnings_open / static_cast<double>(earnings.size()),
            1.3 * normal_open / static_cast<double>(normal_count));
  // No spike at the weekend: Saturday and Sunday 14:30-14:45 UTC look like 16:00-16:30.
  for (int week = 0; week < 13; ++week) {
    for (int day : {5, 6}) {
      const double t0 = (week * 7 + day) * kDay + 14.5 * kHour;
      EXPECT_NEAR(t.MeanRate(t0 + 5 * kMinute, t0 + 15 * kMinute) /
                      t.MeanRate(t0 - 3 * kHour, t0 - 2 * kHour),
                  1, 0.06);
    }
  }
}

TEST(EventMixPresetTest, FrequentRandomEventsOfAnySizeMostlyAnnouncedAhead) {
  const Trace t = MustGenerate("event-mix", 56, 3);
  EXPECT_EQ(t.epoch, 1704067200);
  // diurnal-web's own events: the daily digest and the Sunday live stream.
  EXPECT_EQ(EventsOf(t, "notification").size(), 56u);
  // One-off announced spikes: about five a week, 1.3x to 5x, announced an
  // hour to three weeks ahead, in five categories.
  std::vector<const Event*> spikes, surges, sales;
  for (const Event& e : t.events) {
    if (e.text.find(" spike x") != std::string::npos) spikes.push_back(&e);
    if (e.text.find("unannounced ") == 0) surges.push_back(&e);
    if (e.text.find("announced sale x") == 0) sales.push_back(&e);
  }
  EXPECT_GE(spikes.size(), 28u);
  EXPECT_LE(spikes.size(), 56u);
  double min_magnitude = 10, max_magnitude = 0, min_lead = 1e9, max_lead = 0;
  std::vector<std::string> categories;
  std::vector<double> height;  // measured peak / magnitude
  for (const Event* e : spikes) {
    SCOPED_TRACE(e->text);
    EXPECT_GE(e->magnitude, 1.3);
    EXPECT_LE(e->magnitude, 5);
    const double lead = e->start - e->announced;
    EXPECT_GE(lead, kHour - kMinute);
    EXPECT_LE(lead, 21 * kDay);
    min_magnitude = std::min(min_magnitude, e->magnitude);
    max_magnitude = std::max(max_magnitude, e->magnitude);
    min_lead = std::min(min_lead, lead);
    max_lead = std::max(max_lead, lead);
    categories.push_back(e->category);
    // Ramps take at most 30 min and holds at least 10: at full height from
    // 30 to 40 min after the start. The same minutes a week earlier are the
    // reference (same weekday and hour).
    const double t0 = e->start + 30 * kMinute;
    if (t0 >= 7 * kDay && t0 + 10 * kMinute <= t.end()) {
      height.push_back(t.MeanRate(t0, t0 + 10 * kMinute) /
                       t.MeanRate(t0 - 7 * kDay, t0 + 10 * kMinute - 7 * kDay) / e->magnitude);
    }
  }
  EXPECT_LT(min_magnitude, 2);
  EXPECT_GT(max_magnitude, 4);
  EXPECT_LT(min_lead, 6 * kHour);
  EXPECT_GT(max_lead, 7 * kDay);
  for (const char* c : {"launch", "sale", "market", "news", "media"}) {
    EXPECT_THAT(categories, ::testing::Contains(c));
  }
  // Spikes reach their magnitude (other events on either side scatter it;
  // the median is the spike's own).
  ASSERT_GE(height.size(), 20u);
  std::nth_element(height.begin(), height.begin() + height.size() / 2, height.end());
  EXPECT_NEAR(height[height.size() / 2], 1, 0.1);
  // A few unannounced surges, known only when they start.
  EXPECT_GE(surges.size(), 2u);
  for (const Event* e : surges) {
    EXPECT_EQ(e->announced, e->start);
    EXPECT_THAT(e->category, ::testing::AnyOf("news", "social"));
  }
  // Long sales (hours to days), announced at least a day ahead, that other
  // spikes can land on.
  EXPECT_GE(sales.size(), 1u);
  for (const Event* e : sales) {
    EXPECT_EQ(e->category, "sale");
    EXPECT_GE(e->start - e->announced, kDay - kMinute);
    EXPECT_GE(e->end - e->start, 6 * kHour);
  }
  // Another seed, other events.
  auto spike_starts = [](const Trace& trace) {
    std::vector<double> starts;
    for (const Event& e : trace.events) {
      if (e.text.find(" spike x") != std::string::npos) starts.push_back(e.start);
    }
    return starts;
  };
  EXPECT_NE(spike_starts(MustGenerate("event-mix", 56, 4)), spike_starts(t));
}

TEST(EventMixPresetTest, ATracesEventsAreThoseOfALongerOneAnnouncedBeforeItsEnd) {
  // The random one-off events (diurnal-web's recurring ones are generated
  // inside the trace only, as in every preset).
  auto one_offs = [](const Trace& t, double announced_before) {
    std::vector<const Event*> out;
    for (const Event& e : t.events) {
      const bool one_off = e.text.find("announced ") == 0 || e.text.find("unannounced ") == 0;
      if (one_off && e.announced < announced_before) out.push_back(&e);
    }
    return out;
  };
  const Trace short_trace = MustGenerate("event-mix", 20, 5);
  const Trace long_trace = MustGenerate("event-mix", 60, 5);
  const std::vector<const Event*> got = one_offs(short_trace, 20 * kDay);
  const std::vector<const Event*> expected = one_offs(long_trace, 20 * kDay);
  ASSERT_EQ(got.size(), expected.size());
  bool starts_after_the_end = false;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(got[i]->start, expected[i]->start) << i;
    EXPECT_EQ(got[i]->announced, expected[i]->announced) << i;
    EXPECT_EQ(got[i]->magnitude, expected[i]->magnitude) << i;
    EXPECT_EQ(got[i]->text, expected[i]->text) << i;
    starts_after_the_end |= got[i]->start >= 20 * kDay;
  }
  // Announced inside the trace for later: listed, as in the other presets.
  EXPECT_TRUE(starts_after_the_end);
}

TEST(RoleMixPresetTest, ChannelsSumToDemandInteractiveByDayBatchByNight) {
  const Trace t = MustGenerate("role-mix", 14, 19);
  ASSERT_EQ(t.channels.size(), 2u);
  const TraceChannel& interactive = t.channels[0];
  const TraceChannel& batch = t.channels[1];
  EXPECT_EQ(interactive.name, "interactive");
  EXPECT_EQ(batch.name, "batch");
  for (const TraceChannel& c : t.channels) {
    EXPECT_EQ(c.kind, "role");
    EXPECT_EQ(c.unit, "requests/s");
    ASSERT_EQ(c.values.size(), t.demand.size());
  }
  for (std::size_t i = 0; i < t.demand.size(); ++i) {
    ASSERT_NEAR(interactive.values[i] + batch.values[i], t.demand[i], 1e-9 * t.demand[i]) << i;
  }
  const int interactive_peak = PeakHour(t, interactive.values, 14);
  const int batch_peak = PeakHour(t, batch.values, 14);
  EXPECT_GE(interactive_peak, 11);
  EXPECT_LE(interactive_peak, 17);
  EXPECT_LE(batch_peak, 5);
  // Interactive is the bigger share by day, batch by night.
  EXPECT_GT(ChannelMean(t, interactive.values, 8 * kDay + 13 * kHour, 8 * kDay + 15 * kHour),
            3 * ChannelMean(t, batch.values, 8 * kDay + 13 * kHour, 8 * kDay + 15 * kHour));
  EXPECT_GT(ChannelMean(t, batch.values, 8 * kDay + 1.5 * kHour, 8 * kDay + 3 * kHour),
            ChannelMean(t, interactive.values, 8 * kDay + 1.5 * kHour, 8 * kDay + 3 * kHour));
  // The campaign hits interactive only.
  const std::vector<const Event*> campaigns = EventsOf(t, "campaign");
  ASSERT_EQ(campaigns.size(), 1u);
  const double hold = campaigns[0]->start + 10 * kMinute;
  EXPECT_NEAR(ChannelMean(t, interactive.values, hold, hold + 45 * kMinute) /
                  ChannelMean(t, interactive.values, hold - kDay, hold + 45 * kMinute - kDay),
              2.5, 0.15);
  EXPECT_NEAR(ChannelMean(t, batch.values, hold, hold + 45 * kMinute) /
                  ChannelMean(t, batch.values, hold - kDay, hold + 45 * kMinute - kDay),
              1, 0.05);
  // One nightly batch window per day, at 01:00 UTC.
  const std::vector<const Event*> nightly = EventsOf(t, "batch");
  ASSERT_EQ(nightly.size(), 14u);
  for (const Event* e : nightly) EXPECT_EQ(UtcSecondOfDay(t, e->start), kHour);
}

}  // namespace
}  // namespace meshtwin
