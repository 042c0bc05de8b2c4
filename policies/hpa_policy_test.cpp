#include "policies/hpa_policy.h"

#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Select = HpaScalingBehavior::Select;
using RuleType = HpaScalingRule::Type;

constexpr int kPool = 1;  // the HPA's pool; pool 0 is a decoy it must ignore

// An observation where the HPA's pool has `ready` nodes at `utilization`. The
// decoy pool runs hot, so reading the wrong pool would always scale out.
Observation Obs(Seconds now, int ready, double utilization, int booting = 0, int draining = 0) {
  Observation obs;
  obs.now = now;
  obs.pools.push_back(PoolObservation{.node_type = 0, .ready = 3, .utilization = 1.0});
  obs.pools.push_back(PoolObservation{.node_type = kPool,
                                      .ready = ready,
                                      .booting = booting,
                                      .draining = draining,
                                      .utilization = utilization});
  return obs;
}

HpaOptions Options(double target, int min_replicas, int max_replicas) {
  HpaOptions o;
  o.node_type = kPool;
  o.target_utilization = target;
  o.min_replicas = min_replicas;
  o.max_replicas = max_replicas;
  return o;
}

// A pool whose new nodes serve at once and share a fixed amount of work,
// measured in nodes busy at 100 %: utilisation is work / ready. All values
// used below are exact in binary so the ceil() in the HPA sees exact ratios.
class Fleet {
 public:
  Fleet(HpaOptions options, int ready) : hpa_(std::move(options)), ready_(ready) {}

  // One sync at `now`; applies the plan and returns the replica count after it.
  int Tick(Seconds now, double work) {
    last_ = hpa_.Decide(Obs(now, ready_, work / ready_));
    if (!last_.actions.empty()) ready_ = last_.actions.front().replicas_after;
    return ready_;
  }
  const Plan& last() const { return last_; }
  HpaPolicy& hpa() { return hpa_; }

 private:
  HpaPolicy hpa_;
  int ready_;
  Plan last_;
};

// --- ReplicaCalculator ------------------------------------------------------

struct RatioCase {
  const char* what;
  int current;
  std::vector<double> ready;
  int unready;
  double target;
  int want;
};

TEST(CalcUtilizationReplicasTest, DocumentedRatios) {
  const std::vector<RatioCase> cases = {
      // Docs: 200m used against a 100m target doubles the replicas ...
      {"double", 4, {1.0, 1.0, 1.0, 1.0}, 0, 0.5, 8},
      // ... and 50m against 100m halves them.
      {"halve", 4, {0.25, 0.25, 0.25, 0.25}, 0, 0.5, 2},
      // Ratio 1.06 is inside the 0.1 tolerance: no change.
      {"tolerance above", 4, {0.53, 0.53, 0.53, 0.53}, 0, 0.5, 4},
      // Ratio 0.9: |1 - 0.9| is 0.0999..98 in doubles, inside the tolerance.
      {"tolerance edge", 4, {0.45, 0.45, 0.45, 0.45}, 0, 0.5, 4},
      // 0.75 * 10 = 7.5 rounds up: the HPA never under-provisions.
      {"ceil", 10, std::vector<double>(10, 0.375), 0, 0.5, 8},
      // 0.7 / 0.6 * 3 = 3.5 -> 4.
      {"ceil 60%", 3, {0.7, 0.7, 0.7}, 0, 0.6, 4},
      // The average counts, not the busiest node: mean 0.5 over target 0.25.
      {"average", 4, {1.0, 0.5, 0.0, 0.5}, 0, 0.25, 8},
      // Idle pool: zero replicas recommended (min clamps it later).
      {"idle", 5, std::vector<double>(5, 0.0), 0, 0.5, 0},
      // No ready pod, no metric: keep what there is.
      {"no ready pods", 3, {}, 3, 0.5, 3},
  };
  for (const RatioCase& c : cases) {
    EXPECT_EQ(CalcUtilizationReplicas(c.current, c.ready, c.unready, c.target, 0.1), c.want)
        << c.what;
  }
}

