// End-to-end: `meshtwin simulate` on real scenarios through SimGrid, checked
// through what a user sees (the JSON summary) and what the results file holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/results_file.h"
#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::ReadFileBytes;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::meshtwin::testing::SimRun;
using ::meshtwin::testing::SimulateJson;
using ::meshtwin::testing::TestData;

SimRun Simulate(std::vector<std::string> args) { return SimulateJson(std::move(args)); }

// served + dropped + still queued = offered, at every tick and in the summary.
void ExpectConservation(const SimRun& run) {
  const TickSeries& t = run.results.ticks;
  ASSERT_GT(t.size(), 0u);
  double arrived = 0, served = 0, dropped = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    arrived += t.arrived[i];
    served += t.served[i];
    dropped += t.dropped[i];
    ASSERT_NEAR(served + dropped + t.queued[i], arrived, 1e-9 * arrived + 1e-6) << "tick " << i;
    ASSERT_GE(t.dropped[i], 0);
    ASSERT_LE(t.utilization[i], 1.0 + 1e-9);
    // Nodes with a queue work flat out: a large backlog with idle nodes
    // would mean the executor lost work.
    if (t.queued[i] > 0.01 * t.capacity[i] * run.results.control_interval) {
      ASSERT_GT(t.utilization[i], 0.5) << "tick " << i << " has a backlog but idle nodes";
    }
  }
  EXPECT_EQ(run.summary["requests_total"].get<long long>(), std::llround(arrived));
  EXPECT_EQ(run.summary["requests_served"].get<long long>(), std::llround(served));
  EXPECT_EQ(run.summary["requests_dropped"].get<long long>(), std::llround(dropped));
}

nlohmann::json WithoutRunSpecifics(nlohmann::json j) {
  j.erase("wall_seconds");
  j.erase("results_file");
  return j;
}

