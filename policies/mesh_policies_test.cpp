// Admission control, workload shifting, role assignment and their
// composition, each driven by hand-built observations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/admission_policy.h"
#include "policies/composite_policy.h"
#include "policies/role_policy.h"
#include "policies/shifting_policy.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::size_t kCritical = 0, kStandard = 1, kBestEffort = 2;

// --- Admission --------------------------------------------------------------

Observation AdmissionObs(double capacity, PerClass demand, PerClass queued = {0, 0, 0}) {
  Observation obs;
  obs.capacity_rps = capacity;
  obs.demand_by_class = demand;
  obs.queued_by_class = queued;
  for (double d : demand) obs.demand_rps += d;
  return obs;
}

// The plan's single action; a default Action (which every test tells apart
// from what it expects) after a failure, so a wrong count does not crash.
Action OnlyAction(const Plan& plan) {
  EXPECT_EQ(plan.actions.size(), 1u);
  return plan.actions.size() == 1 ? plan.actions.front() : Action{};
}

TEST(AdmissionPolicyTest, AdmitsEverythingWhileDemandFits) {
  AdmissionPolicy admission({.target_utilization = 0.9, .burst = 3});
  // 20 + 50 + 20 = 90 = 0.9 x 100: fits exactly.
  const Plan plan = admission.Decide(AdmissionObs(100, {20, 50, 20}));
  const Action action = OnlyAction(plan);
  EXPECT_EQ(action.kind, ActionKind::kSetAdmission);
  EXPECT_EQ(action.rate_limit[kCritical], kInf);
  EXPECT_EQ(action.rate_limit[kStandard], kInf);
  EXPECT_EQ(action.rate_limit[kBestEffort], kInf);
  EXPECT_EQ(action.burst, 3);
  EXPECT_THAT(action.reason, HasSubstr("admit all"));
}

TEST(AdmissionPolicyTest, ThrottlesBestEffortBeforeStandard) {
  AdmissionPolicy admission({.target_utilization = 1.0});
  // Budget 100: critical 20 + standard 50 fit, best-effort gets the last 30 of its 60.
  Action action = OnlyAction(admission.Decide(AdmissionObs(100, {20, 50, 60})));
  EXPECT_EQ(action.rate_limit[kCritical], kInf);
  EXPECT_EQ(action.rate_limit[kStandard], kInf);
  EXPECT_DOUBLE_EQ(action.rate_limit[kBestEffort], 30);
  EXPECT_THAT(action.reason, HasSubstr("best_effort to 30.0"));
  EXPECT_THAT(action.reason, Not(HasSubstr("standard")));

  // Standard outgrows its share: best-effort is shut off entirely and
  // standard gets what critical leaves.
  action = OnlyAction(admission.Decide(AdmissionObs(100, {20, 90, 60})));
  EXPECT_EQ(action.rate_limit[kCritical], kInf);
  EXPECT_DOUBLE_EQ(action.rate_limit[kStandard], 80);
  EXPECT_DOUBLE_EQ(action.rate_limit[kBestEffort], 0);
  EXPECT_THAT(action.reason, HasSubstr("standard to 80.0"));
  EXPECT_THAT(action.reason, HasSubstr("best_effort to 0.0"));
}

TEST(AdmissionPolicyTest, NeverLimitsCriticalEvenAboveCapacity) {
  AdmissionPolicy admission({.target_utilization = 0.95});
  const Action action = OnlyAction(admission.Decide(AdmissionObs(100, {150, 10, 10})));
  EXPECT_EQ(action.rate_limit[kCritical], kInf);
  EXPECT_DOUBLE_EQ(action.rate_limit[kStandard], 0);
  EXPECT_DOUBLE_EQ(action.rate_limit[kBestEffort], 0);
}