TEST(CalcUtilizationReplicasTest, ToleranceIsInclusive) {
  // 25 % against 50 % and 45 % against 40 % give ratios 0.5 and 1.125 (exact
  // in binary), on tolerances 0.5 and 0.125: |1 - ratio| <= tolerance keeps
  // the size.
  EXPECT_EQ(CalcUtilizationReplicas(4, std::vector<double>(4, 0.25), 0, 0.5, 0.5), 4);
  EXPECT_EQ(CalcUtilizationReplicas(8, std::vector<double>(8, 0.45), 0, 0.4, 0.125), 8);
  // Just outside, they scale: ceil(0.5 * 4) = 2 and ceil(1.125 * 8) = 9.
  EXPECT_EQ(CalcUtilizationReplicas(4, std::vector<double>(4, 0.25), 0, 0.5, 0.25), 2);
  EXPECT_EQ(CalcUtilizationReplicas(8, std::vector<double>(8, 0.45), 0, 0.4, 0.0625), 9);
}

TEST(CalcUtilizationReplicasTest, UtilizationIsFlooredToAWholePercentLikeUpstream) {
  // 192 requests/s on 7 nodes of 40 is 68.57 %: upstream's integer percent is
  // 68, and 68 / 60 x 7 = 7.93 -> 8. (Exact arithmetic gives 8.0000000001 and
  // a ceiling of 9.)
  EXPECT_EQ(CalcUtilizationReplicas(7, std::vector<double>(7, 192.0 / 280.0), 0, 0.6, 0.1), 8);
  // 65.9 % reads as 65 %: 65 / 60 = 1.083 is within tolerance.
  EXPECT_EQ(CalcUtilizationReplicas(10, std::vector<double>(10, 0.659), 0, 0.6, 0.1), 10);
}

TEST(CalcUtilizationReplicasTest, UnreadyPodsCountAsIdleOnScaleUp) {
  const std::vector<RatioCase> cases = {
      // 8 ready at 0.53125 vs 0.25 is ratio 2.125; with the 8 booting nodes
      // idle it is 1.0625, inside tolerance: hold at 16 ...
      {"booting absorb spike", 16, std::vector<double>(8, 0.53125), 8, 0.25, 16},
      // ... whereas without them the same 8 nodes ask for ceil(2.125 * 8) = 17.
      {"same load, nothing booting", 8, std::vector<double>(8, 0.53125), 0, 0.25, 17},
      // Ratio 2 on 6 ready, 2 idle booting: 6 / 8 / 0.5 = 1.5 -> ceil(1.5 * 8) = 12.
      {"scale up over all", 8, std::vector<double>(6, 1.0), 2, 0.5, 12},
      // Ratio 1.5 would become 0.75 with 2 idle booting nodes: a direction flip,
      // so no scale-in while the ready nodes run hot.
      {"no flip to scale-in", 4, {0.75, 0.75}, 2, 0.5, 4},
      // Recomputed 1.5 over 4 pods asks for 6, below a current of 7: holding
      // beats scaling down while above target.
      {"no scale-in above target", 7, {1.0, 1.0, 1.0}, 1, 0.5, 7},
      // Below target booting nodes are left out: ceil(0.5 * 4 ready) = 2.
      {"scale-down ignores booting", 8, std::vector<double>(4, 0.25), 4, 0.5, 2},
  };
  for (const RatioCase& c : cases) {
    EXPECT_EQ(CalcUtilizationReplicas(c.current, c.ready, c.unready, c.target, 0.1), c.want)
        << c.what;
  }
}

// --- Rate limits ------------------------------------------------------------

