// The live source's mapping (gui/live_results.h), fed synthetic snapshots and
// watch events: no manager, no network. What a user would see: the history
// as the demand line, ticks appended at the right run times, node tables
// turning into node snapshots at most once a second, decisions (with the ones
// not carried out marked), events on the run's time axis, the forecast.
#include "gui/live_results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gui/snapshot_lookup.h"

namespace meshtwin::gui {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kT0 = 1.8e9;  // history start, unix s
constexpr double kStep = 15;
constexpr std::size_t kHistory = 480;  // 2 h of 15 s ticks

live::LiveNode Node(const std::string& id, NodeState state, const std::string& type,
                    const std::string& role, double cpu = 0.5) {
  live::LiveNode n;
  n.id = id;
  n.state = state;
  n.role = role;
  n.capabilities.node_type = type;
  n.load.cpu_utilization = cpu;
  n.load.queued_requests = 4;
  return n;
}

Forecast Fc(std::vector<double> horizons, double level) {
  Forecast f;
  f.horizons = std::move(horizons);
  for (std::size_t i = 0; i < f.horizons.size(); ++i) {
    f.p10.push_back(level - 200);
    f.p50.push_back(level);
    f.p90.push_back(level + 200);
  }
  return f;
}

// The manager's state at kT0 + 2 h + 5 s: 480 ticks of history (one without
// a reading), three nodes (one stopped), an event, a forecast.
live::LiveSnapshot Snapshot() {
  live::LiveSnapshot s;
  s.time_unix = kT0 + kHistory * kStep + 5;
  s.manager_id = "m0";
  s.scenario_name = "web";
  s.scenario_yaml =
      "name: web\nseed: 7\nnode_types:\n  - name: large\n  - name: medium\nroles:\n  - {name: "
      "web}\n"
      "  - {name: batch}\npolicy:\n  name: predictive\nforecast:\n  model: naive\n";
  s.overrides = {"policy.target_utilization=0.6"};
  s.interval = kStep;
  s.nodes = {Node("agent-3", NodeState::kReady, "medium", "web", 0.8),
             Node("gpu-b", NodeState::kBooting, "", ""),
             Node("agent-7", NodeState::kStopped, "large", "web")};
  s.history_start_unix = kT0;
  s.history_step = kStep;
  for (std::size_t i = 0; i < kHistory; ++i) s.demand_history.push_back(1000 + i);
  s.demand_history[10] = kNaN;
  s.forecast = Fc({300, 1800}, 2000);
  Event e;
  e.start = kT0 + 3600;
  e.announced = kT0 + 1800;
  e.category = "launch";
  e.text = "launch at 1 h";
  s.events = {e};
  return s;
}

live::WatchEvent TickAt(double time_unix, double demand, double capacity, int ready, int booting,
                        Forecast f = {}) {
  live::WatchEvent e;
  e.kind = live::WatchEvent::Kind::kTick;
  e.time_unix = time_unix;
  e.tick.demand_rps = demand;
  e.tick.capacity_rps = capacity;
  e.tick.ready = ready;
  e.tick.booting = booting;
  e.tick.forecast = std::move(f);
  return e;
}

live::WatchEvent Changed(live::LiveNode n, double time_unix) {
  live::WatchEvent e;
  e.kind = live::WatchEvent::Kind::kNodeChanged;
  e.time_unix = time_unix;
  e.node = std::move(n);
  return e;
}

live::WatchEvent Removed(const std::string& id, double time_unix) {
  live::WatchEvent e;
  e.kind = live::WatchEvent::Kind::kNodeRemoved;
  e.time_unix = time_unix;
  e.removed_node = id;
  e.reason = "retired";
  return e;
}

// Every tick series has one value per tick; every matrix one row per tick.
void ExpectConsistent(const ResultsData& d) {
  const TickSeries& t = d.ticks;
  const std::size_t n = t.size();
  for (const auto* v : {&t.demand, &t.arrived, &t.capacity, &t.served, &t.dropped, &t.queued,
                        &t.utilization, &t.latency, &t.migrating, &t.lost}) {
    EXPECT_EQ(v->size(), n);
  }
  for (const auto* v :
       {&t.nodes_ready, &t.nodes_booting, &t.nodes_draining, &t.nodes_switching, &t.nodes_failed}) {
    EXPECT_EQ(v->size(), n);
  }
  EXPECT_EQ(t.slo_violated.size(), n);
  EXPECT_EQ(t.nodes_by_type.size(), n * d.node_types.size());
  EXPECT_EQ(t.nodes_by_role.size(), n * d.roles.size());
  EXPECT_EQ(t.demand_by_role.size(), n * d.roles.size());
  EXPECT_EQ(t.utilization_by_role.size(), n * d.roles.size());
  EXPECT_EQ(t.served_by_class.size(), n * kNumClasses);
  EXPECT_EQ(t.queued_by_class.size(), n * kNumClasses);
  const NodeSnapshots& ns = d.nodes;
  ASSERT_EQ(ns.offset.size(), ns.size() + 1);
  EXPECT_EQ(static_cast<std::size_t>(ns.offset.back()), ns.id.size());
  for (std::size_t s = 1; s < ns.size(); ++s) EXPECT_LT(ns.time[s - 1], ns.time[s]);
  for (std::size_t r = 0; r < ns.id.size(); ++r) {
    EXPECT_LT(static_cast<std::size_t>(ns.type[r]), d.node_types.size());
    EXPECT_LT(static_cast<std::size_t>(ns.role[r]), d.roles.size());
  }
  const ForecastSeries& f = d.forecasts;
  EXPECT_EQ(f.p50.size(), f.size() * f.horizons.size());
  EXPECT_EQ(f.actual.size(), f.size() * f.horizons.size());
}

TEST(LiveResultsTest, SnapshotGivesHistoryNodesEventsAndForecast) {
  LiveResults live;
  live.Reset(Snapshot());
  const ResultsData& d = live.data();
  ExpectConsistent(d);

  // Run time 0 is the start of the history; a tick's time is its start.
  EXPECT_EQ(d.trace_epoch, kT0);
  EXPECT_EQ(d.control_interval, kStep);
  ASSERT_EQ(d.ticks.size(), kHistory);
  EXPECT_EQ(d.ticks.time[0], 0);
  EXPECT_EQ(d.ticks.time[1], kStep);
  EXPECT_EQ(d.ticks.demand[1], 1001);
  EXPECT_TRUE(std::isnan(d.ticks.demand[10]));   // no reading stays a gap in the line
  EXPECT_TRUE(std::isnan(d.ticks.capacity[1]));  // this manager sent demand only
  EXPECT_TRUE(std::isnan(d.ticks.dropped[1]));
  EXPECT_EQ(d.ticks.arrived[1], 1001 * kStep);
  EXPECT_EQ(d.ticks.nodes_ready[1], 0);

  // The scenario text's names, in its order; names only nodes use follow.
  EXPECT_EQ(d.scenario_name, "web");
  EXPECT_EQ(d.policy, "predictive");
  EXPECT_EQ(d.seed, 7u);
  EXPECT_EQ(d.overrides, "policy.target_utilization=0.6\n");
  EXPECT_THAT(d.node_types, ElementsAre("large", "medium", "unknown"));
  EXPECT_THAT(d.roles, ElementsAre("web", "batch", "default"));

  // The nodes: one snapshot at the snapshot's time, stopped ones left out,
  // ids from the names' numbers where free.
  ASSERT_EQ(d.nodes.size(), 1u);
  EXPECT_EQ(d.nodes.every, 1);
  EXPECT_DOUBLE_EQ(d.nodes.time[0], kHistory * kStep + 5);
  EXPECT_THAT(d.nodes.id, ElementsAre(3, 4));
  EXPECT_EQ(live.IdOf("agent-3"), 3);
  EXPECT_EQ(live.IdOf("gpu-b"), 4);
  EXPECT_EQ(live.IdOf("agent-7"), 7);
  EXPECT_THAT(d.nodes.type, ElementsAre(1, 2));
  EXPECT_THAT(d.nodes.role, ElementsAre(0, 2));
  EXPECT_THAT(d.nodes.state, ElementsAre(static_cast<std::uint8_t>(NodeState::kReady),
                                         static_cast<std::uint8_t>(NodeState::kBooting)));
  EXPECT_FLOAT_EQ(d.nodes.utilization[0], 0.8f);
  EXPECT_FLOAT_EQ(d.nodes.queued[0], 4);

  // Events and the forecast on the run's time axis.
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].start, 3600);
  EXPECT_EQ(d.events[0].announced, 1800);
  EXPECT_TRUE(std::isnan(d.events[0].end));
  EXPECT_EQ(d.forecasts.model, "naive");
  EXPECT_THAT(d.forecasts.horizons, ElementsAre(300, 1800));
  ASSERT_EQ(d.forecasts.size(), 1u);
  EXPECT_DOUBLE_EQ(d.forecasts.time[0], kHistory * kStep + 5);
  EXPECT_THAT(d.forecasts.p50, ElementsAre(2000, 2000));
}

