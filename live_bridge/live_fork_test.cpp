// The twin fork from a hand-made snapshot: the live fleet becomes the run's
// initial nodes, the demand follows the manager's forecast, the history and
// events come along, overrides apply in order, bad snapshots are refused.
#include "live_bridge/live_fork.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace meshtwin::live {
namespace {

std::string E2eScenarioText() {
  std::ifstream in(std::string(MESHTWIN_SOURCE_ROOT) + "/tests/data/live/e2e-scenario.yaml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

LiveSnapshot Snapshot() {
  LiveSnapshot s;
  s.time_unix = 1.8e9;
  s.manager_id = "manager-0";
  s.scenario_name = "live-e2e";
  s.scenario_yaml = E2eScenarioText();
  s.interval = 1;
  for (int i = 0; i < 7; ++i) {
    LiveNode n;
    n.id = "node-" + std::to_string(i);
    n.state = i < 5 ? NodeState::kReady : (i == 5 ? NodeState::kBooting : NodeState::kDraining);
    n.capabilities.node_type = "demo";
    s.nodes.push_back(n);
  }
  s.history_step = 1;
  s.history_start_unix = s.time_unix - 60;
  s.demand_history.assign(60, 150.0);
  s.demand_history[10] = std::nan("");
  s.forecast.horizons = {2, 4, 8};
  s.forecast.p10 = {140, 400, 400};
  s.forecast.p50 = {150, 450, 450};
  s.forecast.p90 = {160, 500, 500};
  Event launch;
  launch.start = s.time_unix + 3;
  launch.end = s.time_unix + 40;
  launch.announced = s.time_unix - 20;
  launch.category = "launch";
  launch.magnitude = 3;
  s.events.push_back(launch);
  return s;
}

TEST(LiveFork, StartsFromTheLiveFleetAndFollowsTheForecast) {
  absl::StatusOr<LiveFork> fork = MakeLiveFork(Snapshot(), 120, {}, "live manager-0");
  ASSERT_TRUE(fork.ok()) << fork.status();
  const Scenario& s = fork->scenario;
  ASSERT_EQ(s.node_types.size(), 1u);
  EXPECT_EQ(s.node_types[0].initial, 6);  // 5 ready + 1 booting; the draining one is going
  EXPECT_DOUBLE_EQ(s.duration, 120);
  EXPECT_DOUBLE_EQ(s.control_interval, 1);
  EXPECT_EQ(s.policy, "predictive");
  EXPECT_TRUE(fork->notes.empty());
  const Trace& t = fork->trace;
  EXPECT_DOUBLE_EQ(t.epoch, 1.8e9);
  ASSERT_EQ(t.demand.size(), 120u);
  EXPECT_NEAR(t.demand[0], 150, 1e-9);  // the last level, then p50 at 2 s is 150 too
  EXPECT_NEAR(t.demand[2], 150 + 300 * (2.5 - 2) / 2, 1e-9);  // on the way to 450 at 4 s
  EXPECT_NEAR(t.demand[10], 450, 1e-9);                       // held after the last horizon
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_NEAR(t.events[0].start, 3, 1e-6);  // trace time
  EXPECT_EQ(fork->history.size(), 60u);
  EXPECT_TRUE(std::isnan(fork->history[10]));
  EXPECT_DOUBLE_EQ(fork->history_step, 1);
}

TEST(LiveFork, UserOverridesWinAndClampedCountsAreNoted) {
  LiveSnapshot snap = Snapshot();
  for (int i = 0; i < 40; ++i) {
    LiveNode n;
    n.id = "extra-" + std::to_string(i);
    n.state = NodeState::kReady;
    n.capabilities.node_type = i < 38 ? "demo" : "gpu";
    snap.nodes.push_back(n);
  }
  absl::StatusOr<LiveFork> fork =
      MakeLiveFork(snap, 60, {"policy.name=hpa", "policy.target_utilization=0.5"}, "live m");
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_EQ(fork->scenario.policy, "hpa");
  EXPECT_EQ(fork->scenario.node_types[0].initial, 30);  // the type's max
  ASSERT_EQ(fork->notes.size(), 2u);
  EXPECT_NE(fork->notes[0].find("44 live nodes, started from 30"), std::string::npos)
      << fork->notes[0];
  EXPECT_NE(fork->notes[1].find("type 'gpu'"), std::string::npos) << fork->notes[1];
}

TEST(LiveFork, BadSnapshotsAreRefusedNamingTheSource) {
  LiveSnapshot snap = Snapshot();
  snap.scenario_yaml = "";
  EXPECT_NE(std::string(MakeLiveFork(snap, 60, {}, "live m0").status().message())
                .find("live m0: snapshot: the manager sent no scenario"),
            std::string::npos);
  snap = Snapshot();
  snap.demand_history.assign(5, std::nan(""));
  snap.forecast = Forecast{};
  EXPECT_NE(std::string(MakeLiveFork(snap, 60, {}, "live m0").status().message())
                .find("no demand reading and no forecast"),
            std::string::npos);
  EXPECT_FALSE(MakeLiveFork(Snapshot(), 0, {}, "live m0").ok());
  absl::StatusOr<LiveFork> bad = MakeLiveFork(Snapshot(), 60, {"policy.name=magic"}, "live m0");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("policy.name"), std::string::npos);
}

}  // namespace
}  // namespace meshtwin::live