TEST(ScaleUpLimitTest, DefaultIsFourPodsOrDoublingPer15s) {
  const HpaScalingBehavior up = HpaOptions{}.scale_up;
  // max(current + 4, ceil(current * 2)).
  const std::vector<std::pair<int, int>> cases = {{1, 5},  {2, 6},   {3, 7},  {4, 8},
                                                  {5, 10}, {10, 20}, {40, 80}};
  for (const auto& [current, want] : cases) {
    EXPECT_EQ(ScaleUpLimit(current, {}, {}, up, 100), want) << "current " << current;
  }
}

TEST(ScaleUpLimitTest, RecentEventsUseUpTheBudgetUntilExactlyOnePeriodOld) {
  const HpaScalingBehavior up = HpaOptions{}.scale_up;
  const std::vector<HpaScaleEvent> grew_1_to_5 = {{90, 4}};
  // 10 s after 1 -> 5 the period started at 1: max(1 + 4, 2) = 5, no room left.
  EXPECT_EQ(ScaleUpLimit(5, grew_1_to_5, {}, up, 100), 5);
  EXPECT_EQ(ScaleUpLimit(5, grew_1_to_5, {}, up, 104.9), 5);
  // An event exactly 15 s old no longer counts (strict After): max(9, 10) = 10.
  EXPECT_EQ(ScaleUpLimit(5, grew_1_to_5, {}, up, 105), 10);
  // A recent scale-down is added back: 6 after shrinking from 10 starts at 10.
  EXPECT_EQ(ScaleUpLimit(6, {}, {{95, 4}}, up, 100), 20);
}

TEST(ScaleUpLimitTest, PercentRoundsUpSoSmallPoolsCanGrow) {
  const HpaScalingBehavior up{0, Select::kMax, {{RuleType::kPercent, 10, 60}}};
  EXPECT_EQ(ScaleUpLimit(5, {}, {}, up, 0), 6);    // ceil(5.5)
  EXPECT_EQ(ScaleUpLimit(1, {}, {}, up, 0), 2);    // ceil(1.1)
  EXPECT_EQ(ScaleUpLimit(20, {}, {}, up, 0), 22);  // exactly 10 %
}

TEST(ScaleUpLimitTest, SelectMinAndDisabled) {
  HpaScalingBehavior up = HpaOptions{}.scale_up;
  up.select = Select::kMin;
  EXPECT_EQ(ScaleUpLimit(1, {}, {}, up, 0), 2);    // min(5, 2)
  EXPECT_EQ(ScaleUpLimit(10, {}, {}, up, 0), 14);  // min(14, 20)
  up.select = Select::kDisabled;
  EXPECT_EQ(ScaleUpLimit(10, {}, {}, up, 0), 10);
}

TEST(ScaleDownLimitTest, DocumentedPodsAndPercentPolicies) {
  // Docs: "Pods 4 per 60 s" and "Percent 10 per 60 s"; by default the policy
  // allowing the biggest change wins, i.e. the lowest floor.
  HpaScalingBehavior down{
      300, Select::kMax, {{RuleType::kPods, 4, 60}, {RuleType::kPercent, 10, 60}}};
  EXPECT_EQ(ScaleDownLimit(80, {}, {}, down, 0), 72);  // min(76, 72): 10 % wins above 40
  EXPECT_EQ(ScaleDownLimit(20, {}, {}, down, 0), 16);  // min(16, 18): 4 pods win below 40
  down.select = Select::kMin;
  EXPECT_EQ(ScaleDownLimit(80, {}, {}, down, 0), 76);
  EXPECT_EQ(ScaleDownLimit(20, {}, {}, down, 0), 18);
  down.select = Select::kDisabled;
  EXPECT_EQ(ScaleDownLimit(80, {}, {}, down, 0), 80);
  // The default 100 % per 15 s lets everything go (min replicas still applies).
  EXPECT_EQ(ScaleDownLimit(10, {}, {}, HpaOptions{}.scale_down, 0), 0);
}

