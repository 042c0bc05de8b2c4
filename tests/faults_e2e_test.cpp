// End-to-end: faults injected into simulated runs (scenario key `faults`),
// and the control loop healing them, checked through the JSON summary and the
// per-tick series and decisions of the results file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::meshtwin::testing::SimRun;
using ::meshtwin::testing::SimulateJson;
using ::testing::HasSubstr;

SimRun Simulate(std::vector<std::string> args) { return SimulateJson(std::move(args)); }

// Three hours of the default scenario (15 s ticks; medium nodes boot in
// 60 s) on 2 zones x 3 racks, with `faults` (a YAML flow mapping) added.
std::vector<std::string> Default3h(const std::string& faults) {
  return {"--set", "duration=3h",
          "--set", "node_types.medium.boot_time=60s",
          "--set", "faults={topology: {zones: 2, racks_per_zone: 3}" + faults + "}"};
}

std::vector<DecisionRecord> Decisions(const ResultsData& r, const std::string& action) {
  std::vector<DecisionRecord> out;
  for (const DecisionRecord& d : r.decisions) {
    if (d.action == action) out.push_back(d);
  }
  return out;
}

TEST(FaultsE2E, ACrashedNodesLoadIsServedElsewhereWithinBootTimePlusTwoIntervals) {
  const SimRun run = Simulate(Default3h(", crashes: [{at: 1h, count: 1, type: medium}]"));
  ASSERT_FALSE(run.summary.empty());
  const nlohmann::json& s = run.summary;
  EXPECT_EQ(s["node_failures"], 1);
  EXPECT_EQ(s["failures_undetected"], 0);
  EXPECT_EQ(s["replacements"], 1);
  // Declared failed after 2 missed heartbeats: 2 intervals.
  EXPECT_DOUBLE_EQ(s["detection_delay_max_s"].get<double>(), 30);
  // The replacement serves within boot time + 2 intervals of the crash.
  EXPECT_LE(s["recovery_max_s"].get<double>(), 60 + 2 * 15);
  EXPECT_GT(s["requests_lost_to_failures"].get<double>(), 0);

  // Requests are lost only until the manager stops sending work to the dead
  // node: within the 2 intervals after the crash.
  const TickSeries& t = run.results.ticks;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t.lost[i] > 0) {
      EXPECT_GE(t.time[i], 3600) << "tick " << i;
      EXPECT_LT(t.time[i], 3600 + 2 * 15) << "tick " << i;
    }
    const int expected_failed = t.time[i] >= 3600 && t.time[i] < 3600 + 2 * 15 ? 1 : 0;
    EXPECT_EQ(t.nodes_failed[i], expected_failed) << "tick " << i;
  }
  double lost = 0;
  for (double x : t.lost) lost += x;
  EXPECT_NEAR(lost, s["requests_lost_to_failures"].get<double>(), 1);
  const std::vector<DecisionRecord> replaced = Decisions(run.results, "replace");
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_DOUBLE_EQ(replaced[0].time, 3600 + 2 * 15);
  EXPECT_THAT(replaced[0].reason, HasSubstr("missed 2 heartbeats"));
}

// With a DHT, crashed nodes take their DHT nodes with them (no graceful
// leave): the overlay routes around them, their records expire, and their
// replacements join it and are found through it.
TEST(FaultsE2E, CrashedDhtNodesAreReplacedAndTheReplacementsFoundThroughTheDht) {
  std::vector<std::string> args = Default3h(", crashes: [{at: 1h, count: 3, type: medium}]");
  args.insert(args.end(), {"--set", "dht=chord"});
  const SimRun run = Simulate(args);
  ASSERT_FALSE(run.summary.empty());
  const nlohmann::json& s = run.summary;
  EXPECT_EQ(s["node_failures"], 3);
  EXPECT_EQ(s["replacements"], 3);
  EXPECT_EQ(s["failures_undetected"], 0);
  EXPECT_EQ(s["dht_queries_failed"], 0);
  EXPECT_LE(s["recovery_max_s"].get<double>(), 60 + 2 * 15 + 15);  // + a tick to be found
  // Every node that came up after the start, the replacements among them, was found.
  int came_up = 0;
  const NodeSnapshots& n = run.results.nodes;
  std::vector<char> seen_at_start(1 << 16, 0), counted(1 << 16, 0);
  for (auto i = n.offset[0]; i < n.offset[1]; ++i) seen_at_start[n.id[i]] = 1;
  for (std::size_t row = 0; row < n.id.size(); ++row) {
    const int id = n.id[row];
    if (!seen_at_start[id] && !counted[id] && n.state[row] == 1) {
      counted[id] = 1;
      ++came_up;
    }
  }
  EXPECT_GE(came_up, 3);
  EXPECT_EQ(s["nodes_discovered"].get<int>(), came_up);
  const TickSeries& t = run.results.ticks;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t.lost[i] > 0) {
      EXPECT_LT(t.time[i], 3600 + 2 * 15) << "tick " << i;
    }
  }
}

