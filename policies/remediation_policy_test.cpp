// The remediation policy against synthetic fleets: silent nodes, partitions,
// gray failures, a clean day of diurnal load, and a hair-trigger detector.
#include "policies/remediation_policy.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kPi = 3.14159265358979323846;

// A fleet the test drives tick by tick: diurnal latency shared by all nodes,
// per-node jitter, faults set per node, and the policy's actions carried out
// (kIsolate marks the node; kReplace removes it and adds a fresh node).
class Fleet {
 public:
  explicit Fleet(int nodes, std::uint64_t seed = 1, int racks = 1, int racks_per_zone = 1)
      : rng_(seed), racks_(racks), racks_per_zone_(racks_per_zone) {
    for (int i = 0; i < nodes; ++i) Add(0, 0);
  }

  int Add(int type, int role) {
    NodeObservation node;
    node.id = next_id_++;
    node.type = type;
    node.role = role;
    node.rack = node.id % racks_;
    node.zone = node.rack / racks_per_zone_;
    nodes_.push_back(node);
    return node.id;
  }
  NodeObservation* Find(int id) {
    for (NodeObservation& n : nodes_) {
      if (n.id == id) return &n;
    }
    return nullptr;
  }

  // Next tick's observation.
  Observation Tick() {
    now_ += interval_;
    const double base = 0.1 * (1.6 + std::sin(2 * kPi * now_ / 86400));  // diurnal
    std::uniform_real_distribution<double> unit(-1, 1);
    std::normal_distribution<double> normal(0, 1);
    for (NodeObservation& n : nodes_) {
      const double jitter =
          log_sigma_ > 0 ? std::exp(log_sigma_ * normal(rng_)) : 1 + jitter_ * unit(rng_);
      n.latency_s = base * jitter * (slow_.count(n.id) ? slow_[n.id] : 1.0);
      n.error_rate = errors_.count(n.id) ? errors_[n.id] : 0.001 * (1 + 0.5 * unit(rng_));
      n.heartbeat_age =
          silent_since_.count(n.id) ? now_ - silent_since_[n.id] : 2 + 3 * (1 + unit(rng_));
      if (n.isolated) {
        // An isolated node works its queue off at `drain_` requests per tick.
        n.queued[1] = std::max(0.0, n.queued[1] - drain_);
      } else {
        n.queued = {0, 5 * (1 + unit(rng_)), 0};
      }
    }
    Observation obs;
    obs.now = now_;
    obs.interval = interval_;
    obs.nodes = nodes_;
    return obs;
  }

  void Apply(const Plan& plan) {
    for (const Action& a : plan.actions) {
      NodeObservation* n = Find(a.node);
      ASSERT_NE(n, nullptr) << "action on a node not in the fleet: " << a.node;
      if (a.kind == ActionKind::kIsolate) {
        n->isolated = true;
        n->queued[1] = isolated_queue_;
      } else if (a.kind == ActionKind::kReplace) {
        const int type = n->type, role = n->role, id = n->id;
        nodes_.erase(std::find_if(nodes_.begin(), nodes_.end(),
                                  [&](const NodeObservation& x) { return x.id == id; }));
        const int fresh = Add(type, role);
        if (replacements_stay_slow_ && slow_.count(id)) slow_[fresh] = slow_[id];
      }
    }
  }

  Seconds now() const { return now_; }
  std::vector<NodeObservation>& nodes() { return nodes_; }
  void Slow(int id, double factor) { slow_[id] = factor; }
  void Errors(int id, double rate) { errors_[id] = rate; }
  void Heal(int id) {
    slow_.erase(id);
    errors_.erase(id);
  }
  // The node was last heard from at `t` (and never again).
  void SilentSince(int id, Seconds t) { silent_since_[id] = t; }
  void set_jitter(double j) { jitter_ = j; }
  void set_log_sigma(double s) { log_sigma_ = s; }
  void set_isolated_queue(double q, double drain) {
    isolated_queue_ = q;
    drain_ = drain;
  }
  void set_replacements_stay_slow(bool b) { replacements_stay_slow_ = b; }