TEST(ScaleDownLimitTest, PercentRuleCountsRemovalsInItsPeriod) {
  const HpaScalingBehavior down{0, Select::kMax, {{RuleType::kPercent, 10, 60}}};
  // 80 -> 72 at t = 30: until t = 90 the period still starts at 80.
  EXPECT_EQ(ScaleDownLimit(72, {}, {{30, 8}}, down, 60), 72);
  // At t = 90 the event is exactly 60 s old: int(72 * 0.9) = 64.
  EXPECT_EQ(ScaleDownLimit(72, {}, {{30, 8}}, down, 90), 64);
}

// --- The controller ---------------------------------------------------------

TEST(HpaPolicyTest, ScalesOnlyItsPoolAndDescribesTheAction) {
  HpaPolicy hpa(Options(0.5, 1, 100));
  const Plan plan = hpa.Decide(Obs(0, 4, 1.0));
  ASSERT_EQ(plan.actions.size(), 1u);
  const Action& a = plan.actions[0];
  EXPECT_EQ(a.kind, ActionKind::kScaleOut);
  EXPECT_EQ(a.node_type, kPool);
  EXPECT_EQ(a.count, 4);
  EXPECT_EQ(a.replicas_before, 4);
  EXPECT_EQ(a.replicas_after, 8);
  EXPECT_DOUBLE_EQ(a.metric, 1.0);
  EXPECT_EQ(a.reason, "cpu 1.00 > target 0.50");
}

TEST(HpaPolicyTest, NoPlanWithoutItsPoolOrWithoutReadyNodes) {
  HpaOptions o = Options(0.5, 1, 100);
  o.node_type = 7;
  HpaPolicy absent(o);
  EXPECT_TRUE(absent.Decide(Obs(0, 4, 1.0)).actions.empty());

  HpaPolicy hpa(Options(0.5, 1, 100));
  EXPECT_TRUE(hpa.Decide(Obs(0, 0, 0.0, /*booting=*/3)).actions.empty());
}

TEST(HpaPolicyTest, DefaultScaleUpFromOneNodeIsFive) {
  HpaPolicy hpa(Options(0.125, 1, 100));
  // Ratio 8 asks for 8 nodes; max(1 + 4, 1 * 2) = 5 is all one sync allows.
  const Plan plan = hpa.Decide(Obs(0, 1, 1.0));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_after, 5);
  EXPECT_THAT(plan.actions[0].reason, HasSubstr("rate limited"));
}

TEST(HpaPolicyTest, ClampsToMinAndMax) {
  {  // Above max: straight down to max, whatever the load.
    HpaPolicy hpa(Options(0.5, 1, 10));
    const Plan plan = hpa.Decide(Obs(0, 12, 1.0));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].kind, ActionKind::kScaleIn);
    EXPECT_EQ(plan.actions[0].replicas_after, 10);
    EXPECT_EQ(plan.actions[0].reason, "replicas above max 10");
  }
  {  // Below min: straight up to min, even idle.
    HpaPolicy hpa(Options(0.5, 3, 10));
    const Plan plan = hpa.Decide(Obs(0, 1, 0.0));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].count, 2);
    EXPECT_EQ(plan.actions[0].replicas_after, 3);
  }
  {  // Metric wants 16, rate allows 16, max is 10.
    HpaPolicy hpa(Options(0.5, 1, 10));
    const Plan plan = hpa.Decide(Obs(0, 8, 1.0));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].replicas_after, 10);
    EXPECT_THAT(plan.actions[0].reason, HasSubstr("capped at max 10"));
  }
  {  // Idle pool wants 0; min is 2 (no window so the first sync acts).
    HpaOptions o = Options(0.5, 2, 10);
    o.scale_down.stabilization_window = 0;
    HpaPolicy hpa(o);
    const Plan plan = hpa.Decide(Obs(0, 4, 0.0));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].replicas_after, 2);
    EXPECT_THAT(plan.actions[0].reason, HasSubstr("held at min 2"));
  }
}

