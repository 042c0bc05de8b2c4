#include "datasets/trace_stats.h"

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "datasets/synthetic.h"
#include "datasets/timestamp.h"
#include "datasets/trace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

constexpr double kDay = 86400;
constexpr double kWeek = 7 * kDay;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A trace of `days` at `step` with value f(t) at each sample's start time.
template <typename F>
Trace Sampled(double days, double step, F f) {
  Trace t;
  t.step = step;
  const auto n = static_cast<std::size_t>(days * kDay / step);
  for (std::size_t i = 0; i < n; ++i) t.demand.push_back(f(static_cast<double>(i) * step));
  return t;
}

double DailySine(double t) { return 1000 + 500 * std::sin(2 * std::numbers::pi * t / kDay); }

// The repository root: ctest sets MESHTWIN_SOURCE_DIR; run by hand, the
// test finds it from its own source path.
std::filesystem::path SourceDir() {
  if (const char* dir = std::getenv("MESHTWIN_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return std::filesystem::path(__FILE__).parent_path().parent_path();
}

std::vector<std::string> ReadLines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---------------------------------------------------------------------------

TEST(TraceStatsTest, RangeRowsStepAndEvents) {
  Trace t;
  t.epoch = 1704067200;
  t.start = 600;
  t.step = 60;
  t.demand = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  t.events.resize(3);
  const TraceStats s = ComputeTraceStats(t);
  EXPECT_EQ(s.start_unix, 1704067200 + 600);
  EXPECT_EQ(s.end_unix, 1704067200 + 600 + 600);
  EXPECT_EQ(s.step, 60);
  EXPECT_EQ(s.rows, 10u);
  EXPECT_EQ(s.events, 3u);
  EXPECT_TRUE(s.gaps.empty());
  EXPECT_EQ(s.demand.min, 1);
  EXPECT_EQ(s.demand.max, 10);
  EXPECT_DOUBLE_EQ(s.demand.mean, 5.5);
  EXPECT_EQ(s.demand.missing, 0u);
  // Ten minutes are far from two days or two weeks.
  EXPECT_TRUE(std::isnan(s.demand.daily_strength));
  EXPECT_TRUE(std::isnan(s.demand.weekly_strength));
}

TEST(TraceStatsTest, GapsAreRunsOfMissingDemand) {
  Trace t;
  t.start = 1000;
  t.step = 10;
  t.demand = {kNaN, kNaN, 1, 2, kNaN, 3, kNaN, kNaN, kNaN, 4, kNaN};
  const TraceStats s = ComputeTraceStats(t);
  ASSERT_EQ(s.gaps.size(), 4u);
  EXPECT_EQ(s.gaps[0].start, 1000);
  EXPECT_EQ(s.gaps[0].samples, 2u);
  EXPECT_EQ(s.gaps[1].start, 1040);
  EXPECT_EQ(s.gaps[1].samples, 1u);
  EXPECT_EQ(s.gaps[2].start, 1060);
  EXPECT_EQ(s.gaps[2].samples, 3u);
  EXPECT_EQ(s.gaps[3].start, 1100);
  EXPECT_EQ(s.gaps[3].samples, 1u);
  EXPECT_EQ(s.demand.missing, 7u);
  EXPECT_EQ(s.demand.min, 1);
  EXPECT_EQ(s.demand.max, 4);
  EXPECT_DOUBLE_EQ(s.demand.mean, 2.5);
}

TEST(TraceStatsTest, AllMissingAndEmpty) {
  Trace t;
  t.demand = {kNaN, kNaN};
  TraceStats s = ComputeTraceStats(t);
  EXPECT_TRUE(std::isnan(s.demand.min));
  EXPECT_TRUE(std::isnan(s.demand.mean));
  EXPECT_TRUE(std::isnan(s.demand.max));
  EXPECT_EQ(s.demand.missing, 2u);
  ASSERT_EQ(s.gaps.size(), 1u);
  EXPECT_EQ(s.gaps[0].samples, 2u);
  s = ComputeTraceStats(Trace{});
  EXPECT_EQ(s.rows, 0u);
  EXPECT_TRUE(s.gaps.empty());
  EXPECT_TRUE(std::isnan(s.demand.mean));
  EXPECT_TRUE(std::isnan(s.demand.daily_strength));
}

TEST(TraceStatsTest, ChannelsInOrder) {
  Trace t;
  t.demand = {3, 5, 7};
  t.channels.push_back({"interactive", "role", "requests/s", {1, 2, 3}});
  t.channels.push_back({"batch", "role", "requests/s", {2, kNaN, 4}});
  const TraceStats s = ComputeTraceStats(t);
  ASSERT_EQ(s.channels.size(), 2u);
  EXPECT_EQ(s.channels[0].min, 1);
  EXPECT_EQ(s.channels[0].max, 3);
  EXPECT_EQ(s.channels[0].missing, 0u);
  EXPECT_EQ(s.channels[1].min, 2);
  EXPECT_EQ(s.channels[1].mean, 3);
  EXPECT_EQ(s.channels[1].missing, 1u);
  EXPECT_TRUE(s.gaps.empty());  // gaps are about demand
}

TEST(TraceStatsTest, PureDailySineIsStronglyDailyAndWeekly) {
  const Trace t = Sampled(28, 300, DailySine);
  const TraceStats s = ComputeTraceStats(t);
  EXPECT_GT(s.demand.daily_strength, 0.95);
  EXPECT_GT(s.demand.weekly_strength, 0.95);
  EXPECT_NEAR(s.demand.weekly_strength, s.demand.daily_strength, 0.05);
  // Also with a step that is not a divisor of a day, and a start off the
  // period: the phases are labels, the strength does not care.
  Trace odd = Sampled(28, 700, DailySine);
  odd.start = 12345;
  EXPECT_GT(ComputeTraceStats(odd).demand.daily_strength, 0.95);
}

TEST(TraceStatsTest, WhiteNoiseHasNoSeasonality) {
  // 20 weeks of noise around a flat level (the generator's own deviates).
  DiurnalParams p;
  p.base_rps = 1000;
  p.daily_amplitude = 0;
  p.noise = 0.1;
  p.step = 600;
  const Trace t = GenerateDiurnal(p, 20 * kWeek, 99);
  const TraceStats s = ComputeTraceStats(t);
  EXPECT_LT(s.demand.daily_strength, 0.1);
  EXPECT_LT(s.demand.weekly_strength, 0.1);
  EXPECT_GE(s.demand.daily_strength, 0);
  EXPECT_GE(s.demand.weekly_strength, 0);
}

TEST(TraceStatsTest, WeeklyOnlyPattern) {
  // Weekdays at 1000, weekends at 300, flat within each day.
  const Trace t = Sampled(56, 600, [](double time) {
    const auto day = static_cast<long long>(time / kDay) % 7;
    return day >= 5 ? 300.0 : 1000.0;
  });
  const TraceStats s = ComputeTraceStats(t);
  EXPECT_GT(s.demand.weekly_strength, 0.95);
  EXPECT_LT(s.demand.daily_strength, 0.2);
}

TEST(TraceStatsTest, TrendIsNotSeasonality) {
  // A daily sine on a steep ramp: the moving average takes the ramp out.
  const Trace t = Sampled(28, 300, [](double time) { return DailySine(time) + time / 100; });
  EXPECT_GT(ComputeTraceStats(t).demand.daily_strength, 0.95);
}

TEST(TraceStatsTest, StrengthNeedsTwoFullPeriods) {
  TraceStats s = ComputeTraceStats(Sampled(1.9, 300, DailySine));
  EXPECT_TRUE(std::isnan(s.demand.daily_strength));
  s = ComputeTraceStats(Sampled(2, 300, DailySine));
  EXPECT_GT(s.demand.daily_strength, 0.99);  // mean-removed (shorter than 3 days)
  EXPECT_TRUE(std::isnan(s.demand.weekly_strength));
  s = ComputeTraceStats(Sampled(14, 300, DailySine));
  EXPECT_GT(s.demand.weekly_strength, 0.95);
  // A step of more than half a day cannot show a daily cycle.
  EXPECT_TRUE(std::isnan(ComputeTraceStats(Sampled(30, 50000, DailySine)).demand.daily_strength));
  // A flat series has no seasonality.
  EXPECT_EQ(ComputeTraceStats(Sampled(7, 600, [](double) { return 5.0; })).demand.daily_strength,
            0);
}

TEST(TraceStatsTest, GapsAreSkipped) {
  Trace t = Sampled(21, 300, DailySine);
  // A missing hour every day, and a missing whole day.
  for (std::size_t day = 0; day < 21; ++day) {
    for (std::size_t k = 0; k < 12; ++k) t.demand[day * 288 + 100 + k] = kNaN;
  }
  for (std::size_t k = 0; k < 288; ++k) t.demand[10 * 288 + k] = kNaN;
  const TraceStats s = ComputeTraceStats(t);
  EXPECT_GT(s.demand.daily_strength, 0.95);
  EXPECT_EQ(s.demand.missing, 21u * 12 + 288 - 12);
  EXPECT_EQ(s.gaps.size(), 21u);  // 20 hours + day 10, which swallows its own hour
}

TEST(TraceStatsTest, ShippedGoogleSample) {
  const std::filesystem::path path = SourceDir() / "datasets/data/google2019-cpu-7d.csv";
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 1u + 7 * 288) << path;
  EXPECT_EQ(lines[0], "timestamp,avg_cpu");
  // A tiny reader: "ISO,value" per line (the real importer is csv_import.h).
  Trace t;
  t.step = 300;
  t.unit = "cpu";
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t comma = lines[i].find(',');
    ASSERT_NE(comma, std::string::npos) << i;
    absl::StatusOr<double> time = ParseTimestamp(lines[i].substr(0, comma));
    ASSERT_TRUE(time.ok()) << lines[i];
    if (i == 1) t.epoch = *time;
    ASSERT_EQ(*time, t.epoch + static_cast<double>(i - 1) * 300) << lines[i];
    t.demand.push_back(std::stod(lines[i].substr(comma + 1)));
  }
  EXPECT_EQ(FormatIso8601(t.epoch), "2019-05-01T00:00:00Z");
  const TraceStats s = ComputeTraceStats(t);
  EXPECT_EQ(s.rows, 2016u);
  EXPECT_EQ(s.end_unix - s.start_unix, 7 * kDay);
  EXPECT_TRUE(s.gaps.empty());
  EXPECT_GT(s.demand.min, 0);
  EXPECT_LT(s.demand.max, 1);  // a fraction of the cell's CPU
  EXPECT_GE(s.demand.daily_strength, 0);
  EXPECT_LE(s.demand.daily_strength, 1);
  EXPECT_TRUE(std::isnan(s.demand.weekly_strength));  // one week only
}