 private:
  std::mt19937_64 rng_;
  int racks_, racks_per_zone_;
  int next_id_ = 0;
  Seconds now_ = 0;
  Seconds interval_ = 15;
  double jitter_ = 0.03;  // uniform +- per node per tick
  double log_sigma_ = 0;  // > 0: lognormal jitter instead
  double isolated_queue_ = 20, drain_ = 10;
  bool replacements_stay_slow_ = false;
  std::vector<NodeObservation> nodes_;
  std::map<int, double> slow_, errors_;
  std::map<int, Seconds> silent_since_;
};

std::unique_ptr<RemediationPolicy> MakePolicy(DetectionSpec detection = {}) {
  absl::StatusOr<std::unique_ptr<RemediationPolicy>> p =
      RemediationPolicy::Create({.detection = std::move(detection)});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

std::vector<Action> OfKind(const Plan& plan, ActionKind kind) {
  std::vector<Action> out;
  for (const Action& a : plan.actions) {
    if (a.kind == kind) out.push_back(a);
  }
  return out;
}

// Runs `ticks` ticks, applying every plan; returns all actions.
std::vector<Action> RunTicks(Fleet& fleet, RemediationPolicy& policy, int ticks) {
  std::vector<Action> all;
  for (int i = 0; i < ticks; ++i) {
    const Plan plan = policy.Decide(fleet.Tick());
    fleet.Apply(plan);
    all.insert(all.end(), plan.actions.begin(), plan.actions.end());
  }
  return all;
}

// --- Silent nodes -------------------------------------------------------------

TEST(RemediationPolicyTest, SilentNodeIsReplacedAfterExactlyHeartbeatMisses) {
  Fleet fleet(10);
  auto policy = MakePolicy({.heartbeat_misses = 2});
  RunTicks(fleet, *policy, 40);
  // Node 4 is last heard at the tick boundary: its heartbeat age is 15 s on
  // the next observation (1 miss), then 30 s (2 misses: failed).
  fleet.SilentSince(4, fleet.now());
  Plan plan = policy->Decide(fleet.Tick());
  EXPECT_TRUE(plan.actions.empty()) << plan.actions.front().reason;
  plan = policy->Decide(fleet.Tick());
  ASSERT_EQ(plan.actions.size(), 1u);
  const Action& a = plan.actions.front();
  EXPECT_EQ(a.kind, ActionKind::kReplace);
  EXPECT_EQ(a.node, 4);
  EXPECT_DOUBLE_EQ(a.metric, 30);
  EXPECT_THAT(a.reason, HasSubstr("missed 2 heartbeats (30 s)"));
  EXPECT_EQ(policy->counters().failures_declared, 1);
  EXPECT_EQ(policy->counters().single_failures, 1);
  EXPECT_EQ(policy->counters().partitions, 0);

  // Not carried out yet (the node is still in the observation, still silent):
  // no second replacement.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(policy->Decide(fleet.Tick()).actions.empty());
  EXPECT_EQ(policy->counters().replacements, 1);
}

TEST(RemediationPolicyTest, ThreeMissesWaitForThreeIntervals) {
  Fleet fleet(5);
  auto policy = MakePolicy({.heartbeat_misses = 3});
  RunTicks(fleet, *policy, 20);
  fleet.SilentSince(2, fleet.now());
  EXPECT_TRUE(policy->Decide(fleet.Tick()).actions.empty());  // 15 s
  EXPECT_TRUE(policy->Decide(fleet.Tick()).actions.empty());  // 30 s
  const Plan plan = policy->Decide(fleet.Tick());             // 45 s
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions.front().node, 2);
}