TEST(AdmissionPolicyTest, BacklogReducesTheBudget) {
  AdmissionPolicy admission({.target_utilization = 1.0, .backlog_drain_time = 30});
  // 100 rps capacity, 600 requests queued: 20 rps go to the backlog, so
  // 90 rps of demand no longer fits and best-effort gets 80 - 10 - 60 = 10.
  const Action action =
      OnlyAction(admission.Decide(AdmissionObs(100, {10, 60, 20}, {100, 300, 200})));
  EXPECT_EQ(action.rate_limit[kStandard], kInf);
  EXPECT_NEAR(action.rate_limit[kBestEffort], 10, 1e-9);
}

TEST(AdmissionPolicyTest, EmitsFirstTimeThenOnlyOnMeaningfulChange) {
  AdmissionPolicy admission({.target_utilization = 1.0});
  // The first decision turns priority scheduling on even with nothing to limit.
  EXPECT_EQ(OnlyAction(admission.Decide(AdmissionObs(100, {10, 20, 30}))).kind,
            ActionKind::kSetAdmission);
  // Same, and a different demand that still fits: limits unchanged (all inf).
  EXPECT_TRUE(admission.Decide(AdmissionObs(100, {10, 20, 30})).actions.empty());
  EXPECT_TRUE(admission.Decide(AdmissionObs(100, {10, 40, 30})).actions.empty());
  // inf -> finite.
  EXPECT_DOUBLE_EQ(
      OnlyAction(admission.Decide(AdmissionObs(100, {10, 40, 60}))).rate_limit[kBestEffort], 50);
  // 50 -> 49.5 is 1 %: not worth an action; 50 -> 45 is.
  EXPECT_TRUE(admission.Decide(AdmissionObs(100, {10, 40.5, 60})).actions.empty());
  EXPECT_DOUBLE_EQ(
      OnlyAction(admission.Decide(AdmissionObs(100, {10, 45, 60}))).rate_limit[kBestEffort], 45);
  // Small steps are compared with the last limit sent, not the last one
  // computed, so a slow drift is still followed: 45 -> 44.5 -> 44.0 (2.2 %).
  EXPECT_TRUE(admission.Decide(AdmissionObs(100, {10, 45.5, 60})).actions.empty());
  EXPECT_DOUBLE_EQ(
      OnlyAction(admission.Decide(AdmissionObs(100, {10, 46, 60}))).rate_limit[kBestEffort], 44);
  // finite -> inf.
  const Action lifted = OnlyAction(admission.Decide(AdmissionObs(100, {10, 40, 30})));
  EXPECT_EQ(lifted.rate_limit[kBestEffort], kInf);
  EXPECT_THAT(lifted.reason, HasSubstr("admit all"));
}

// --- Shifting ---------------------------------------------------------------

// A node serving `speed` requests/s with `queued` requests per class;
// queue_seconds follows from them as the mesh computes it.
NodeObservation Node(int id, int role, PerClass queued, double speed = 10,
                     NodeState state = NodeState::kReady) {
  NodeObservation node;
  node.id = id;
  node.role = role;
  node.state = state;
  node.speed_rps = speed;
  node.queued = queued;
  node.queue_seconds = (queued[0] + queued[1] + queued[2]) / speed;
  return node;
}

Observation NodesObs(std::vector<NodeObservation> nodes, Seconds now = 0) {
  Observation obs;
  obs.now = now;
  obs.interval = 60;
  obs.nodes = std::move(nodes);
  return obs;
}

double Moved(const Plan& plan, int from, int to, RequestClass c) {
  double total = 0;
  for (const Action& a : plan.actions) {
    EXPECT_EQ(a.kind, ActionKind::kMigrate);
    if (a.node == from && a.target_node == to && a.request_class == static_cast<int>(c)) {
      total += a.requests;
    }
  }
  return total;
}

