#include "live_bridge/decision_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace meshtwin::live {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DecisionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "meshtwin-dlog-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/decisions.jsonl";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void AppendRaw(const std::string& text) const {
    std::ofstream(path_, std::ios::app | std::ios::binary) << text;
  }
  std::string Contents() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
  std::string path_;
};

LoggedDecision Sample(std::int64_t tick) {
  LoggedDecision d;
  d.time_unix = 1700000000.25 + static_cast<double>(tick) * 15;
  d.tick = tick;
  d.fence = 42;
  d.manager = "manager-1";
  d.policy = "predictive";
  d.shadow = tick % 2 == 1;
  d.demand_rps = 1234.5678901234;
  d.capacity_rps = 2000;
  d.forecast_horizons_s = {60, 300, 900};
  d.forecast_p50 = {1250.5, 1300, 1400.125};
  d.forecast_p90 = {1500, 1600, 1800};
  LoggedAction out;
  out.kind = "scale_out";
  out.node_type = "small";
  out.role = "web";
  out.count = 2;
  out.replicas_before = 5;
  out.replicas_after = 7;
  out.metric = 0.8125;
  out.reason = "p90 forecast 1800 rps > 90% of capacity — \"scale\" early";
  out.outcome = "applied";
  out.nodes_started = {"node-f42-t" + std::to_string(tick) + "-0",
                       "node-f42-t" + std::to_string(tick) + "-1"};
  LoggedAction in;
  in.kind = "change_role";
  in.node = "agent-3";
  in.role = "cache";
  in.metric = std::nan("");
  in.outcome = "failed: agent-3 is not registered";
  d.actions = {out, in};
  return d;
}

TEST_F(DecisionLogTest, RecordsRoundTripWithEveryField) {
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->path(), path_);
    for (std::int64_t tick = 10; tick < 13; ++tick) ASSERT_TRUE((*log)->Append(Sample(tick)).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  bool torn = true;
  absl::StatusOr<std::vector<LoggedDecision>> read = ReadDecisionLog(path_, &torn);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(torn);
  ASSERT_EQ(read->size(), 3u);
  for (std::int64_t i = 0; i < 3; ++i) {
    const LoggedDecision want = Sample(10 + i);
    const LoggedDecision& got = (*read)[static_cast<std::size_t>(i)];
    EXPECT_EQ(got.time_unix, want.time_unix);
    EXPECT_EQ(got.tick, want.tick);
    EXPECT_EQ(got.fence, 42);
    EXPECT_EQ(got.manager, "manager-1");
    EXPECT_EQ(got.policy, "predictive");
    EXPECT_EQ(got.shadow, want.shadow);
    EXPECT_EQ(got.demand_rps, want.demand_rps);  // shortest round-trip formatting: exact
    EXPECT_EQ(got.capacity_rps, 2000);
    EXPECT_EQ(got.forecast_horizons_s, want.forecast_horizons_s);
    EXPECT_EQ(got.forecast_p50, want.forecast_p50);
    EXPECT_EQ(got.forecast_p90, want.forecast_p90);
    ASSERT_EQ(got.actions.size(), 2u);
    const LoggedAction& a = got.actions[0];
    EXPECT_EQ(a.kind, "scale_out");
    EXPECT_EQ(a.node_type, "small");
    EXPECT_EQ(a.role, "web");
    EXPECT_EQ(a.count, 2);
    EXPECT_EQ(a.replicas_before, 5);
    EXPECT_EQ(a.replicas_after, 7);
    EXPECT_EQ(a.metric, 0.8125);
    EXPECT_EQ(a.reason, want.actions[0].reason);
    EXPECT_EQ(a.outcome, "applied");
    EXPECT_EQ(a.nodes_started, want.actions[0].nodes_started);
    EXPECT_EQ(got.actions[1].node, "agent-3");
    EXPECT_TRUE(std::isnan(got.actions[1].metric));  // written as null
    EXPECT_EQ(got.actions[1].outcome, "failed: agent-3 is not registered");
  }
  // One object per line, each complete.
  const std::string text = Contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_EQ(text.rfind(ToJsonLine(Sample(12)) + "\n"),
            text.size() - ToJsonLine(Sample(12)).size() - 1);
  EXPECT_EQ(ToJsonLine(Sample(10)).find('\n'), std::string::npos);
}