TEST(TraceStatsTest, ShippedAlibabaSampleAndAttribution) {
  const std::filesystem::path data = SourceDir() / "datasets/data";
  const std::vector<std::string> lines = ReadLines(data / "alibaba2018-cpu-2d.csv");
  ASSERT_EQ(lines.size(), 1u + 2 * 288);
  EXPECT_EQ(lines[0], "cpu_util_percent");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const double v = std::stod(lines[i]);
    // A percentage, or one of the trace's invalid-reading markers.
    EXPECT_TRUE((v >= 0 && v <= 100) || v == -1 || v == 101) << lines[i];
  }
  for (const char* name : {"google2019-cpu-7d.csv", "alibaba2018-cpu-2d.csv"}) {
    EXPECT_LT(std::filesystem::file_size(data / name), 200u * 1024) << name;
  }
  std::string attribution;
  for (const std::string& line : ReadLines(data / "ATTRIBUTION.md")) attribution += line + "\n";
  EXPECT_THAT(attribution, HasSubstr("DataCenter-Traces-Datasets"));
  EXPECT_THAT(attribution, HasSubstr("10.5281/zenodo.14564847"));
  EXPECT_THAT(attribution, HasSubstr("CC-BY-4.0"));
  EXPECT_THAT(attribution, HasSubstr("synthetic"));
}

}  // namespace
}  // namespace meshtwin