TEST(ShiftingPolicyTest, MovesBestEffortBeforeStandardAndNeverCritical) {
  ShiftingPolicy shifting({});
  // Node 0: 60 s of queue at 10 rps, 300 critical, 200 standard, 100 best-effort.
  // Node 1 is idle. Level = 600 / 20 = 30 s: node 0 sheds 300 requests.
  const Plan plan = shifting.Decide(NodesObs({Node(0, 0, {300, 200, 100}), Node(1, 0, {0, 0, 0})}));
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].request_class, static_cast<int>(RequestClass::kBestEffort));
  EXPECT_DOUBLE_EQ(plan.actions[0].requests, 100);
  EXPECT_EQ(plan.actions[1].request_class, static_cast<int>(RequestClass::kStandard));
  EXPECT_DOUBLE_EQ(plan.actions[1].requests, 200);
  EXPECT_DOUBLE_EQ(Moved(plan, 0, 1, RequestClass::kCritical), 0);
  EXPECT_THAT(plan.actions[0].reason, HasSubstr("hot node 0"));

  // With only critical work queued, nothing moves however hot the node.
  EXPECT_TRUE(
      shifting.Decide(NodesObs({Node(0, 0, {600, 0, 0}), Node(1, 0, {0, 0, 0})})).actions.empty());
}

TEST(ShiftingPolicyTest, BestEffortAloneSufficesWhenItCoversTheExcess) {
  ShiftingPolicy shifting({});
  // Level (400 + 0) / 20 = 20 s; node 0 sheds 200, all of it best-effort.
  const Plan plan = shifting.Decide(NodesObs({Node(0, 0, {0, 100, 300}), Node(1, 0, {0, 0, 0})}));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].request_class, static_cast<int>(RequestClass::kBestEffort));
  EXPECT_DOUBLE_EQ(plan.actions[0].requests, 200);
}

TEST(ShiftingPolicyTest, MovesFromHotToCoolNodesOfTheSameRoleOnly) {
  ShiftingPolicy shifting({});
  const Plan plan = shifting.Decide(NodesObs({
      Node(0, 0, {0, 0, 100}),  // role 0, hot (10 s)
      Node(1, 0, {0, 0, 15}),   // role 0, warm (1.5 s): neither source nor target
      Node(2, 1, {0, 0, 0}),    // role 1, idle: must not receive role 0's work
      Node(3, 0, {0, 0, 1}),    // role 0, cool (0.1 s)
      Node(4, 0, {0, 0, 0}, 10, NodeState::kBooting),  // not serving yet
  }));
  // Role 0 level = 116 / 30 = 3.87 s: node 0 could shed 61, node 3 takes 37.7.
  ASSERT_EQ(plan.actions.size(), 1u);
  const Action& move = plan.actions[0];
  EXPECT_EQ(move.node, 0);
  EXPECT_EQ(move.target_node, 3);
  EXPECT_EQ(move.role, 0);
  EXPECT_NEAR(move.requests, 116.0 / 3 - 1, 1e-9);
}

TEST(ShiftingPolicyTest, HottestSourceGoesFirstToTheCoolestTarget) {
  ShiftingPolicy shifting({.max_moves = 1});
  const Plan plan = shifting.Decide(NodesObs({
      Node(0, 0, {0, 0, 30}),  // hot, 3 s
      Node(1, 0, {0, 0, 80}),  // hottest, 8 s
      Node(2, 0, {0, 0, 2}),   // cool
      Node(3, 0, {0, 0, 0}),   // coolest
  }));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].node, 1);
  EXPECT_EQ(plan.actions[0].target_node, 3);
}

TEST(ShiftingPolicyTest, EmptiesDrainingNodesMovableQueues) {
  ShiftingPolicy shifting({});
  // Node 0 drains with 20 critical, 30 standard and 10 best-effort requests
  // queued (6 s, not hot by itself): its movable 40 go to the ready nodes.
  const Plan plan = shifting.Decide(NodesObs({
      Node(0, 0, {20, 30, 10}, 10, NodeState::kDraining),
      Node(1, 0, {0, 0, 0}),
      Node(2, 0, {0, 0, 0}),
  }));
  EXPECT_DOUBLE_EQ(
      Moved(plan, 0, 1, RequestClass::kBestEffort) + Moved(plan, 0, 2, RequestClass::kBestEffort),
      10);
  EXPECT_DOUBLE_EQ(
      Moved(plan, 0, 1, RequestClass::kStandard) + Moved(plan, 0, 2, RequestClass::kStandard), 30);
  EXPECT_DOUBLE_EQ(
      Moved(plan, 0, 1, RequestClass::kCritical) + Moved(plan, 0, 2, RequestClass::kCritical), 0);
  // Level 40 / 20 = 2 s: each ready node is filled to 20 requests, no more.
  double to_1 = 0, to_2 = 0;
  for (const Action& a : plan.actions) (a.target_node == 1 ? to_1 : to_2) += a.requests;
  EXPECT_DOUBLE_EQ(to_1, 20);
  EXPECT_DOUBLE_EQ(to_2, 20);
  EXPECT_THAT(plan.actions[0].reason, HasSubstr("draining node 0"));
}

