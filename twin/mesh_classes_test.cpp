// Request classes, admission control, roles, role switches and migration in
// the flow-level mesh model.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "twin/mesh.h"

namespace meshtwin {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

NodeTypeSpec Type(int cores, int initial, Seconds boot = 60) {
  NodeTypeSpec t;
  t.name = "n";
  t.cores = cores;
  t.core_speed = 1e9;
  t.boot_time = boot;
  t.initial = initial;
  t.max = 100;
  return t;
}

// 1e8 flop per request: a 4-core node serves 40 requests/s.
WorkloadSpec Classes(PerClass share, PerClass deadline = {0, 0, 0}, Seconds queue_limit = 5) {
  WorkloadSpec w;
  w.request_work = 1e8;
  w.queue_limit = queue_limit;
  w.class_share = share;
  w.class_deadline = deadline;
  return w;
}

TickRecord RunTick(MeshModel& mesh, Seconds now, Seconds dt, const std::vector<double>& demand) {
  mesh.PromoteBooted(now);
  mesh.BeginTick(now, dt, demand);
  for (int id : mesh.working_nodes()) {
    const Node& n = mesh.node(id);
    mesh.ReportServed(id, std::min(n.assigned, n.speed * dt));
  }
  return mesh.EndTick();
}

double Sum(const PerClass& v) { return v[0] + v[1] + v[2]; }

TEST(MeshClasses, FifoDropsEveryClassInProportion) {
  MeshModel mesh({Type(4, 2)}, Classes({0.2, 0.5, 0.3}), SloSpec{});
  mesh.AddInitialNodes();  // 80 requests/s
  double dropped[3] = {0, 0, 0};
  for (int k = 0; k < 10; ++k) {
    TickRecord r = RunTick(mesh, k * 10.0, 10, {200});
    for (int c = 0; c < 3; ++c) dropped[c] += r.dropped_by_class[c];
    EXPECT_NEAR(Sum(r.dropped_by_class), r.dropped, 1e-6);
  }
  ASSERT_GT(dropped[0], 0);
  EXPECT_NEAR(dropped[1] / dropped[0], 2.5, 1e-9);
  EXPECT_NEAR(dropped[2] / dropped[0], 1.5, 1e-9);
}

TEST(MeshClasses, PriorityShedsBestEffortFirstAndNeverCriticalWhileLowerAdmitted) {
  MeshModel mesh({Type(4, 2)}, Classes({0.2, 0.5, 0.3}, {10, 5, 2}), SloSpec{});
  mesh.AddInitialNodes();  // 80 requests/s
  mesh.SetAdmission({kInf, kInf, kInf}, 1);
  double arrived = 0, served = 0, dropped = 0, queued = 0;
  for (int k = 0; k < 20; ++k) {
    // 150 requests/s: critical 30 and standard 75 fit only partly.
    TickRecord r = RunTick(mesh, k * 10.0, 10, {150});
    arrived += r.arrived;
    served += r.served;
    dropped += r.dropped;
    queued = r.queued;
    // Critical is never dropped here (30/s fits easily).
    EXPECT_EQ(r.dropped_by_class[0], 0) << "tick " << k;
    // Best-effort goes before standard.
    if (r.dropped_by_class[1] > 0) {
      EXPECT_NEAR(r.dropped_by_class[2], r.arrived_by_class[2], 1e-6) << "tick " << k;
    }
  }
  EXPECT_NEAR(served + dropped + queued, arrived, 1e-6 * arrived);
}

TEST(MeshClasses, CriticalDropsOnlyWhenNothingLowerIsAdmitted) {
  // Critical alone exceeds capacity: then every lower-class request is dropped.
  MeshModel mesh({Type(4, 1)}, Classes({0.5, 0.3, 0.2}, {2, 1, 0.5}), SloSpec{});
  mesh.AddInitialNodes();  // 40 requests/s
  mesh.SetAdmission({kInf, kInf, kInf}, 1);
  for (int k = 0; k < 10; ++k) {
    TickRecord r = RunTick(mesh, k * 10.0, 10, {200});  // critical 100/s
    if (r.dropped_by_class[0] > 0) {
      EXPECT_NEAR(r.dropped_by_class[1], r.arrived_by_class[1], 1e-6);
      EXPECT_NEAR(r.dropped_by_class[2], r.arrived_by_class[2], 1e-6);
    }
    // Served in priority order: everything served is critical once it saturates.
    if (k > 2) {
      EXPECT_NEAR(r.served_by_class[0], r.served, 1e-6);
    }
  }
}

TEST(MeshClasses, TokenBucketThrottlesToTheRate) {
  MeshModel mesh({Type(4, 10)}, Classes({0, 0.5, 0.5}), SloSpec{});
  mesh.AddInitialNodes();  // 400 requests/s
  mesh.SetAdmission({kInf, kInf, 20}, 0);  // best-effort limited to 20/s, no burst
  TickRecord r = RunTick(mesh, 0, 10, {100});
  EXPECT_NEAR(r.throttled_by_class[2], 500 - 200, 1e-9);
  EXPECT_NEAR(r.dropped_by_class[2], 300, 1e-9);
  EXPECT_EQ(r.throttled_by_class[1], 0);
  // Best-effort drops do not violate the SLO.
  EXPECT_FALSE(r.slo_violated);
}

TEST(MeshRoles, EachRoleIsServedOnlyByItsNodes) {
  MeshModel mesh({Type(4, 4)}, Classes({0, 1, 0}), SloSpec{},
                 {RoleSpec{"web", 0.5, 30}, RoleSpec{"batch", 0.5, 30}});
  mesh.AddInitialNodes();  // 2 + 2 nodes, 80 requests/s per role
  EXPECT_EQ(mesh.node(0).role + mesh.node(1).role + mesh.node(2).role + mesh.node(3).role, 2);
  TickRecord r = RunTick(mesh, 0, 10, {120, 10});
  EXPECT_GT(r.dropped_by_role[0] + r.queued_by_role[0], 0);  // web is overloaded
  EXPECT_EQ(r.dropped_by_role[1], 0);
  EXPECT_EQ(r.queued_by_role[1], 0);
  EXPECT_NEAR(r.utilization_by_role[1], 10.0 / 80, 1e-9);
}

TEST(MeshRoles, SwitchTakesTheRolesSwitchTimeThenServesTheNewRole) {
  MeshModel mesh({Type(4, 2)}, Classes({0, 1, 0}), SloSpec{},
                 {RoleSpec{"web", 0.5, 30}, RoleSpec{"batch", 0.5, 45}});
  mesh.AddInitialNodes();
  const int web_node = mesh.node(0).role == 0 ? 0 : 1;
  RunTick(mesh, 0, 15, {20, 20});
  ASSERT_TRUE(mesh.ChangeRole(web_node, 1, 15));
  EXPECT_FALSE(mesh.ChangeRole(web_node, 1, 15));  // already switching
  TickRecord r = RunTick(mesh, 15, 15, {20, 20});
  EXPECT_EQ(r.switching, 1);
  EXPECT_EQ(r.switching_by_role[1], 1);
  EXPECT_NEAR(r.dropped_by_role[0], 20 * 15, 1e-9);  // web has no ready node left
  RunTick(mesh, 30, 15, {20, 20});                    // switch ends at 60
  r = RunTick(mesh, 60, 15, {0, 60});
  EXPECT_EQ(r.ready_by_role[1], 2);
  EXPECT_EQ(r.dropped, 0);
  EXPECT_EQ(mesh.role_switches(), 1);
}

TEST(MeshRoles, ScaleInOfARoleRemovesOnlyItsNodes) {
  MeshModel mesh({Type(4, 4)}, Classes({0, 1, 0}), SloSpec{},
                 {RoleSpec{"web", 0.5, 30}, RoleSpec{"batch", 0.5, 30}});
  mesh.AddInitialNodes();
  const int extra = mesh.Provision(0, 0, 1);  // booting, batch
  const std::vector<int> picked = mesh.PickForRemoval(0, 2, 0);
  ASSERT_EQ(picked.size(), 2u);
  for (int id : picked) EXPECT_EQ(mesh.node(id).role, 0);
  EXPECT_EQ(mesh.PickForRemoval(0, 1, 1), std::vector<int>{extra});  // booting goes first
}

TEST(MeshMigration, MovedRequestsStayCountedAndArriveAtTheTarget) {
  MeshModel mesh({Type(4, 2)}, Classes({0, 0.5, 0.5}), SloSpec{});
  mesh.AddInitialNodes();
  TickRecord r = RunTick(mesh, 0, 10, {120});  // 1200 offered, 800 served, 400 queued
  ASSERT_NEAR(r.queued, 400, 1e-6);
  const double moved = mesh.TakeQueued(0, 2, 50);
  EXPECT_NEAR(moved, 50, 1e-9);
  EXPECT_NEAR(mesh.TakeQueued(0, 2, 1e9), 50, 1e-9);  // only 100 best-effort were queued there
  mesh.AddQueued(1, 2, 100);
  EXPECT_NEAR(mesh.node(1).backlog_c[2], 200 * 1e8, 1e-3);  // its own 100 + the 100 moved
  r = RunTick(mesh, 10, 10, {0});
  EXPECT_NEAR(r.served, 400, 1e-6);
}

TEST(MeshMigration, DeliveryToAStoppedNodeGoesToItsRoleOrIsDropped) {
  MeshModel mesh({Type(4, 2)}, Classes({0, 1, 0}), SloSpec{});
  mesh.AddInitialNodes();
  RunTick(mesh, 0, 10, {120});
  const double moved = mesh.TakeQueued(1, 1, 1e9);
  mesh.Remove(1, 10);  // its queue is empty: it stops at once
  ASSERT_EQ(mesh.node(1).state, NodeState::kStopped);
  mesh.AddQueued(1, 1, moved);
  EXPECT_NEAR(mesh.node(0).backlog, (200 + moved) * 1e8, 1e-3);
}

TEST(MeshObserve, ReportsRolesClassesAndNodesOnRequest) {
  MeshModel mesh({Type(4, 2)}, Classes({0.1, 0.6, 0.3}), SloSpec{},
                 {RoleSpec{"a", 1, 30}, RoleSpec{"b", 1, 30}});
  mesh.AddInitialNodes();
  RunTick(mesh, 0, 10, {100, 10});
  Observation o = mesh.Observe(10, 10);
  EXPECT_TRUE(o.nodes.empty());
  ASSERT_EQ(o.roles.size(), 2u);
  EXPECT_DOUBLE_EQ(o.roles[0].demand_rps, 100);
  EXPECT_NEAR(o.demand_by_class[1], 66, 1e-9);
  o = mesh.Observe(10, 10, true);
  ASSERT_EQ(o.nodes.size(), 2u);
  const NodeObservation& a = o.nodes[0].role == 0 ? o.nodes[0] : o.nodes[1];
  // 1000 offered, 600 fit (5 s queue + 10 s of service), 400 served.
  EXPECT_NEAR(a.queue_seconds, 200 * 1e8 / 4e9, 1e-9);
  EXPECT_NEAR(a.queued[0] + a.queued[1] + a.queued[2], 200, 1e-6);
}

}  // namespace
}  // namespace meshtwin