TEST(RemediationPolicyTest, WholeRackSilentIsOnePartition) {
  // 6 racks in 3 zones, 24 nodes round robin: rack 5 holds 4 nodes.
  Fleet fleet(24, 1, /*racks=*/6, /*racks_per_zone=*/2);
  auto policy = MakePolicy();
  RunTicks(fleet, *policy, 40);
  std::vector<int> rack5;
  for (const NodeObservation& n : fleet.nodes()) {
    if (n.rack == 5) {
      rack5.push_back(n.id);
      fleet.SilentSince(n.id, fleet.now());
    }
  }
  ASSERT_EQ(rack5.size(), 4u);
  EXPECT_TRUE(policy->Decide(fleet.Tick()).actions.empty());
  const Plan plan = policy->Decide(fleet.Tick());
  const std::vector<Action> replaced = OfKind(plan, ActionKind::kReplace);
  ASSERT_EQ(replaced.size(), 4u);
  for (const Action& a : replaced) {
    EXPECT_THAT(a.reason, HasSubstr("rack 5 unreachable: partition, 4 nodes"));
  }
  EXPECT_EQ(policy->counters().partitions, 1);
  EXPECT_EQ(policy->counters().partitioned_nodes, 4);
  EXPECT_EQ(policy->counters().single_failures, 0);
  EXPECT_EQ(policy->counters().failures_declared, 4);
}

TEST(RemediationPolicyTest, WholeZoneSilentIsOnePartitionNotTwoRacks) {
  Fleet fleet(24, 1, /*racks=*/6, /*racks_per_zone=*/2);
  auto policy = MakePolicy();
  RunTicks(fleet, *policy, 40);
  for (const NodeObservation& n : fleet.nodes()) {
    if (n.zone == 1) fleet.SilentSince(n.id, fleet.now());
  }
  policy->Decide(fleet.Tick());
  const std::vector<Action> replaced = OfKind(policy->Decide(fleet.Tick()), ActionKind::kReplace);
  ASSERT_EQ(replaced.size(), 8u);
  for (const Action& a : replaced) {
    EXPECT_THAT(a.reason, HasSubstr("zone 1 unreachable: partition, 8 nodes"));
  }
  EXPECT_EQ(policy->counters().partitions, 1);
}

TEST(RemediationPolicyTest, TwoCrashesOnDifferentRacksAreTwoFailures) {
  Fleet fleet(24, 1, 6, 2);
  auto policy = MakePolicy();
  RunTicks(fleet, *policy, 40);
  fleet.SilentSince(0, fleet.now());  // rack 0
  fleet.SilentSince(7, fleet.now());  // rack 1
  policy->Decide(fleet.Tick());
  const std::vector<Action> replaced = OfKind(policy->Decide(fleet.Tick()), ActionKind::kReplace);
  ASSERT_EQ(replaced.size(), 2u);
  for (const Action& a : replaced) EXPECT_THAT(a.reason, Not(HasSubstr("partition")));
  EXPECT_EQ(policy->counters().partitions, 0);
  EXPECT_EQ(policy->counters().single_failures, 2);
}

// --- Gray failures ----------------------------------------------------------

// Runs a clean warm-up, makes `gray` abnormal through `fault`, and returns the
// number of decisions (1 = the first that saw it) until its kIsolate, or -1.
template <typename Fault>
int TicksToIsolate(Fleet& fleet, RemediationPolicy& policy, int gray, Fault fault) {
  RunTicks(fleet, policy, 200);
  EXPECT_EQ(policy.counters().isolations, 0);
  fault();
  for (int tick = 1; tick <= 20; ++tick) {
    const Plan plan = policy.Decide(fleet.Tick());
    fleet.Apply(plan);
    for (const Action& a : OfKind(plan, ActionKind::kIsolate)) {
      EXPECT_EQ(a.node, gray) << a.reason;
      if (a.node == gray) return tick;
    }
  }
  return -1;
}

class GrayFailureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GrayFailureTest, SlowNodeIsIsolatedWithinThreeIntervalsThenReplaced) {
  Fleet fleet(20);
  auto policy = MakePolicy({.anomaly = GetParam()});
  // Speed x0.3: its requests take 1 / 0.3 = 3.3 times as long.
  const int ticks = TicksToIsolate(fleet, *policy, 7, [&] { fleet.Slow(7, 1 / 0.3); });
  EXPECT_GE(ticks, 1);
  EXPECT_LE(ticks, 3);
  // 20 queued requests, 10 served per tick: empty after two more ticks.
  EXPECT_TRUE(policy->Decide(fleet.Tick()).actions.empty());
  const Plan plan = policy->Decide(fleet.Tick());
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions.front().kind, ActionKind::kReplace);
  EXPECT_EQ(plan.actions.front().node, 7);
  EXPECT_THAT(plan.actions.front().reason, HasSubstr("drained"));
  EXPECT_EQ(policy->counters().isolations, 1);
  EXPECT_EQ(policy->counters().replacements, 1);
}