TEST_F(DecisionLogTest, AppendsFromTwoThreadsGiveWholeLines) {
  absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(path_);
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kPerThread = 100;
  auto writer = [&](const std::string& manager) {
    for (int i = 0; i < kPerThread; ++i) {
      LoggedDecision d = Sample(i);
      d.manager = manager;
      // Long lines: more than a pipe buffer, so that interleaving would show.
      d.actions[0].reason = std::string(6000, manager.back());
      ASSERT_TRUE((*log)->Append(d).ok());
    }
  };
  std::thread a(writer, "replica-a");
  std::thread b(writer, "replica-b");
  a.join();
  b.join();

  absl::StatusOr<std::vector<LoggedDecision>> read = ReadDecisionLog(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u * kPerThread);
  std::map<std::string, std::int64_t> next_tick;
  for (const LoggedDecision& d : *read) {
    // Each thread's records whole and in its own order.
    EXPECT_EQ(d.tick, next_tick[d.manager]++);
    EXPECT_EQ(d.actions.at(0).reason, std::string(6000, d.manager.back()));
  }
  EXPECT_EQ(next_tick["replica-a"], kPerThread);
  EXPECT_EQ(next_tick["replica-b"], kPerThread);
}

TEST_F(DecisionLogTest, TornTailIsSkippedReportedAndCutOnReopen) {
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->Append(Sample(1)).ok());
    ASSERT_TRUE((*log)->Append(Sample(2)).ok());
  }
  // A crash in the middle of the third record's write.
  const std::string third = ToJsonLine(Sample(3));
  AppendRaw(third.substr(0, third.size() / 2));

  bool torn = false;
  absl::StatusOr<std::vector<LoggedDecision>> read = ReadDecisionLog(path_, &torn);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(torn);
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].tick, 2);

  // The next manager run starts clean: the torn half does not glue itself to
  // the next record.
  {
    absl::StatusOr<std::unique_ptr<DecisionLog>> log = DecisionLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->Append(Sample(4)).ok());
  }
  read = ReadDecisionLog(path_, &torn);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(torn);
  std::vector<std::int64_t> ticks;
  for (const LoggedDecision& d : *read) ticks.push_back(d.tick);
  EXPECT_THAT(ticks, ElementsAre(1, 2, 4));
}

TEST_F(DecisionLogTest, MalformedLinesAreErrorsNamingPathLineAndField) {
  const std::string good = ToJsonLine(Sample(1)) + "\n";
  auto error_for = [&](const std::string& middle) {
    std::ofstream(path_, std::ios::trunc) << good << middle << "\n" << good;
    absl::StatusOr<std::vector<LoggedDecision>> read = ReadDecisionLog(path_);
    EXPECT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    return ErrorText(read.status());
  };
  EXPECT_THAT(error_for(R"({"time_unix": 5, "tick": "seven"})"),
              HasSubstr(path_ + ":2: tick: expected an integer, got \"seven\""));
  EXPECT_THAT(error_for(R"({"time_unix": 5, "tick": 7, "actions": [{"count": 2.5}]})"),
              HasSubstr(path_ + ":2: actions[0].count: expected an integer, got 2.5"));
  EXPECT_THAT(error_for(R"({"time_unix": 5, "tick": 7, "forecast_p50": [1, "x"]})"),
              HasSubstr(path_ + ":2: forecast_p50[1]: expected a number"));
  EXPECT_THAT(error_for(R"({"tick": 7})"), HasSubstr(path_ + ":2: time_unix: expected a number"));
  EXPECT_THAT(error_for("{\"time_unix\": 5, \"tick\": 7"),
              HasSubstr(path_ + ":2: expected a JSON object, got unparsable text"));
  EXPECT_THAT(error_for(""), HasSubstr(path_ + ":2: expected a JSON object, got an empty line"));
  EXPECT_THAT(error_for(R"({"version": 2, "time_unix": 5, "tick": 7})"),
              HasSubstr(path_ + ":2: version: expected 1"));
}

TEST_F(DecisionLogTest, OpenRefusesMissingDirectoriesAndASecondWriter) {
  const std::string missing = dir_ + "/no-such-dir/decisions.jsonl";
  absl::StatusOr<std::unique_ptr<DecisionLog>> bad = DecisionLog::Open(missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(bad.status()), HasSubstr(missing));

  absl::StatusOr<std::unique_ptr<DecisionLog>> first = DecisionLog::Open(path_);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<DecisionLog>> second = DecisionLog::Open(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ErrorText(second.status()), HasSubstr("already open for writing"));
  first->reset();
  EXPECT_TRUE(DecisionLog::Open(path_).ok());  // the lock goes with the first writer

  absl::StatusOr<std::vector<LoggedDecision>> none = ReadDecisionLog(dir_ + "/absent.jsonl");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace meshtwin::live