// A manager that sends the fleet's history too: the nodes and capacity
// plots start with the history instead of at the first live tick.
TEST(LiveResultsTest, SnapshotFleetHistoryFillsReadyNodesAndCapacity) {
  live::LiveSnapshot s = Snapshot();
  for (std::size_t i = 0; i < kHistory; ++i) {
    s.ready_history.push_back(10 + static_cast<int>(i % 3));
    s.capacity_history.push_back(1200);
  }
  LiveResults live;
  live.Reset(s);
  const ResultsData& d = live.data();
  ExpectConsistent(d);
  ASSERT_EQ(d.ticks.size(), kHistory);
  EXPECT_EQ(d.ticks.nodes_ready[1], 11);
  EXPECT_EQ(d.ticks.capacity[1], 1200);
  EXPECT_DOUBLE_EQ(d.ticks.served[1], 1001 * kStep);
  EXPECT_NEAR(d.ticks.utilization[1], 1001.0 / 1200, 1e-12);
  EXPECT_TRUE(std::isnan(d.ticks.utilization[10]));  // no demand reading there
}

TEST(LiveResultsTest, WithoutHistoryTimeStartsAtTheTickBeforeTheSnapshot) {
  live::LiveSnapshot s = Snapshot();
  s.demand_history.clear();
  s.scenario_yaml = "not: [valid";  // names then come from the nodes
  LiveResults live;
  live.Reset(s);
  EXPECT_EQ(live.data().trace_epoch, s.time_unix - kStep);
  EXPECT_EQ(live.data().ticks.size(), 0u);
  EXPECT_THAT(live.data().node_types, ElementsAre("medium", "unknown", "large"));
  EXPECT_THAT(live.data().roles, ElementsAre("default", "web"));
  EXPECT_TRUE(live.data().policy.empty());
  // The first tick after the snapshot starts at run time >= 0.
  EXPECT_TRUE(live.Apply(TickAt(s.time_unix + 10, 1500, 2000, 1, 1)));
  EXPECT_DOUBLE_EQ(live.data().ticks.time[0], 10);
}