TEST(SimulateE2E, DefaultScenarioRunsADayAndConservesRequests) {
  SimRun run = Simulate({});
  ExpectConservation(run);
  const nlohmann::json& s = run.summary;
  for (const char* key :
       {"requests_total", "requests_served", "requests_dropped", "slo_violation_minutes",
        "node_hours", "peak_nodes", "scale_up_events", "scale_down_events", "wall_seconds"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s["scenario"], "default");
  EXPECT_EQ(s["policy"], "hpa");
  EXPECT_EQ(s["ticks"], 5760);  // 24 h of 15 s ticks
  EXPECT_EQ(run.results.node_types, (std::vector<std::string>{"large", "medium", "small"}));
  // The HPA follows the day: it grows the pool for the evening launch and
  // shrinks it at night.
  EXPECT_GT(s["peak_nodes"].get<int>(), 48);
  EXPECT_GT(s["scale_up_events"].get<int>(), 0);
  EXPECT_GT(s["scale_down_events"].get<int>(), 0);
  // 24 h of 8 large + 16 small fixed nodes alone is 576 node-hours.
  EXPECT_GT(s["node_hours"].get<double>(), 576);
  ASSERT_EQ(run.results.events.size(), 1u);
  EXPECT_EQ(run.results.events[0].announced, 18 * 3600);
  EXPECT_FALSE(run.results.decisions.empty());
  EXPECT_NE(run.results.scenario_text.find("name: default"), std::string::npos);
}

TEST(SimulateE2E, SameScenarioAndSeedGiveIdenticalResults) {
  SimRun a = Simulate({TestData("overload.yaml")});
  SimRun b = Simulate({TestData("overload.yaml")});
  EXPECT_EQ(WithoutRunSpecifics(a.summary), WithoutRunSpecifics(b.summary));
  EXPECT_EQ(ReadFileBytes(a.path), ReadFileBytes(b.path)) << "results files differ";
  SimRun c = Simulate({TestData("overload.yaml"), "--seed", "4"});
  EXPECT_NE(WithoutRunSpecifics(a.summary), WithoutRunSpecifics(c.summary));
  EXPECT_EQ(c.summary["seed"], 4);
}

// Index of the first tick at or after time t.
std::size_t TickAt(const TickSeries& t, double time) {
  return static_cast<std::size_t>(std::lower_bound(t.time.begin(), t.time.end(), time) -
                                  t.time.begin());
}

TEST(SimulateE2E, HpaDoublesThePoolAfterADoubledLoadWithinAFewIntervals) {
  SimRun run = Simulate({TestData("step.yaml")});
  ExpectConservation(run);
  const TickSeries& t = run.results.ticks;
  const std::size_t step = TickAt(t, 3600);
  // Steady at the target before the step: no scaling at all.
  for (std::size_t i = 0; i < step; ++i) ASSERT_EQ(t.nodes_by_type[i], 4) << "tick " << i;
  // By hand: the sync at 3615 sees 100 % CPU and asks for ceil(4 x 1.0 / 0.6)
  // = 7; the 3 new nodes boot for 60 s and, once ready (3675), count as
  // unready until they have a full tick of metrics, which holds the HPA at 7;
  // at 3690 it sees 192 / 280 = 69 % and asks for 8, ready at 3750: ten
  // intervals after the step.
  ASSERT_EQ(run.results.decisions.size(), 2u);
  EXPECT_EQ(run.results.decisions[0].time, 3615);
  EXPECT_EQ(run.results.decisions[0].replicas_after, 7);
  EXPECT_EQ(run.results.decisions[1].time, 3690);
  EXPECT_EQ(run.results.decisions[1].replicas_after, 8);
  EXPECT_EQ(t.nodes_ready[TickAt(t, 3735)], 7);
  EXPECT_EQ(t.nodes_ready[TickAt(t, 3750)], 8);
  for (std::size_t i = step; i < t.size(); ++i) ASSERT_LE(t.nodes_by_type[i], 8) << "tick " << i;
  EXPECT_EQ(t.nodes_ready.back(), 8);
  EXPECT_NEAR(t.utilization.back(), 0.6, 1e-9);
  // Until the capacity arrives, what a tick cannot serve is dropped.
  EXPECT_GT(run.summary["requests_dropped"].get<long long>(), 0);
}

TEST(SimulateE2E, WithAQueueTheHpaOvershootsThenSettlesAtTwiceThePool) {
  SimRun run = Simulate({TestData("step-queued.yaml")});
  ExpectConservation(run);
  EXPECT_EQ(run.summary["requests_dropped"], 0);  // the 60 s queue absorbs the boot delay
  const TickSeries& t = run.results.ticks;
  // The backlog keeps CPU high after the new nodes are ready: more than 8.
  EXPECT_GT(run.summary["peak_nodes"].get<int>(), 8);
  // Back to 8 once the 300 s scale-down window has passed, and no flapping.
  const std::size_t settled = TickAt(t, 3600 + 15 * 60);
  for (std::size_t i = settled; i < t.size(); ++i) ASSERT_EQ(t.nodes_by_type[i], 8) << "tick " << i;
  EXPECT_GT(run.summary["scale_down_events"].get<int>(), 0);
}

TEST(SimulateE2E, SetOverridesAScenarioKey) {
  // A 40 % target needs 192 / (0.4 x 40) = 12 nodes after the step.
  SimRun run = Simulate({TestData("step.yaml"), "--set", "policy.target_utilization=0.4"});
  EXPECT_EQ(run.results.ticks.nodes_ready.back(), 12);
  EXPECT_NE(run.results.overrides.find("policy.target_utilization=0.4"), std::string::npos);
}

TEST(SimulateE2E, OverloadDropsButStillConservesAndRespectsMaxReplicas) {
  SimRun run = Simulate({TestData("overload.yaml")});
  ExpectConservation(run);
  EXPECT_GT(run.summary["requests_dropped"].get<long long>(), 0);
  EXPECT_GT(run.summary["slo_violation_minutes"].get<int>(), 0);
  const TickSeries& t = run.results.ticks;
  const std::size_t types = run.results.node_types.size();
  for (std::size_t i = 0; i < t.size(); ++i) {
    // The HPA never asks for more than max; draining nodes may briefly add to it.
    ASSERT_LE(t.nodes_ready[i] - 1 + t.nodes_booting[i], 6) << "tick " << i;
    int active = 0;
    for (std::size_t k = 0; k < types; ++k) active += t.nodes_by_type[i * types + k];
    ASSERT_EQ(active, t.nodes_ready[i] + t.nodes_booting[i] + t.nodes_draining[i]);
  }
}

}  // namespace
}  // namespace meshtwin
