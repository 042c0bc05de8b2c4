// Scenarios whose demand comes from a recorded file or a preset.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenarios/scenario.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

constexpr char kNodes[] =
    "name: replay\n"
    "node_types:\n"
    "  - name: web\n"
    "    initial: 2\n"
    "    min: 1\n"
    "    max: 10\n";

// A scratch folder holding a 2-hour CSV at 60 s with a gap at 00:10.
class TraceSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/meshtwin_trace_source_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/data");
    std::ofstream csv(dir_ + "/data/load.csv");
    csv << "ts,rps,other\n";
    for (int i = 0; i < 120; ++i) {
      if (i == 10) continue;
      csv << "2024-03-01T" << (i / 60 < 10 ? "0" : "") << i / 60 << ":" << (i % 60 < 10 ? "0" : "")
          << i % 60 << ":00Z," << 100 + i << ",1\n";
    }
  }
  absl::StatusOr<Scenario> Load(const std::string& trace_yaml) {
    const std::string path = dir_ + "/scenario.yaml";
    std::ofstream(path) << kNodes << trace_yaml;
    return LoadScenarioFile(path, {});
  }
  std::string dir_;
};

TEST_F(TraceSourceTest, CsvFileRelativeToTheScenarioSetsTheDuration) {
  absl::StatusOr<Scenario> s =
      Load("trace:\n  file: data/load.csv\n  time_col: ts\n  value_col: rps\n  scale: 2\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->trace.kind, TraceSpec::Kind::kFile);
  EXPECT_DOUBLE_EQ(s->duration, 2 * 3600);  // the trace's length
  const Trace t = BuildTrace(*s);
  ASSERT_EQ(t.demand.size(), 120u);
  EXPECT_DOUBLE_EQ(t.epoch, 1709251200);  // 2024-03-01T00:00:00Z
  EXPECT_DOUBLE_EQ(t.demand[0], 200);
  EXPECT_TRUE(std::isnan(t.demand[10]));  // the gap stays missing
  EXPECT_DOUBLE_EQ(t.demand[119], 2 * 219);
}

TEST_F(TraceSourceTest, FillAndResampleKeys) {
  absl::StatusOr<Scenario> s = Load(
      "trace:\n  file: data/load.csv\n  value_col: rps\n  fill: linear\n  step: 5m\n  agg: max\n");
  ASSERT_TRUE(s.ok()) << s.status();
  const Trace t = BuildTrace(*s);
  ASSERT_EQ(t.demand.size(), 24u);
  EXPECT_DOUBLE_EQ(t.step, 300);
  EXPECT_DOUBLE_EQ(t.demand[0], 104);
}

TEST_F(TraceSourceTest, DurationPastTheEndOfTheTraceIsRefused) {
  absl::StatusOr<Scenario> s = Load("duration: 3h\ntrace:\n  file: data/load.csv\n  value_col: rps\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(s.status()), HasSubstr("scenario.yaml:7:11: duration: expected a duration <= the trace's length"));
}

TEST_F(TraceSourceTest, ABadTraceFileIsReportedAtTraceFile) {
  std::ofstream(dir_ + "/data/bad.csv") << "ts,rps\n2024-03-01T00:00:00Z,12\n2024-03-01T00:01:00Z,-5\n";
  absl::StatusOr<Scenario> s = Load("trace:\n  file: data/bad.csv\n");
  ASSERT_FALSE(s.ok());
  const std::string msg = ErrorText(s.status());
  EXPECT_THAT(msg, HasSubstr("scenario.yaml:8:9: trace.file: "));
  EXPECT_THAT(msg, HasSubstr("bad.csv:3"));
  absl::StatusOr<Scenario> missing = Load("trace:\n  file: data/none.csv\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(ErrorText(missing.status()), HasSubstr("none.csv"));
}

TEST_F(TraceSourceTest, OneSourceOnlyAndImportKeysOnlyWithAFile) {
  absl::StatusOr<Scenario> both =
      Load("trace:\n  file: data/load.csv\n  preset: flash-crowd\n");
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(ErrorText(both.status()), HasSubstr("expected one of synthetic, file or preset"));
  absl::StatusOr<Scenario> stray = Load("trace:\n  scale: 3\n");
  ASSERT_FALSE(stray.ok());
  EXPECT_THAT(ErrorText(stray.status()), HasSubstr("trace.scale: expected only with trace.file"));
}

TEST_F(TraceSourceTest, PresetTraceCoversTheRunWithTheScenarioSeed) {
  absl::StatusOr<Scenario> s = Load("duration: 2d\nseed: 5\ntrace:\n  preset: flash-crowd\n");
  ASSERT_TRUE(s.ok()) << s.status();
  const Trace t = BuildTrace(*s);
  EXPECT_GE(t.end() - t.start, 2 * 86400);
  EXPECT_FALSE(t.events.empty());
  absl::StatusOr<Scenario> bad = Load("trace:\n  preset: tuesday\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(ErrorText(bad.status()), HasSubstr("trace.preset"));
  EXPECT_THAT(ErrorText(bad.status()), HasSubstr("flash-crowd"));  // lists the valid names
}

}  // namespace
}  // namespace meshtwin