TEST(ShiftingPolicyTest, RespectsMaxMovesAndMinRequests) {
  // Four hot nodes, four idle ones: four moves would balance them.
  std::vector<NodeObservation> nodes;
  for (int id = 0; id < 4; ++id) nodes.push_back(Node(id, 0, {0, 0, 100}));
  for (int id = 4; id < 8; ++id) nodes.push_back(Node(id, 0, {0, 0, 0}));
  EXPECT_EQ(ShiftingPolicy({}).Decide(NodesObs(nodes)).actions.size(), 4u);
  EXPECT_EQ(ShiftingPolicy({.max_moves = 2}).Decide(NodesObs(nodes)).actions.size(), 2u);
  EXPECT_TRUE(ShiftingPolicy({.max_moves = 0}).Decide(NodesObs(nodes)).actions.empty());

  // A move smaller than min_requests is not worth its transfer: 25 requests
  // of excess on a fast node, a cap of 30 leaves it alone.
  const std::vector<NodeObservation> small = {Node(0, 0, {0, 0, 75}, 10), Node(1, 0, {0, 0, 0}, 5)};
  EXPECT_EQ(ShiftingPolicy({.min_requests = 20}).Decide(NodesObs(small)).actions.size(), 1u);
  EXPECT_TRUE(ShiftingPolicy({.min_requests = 30}).Decide(NodesObs(small)).actions.empty());
}

TEST(ShiftingPolicyTest, NoMovesWhenBalanced) {
  ShiftingPolicy shifting({});
  // All hot, none cool: nowhere to send work.
  EXPECT_TRUE(
      shifting.Decide(NodesObs({Node(0, 0, {0, 0, 50}), Node(1, 0, {0, 0, 50})})).actions.empty());
  // All cool.
  EXPECT_TRUE(
      shifting.Decide(NodesObs({Node(0, 0, {0, 0, 3}), Node(1, 0, {0, 0, 0})})).actions.empty());
  // Equal queues in seconds on nodes of different speed.
  EXPECT_TRUE(shifting.Decide(NodesObs({Node(0, 0, {0, 0, 10}, 10), Node(1, 0, {0, 0, 30}, 30)}))
                  .actions.empty());
  EXPECT_TRUE(shifting.Decide(NodesObs({})).actions.empty());
}

TEST(ShiftingPolicyTest, PlanDoesNotDependOnNodeOrder) {
  std::vector<NodeObservation> nodes = {
      Node(0, 0, {0, 10, 50}), Node(1, 0, {0, 10, 50}), Node(2, 0, {0, 0, 0}),
      Node(3, 0, {0, 0, 0}),   Node(4, 1, {0, 30, 30}), Node(5, 1, {0, 0, 0}),
  };
  const Plan forward = ShiftingPolicy({}).Decide(NodesObs(nodes));
  std::reverse(nodes.begin(), nodes.end());
  const Plan backward = ShiftingPolicy({}).Decide(NodesObs(nodes));
  ASSERT_FALSE(forward.actions.empty());
  ASSERT_EQ(forward.actions.size(), backward.actions.size());
  for (std::size_t i = 0; i < forward.actions.size(); ++i) {
    EXPECT_EQ(forward.actions[i].node, backward.actions[i].node);
    EXPECT_EQ(forward.actions[i].target_node, backward.actions[i].target_node);
    EXPECT_EQ(forward.actions[i].request_class, backward.actions[i].request_class);
    EXPECT_DOUBLE_EQ(forward.actions[i].requests, backward.actions[i].requests);
    EXPECT_EQ(forward.actions[i].reason, backward.actions[i].reason);
  }
  // Equally hot sources: node 0 before node 1.
  EXPECT_EQ(forward.actions[0].node, 0);
}