TEST(LiveResultsTest, TicksAppendAfterTheHistoryWithTheNodeTable) {
  LiveResults live;
  live.Reset(Snapshot());
  const double end = kT0 + kHistory * kStep;  // the end of the last history tick
  // The last history tick again (published between the snapshot and the
  // watch): not a second time.
  EXPECT_FALSE(live.Apply(TickAt(end, 9999, 4000, 1, 1)));
  EXPECT_EQ(live.data().ticks.size(), kHistory);

  EXPECT_TRUE(live.Apply(TickAt(end + kStep, 3000, 4000, 1, 1, Fc({300, 1800}, 2500))));
  const ResultsData& d = live.data();
  ExpectConsistent(d);
  const TickSeries& t = d.ticks;
  ASSERT_EQ(t.size(), kHistory + 1);
  const std::size_t k = kHistory;
  EXPECT_DOUBLE_EQ(t.time[k], kHistory * kStep);
  EXPECT_EQ(t.demand[k], 3000);
  EXPECT_EQ(t.capacity[k], 4000);
  EXPECT_DOUBLE_EQ(t.utilization[k], 0.75);
  EXPECT_EQ(t.arrived[k], 3000 * kStep);
  EXPECT_EQ(t.served[k], 3000 * kStep);
  EXPECT_TRUE(std::isnan(t.dropped[k]));  // the stream does not say
  EXPECT_TRUE(std::isnan(t.latency[k]));
  EXPECT_EQ(t.nodes_ready[k], 1);
  EXPECT_EQ(t.nodes_booting[k], 1);
  // By type: large, medium, unknown (the stopped large node does not count);
  // by role: ready nodes only.
  const std::size_t types = d.node_types.size(), roles = d.roles.size();
  EXPECT_THAT(std::vector<std::int32_t>(t.nodes_by_type.begin() + k * types, t.nodes_by_type.end()),
              ElementsAre(0, 1, 1));
  EXPECT_THAT(std::vector<std::int32_t>(t.nodes_by_role.begin() + k * roles, t.nodes_by_role.end()),
              ElementsAre(1, 0, 0));
  // The tick's forecast joins the snapshot's, at its own origin.
  ASSERT_EQ(d.forecasts.size(), 2u);
  EXPECT_DOUBLE_EQ(d.forecasts.time[1], kHistory * kStep + kStep);
  EXPECT_THAT(d.forecasts.p90, ElementsAre(2200, 2200, 2700, 2700));
  // A forecast at other horizons (a new model) cannot join the matrix.
  live.Apply(TickAt(end + 2 * kStep, 3000, 4000, 1, 1, Fc({60}, 1)));
  EXPECT_EQ(live.data().forecasts.size(), 2u);
  EXPECT_EQ(live.data().ticks.size(), kHistory + 2);

  // No reading this tick: a gap, not a zero.
  live.Apply(TickAt(end + 3 * kStep, kNaN, 4000, 1, 1));
  EXPECT_TRUE(std::isnan(live.data().ticks.demand.back()));
  EXPECT_TRUE(std::isnan(live.data().ticks.utilization.back()));
  EXPECT_TRUE(std::isnan(live.data().ticks.arrived.back()));
  ExpectConsistent(live.data());
}