TEST(FaultsE2E, AGrayNodeIsIsolatedWithinThreeIntervalsThenReplaced) {
  const SimRun run = Simulate(Default3h(", gray: [{at: 1h, count: 1, type: medium, speed: 0.3}]"));
  ASSERT_FALSE(run.summary.empty());
  const nlohmann::json& s = run.summary;
  EXPECT_EQ(s["gray_failures"], 1);
  EXPECT_EQ(s["failures_undetected"], 0);
  EXPECT_EQ(s["isolations"], 1);
  EXPECT_LE(s["detection_delay_max_s"].get<double>(), 3 * 15);
  const std::vector<DecisionRecord> isolated = Decisions(run.results, "isolate");
  ASSERT_EQ(isolated.size(), 1u);
  EXPECT_GE(isolated[0].time, 3600);
  EXPECT_LE(isolated[0].time, 3600 + 3 * 15);
  EXPECT_THAT(isolated[0].reason, HasSubstr("suspect"));
  EXPECT_EQ(s["replacements"], 1);
}

TEST(FaultsE2E, APartitionIsOnePartitionNotManyFailures) {
  const SimRun run = Simulate(Default3h(", links: [{at: 1h, zone: 1, cut: true, duration: 5m}]"));
  ASSERT_FALSE(run.summary.empty());
  const nlohmann::json& s = run.summary;
  EXPECT_EQ(s["partitions"], 1);
  EXPECT_EQ(s["node_failures"], 0);
  const std::vector<DecisionRecord> replaced = Decisions(run.results, "replace");
  ASSERT_FALSE(replaced.empty());
  for (const DecisionRecord& d : replaced) {
    EXPECT_THAT(d.reason, HasSubstr("zone 1 unreachable: partition"));
    EXPECT_DOUBLE_EQ(d.time, 3600 + 2 * 15);
  }
}

TEST(FaultsE2E, NoDecisionsWhileTheManagerIsDown) {
  const SimRun run = Simulate(Default3h(", manager: [{at: 1h, duration: 20m}]"));
  ASSERT_FALSE(run.summary.empty());
  EXPECT_EQ(run.summary["manager_outages"], 1);
  ASSERT_FALSE(run.results.decisions.empty());
  for (const DecisionRecord& d : run.results.decisions) {
    EXPECT_FALSE(d.time >= 3600 && d.time < 3600 + 1200) << d.action << " at " << d.time;
  }
}

TEST(FaultsE2E, ACleanRunWithDetectionOnIsolatesNothing) {
  const SimRun run = Simulate(Default3h(""));
  ASSERT_FALSE(run.summary.empty());
  EXPECT_EQ(run.summary["isolations"], 0);
  EXPECT_EQ(run.summary["replacements"], 0);
  EXPECT_EQ(run.summary["requests_lost_to_failures"], 0);
}

TEST(FaultsE2E, FailureStormKeepsCriticalTrafficServed) {
  const SimRun run = Simulate({"failure-storm"});
  ASSERT_FALSE(run.summary.empty());
  const nlohmann::json& s = run.summary;
  EXPECT_GT(s["node_failures"].get<int>(), 10);
  EXPECT_EQ(s["gray_failures"], 2);
  EXPECT_EQ(s["partitions"], 1);
  EXPECT_EQ(s["manager_outages"], 1);
  EXPECT_EQ(s["failures_undetected"], 0);
  // Critical traffic: at least 99.9 % of what was offered is served.
  const TickSeries& t = run.results.ticks;
  double critical_served = 0;
  for (std::size_t i = 0; i < t.size(); ++i) critical_served += t.served_by_class[3 * i];
  const double critical_dropped = s["dropped_by_class"]["critical"].get<double>();
  EXPECT_GT(critical_served, 0);
  EXPECT_LE(critical_dropped, 0.001 * (critical_served + critical_dropped));
  // Every loss is accounted for.
  EXPECT_NEAR(s["requests_lost_to_failures"].get<double>(), s["requests_dropped"].get<double>(),
              0.05 * s["requests_dropped"].get<double>() + 1);
}

TEST(FaultsE2E, SameSeedSameStorm) {
  const SimRun a = Simulate({"failure-storm", "--set", "duration=16h"});
  const SimRun b = Simulate({"failure-storm", "--set", "duration=16h"});
  nlohmann::json ja = a.summary, jb = b.summary;
  for (nlohmann::json* j : {&ja, &jb}) {
    j->erase("wall_seconds");
    j->erase("results_file");
  }
  EXPECT_EQ(ja, jb);
  EXPECT_EQ(a.results.ticks.lost, b.results.ticks.lost);
}

TEST(FaultsE2E, FaultsOutsideTheTopologyAreRefusedAtTheKey) {
  CommandResult r = RunMeshtwin({"simulate", "--set",
                                 "faults={topology: {zones: 2}, domains: [{at: 1h, zone: 5}]}",
                                 "--out", ScratchDir() + "/r.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("faults.domains[0].zone"));
}

}  // namespace
}  // namespace meshtwin