TEST_P(GrayFailureTest, ErrorProneNodeIsIsolatedWithinThreeIntervals) {
  Fleet fleet(20);
  auto policy = MakePolicy({.anomaly = GetParam()});
  const int ticks = TicksToIsolate(fleet, *policy, 11, [&] { fleet.Errors(11, 0.05); });
  EXPECT_GE(ticks, 1);
  EXPECT_LE(ticks, 3);
}

INSTANTIATE_TEST_SUITE_P(Detectors, GrayFailureTest,
                         ::testing::Values("robust-z", "forecast-residual"));

TEST(RemediationPolicyTest, IsolationReasonNamesRatioAndScore) {
  Fleet fleet(20);
  auto policy = MakePolicy();
  RunTicks(fleet, *policy, 200);
  fleet.Slow(3, 1 / 0.3);
  const std::vector<Action> isolated = OfKind(policy->Decide(fleet.Tick()), ActionKind::kIsolate);
  ASSERT_EQ(isolated.size(), 1u);
  EXPECT_THAT(isolated.front().reason, HasSubstr("latency 3."));
  EXPECT_THAT(isolated.front().reason, HasSubstr("x its peers' median"));
  EXPECT_THAT(isolated.front().reason, HasSubstr("robust-z score 0.9"));
  EXPECT_GT(isolated.front().metric, 3);
}

TEST(RemediationPolicyTest, IsolatedNodeIsReplacedAfterFourIntervalsEvenWithAQueue) {
  Fleet fleet(20);
  fleet.set_isolated_queue(1000, 10);  // never drains in time
  auto policy = MakePolicy();
  ASSERT_EQ(TicksToIsolate(fleet, *policy, 5, [&] { fleet.Slow(5, 4); }), 1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(policy->Decide(fleet.Tick()).actions.empty());
  const Plan plan = policy->Decide(fleet.Tick());  // 4 intervals after the isolation
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions.front().kind, ActionKind::kReplace);
  EXPECT_THAT(plan.actions.front().reason, HasSubstr("still holds"));
}

TEST(RemediationPolicyTest, NewNodeSlowFromItsFirstTickIsCaughtDuringWarmup) {
  Fleet fleet(20);
  auto policy = MakePolicy();
  RunTicks(fleet, *policy, 100);
  const int fresh = fleet.Add(0, 0);
  fleet.Slow(fresh, 1 / 0.3);
  const Plan plan = policy->Decide(fleet.Tick());
  const std::vector<Action> isolated = OfKind(plan, ActionKind::kIsolate);
  ASSERT_EQ(isolated.size(), 1u);
  EXPECT_EQ(isolated.front().node, fresh);
  EXPECT_THAT(isolated.front().reason, HasSubstr("warming up"));
}

TEST(RemediationPolicyTest, CleanDayOfDiurnalLoadIsolatesNothing) {
  // 20 nodes, a day at 15 s (5,760 ticks), +-3 % per node per tick, a node
  // replaced every two hours (fresh nodes warm up with the fleet at its peak
  // or its trough), and a second role twice as slow as the first.
  Fleet fleet(20);
  for (int i = 0; i < 6; ++i) fleet.Add(0, 1);
  auto policy = MakePolicy();
  std::vector<Action> all;
  for (int tick = 0; tick < 5760; ++tick) {
    Observation obs = fleet.Tick();
    for (NodeObservation& n : obs.nodes) {
      if (n.role == 1) n.latency_s *= 2;
    }
    if (tick % 480 == 479) {
      // The oldest node leaves, a new one joins.
      Plan swap;
      Action a;
      a.kind = ActionKind::kReplace;
      a.node = fleet.nodes().front().id;
      swap.actions.push_back(a);
      fleet.Apply(swap);
    }
    const Plan plan = policy->Decide(obs);
    fleet.Apply(plan);
    all.insert(all.end(), plan.actions.begin(), plan.actions.end());
  }
  EXPECT_TRUE(all.empty()) << all.front().reason;
  EXPECT_EQ(policy->counters().suspects, 0);
  EXPECT_EQ(policy->counters().isolations, 0);
}