TEST(LiveResultsTest, NodeChangesBecomeSnapshotsAtMostOncePerSecond) {
  LiveResults live;
  live.Reset(Snapshot());
  const double t = kT0 + kHistory * kStep + 10;
  live.Apply(TickAt(t, 3000, 4000, 1, 1));
  EXPECT_FALSE(live.FlushNodes(100));  // nothing changed since the snapshot

  // A new node of a new type and role: names and matrices grow, the ticks
  // already there keep their counts.
  EXPECT_FALSE(live.Apply(Changed(Node("edge-12", NodeState::kReady, "small", "api"), t + 1)));
  EXPECT_THAT(live.data().node_types, ElementsAre("large", "medium", "unknown", "small"));
  EXPECT_THAT(live.data().roles, ElementsAre("web", "batch", "default", "api"));
  ExpectConsistent(live.data());
  const std::size_t k = kHistory;
  EXPECT_THAT(std::vector<std::int32_t>(live.data().ticks.nodes_by_type.begin() + k * 4,
                                        live.data().ticks.nodes_by_type.end()),
              ElementsAre(0, 1, 1, 0));
  EXPECT_EQ(live.data().nodes.size(), 1u);  // not yet: FlushNodes decides when
  EXPECT_TRUE(live.FlushNodes(100));
  ASSERT_EQ(live.data().nodes.size(), 2u);
  EXPECT_DOUBLE_EQ(live.data().nodes.time[1], kHistory * kStep + 11);
  EXPECT_THAT(
      std::vector<std::int32_t>(live.data().nodes.id.begin() + 2, live.data().nodes.id.end()),
      ElementsAre(3, 4, 12));

  // Within the second: held back; then flushed whole.
  live.Apply(Changed(Node("agent-3", NodeState::kDraining, "medium", "web"), t + 2));
  live.Apply(Removed("gpu-b", t + 2));
  EXPECT_FALSE(live.FlushNodes(100.5));
  EXPECT_EQ(live.data().nodes.size(), 2u);
  EXPECT_TRUE(live.FlushNodes(101.2));
  const ResultsData& d = live.data();
  ASSERT_EQ(d.nodes.size(), 3u);
  const SnapshotRows rows = RowsOf(d.nodes, 2);
  EXPECT_THAT(std::vector<std::int32_t>(d.nodes.id.begin() + static_cast<long>(rows.begin),
                                        d.nodes.id.begin() + static_cast<long>(rows.end)),
              ElementsAre(3, 12));
  EXPECT_EQ(d.nodes.state[rows.begin], static_cast<std::uint8_t>(NodeState::kDraining));
  EXPECT_EQ(live.node_count(), 3u);  // agent-3, agent-7 (stopped), edge-12

  // A change at the same event time as the last snapshot replaces it (times
  // must ascend for the snapshot lookup).
  live.Apply(Changed(Node("edge-12", NodeState::kFailed, "small", "api"), t + 2));
  EXPECT_TRUE(live.FlushNodes(103));
  EXPECT_EQ(live.data().nodes.size(), 3u);
  EXPECT_EQ(live.data().nodes.state.back(), static_cast<std::uint8_t>(NodeState::kFailed));
  ExpectConsistent(live.data());

  // The next tick counts the table: one draining, one failed.
  live.Apply(TickAt(t + kStep, 3000, 4000, 0, 0));
  EXPECT_EQ(live.data().ticks.nodes_draining.back(), 1);
  EXPECT_EQ(live.data().ticks.nodes_failed.back(), 1);
}