// --- Roles ------------------------------------------------------------------

constexpr Seconds kDay = 86400;
constexpr Seconds kInterval = 60;
constexpr int kA = 0, kB = 1;

RoleAssignmentOptions TwoRoles() {
  RoleAssignmentOptions o;
  o.roles = {RoleSpec{.name = "A", .share = 0.5, .switch_time = 60},
             RoleSpec{.name = "B", .share = 0.5, .switch_time = 60}};
  o.target_utilization = 0.75;
  o.hysteresis = 0.15;
  o.min_dwell = 600;
  return o;
}

// An observation at `now` with per-role demand and nodes of 10 rps each.
Observation RolesObs(Seconds now, double demand_a, double demand_b,
                     std::vector<NodeObservation> nodes) {
  Observation obs = NodesObs(std::move(nodes), now);
  obs.interval = kInterval;
  obs.roles = {RoleObservation{.role = kA, .demand_rps = demand_a},
               RoleObservation{.role = kB, .demand_rps = demand_b}};
  obs.demand_rps = demand_a + demand_b;
  return obs;
}

// A: nodes 0..a-1, B: nodes a..a+b-1; node i has i requests queued so that
// the shortest queue is the lowest id unless a test says otherwise.
std::vector<NodeObservation> Fleet(int a, int b) {
  std::vector<NodeObservation> nodes;
  for (int id = 0; id < a + b; ++id) {
    nodes.push_back(Node(id, id < a ? kA : kB, {0, static_cast<double>(id), 0}));
  }
  return nodes;
}

TEST(RoleAssignmentPolicyTest, PredictedRiseMovesANodeAheadOfTime) {
  // Yesterday B jumped from 6 to 18 rps at 10:00 (t = 36000) while A held at
  // 12 rps; the fleet then had 3 + 3 nodes, enough for both.
  constexpr Seconds kRise = 36000;
  RoleAssignmentPolicy roles(TwoRoles());
  for (Seconds t = 0; t < kDay; t += kInterval) {
    const Plan plan = roles.Decide(RolesObs(t, 12, t < kRise ? 6 : 18, Fleet(3, 3)));
    ASSERT_TRUE(plan.actions.empty()) << "t = " << t;
  }
  // Today, one lookahead (switch 60 s + interval 60 s) before 10:00, B still
  // sees 6 rps and its one node (10 rps) covers 6 / 0.75 = 8. But yesterday
  // says x3 by then: 18 / 0.75 = 24 needed. A (3 nodes, needs 16) can spare
  // one node and still cover itself; not two.
  const Seconds now = kDay + kRise - 2 * kInterval;
  const Plan plan = roles.Decide(RolesObs(now, 12, 6, Fleet(3, 1)));
  const Action action = OnlyAction(plan);
  EXPECT_EQ(action.kind, ActionKind::kChangeRole);
  EXPECT_EQ(action.role, kB);
  EXPECT_EQ(action.node, 0);  // A's shortest queue
  EXPECT_DOUBLE_EQ(action.metric, 18);
  EXPECT_THAT(action.reason, HasSubstr("B predicted 18.0 rps"));
  EXPECT_THAT(action.reason, HasSubstr("from A"));

  // Without yesterday's history the same observation calls for nothing.
  RoleAssignmentPolicy fresh(TwoRoles());
  EXPECT_TRUE(fresh.Decide(RolesObs(now, 12, 6, Fleet(3, 1))).actions.empty());
}

