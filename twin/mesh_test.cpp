#include "twin/mesh.h"

#include <gtest/gtest.h>

#include <cmath>

namespace meshtwin {
namespace {

NodeTypeSpec Type(const char* name, int cores, int initial, Seconds boot = 60) {
  NodeTypeSpec t;
  t.name = name;
  t.cores = cores;
  t.core_speed = 1e9;
  t.boot_time = boot;
  t.cost_per_hour = 1.0;
  t.initial = initial;
  t.min = 0;
  t.max = 100;
  return t;
}

WorkloadSpec Work(double request_work = 1e8, Seconds queue_limit = 10) {
  WorkloadSpec w;
  w.request_work = request_work;
  w.queue_limit = queue_limit;
  return w;
}

// Executes every node's assigned work at its nominal speed, as SimGrid would.
TickRecord RunTick(MeshModel& mesh, Seconds now, Seconds dt, double demand) {
  mesh.PromoteBooted(now);
  mesh.BeginTick(now, dt, demand);
  for (int id : mesh.working_nodes()) {
    const Node& n = mesh.node(id);
    mesh.ReportServed(id, std::min(n.assigned, n.speed * dt));
  }
  return mesh.EndTick();
}

TEST(MeshModel, BalancesInProportionToSpeed) {
  // 1 node of 8 cores + 1 of 2 cores: 10 Gflop/s, i.e. 100 requests/s in all.
  MeshModel mesh({Type("big", 8, 1), Type("small", 2, 1)}, Work(), SloSpec{});
  mesh.AddInitialNodes();
  mesh.BeginTick(0, 10, 50);  // 500 requests = 5e10 flop
  EXPECT_DOUBLE_EQ(mesh.node(0).assigned, 4e10);
  EXPECT_DOUBLE_EQ(mesh.node(1).assigned, 1e10);
}

TEST(MeshModel, OnlyRoutableNodesGetNewWork) {
  MeshModel mesh({Type("n", 4, 3)}, Work(), SloSpec{});
  mesh.AddInitialNodes();
  std::vector<char> routable = {1, 0, 1};  // node 1 not discovered (yet)
  mesh.SetRoutable(&routable);
  // Begins a tick of 600 requests (6e10 flop) and returns what each node got.
  auto tick = [&mesh](Seconds now) {
    mesh.PromoteBooted(now);
    mesh.BeginTick(now, 10, 60);
    std::vector<double> assigned;
    for (int id = 0; id < 3; ++id) assigned.push_back(mesh.node(id).assigned);
    for (int id : mesh.working_nodes()) {
      mesh.ReportServed(id, std::min(mesh.node(id).assigned, mesh.node(id).speed * 10));
    }
    const TickRecord r = mesh.EndTick();
    EXPECT_NEAR(r.served + r.dropped + r.queued, 600, 1e-6);
    return assigned;
  };
  std::vector<double> a = tick(0);
  EXPECT_DOUBLE_EQ(a[1], 0);
  EXPECT_DOUBLE_EQ(a[0], 3e10);
  EXPECT_DOUBLE_EQ(a[2], 3e10);
  // Found: it shares the next tick's work.
  routable[1] = 1;
  a = tick(10);
  EXPECT_DOUBLE_EQ(a[1], 2e10);
  // Null: every ready node, whatever the vector said.
  routable[0] = 0;
  mesh.SetRoutable(nullptr);
  a = tick(20);
  EXPECT_DOUBLE_EQ(a[0], 2e10);
}

TEST(MeshModel, ACrashedNodeLosesItsQueueAndWhatItIsSentUntilKilled) {
  MeshModel mesh({Type("n", 4, 2)}, Work(1e8, 10), SloSpec{});
  mesh.AddInitialNodes();                    // 2 x 40 requests/s
  double arrived = 0, done = 0;              // done: served + dropped
  TickRecord r = RunTick(mesh, 0, 10, 120);  // overloaded: 400 requests queued over both
  arrived += r.arrived;
  done += r.served + r.dropped;
  const double queued = mesh.node(0).backlog / 1e8;
  ASSERT_GT(queued, 0);
  mesh.Crash(0, 10);
  EXPECT_EQ(mesh.node(0).state, NodeState::kFailed);
  // Nobody has noticed: the balancer still sends node 0 its half, all lost.
  r = RunTick(mesh, 10, 10, 60);
  arrived += r.arrived;
  done += r.served + r.dropped;
  EXPECT_NEAR(r.lost, queued + 300, 1e-6);
  EXPECT_EQ(r.failed, 1);
  EXPECT_NEAR(done + r.queued, arrived, 1e-6) << "lost requests count as dropped";
  // The manager's view: still ready, but silent.
  const Observation obs = mesh.Observe(20, 10, true);
  EXPECT_EQ(obs.pools[0].ready, 2);
  EXPECT_EQ(obs.nodes[0].state, NodeState::kReady);
  EXPECT_DOUBLE_EQ(obs.nodes[0].heartbeat_age, 10);
  EXPECT_DOUBLE_EQ(obs.nodes[1].heartbeat_age, 0);
  // Killed: no more losses; node 1 takes everything.
  mesh.Kill(0, 20);
  r = RunTick(mesh, 20, 10, 30);
  arrived += r.arrived;
  done += r.served + r.dropped;
  EXPECT_DOUBLE_EQ(r.lost, 0);
  EXPECT_EQ(r.failed, 0);
  EXPECT_NEAR(done + r.queued, arrived, 1e-6);
  EXPECT_NEAR(mesh.requests_lost_to_failures(), queued + 300, 1e-6);
}

TEST(MeshModel, GrayNodesServeSlowerAndFailSomeRequests) {
  MeshModel mesh({Type("n", 4, 2)}, Work(1e8, 10), SloSpec{});
  mesh.AddInitialNodes();
  mesh.SetGray(1, 0.5, 0.1);
  // Executor at the gray node's real speed.
  mesh.PromoteBooted(0);
  mesh.BeginTick(0, 10, 40);  // 200 requests each
  for (int id : mesh.working_nodes()) {
    const Node& n = mesh.node(id);
    mesh.ReportServed(id, std::min(n.assigned, n.speed * n.speed_factor * 10));
  }
  const TickRecord r = mesh.EndTick();
  // Node 1 completed 200 requests' work (half speed: exactly its capacity) of
  // which 10 % failed.
  EXPECT_NEAR(r.lost, 20, 1e-9);
  EXPECT_NEAR(r.served, 380, 1e-9);
  EXPECT_NEAR(r.served + r.dropped + r.queued, 400, 1e-9);
  const Observation obs = mesh.Observe(10, 10, true);
  EXPECT_NEAR(obs.nodes[1].error_rate, 0.1, 1e-12);
  EXPECT_GT(obs.nodes[1].latency_s, 1.5 * obs.nodes[0].latency_s);
}

TEST(MeshModel, UnreachableAndIsolatedNodesGetNoNewWork) {
  MeshModel mesh({Type("n", 4, 3)}, Work(), SloSpec{});
  mesh.AddInitialNodes();
  mesh.SetUnreachable(0, true);
  mesh.Isolate(1);
  mesh.PromoteBooted(0);
  mesh.BeginTick(0, 10, 30);
  EXPECT_DOUBLE_EQ(mesh.node(0).assigned, 0);
  EXPECT_DOUBLE_EQ(mesh.node(1).assigned, 0);
  EXPECT_DOUBLE_EQ(mesh.node(2).assigned, 3e10);
  for (int id : mesh.working_nodes()) mesh.ReportServed(id, mesh.node(id).assigned);
  mesh.EndTick();
  // The cut-off node's heartbeats stop; the isolated one still reports.
  const Observation obs = mesh.Observe(10, 10, true);
  EXPECT_DOUBLE_EQ(obs.nodes[0].heartbeat_age, 10);
  EXPECT_DOUBLE_EQ(obs.nodes[1].heartbeat_age, 0);
  EXPECT_TRUE(obs.nodes[1].isolated);
}

TEST(MeshModel, ConservesRequestsThroughOverloadAndRecovery) {
  MeshModel mesh({Type("n", 4, 3)}, Work(1e8, 5), SloSpec{});
  mesh.AddInitialNodes();  // 3 x 40 requests/s = 120 requests/s
  double arrived = 0, served = 0, dropped = 0, queued = 0;
  const double demand[] = {60, 200, 200, 150, 20, 20, 0, 100};
  for (int k = 0; k < 8; ++k) {
    TickRecord r = RunTick(mesh, k * 15.0, 15, demand[k]);
    arrived += r.arrived;
    served += r.served;
    dropped += r.dropped;
    queued = r.queued;
    EXPECT_LE(r.utilization, 1.0 + 1e-12);
  }
  EXPECT_GT(dropped, 0);  // 200 requests/s cannot fit 120 plus a 5 s queue
  EXPECT_NEAR(served + dropped + queued, arrived, 1e-9 * arrived);
}

TEST(MeshModel, OverloadQueuesThenDropsBeyondTheQueueBound) {
  MeshModel mesh({Type("n", 1, 1)}, Work(1e9, 5), SloSpec{});  // 1 request/s, 5 s queue
  mesh.AddInitialNodes();
  TickRecord r = RunTick(mesh, 0, 10, 1.2);  // 12 requests, 10 served, 2 queued
  EXPECT_NEAR(r.served, 10, 1e-9);
  EXPECT_NEAR(r.queued, 2, 1e-9);
  EXPECT_NEAR(r.dropped, 0, 1e-9);
  r = RunTick(mesh, 10, 10, 2);  // 20 more: room for 5 + 10 - 2 = 13; 7 dropped
  EXPECT_NEAR(r.served, 10, 1e-9);
  EXPECT_NEAR(r.queued, 5, 1e-9);
  EXPECT_NEAR(r.dropped, 7, 1e-9);
  EXPECT_TRUE(r.slo_violated);
  // Latency includes the wait behind the mean backlog (2 + 5) / 2 requests.
  EXPECT_NEAR(r.latency, 1.0 + 3.5, 1e-9);
}

TEST(MeshModel, BootingNodesServeOnlyAfterBootTime) {
  MeshModel mesh({Type("n", 1, 1, /*boot=*/30)}, Work(1e9, 100), SloSpec{});
  mesh.AddInitialNodes();
  int id = mesh.Provision(0, 0);
  TickRecord r = RunTick(mesh, 0, 15, 0.5);
  EXPECT_EQ(r.booting, 1);
  EXPECT_EQ(mesh.node(id).assigned, 0);
  r = RunTick(mesh, 15, 15, 0.5);
  EXPECT_EQ(r.booting, 1);
  mesh.PromoteBooted(30);
  // Ready now, but it served no part of the last tick: no metrics yet.
  Observation obs = mesh.Observe(30, 15);
  EXPECT_EQ(obs.pools[0].ready, 2);
  EXPECT_EQ(obs.pools[0].ready_without_metrics, 1);
  r = RunTick(mesh, 30, 15, 0.5);
  EXPECT_EQ(r.ready, 2);
  EXPECT_EQ(r.booting, 0);
  EXPECT_NEAR(r.capacity_rps, 2.0, 1e-12);
  EXPECT_EQ(mesh.Observe(45, 15).pools[0].ready_without_metrics, 0);
}

TEST(MeshModel, RemovedNodesDrainTheirQueueThenStop) {
  MeshModel mesh({Type("n", 1, 2)}, Work(1e9, 100), SloSpec{});
  mesh.AddInitialNodes();
  RunTick(mesh, 0, 10, 3);  // each node: 15 requests, serves 10, keeps 5
  std::vector<int> victims = mesh.PickForRemoval(0, 1);
  ASSERT_EQ(victims, std::vector<int>{1});  // newest first
  mesh.Remove(1, 10);
  EXPECT_EQ(mesh.node(1).state, NodeState::kDraining);
  TickRecord r = RunTick(mesh, 10, 10, 0);
  EXPECT_EQ(mesh.node(1).state, NodeState::kStopped);
  EXPECT_NEAR(r.served, 10, 1e-9);  // both queues of 5 emptied
  EXPECT_EQ(mesh.active_nodes(), 1);
  EXPECT_EQ(mesh.TakeStopped(), std::vector<int>{1});
}

TEST(MeshModel, ScaleInRemovesBootingNodesFirstAndAtOnce) {
  MeshModel mesh({Type("n", 1, 2)}, Work(), SloSpec{});
  mesh.AddInitialNodes();
  int booting = mesh.Provision(0, 0);
  EXPECT_EQ(mesh.PickForRemoval(0, 2), (std::vector<int>{booting, 1}));
  mesh.Remove(booting, 0);
  EXPECT_EQ(mesh.node(booting).state, NodeState::kStopped);
  EXPECT_EQ(mesh.active_nodes(0), 2);
}

TEST(MeshModel, NodeHoursCountBootingAndDrainingTime) {
  MeshModel mesh({Type("n", 1, 1, /*boot=*/3600)}, Work(), SloSpec{});
  mesh.AddInitialNodes();
  mesh.Provision(0, 0);
  for (int k = 0; k < 4; ++k) RunTick(mesh, k * 900.0, 900, 0);
  EXPECT_NEAR(mesh.node_hours(), 2.0, 1e-12);
  EXPECT_NEAR(mesh.cost(), 2.0, 1e-12);
}

TEST(MeshModel, ObservationCountsNodesPerPoolAndUtilization) {
  MeshModel mesh({Type("a", 1, 2), Type("b", 2, 1)}, Work(1e9, 10), SloSpec{});
  mesh.AddInitialNodes();
  mesh.Provision(1, 0);
  RunTick(mesh, 0, 10, 2);  // capacity 4 requests/s, half used
  Observation obs = mesh.Observe(10, 10);
  ASSERT_EQ(obs.pools.size(), 2u);
  EXPECT_EQ(obs.pools[0].ready, 2);
  EXPECT_EQ(obs.pools[1].ready, 1);
  EXPECT_EQ(obs.pools[1].booting, 1);
  EXPECT_NEAR(obs.utilization, 0.5, 1e-12);
  EXPECT_NEAR(obs.pools[1].utilization, 0.5, 1e-12);
  EXPECT_NEAR(obs.demand_rps, 2, 1e-12);
}

TEST(MeshModel, NoReadyNodeDropsEverything) {
  MeshModel mesh({Type("n", 1, 0)}, Work(), SloSpec{});
  TickRecord r = RunTick(mesh, 0, 10, 5);
  EXPECT_NEAR(r.dropped, 50, 1e-12);
  EXPECT_TRUE(r.slo_violated);
}

TEST(MmcMeanLatency, MatchesClosedForms) {
  // M/M/1: sojourn = 1 / (mu - lambda).
  EXPECT_NEAR(MmcMeanLatency(0.5, 1.0, 1), 2.0, 1e-12);
  // M/M/2 with lambda = 1, mu = 1: Erlang C = 1/3, W = 1 + (1/3) / (2 - 1).
  EXPECT_NEAR(MmcMeanLatency(1.0, 1.0, 2), 1.0 + 1.0 / 3.0, 1e-12);
  EXPECT_TRUE(std::isinf(MmcMeanLatency(2.0, 1.0, 2)));
  EXPECT_DOUBLE_EQ(MmcMeanLatency(0, 0.04, 8), 0.04);
}

TEST(SloMinuteCounter, CountsEachTouchedMinuteOnce) {
  SloMinuteCounter c;
  c.Add(0, 15, true);
  c.Add(15, 15, true);  // same minute
  c.Add(30, 15, false);
  c.Add(45, 30, true);  // minutes 0 (already) and 1
  EXPECT_EQ(c.minutes(), 2);
  c.Add(600, 120, true);  // minutes 10 and 11
  EXPECT_EQ(c.minutes(), 4);
}

}  // namespace
}  // namespace meshtwin