TEST(LiveResultsTest, DecisionsAndEventsOnTheRunsTimeAxis) {
  LiveResults live;
  live.Reset(Snapshot());
  live::WatchEvent e;
  e.kind = live::WatchEvent::Kind::kDecision;
  e.time_unix = kT0 + 7300;
  e.decision.time_unix = kT0 + 7300;
  e.decision.policy = "predictive";
  live::LoggedAction out;
  out.kind = "scale_out";
  out.node_type = "medium";
  out.count = 3;
  out.replicas_before = 5;
  out.replicas_after = 8;
  out.metric = 0.91;
  out.reason = "forecast p90 above capacity";
  out.outcome = "applied";
  live::LoggedAction fenced = out;
  fenced.kind = "scale_in";
  fenced.outcome = "fenced: tick already claimed or leadership lost";
  e.decision.actions = {out, fenced};
  EXPECT_TRUE(live.Apply(e));
  const std::vector<DecisionRecord>& d = live.data().decisions;
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].time, 7300);
  EXPECT_EQ(d[0].action, "scale_out");
  EXPECT_EQ(d[0].policy, "predictive");
  EXPECT_EQ(d[0].count, 3);
  EXPECT_EQ(d[0].replicas_before, 5);
  EXPECT_EQ(d[0].replicas_after, 8);
  EXPECT_EQ(d[0].metric, 0.91);
  EXPECT_EQ(d[0].reason, "forecast p90 above capacity");
  // Not carried out: the list says so.
  EXPECT_EQ(d[1].action, "scale_in");
  EXPECT_THAT(d[1].reason, HasSubstr("[fenced: tick already claimed"));

  live::WatchEvent g;
  g.kind = live::WatchEvent::Kind::kGlobalEvent;
  g.time_unix = kT0 + 7400;
  g.event.start = kT0 + 9000;
  g.event.end = kT0 + 9900;
  g.event.announced = kT0 + 7400;
  g.event.category = "news";
  EXPECT_TRUE(live.Apply(g));
  ASSERT_EQ(live.data().events.size(), 2u);
  EXPECT_EQ(live.data().events[1].start, 9000);
  EXPECT_EQ(live.data().events[1].end, 9900);
  EXPECT_EQ(live.data().events[1].announced, 7400);
  EXPECT_EQ(live.data().events[1].category, "news");
}

}  // namespace
}  // namespace meshtwin::gui