TEST(RemediationPolicyTest, GaussianNoiseDayIsolatesNothingEither) {
  // Heavier tails than the uniform jitter: lognormal with a 5 % sigma.
  Fleet fleet(20, 7);
  fleet.set_log_sigma(0.05);
  auto policy = MakePolicy();
  RunTicks(fleet, *policy, 5760);
  EXPECT_EQ(policy->counters().suspects, 0);
}

// --- Rate limits --------------------------------------------------------------

// A detector that sees anomalies everywhere (threshold 0.01) over a noisy
// fleet (lognormal 40 %: about one node in six is 1.5x its peers' median on
// any tick): the limits are all that stand between it and the fleet.
TEST(RemediationPolicyTest, HairTriggerDetectorStaysWithinTheLimits) {
  Fleet fleet(40, 3);
  for (int i = 0; i < 3; ++i) fleet.Add(1, 0);  // a pool of 3 of another type
  fleet.set_log_sigma(0.4);
  DetectionSpec detection{
      .threshold = 0.01, .max_isolations = 2, .window = 600, .max_isolated_fraction = 0.1};
  auto policy = MakePolicy(detection);
  std::vector<Seconds> isolation_times;
  for (int tick = 0; tick < 4 * 240; ++tick) {
    const Observation obs = fleet.Tick();
    std::map<int, int> pool, isolated;
    for (const NodeObservation& n : obs.nodes) {
      ++pool[n.type];
      if (n.isolated) ++isolated[n.type];
    }
    const Plan plan = policy->Decide(obs);
    for (const Action& a : OfKind(plan, ActionKind::kIsolate)) {
      isolation_times.push_back(obs.now);
      ++isolated[a.node_type];
    }
    // At once: 4 of 40, 1 of 3.
    EXPECT_LE(isolated[0], 4) << "at " << obs.now;
    EXPECT_LE(isolated[1], 1) << "at " << obs.now;
    fleet.Apply(plan);
  }
  // Any 600 s window holds at most 2 isolations.
  for (std::size_t i = 0; i + 2 < isolation_times.size(); ++i) {
    EXPECT_GE(isolation_times[i + 2] - isolation_times[i], 600) << "at " << isolation_times[i];
  }
  // The detector fired on more nodes than were isolated, and the window was
  // what held them back: 2 per 600 s over 4 h is 48 at most.
  const RemediationCounters& c = policy->counters();
  EXPECT_EQ(c.isolations, static_cast<int>(isolation_times.size()));
  EXPECT_LE(c.isolations, 48);
  EXPECT_GE(c.isolations, 40);
  EXPECT_GT(c.suspects, c.isolations);
  EXPECT_GT(c.isolations_held_back, c.isolations);
}

TEST(RemediationPolicyTest, WithoutReplacementIsolationStopsAtThePoolShare) {
  // Isolated nodes are never replaced: the per-type share is a hard cap on
  // how much of the pool a faulty detector can take, however long it runs.
  Fleet fleet(40, 5);
  fleet.set_log_sigma(0.4);
  auto policy = MakePolicy(
      {.replace = false, .threshold = 0.01, .max_isolations = 100, .max_isolated_fraction = 0.1});
  const std::vector<Action> all = RunTicks(fleet, *policy, 2000);
  EXPECT_EQ(OfKind(Plan{all}, ActionKind::kIsolate).size(), 4u);
  EXPECT_TRUE(OfKind(Plan{all}, ActionKind::kReplace).empty());
}