TEST(HpaPolicyTest, DrainingNodesAreNotCounted) {
  // 4 ready + 3 draining would exceed max 5; only the 4 count, at target.
  HpaPolicy hpa(Options(0.5, 1, 5));
  EXPECT_TRUE(hpa.Decide(Obs(0, 4, 0.5, /*booting=*/0, /*draining=*/3)).actions.empty());
}

TEST(HpaPolicyTest, BootingNodesNeverTriggerAScaleInWhileReadyNodesRunHot) {
  HpaOptions o = Options(0.5, 1, 100);
  o.scale_down.stabilization_window = 0;  // nothing else holds a scale-in back
  HpaPolicy booting(o);
  // 2 ready at 0.75 and 2 booting: counting the booting ones flips the ratio
  // from 1.5 to 0.75, so the HPA holds at 4.
  EXPECT_TRUE(booting.Decide(Obs(0, 2, 0.75, /*booting=*/2)).actions.empty());
  // With nothing booting the same 2 nodes scale out to ceil(1.5 * 2) = 3.
  HpaPolicy ready_only(o);
  const Plan plan = ready_only.Decide(Obs(0, 2, 0.75));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_after, 3);
}

TEST(HpaPolicyTest, NodesReadyForLessThanAMetricWindowCountAsUnready) {
  // 4 nodes ran at 100 % through the last tick; 3 more became ready since and
  // have no sample yet. Upstream's groupPods counts them as unready (0 % on a
  // scale-up): (4 x 1.0 + 3 x 0) / 7 / 0.6 = 0.95 is within tolerance, so
  // the HPA holds at 7 instead of jumping to ceil(7 x 1.67) = 12.
  HpaPolicy hpa(Options(0.6, 1, 40));
  Observation obs = Obs(0, 7, 1.0);
  obs.pools[kPool].ready_without_metrics = 3;
  EXPECT_TRUE(hpa.Decide(obs).actions.empty());
  // Once they have a sample (at 192 / 280 = 0.686), 7 -> ceil(7 x 1.14) = 8.
  const Plan plan = hpa.Decide(Obs(15, 7, 192.0 / 280.0));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_after, 8);
}

TEST(HpaPolicyTest, PartlyFulfilledScaleOutIsNotUndoneByTheRateLimit) {
  HpaPolicy hpa(Options(0.5, 1, 100));
  const Plan first = hpa.Decide(Obs(0, 10, 1.0));
  ASSERT_EQ(first.actions.size(), 1u);
  EXPECT_EQ(first.actions[0].replicas_after, 20);
  // 5 s later only 2 of the 10 new nodes exist. The period started at
  // 12 - 10 = 2, so the raw limit is max(2 + 4, 2 * 2) = 6; it is raised to the
  // current 12 rather than shrinking a pool that is still too hot.
  EXPECT_TRUE(hpa.Decide(Obs(5, 12, 1.0)).actions.empty());
}

TEST(HpaPolicyTest, ScaleDownRateLimitNeverTurnsIntoAScaleOut) {
  HpaOptions o = Options(0.5, 1, 10);
  o.scale_down = {0, Select::kMax, {{RuleType::kPods, 1, 60}}};
  HpaPolicy hpa(o);
  // Above max: 12 -> 10 regardless of the 1-pod rule, but the event counts.
  const Plan first = hpa.Decide(Obs(0, 12, 0.125));
  ASSERT_EQ(first.actions.size(), 1u);
  EXPECT_EQ(first.actions[0].replicas_after, 10);
  // The metric asks for 3; the period started at 12, so the rule's floor is
  // 11, above the current 10. It is lowered to 10: nothing happens.
  EXPECT_TRUE(hpa.Decide(Obs(15, 10, 0.125)).actions.empty());
  // Once the 12 -> 10 event is 60 s old the rule allows 10 -> 9.
  const Plan later = hpa.Decide(Obs(60, 10, 0.125));
  ASSERT_EQ(later.actions.size(), 1u);
  EXPECT_EQ(later.actions[0].replicas_after, 9);
}