TEST(RoleAssignmentPolicyTest, ReactsToCurrentDemandWithoutHistory) {
  RoleAssignmentPolicy roles(TwoRoles());
  // B needs 30 / 0.75 = 40 with 10: A (4 nodes, needs 8 / 0.75 = 10.7) gives
  // two nodes, the third would leave it short.
  const Plan plan = roles.Decide(RolesObs(0, 8, 30, Fleet(4, 1)));
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].node, 0);
  EXPECT_EQ(plan.actions[1].node, 1);
  for (const Action& a : plan.actions) EXPECT_EQ(a.role, kB);
}

TEST(RoleAssignmentPolicyTest, RespectsMaxSwitches) {
  RoleAssignmentOptions o = TwoRoles();
  o.max_switches = 1;
  RoleAssignmentPolicy roles(o);
  EXPECT_EQ(roles.Decide(RolesObs(0, 8, 30, Fleet(4, 1))).actions.size(), 1u);
}

TEST(RoleAssignmentPolicyTest, MinDwellBlocksASecondSwitchOfTheSameNode) {
  RoleAssignmentPolicy roles(TwoRoles());
  // t = 0: A idle, B short: node 0 (A's shortest queue) goes to B.
  const Action first = OnlyAction(roles.Decide(RolesObs(0, 0, 12, Fleet(3, 1))));
  ASSERT_EQ(first.node, 0);

  // t = 120: node 0 now serves B, and demand has flipped to A. Node 0 has
  // B's shortest queue, but it moved 120 s ago: node 3 goes instead.
  std::vector<NodeObservation> after = {Node(0, kB, {0, 0, 0}), Node(1, kA, {0, 5, 0}),
                                        Node(2, kA, {0, 5, 0}), Node(3, kB, {0, 5, 0})};
  const Action second = OnlyAction(roles.Decide(RolesObs(120, 20, 0, after)));
  EXPECT_EQ(second.node, 3);
  EXPECT_EQ(second.role, kA);

  // At t = 600 node 0 has dwelt min_dwell and, with the shortest queue, is
  // the pick again (the plan above was not carried out, so node 3 is still
  // in B, and now it is the one that moved recently).
  EXPECT_EQ(OnlyAction(roles.Decide(RolesObs(600, 20, 0, after))).node, 0);
}

TEST(RoleAssignmentPolicyTest, DonorKeepsAReadyNodeAndItsOwnNeed) {
  RoleAssignmentPolicy roles(TwoRoles());
  // A's only node is idle, B is swamped: A still keeps its node.
  EXPECT_TRUE(roles.Decide(RolesObs(0, 0, 100, Fleet(1, 1))).actions.empty());
  // A has two nodes but needs 12 / 0.75 = 16 > 10 of one: it gives none.
  EXPECT_TRUE(roles.Decide(RolesObs(60, 12, 100, Fleet(2, 1))).actions.empty());
  // Booting and switching nodes count for their role's capacity but cannot
  // be moved: A's ready node stays, the booting one is not a donor.
  std::vector<NodeObservation> nodes = Fleet(1, 1);
  nodes.push_back(Node(2, kA, {0, 0, 0}, 10, NodeState::kBooting));
  EXPECT_TRUE(roles.Decide(RolesObs(120, 0, 100, nodes)).actions.empty());
}

TEST(RoleAssignmentPolicyTest, HysteresisPreventsFlappingOnATinyDeficit) {
  RoleAssignmentPolicy roles(TwoRoles());
  // B: one 10 rps node, demand 8.4 -> needs 11.2: a deficit of 1.2 < 0.15 x 10.
  EXPECT_TRUE(roles.Decide(RolesObs(0, 0, 8.4, Fleet(3, 1))).actions.empty());
  // Demand 8.7 -> needs 11.6: a deficit of 1.6 > 1.5 moves a node.
  EXPECT_EQ(OnlyAction(roles.Decide(RolesObs(60, 0, 8.7, Fleet(3, 1)))).role, kB);
  // Switching and booting capacity counts: with node 0 already switching
  // into B, the same demand asks for nothing more.
  std::vector<NodeObservation> nodes = Fleet(3, 1);
  nodes[0].role = kB;
  nodes[0].state = NodeState::kSwitching;
  EXPECT_TRUE(roles.Decide(RolesObs(120, 0, 8.7, nodes)).actions.empty());
}