TEST(RemediationPolicyTest, SuspectHeldBackByTheWindowIsIsolatedLater) {
  Fleet fleet(40);
  fleet.set_isolated_queue(1e9, 0);  // isolated nodes stay (replaced after 4 intervals)
  auto policy = MakePolicy({.max_isolations = 2, .window = 600, .max_isolated_fraction = 0.5});
  RunTicks(fleet, *policy, 200);
  for (int id : {1, 2, 3}) fleet.Slow(id, 4);
  const Plan first = policy->Decide(fleet.Tick());
  fleet.Apply(first);
  EXPECT_EQ(OfKind(first, ActionKind::kIsolate).size(), 2u);
  // The third waits for the window (600 s = 40 ticks), still slow all along.
  int waited = 0;
  bool isolated = false;
  for (; waited < 60 && !isolated; ++waited) {
    const Plan plan = policy->Decide(fleet.Tick());
    fleet.Apply(plan);
    for (const Action& a : OfKind(plan, ActionKind::kIsolate)) isolated = a.node == 3;
  }
  EXPECT_TRUE(isolated);
  EXPECT_EQ(waited, 40);
}

// --- Switches, determinism, no double actions --------------------------------

TEST(RemediationPolicyTest, NoneDisablesIsolationButNotHeartbeats) {
  Fleet fleet(20);
  auto policy = MakePolicy({.anomaly = "none"});
  RunTicks(fleet, *policy, 100);
  fleet.Slow(3, 1 / 0.3);
  fleet.Errors(4, 0.2);
  EXPECT_TRUE(RunTicks(fleet, *policy, 100).empty());
  fleet.SilentSince(5, fleet.now());
  const std::vector<Action> after = RunTicks(fleet, *policy, 3);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.front().kind, ActionKind::kReplace);
  EXPECT_EQ(after.front().node, 5);
}

TEST(RemediationPolicyTest, ReplaceFalseDeclaresButDoesNotReplace) {
  Fleet fleet(10);
  auto policy = MakePolicy({.replace = false});
  RunTicks(fleet, *policy, 20);
  fleet.SilentSince(2, fleet.now());
  EXPECT_TRUE(RunTicks(fleet, *policy, 10).empty());
  EXPECT_EQ(policy->counters().failures_declared, 1);
  EXPECT_EQ(policy->counters().replacements, 0);
}

TEST(RemediationPolicyTest, UnknownDetectorIsAnError) {
  absl::StatusOr<std::unique_ptr<RemediationPolicy>> p =
      RemediationPolicy::Create({.detection = {.anomaly = "magic"}});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
}

// A stormy hour: a gray node, a slow node that then goes silent while
// isolated, a rack cut, a crash. Every node gets at most one kIsolate and one
// kReplace, and two runs give the same actions.
std::vector<Action> Storm() {
  Fleet fleet(24, 11, 6, 2);
  fleet.set_isolated_queue(1e9, 0);
  auto policy = MakePolicy();
  std::vector<Action> all = RunTicks(fleet, *policy, 100);
  fleet.Slow(1, 1 / 0.3);
  fleet.Slow(2, 5);
  auto step = RunTicks(fleet, *policy, 2);
  all.insert(all.end(), step.begin(), step.end());
  fleet.SilentSince(2, fleet.now());  // isolated, now silent as well
  for (const NodeObservation& n : fleet.nodes()) {
    if (n.rack == 3) fleet.SilentSince(n.id, fleet.now());
  }
  fleet.SilentSince(12, fleet.now());
  step = RunTicks(fleet, *policy, 200);
  all.insert(all.end(), step.begin(), step.end());
  return all;
}

TEST(RemediationPolicyTest, NeverActsTwiceOnANode) {
  const std::vector<Action> all = Storm();
  std::map<std::pair<int, ActionKind>, int> count;
  for (const Action& a : all) ++count[{a.node, a.kind}];
  for (const auto& [key, n] : count) {
    EXPECT_EQ(n, 1) << "node " << key.first << " " << ToString(key.second);
  }
  // Node 2: isolated, then silent: replaced once.
  EXPECT_EQ((count[{2, ActionKind::kIsolate}]), 1);
  EXPECT_EQ((count[{2, ActionKind::kReplace}]), 1);
}

TEST(RemediationPolicyTest, IsDeterministic) {
  const std::vector<Action> a = Storm(), b = Storm();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].node, b[i].node);
    EXPECT_EQ(a[i].reason, b[i].reason);
  }
}

}  // namespace
}  // namespace meshtwin