TEST(HpaPolicyTest, SyncsWithoutReadyNodesLeaveNoRecommendation) {
  Fleet fleet(Options(0.5, 1, 100), 10);
  // Ten nodes boot until t = 60; the sync fails for lack of metrics, so only
  // the initial size (t = 0) enters the window.
  HpaPolicy& hpa = fleet.hpa();
  for (Seconds t = 0; t <= 60; t += 15) {
    EXPECT_TRUE(hpa.Decide(Obs(t, 0, 0.0, /*booting=*/10)).actions.empty()) << "t = " << t;
  }
  // Then they serve a load worth 3 nodes (raw 3): the scale-in comes 300 s
  // after the initial recommendation, not 300 s after the booting syncs.
  for (Seconds t = 75; t <= 285; t += 15) EXPECT_EQ(fleet.Tick(t, 1.25), 10) << "t = " << t;
  EXPECT_EQ(fleet.Tick(300, 1.25), 3);
}

TEST(HpaPolicyTest, FirstSyncDoesNotScaleDown) {
  // The size found on the first sync is a recommendation in the 300 s window.
  HpaPolicy hpa(Options(0.5, 1, 100));
  EXPECT_TRUE(hpa.Decide(Obs(0, 10, 0.125)).actions.empty());
}

TEST(HpaPolicyTest, DipShorterThanWindowDoesNotScaleIn) {
  Fleet fleet(Options(0.5, 1, 100), 10);
  for (Seconds t = 0; t <= 900; t += 15) {
    // Half the load for 120 s (t = 60 .. 165), at target otherwise.
    const double work = (t >= 60 && t < 180) ? 2.5 : 5.0;
    EXPECT_EQ(fleet.Tick(t, work), 10) << "t = " << t;
  }
}

TEST(HpaPolicyTest, ScaleDownWaits300sAfterTheLastHighRecommendation) {
  Fleet fleet(Options(0.5, 1, 100), 10);
  for (Seconds t = 0; t <= 45; t += 15) EXPECT_EQ(fleet.Tick(t, 5.0), 10);
  // The load halves from t = 60; the last "10" was recommended at t = 45.
  for (Seconds t = 60; t <= 330; t += 15) EXPECT_EQ(fleet.Tick(t, 2.5), 10) << "t = " << t;
  // At t = 345 that recommendation is exactly 300 s old and drops out.
  EXPECT_EQ(fleet.Tick(345, 2.5), 5);
  ASSERT_EQ(fleet.last().actions.size(), 1u);
  EXPECT_EQ(fleet.last().actions[0].kind, ActionKind::kScaleIn);
  EXPECT_EQ(fleet.last().actions[0].count, 5);
  for (Seconds t = 360; t <= 600; t += 15) EXPECT_EQ(fleet.Tick(t, 2.5), 5) << "t = " << t;
}

TEST(HpaPolicyTest, ScaleDownUsesTheHighestRecommendationInTheWindow) {
  Fleet fleet(Options(0.5, 1, 100), 10);
  // Recommendations: 10 until t = 60, 8 for t = 75 .. 135, 5 from t = 150.
  auto work_at = [](Seconds t) { return t <= 60 ? 5.0 : t <= 135 ? 3.75 : 2.5; };
  for (Seconds t = 0; t <= 345; t += 15) EXPECT_EQ(fleet.Tick(t, work_at(t)), 10) << "t = " << t;
  // t = 360: the 10s are gone, the highest left is 8 (the raw one says 5).
  EXPECT_EQ(fleet.Tick(360, work_at(360)), 8);
  ASSERT_EQ(fleet.last().actions.size(), 1u);
  EXPECT_EQ(fleet.last().actions[0].reason, "cpu 0.25 < target 0.50, scale-down stabilised");
  for (Seconds t = 375; t <= 420; t += 15) EXPECT_EQ(fleet.Tick(t, work_at(t)), 8) << "t = " << t;
  // t = 435: the last 8 (t = 135) is 300 s old.
  EXPECT_EQ(fleet.Tick(435, work_at(435)), 5);
  ASSERT_EQ(fleet.last().actions.size(), 1u);
  EXPECT_THAT(fleet.last().actions[0].reason, HasSubstr("< target 0.50"));
  EXPECT_THAT(fleet.last().actions[0].reason, Not(HasSubstr("stabilised")));
}