TEST(RoleAssignmentPolicyTest, SameObservationsGiveSamePlans) {
  RoleAssignmentPolicy one(TwoRoles()), two(TwoRoles());
  std::size_t switches = 0;
  for (int tick = 0; tick < 200; ++tick) {
    const Seconds t = tick * kInterval;
    // Demand swings between the roles; the fleet is what the plans made of it.
    const double a = 20 + 15 * std::sin(t / 1800), b = 20 - 15 * std::sin(t / 1800);
    const Observation obs = RolesObs(t, a, b, Fleet(4, 4));
    const Plan p1 = one.Decide(obs), p2 = two.Decide(obs);
    ASSERT_EQ(p1.actions.size(), p2.actions.size()) << "tick " << tick;
    switches += p1.actions.size();
    for (std::size_t i = 0; i < p1.actions.size(); ++i) {
      EXPECT_EQ(p1.actions[i].node, p2.actions[i].node);
      EXPECT_EQ(p1.actions[i].role, p2.actions[i].role);
      EXPECT_EQ(p1.actions[i].reason, p2.actions[i].reason);
    }
  }
  EXPECT_GT(switches, 0u);  // the swings did call for switches
}

// --- Composite --------------------------------------------------------------

// A scaling part that always asks for one more node of type 0.
class OneMorePolicy : public Policy {
 public:
  std::string_view name() const override { return "hpa"; }
  Plan Decide(const Observation&) override {
    ++calls;
    Action action;
    action.kind = ActionKind::kScaleOut;
    action.count = 1;
    Plan plan;
    plan.actions.push_back(action);
    return plan;
  }
  int calls = 0;
};

TEST(CompositePolicyTest, NamesJoinAndPlansConcatenateInOrder) {
  std::vector<std::unique_ptr<Policy>> parts;
  auto scaling = std::make_unique<OneMorePolicy>();
  OneMorePolicy* scaling_part = scaling.get();
  parts.push_back(std::move(scaling));
  parts.push_back(std::make_unique<ShiftingPolicy>(ShiftingOptions{}));
  parts.push_back(std::make_unique<AdmissionPolicy>(AdmissionOptions{}));
  CompositePolicy composite(std::move(parts));
  EXPECT_EQ(composite.name(), "hpa+shifting+admission");
  EXPECT_TRUE(composite.wants_node_view());

  Observation obs = NodesObs({Node(0, 0, {0, 0, 100}), Node(1, 0, {0, 0, 0})});
  obs.capacity_rps = 20;
  const Plan plan = composite.Decide(obs);
  ASSERT_EQ(plan.actions.size(), 3u);
  EXPECT_EQ(plan.actions[0].kind, ActionKind::kScaleOut);
  EXPECT_EQ(plan.actions[1].kind, ActionKind::kMigrate);
  EXPECT_EQ(plan.actions[2].kind, ActionKind::kSetAdmission);

  // Every part decides every tick, even when another acted.
  composite.Decide(obs);
  EXPECT_EQ(scaling_part->calls, 2);
}

TEST(CompositePolicyTest, StaticScalingAndNodeView) {
  std::vector<std::unique_ptr<Policy>> parts;
  parts.push_back(std::make_unique<StaticPolicy>());
  parts.push_back(std::make_unique<AdmissionPolicy>(AdmissionOptions{}));
  CompositePolicy composite(std::move(parts));
  EXPECT_EQ(composite.name(), "none+admission");
  EXPECT_FALSE(composite.wants_node_view());
  EXPECT_EQ(OnlyAction(composite.Decide(AdmissionObs(100, {1, 1, 1}))).kind,
            ActionKind::kSetAdmission);
  EXPECT_TRUE(composite.Decide(AdmissionObs(100, {1, 1, 1})).actions.empty());

  CompositePolicy empty({});
  EXPECT_EQ(empty.name(), "none");
  EXPECT_TRUE(empty.Decide(Observation{}).actions.empty());
}

}  // namespace
}  // namespace meshtwin