TEST(HpaPolicyTest, LoadTimesEightIsRateLimitedPer15s) {
  // Work 1.0 on 10 nodes is the 10 % target; x8 would need 80 nodes.
  Fleet fleet(Options(0.10, 1, 100), 10);
  EXPECT_EQ(fleet.Tick(0, 1.0), 10);
  EXPECT_EQ(fleet.Tick(15, 8.0), 20);  // max(10 + 4, 10 * 2)
  EXPECT_EQ(fleet.Tick(20, 8.0), 20);  // 5 s later the period's budget is spent
  EXPECT_EQ(fleet.Tick(30, 8.0), 40);  // the t = 15 event is exactly 15 s old
  EXPECT_EQ(fleet.Tick(45, 8.0), 80);
  EXPECT_EQ(fleet.Tick(60, 8.0), 80);  // at target again

  HpaOptions capped = Options(0.10, 1, 60);
  Fleet small(capped, 10);
  EXPECT_EQ(small.Tick(0, 1.0), 10);
  EXPECT_EQ(small.Tick(15, 8.0), 20);
  EXPECT_EQ(small.Tick(30, 8.0), 40);
  EXPECT_EQ(small.Tick(45, 8.0), 60);
  ASSERT_EQ(small.last().actions.size(), 1u);
  EXPECT_THAT(small.last().actions[0].reason, HasSubstr("capped at max 60"));
}

TEST(HpaPolicyTest, ScaleUpWindowIgnoresShortSpikes) {
  HpaOptions o = Options(0.5, 1, 100);
  o.scale_up.stabilization_window = 60;
  Fleet fleet(o, 10);
  EXPECT_EQ(fleet.Tick(0, 5.0), 10);
  // A 45 s spike to ratio 2: the lowest recommendation in 60 s is still 10.
  for (Seconds t = 15; t <= 45; t += 15) EXPECT_EQ(fleet.Tick(t, 10.0), 10) << "t = " << t;
  for (Seconds t = 60; t <= 105; t += 15) EXPECT_EQ(fleet.Tick(t, 5.0), 10) << "t = " << t;
  // A lasting spike from t = 120 acts once the t = 105 "10" is 60 s old.
  for (Seconds t = 120; t <= 150; t += 15) EXPECT_EQ(fleet.Tick(t, 10.0), 10) << "t = " << t;
  EXPECT_EQ(fleet.Tick(165, 10.0), 20);
}

TEST(HpaPolicyTest, CustomPercent10Per60sLimitsScaleDown) {
  HpaOptions o = Options(0.5, 1, 100);
  o.scale_down = {0, Select::kMax, {{RuleType::kPercent, 10, 60}}};
  Fleet fleet(o, 20);
  // The load wants about 5 nodes throughout; 10 % per minute is all it gets.
  std::vector<int> sizes;
  for (Seconds t = 0; t <= 135; t += 15) sizes.push_back(fleet.Tick(t, 2.5));
  EXPECT_EQ(sizes, (std::vector<int>{18, 18, 18, 18, 16, 16, 16, 16, 14, 14}));
}

TEST(HpaPolicyTest, DisabledScaleDownNeverScalesInButStillScalesOut) {
  HpaOptions o = Options(0.5, 1, 100);
  o.scale_down = {0, Select::kDisabled, {{RuleType::kPercent, 100, 15}}};
  Fleet fleet(o, 10);
  for (Seconds t = 0; t <= 600; t += 15) EXPECT_EQ(fleet.Tick(t, 1.25), 10) << "t = " << t;
  EXPECT_EQ(fleet.Tick(615, 10.0), 20);
}

}  // namespace
}  // namespace meshtwin
