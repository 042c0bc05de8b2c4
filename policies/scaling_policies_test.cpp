#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/capacity.h"
#include "policies/oracle_policy.h"
#include "policies/predictive_policy.h"
#include "twin/mesh.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

// The standard node of these tests: 4 cores of 1 Gflop/s, 50 Mflop requests,
// so 0.05 s of service, 80 req/s per node at 100 % and 64 req/s at 80 %. The
// demands used below (300, 600, 900 req/s) are chosen off the boundaries of
// that grid: 5, 10 and 15 nodes at 80 %, with no rounding at stake.
constexpr double kWork = 5e7;
constexpr Seconds kInterval = 15;
constexpr Seconds kBoot = 90;

NodeTypeSpec Type(const char* name, int cores, double core_speed, Seconds boot = kBoot) {
  NodeTypeSpec t;
  t.name = name;
  t.cores = cores;
  t.core_speed = core_speed;
  t.boot_time = boot;
  t.max = 1000;
  return t;
}

SloSpec NoSlo() {
  SloSpec slo;
  slo.latency_target = 0;
  slo.utilization_ceiling = 1;
  return slo;
}

// One pool of standard nodes, sized with utilisation only.
PoolSizing StandardSizing(SloSpec slo = NoSlo()) {
  PoolSizing s;
  s.types = {Type("std", 4, 1e9)};
  s.workload.request_work = kWork;
  s.slo = slo;
  s.pool = 0;
  return s;
}

// --- PoolSizing ---------------------------------------------------------------

TEST(PoolSizingTest, UtilisationBoundByHand) {
  const PoolSizing s = StandardSizing();
  EXPECT_EQ(s.NodesFor(600, 0, 0.8), 10);  // 600 / 64 = 9.4
  EXPECT_EQ(s.NodesFor(300, 0, 0.8), 5);   // 4.7
  EXPECT_EQ(s.NodesFor(1, 0, 0.8), 1);
  // Exactly on the bound (all values exact in binary): at or below counts.
  EXPECT_EQ(s.NodesFor(1000, 0, 0.5), 25);  // 5e10 flop/s = 0.5 x 25 x 4e9
  // 3 fixed nodes of 8 Gflop/s bring 2.4e10: (600 x 5e7 / 0.8 - 2.4e10) / 4e9 = 3.4.
  EXPECT_EQ(s.NodesFor(600, 2.4e10, 0.8), 4);
  // Out-of-range targets are read as 1: 600 / 80 = 7.5.
  EXPECT_EQ(s.NodesFor(600, 0, 1.5), 8);
  EXPECT_EQ(s.NodesFor(600, 0, 0), 8);
}

TEST(PoolSizingTest, SloCeilingTightensTheTarget) {
  SloSpec slo = NoSlo();
  slo.utilization_ceiling = 0.5;
  const PoolSizing s = StandardSizing(slo);
  EXPECT_EQ(s.NodesFor(600, 0, 0.8), 15);  // 600 / 40
  EXPECT_EQ(s.NodesFor(600, 0, 0.4), 19);  // the lower target still wins: 600 / 32 = 18.75
}

TEST(PoolSizingTest, ReturnsTheSmallestCountMeetingTheUtilisationBound) {
  const PoolSizing s = StandardSizing();
  const double speed = 4e9;
  for (double demand : {0.5, 63.9, 64.0, 64.1, 333.3, 1000.0, 12345.6}) {
    for (double fixed : {0.0, 1e9, 3.3e10}) {
      for (double target : {0.35, 0.6, 0.8, 1.0}) {
        SCOPED_TRACE(testing::Message() << demand << " rps, fixed " << fixed << ", " << target);
        const int n = s.NodesFor(demand, fixed, target);
        EXPECT_LE(demand * kWork, target * (fixed + n * speed));
        if (n > 0) {
          EXPECT_GT(demand * kWork, target * (fixed + (n - 1) * speed));
        }
      }
    }
  }
}

TEST(PoolSizingTest, FixedCapacityCoveringDemandNeedsNoNodes) {
  const PoolSizing s = StandardSizing();
  EXPECT_EQ(s.NodesFor(300, 4e10, 0.8), 0);  // 1.5e10 of 3.2e10 usable
  EXPECT_EQ(s.NodesFor(0, 0, 0.8), 0);
  EXPECT_EQ(s.NodesFor(-5, 0, 0.8), 0);

  // Through an observation: the other pool's 10 ready nodes count, the pool's
  // own ready nodes and the other pool's booting ones do not.
  PoolSizing two = s;
  two.types = {Type("std", 4, 1e9), Type("std2", 4, 1e9)};
  two.pool = 1;
  Observation obs;
  obs.pools = {PoolObservation{.node_type = 0, .ready = 10, .booting = 7},
               PoolObservation{.node_type = 1, .ready = 4}};
  EXPECT_DOUBLE_EQ(two.FixedSpeed(obs), 4e10);
  EXPECT_EQ(two.NodesFor(300, obs, 0.8), 0);
  EXPECT_EQ(two.NodesFor(900, obs, 0.8), 5);  // 15 in all, 10 of them fixed
}

TEST(PoolSizingTest, LatencyTargetAgainstMmcMeanLatency) {
  SloSpec slo = NoSlo();
  slo.latency_target = 0.06;  // service time 0.05 s: little room for waiting
  const PoolSizing s = StandardSizing(slo);
  const int n = s.NodesFor(600, 0, 0.8);
  // Utilisation alone would give 10; at 10 nodes the M/M/4 latency is 0.075 s.
  EXPECT_GT(n, 10);
  EXPECT_LE(MmcMeanLatency(600.0 / n, 0.05, 4), 0.06);
  EXPECT_GT(MmcMeanLatency(600.0 / (n - 1), 0.05, 4), 0.06);
  EXPECT_EQ(n, 13);

  // A pool node's share with fixed capacity beside it: demand x 4e9 / total.
  const double fixed = 1.2e10;
  const int m = s.NodesFor(600, fixed, 0.8);
  auto pool_latency = [&](int count) {
    return MmcMeanLatency(600 * 4e9 / (fixed + count * 4e9), 0.05, 4);
  };
  EXPECT_LE(pool_latency(m), 0.06);
  EXPECT_GT(pool_latency(m - 1), 0.06);
  EXPECT_LT(m, n);  // the fixed nodes take their share
}

TEST(PoolSizingTest, InfeasibleLatencyTargetFallsBackToUtilisation) {
  SloSpec slo = NoSlo();
  slo.latency_target = 0.04;  // below the 0.05 s service time: no size meets it
  EXPECT_EQ(StandardSizing(slo).NodesFor(600, 0, 0.8), 10);
  slo.latency_target = 0.05;  // equal: any arrival adds waiting on top
  EXPECT_EQ(StandardSizing(slo).NodesFor(600, 0, 0.8), 10);
}

// A slow single-core pool is fixed; a fast 8-core pool is sized. The fast
// nodes meet 0.1 s easily, the slow ones only at utilisation <= 0.5 (M/M/1:
// 0.05 / (1 - rho)), which only more fast nodes can bring about.
TEST(PoolSizingTest, FixedPoolsLatencyHoldsThroughTheObservation) {
  SloSpec slo = NoSlo();
  slo.latency_target = 0.1;
  PoolSizing s;
  s.types = {Type("slow", 1, 1e9), Type("fast", 8, 2e9)};
  s.workload.request_work = kWork;
  s.slo = slo;
  s.pool = 1;
  Observation obs;
  obs.pools = {PoolObservation{.node_type = 0, .ready = 4}, PoolObservation{.node_type = 1}};
  const double fixed = s.FixedSpeed(obs);
  ASSERT_DOUBLE_EQ(fixed, 4e9);

  const int speed_only = s.NodesFor(900, fixed, 0.8);
  const int with_fixed = s.NodesFor(900, obs, 0.8);
  EXPECT_EQ(speed_only, 4);  // utilisation: (4.5e10 / 0.8 - 4e9) / 1.6e10 = 3.3
  EXPECT_EQ(with_fixed, 6);
  auto slow_latency = [&](int n) {
    return MmcMeanLatency(900 * 1e9 / (fixed + n * 1.6e10), 0.05, 1);
  };
  EXPECT_LE(slow_latency(with_fixed), 0.1);
  EXPECT_GT(slow_latency(with_fixed - 1), 0.1);

  // A fixed type that could never meet the target (0.125 s of service) is
  // left out: chasing it would buy fast nodes without end.
  s.types[0].core_speed = 0.4e9;
  EXPECT_EQ(s.NodesFor(900, obs, 0.8), s.NodesFor(900, s.FixedSpeed(obs), 0.8));
}

TEST(PoolSizingTest, NearlyInfeasibleTargetStaysBounded) {
  SloSpec slo = NoSlo();
  slo.latency_target = 0.05 * (1 + 1e-12);
  const int n = StandardSizing(slo).NodesFor(1e6, 0, 0.8);
  EXPECT_GT(n, 0);
  EXPECT_LE(n, PoolSizing::kMaxNodes);
}

// --- PredictivePolicy -----------------------------------------------------------

Forecast Flat(std::vector<Seconds> horizons, std::vector<double> p50, double spread = 0) {
  Forecast f;
  f.horizons = std::move(horizons);
  for (double v : p50) {
    f.p10.push_back(v * (1 - spread));
    f.p50.push_back(v);
    f.p90.push_back(v * (1 + spread));
  }
  return f;
}

Observation PoolObs(Seconds now, int replicas, double demand_rps, Forecast forecast = {},
                    double queued = 0) {
  Observation obs;
  obs.now = now;
  obs.interval = kInterval;
  obs.demand_rps = demand_rps;
  obs.queued_requests = queued;
  obs.pools = {PoolObservation{.node_type = 0, .ready = replicas}};
  obs.forecast = std::move(forecast);
  return obs;
}

PredictiveOptions PredOptions() {
  PredictiveOptions o;
  o.min_replicas = 1;
  o.max_replicas = 40;
  o.quantile = 0.9;
  o.headroom = 0;
  o.target_utilization = 0.8;
  o.lookahead = 0;  // boot + interval = 105 s
  o.scale_in_delay = 300;
  o.hysteresis = 0.1;
  o.scale_in_cooldown = 120;
  return o;
}

// The replica count a plan leaves the pool at.
int After(const Plan& plan, int replicas) {
  return plan.actions.empty() ? replicas : plan.actions.back().replicas_after;
}

// Feeds one observation per tick with the given demand (observed and, flat,
// forecast) and applies each plan at once. Returns the times plans acted.
struct Trace {
  std::vector<Seconds> action_times;
  std::vector<Action> actions;
  int replicas = 0;
};
Trace Drive(PredictivePolicy& p, int replicas, Seconds from, Seconds to, double observed,
            std::optional<double> forecast) {
  Trace run;
  run.replicas = replicas;
  for (Seconds t = from; t <= to; t += kInterval) {
    Forecast f = forecast ? Flat({60, 120, 300}, {*forecast, *forecast, *forecast}) : Forecast{};
    const Plan plan = p.Decide(PoolObs(t, run.replicas, observed, f));
    for (const Action& a : plan.actions) {
      run.action_times.push_back(t);
      run.actions.push_back(a);
    }
    run.replicas = After(plan, run.replicas);
  }
  return run;
}

TEST(PredictivePolicyTest, ForecastStepAtFiveMinutesScalesOutBeforeDemandRises) {
  PredictiveOptions o = PredOptions();
  o.lookahead = 300;
  PredictivePolicy p(StandardSizing(), o);
  // Now 300 req/s (5 nodes); 900 expected at +5m; 2000 at +15m, beyond the
  // lookahead: that one is for later decisions.
  const Plan plan = p.Decide(PoolObs(0, 5, 300, Flat({60, 300, 900}, {300, 900, 2000})));
  ASSERT_EQ(plan.actions.size(), 1u);
  const Action& a = plan.actions[0];
  EXPECT_EQ(a.kind, ActionKind::kScaleOut);
  EXPECT_EQ(a.node_type, 0);
  EXPECT_EQ(a.replicas_before, 5);
  EXPECT_EQ(a.replicas_after, 15);
  EXPECT_EQ(a.count, 10);
  EXPECT_DOUBLE_EQ(a.metric, 900);
  EXPECT_EQ(a.reason, "forecast p90 900 req/s at +5m");
}

// A perfect forecaster ahead of a step from 300 to 900 req/s at t = 600: the
// pool grows one boot time plus a tick ahead, while the observed demand is
// still 300, so the new nodes are ready when the step comes.
TEST(PredictivePolicyTest, LeadsAnObservedStepByTheBootTime) {
  auto demand = [](Seconds t) { return t >= 600 && t < 1500 ? 900.0 : 300.0; };
  PredictivePolicy p(StandardSizing(), PredOptions());
  int replicas = 5;
  std::optional<Seconds> scaled_out;
  std::optional<Seconds> scaled_in;
  for (Seconds now = 0; now <= 2400; now += kInterval) {
    Forecast f;
    for (Seconds h = kInterval; h <= 900; h += kInterval) {
      f.horizons.push_back(h);
      f.p10.push_back(demand(now + h));
      f.p50.push_back(demand(now + h));
      f.p90.push_back(demand(now + h));
    }
    const double observed = demand(now - kInterval);  // the last tick's
    const Plan plan = p.Decide(PoolObs(now, replicas, observed, f));
    for (const Action& a : plan.actions) {
      if (a.kind == ActionKind::kScaleOut && !scaled_out) {
        scaled_out = now;
        EXPECT_DOUBLE_EQ(observed, 300);
        EXPECT_EQ(a.replicas_after, 15);
        EXPECT_THAT(a.reason, HasSubstr("forecast p90 900 req/s"));
      }
      if (a.kind == ActionKind::kScaleIn && !scaled_in) scaled_in = now;
    }
    replicas = After(plan, replicas);
  }
  ASSERT_TRUE(scaled_out.has_value());
  EXPECT_EQ(*scaled_out, 600 - kBoot - kInterval);
  // Down again only once the observed demand has been low (from the tick of
  // 1515, which saw [1500, 1515)) for the 300 s delay: the forecast's earlier
  // fall alone does not do it.
  ASSERT_TRUE(scaled_in.has_value());
  EXPECT_EQ(*scaled_in, 1515 + 300);
  EXPECT_EQ(replicas, 5);
}

TEST(PredictivePolicyTest, ScaleOutIsImmediateAndWhole) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  const Plan plan = p.Decide(PoolObs(0, 2, 900, Flat({60, 120}, {900, 900})));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].kind, ActionKind::kScaleOut);
  EXPECT_EQ(plan.actions[0].count, 13);
  EXPECT_EQ(plan.actions[0].replicas_after, 15);
}

TEST(PredictivePolicyTest, BootingAndSwitchingNodesCountAsReplicas) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  Observation obs = PoolObs(0, 5, 900);
  obs.pools[0].booting = 8;
  obs.pools[0].switching = 1;
  obs.pools[0].draining = 6;  // on their way out: not counted
  const Plan plan = p.Decide(obs);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_before, 14);
  EXPECT_EQ(plan.actions[0].count, 1);
}

TEST(PredictivePolicyTest, LowForecastAloneNeverScalesIn) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  const Trace run = Drive(p, 15, 0, 3600, /*observed=*/900, /*forecast=*/10.0);
  EXPECT_TRUE(run.actions.empty());
  EXPECT_EQ(run.replicas, 15);
}

TEST(PredictivePolicyTest, ScaleInWaitsForTheDelay) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  const Trace run = Drive(p, 15, 1000, 1600, 300, 300.0);
  ASSERT_EQ(run.actions.size(), 1u);
  EXPECT_EQ(run.action_times[0], 1300);  // low since 1000, for 300 s
  EXPECT_EQ(run.actions[0].kind, ActionKind::kScaleIn);
  EXPECT_EQ(run.actions[0].replicas_after, 5);
  EXPECT_THAT(run.actions[0].reason, HasSubstr("low for 300s"));
}

TEST(PredictivePolicyTest, OneHighTickRestartsTheDelay) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  Trace first = Drive(p, 15, 0, 285, 300, 300.0);
  EXPECT_TRUE(first.actions.empty());
  // 880 req/s wants 14 nodes: inside the band of 15, so not low any more.
  Trace blip = Drive(p, 15, 300, 300, 880, 880.0);
  EXPECT_TRUE(blip.actions.empty());
  const Trace after = Drive(p, 15, 315, 900, 300, 300.0);
  ASSERT_FALSE(after.actions.empty());
  EXPECT_EQ(after.action_times[0], 315 + 300);
}

TEST(PredictivePolicyTest, HysteresisBandHoldsTheSize) {
  {
    // 560 req/s wants 9 of 10: not below 10 x 0.9, so never.
    PredictivePolicy p(StandardSizing(), PredOptions());
    EXPECT_TRUE(Drive(p, 10, 0, 3600, 560, 560.0).actions.empty());
  }
  {
    // 500 req/s wants 8 of 10: below the band, so after the delay.
    PredictivePolicy p(StandardSizing(), PredOptions());
    const Trace run = Drive(p, 10, 0, 600, 500, 500.0);
    ASSERT_EQ(run.actions.size(), 1u);
    EXPECT_EQ(run.actions[0].replicas_after, 8);
  }
  {
    // The band is (1 - hysteresis) x current, not rounded down: 13 of 15 is
    // below 13.5, so it goes.
    PredictivePolicy p(StandardSizing(), PredOptions());
    const Trace run = Drive(p, 15, 0, 600, 800, 800.0);
    ASSERT_EQ(run.actions.size(), 1u);
    EXPECT_EQ(run.actions[0].replicas_after, 13);
  }
}

TEST(PredictivePolicyTest, CooldownFollowsAnyScaleAction) {
  PredictiveOptions o = PredOptions();
  o.scale_in_delay = 60;
  o.scale_in_cooldown = 600;
  PredictivePolicy p(StandardSizing(), o);
  Trace out = Drive(p, 5, 0, 0, 900, 900.0);
  ASSERT_EQ(out.actions.size(), 1u);
  ASSERT_EQ(out.actions[0].kind, ActionKind::kScaleOut);
  // Low from t = 15: the delay is over at 75, the cooldown only at 600.
  const Trace in = Drive(p, out.replicas, 15, 900, 300, 300.0);
  ASSERT_EQ(in.actions.size(), 1u);
  EXPECT_EQ(in.action_times[0], 600);
  EXPECT_EQ(in.actions[0].replicas_after, 5);
}

TEST(PredictivePolicyTest, ScaleInGoesToTheLargestSizeOfTheDelayWindow) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  int replicas = 20;
  Plan last;
  for (Seconds t = 0; t <= 300; t += kInterval) {
    // Mostly 5 nodes' worth, one tick of 11 (700 req/s) inside the window.
    const double demand = t == 150 ? 700 : 300;
    last = p.Decide(PoolObs(t, replicas, demand, Flat({60, 120}, {demand, demand})));
    if (t < 300) {
      EXPECT_TRUE(last.actions.empty()) << t;
    }
    replicas = After(last, replicas);
  }
  ASSERT_EQ(last.actions.size(), 1u);
  EXPECT_EQ(last.actions[0].replicas_after, 11);
  EXPECT_DOUBLE_EQ(last.actions[0].metric, 300);  // what this tick saw
}

TEST(PredictivePolicyTest, ScaleInStepIsLimited) {
  PredictiveOptions o = PredOptions();
  o.max_scale_in_step = 3;
  PredictivePolicy p(StandardSizing(), o);
  const Trace run = Drive(p, 15, 0, 900, 300, 300.0);
  ASSERT_GE(run.actions.size(), 3u);
  EXPECT_EQ(run.action_times[0], 300);
  EXPECT_EQ(run.actions[0].replicas_after, 12);
  EXPECT_THAT(run.actions[0].reason, HasSubstr("step limited"));
  // The low spell goes on, so each further step waits only for the cooldown.
  EXPECT_EQ(run.action_times[1], 420);
  EXPECT_EQ(run.actions[1].replicas_after, 9);
  EXPECT_EQ(run.action_times[2], 540);
  EXPECT_EQ(run.actions[2].replicas_after, 6);
  EXPECT_EQ(run.replicas, 5);
}

TEST(PredictivePolicyTest, EmptyForecastIsReactive) {
  PredictivePolicy reactive(StandardSizing(), PredOptions());
  const Plan plan = reactive.Decide(PoolObs(0, 5, 900));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_after, 15);
  EXPECT_EQ(plan.actions[0].reason, "no forecast, observed 900 req/s");

  // Down again after the delay, on the observed demand alone.
  const Trace run = Drive(reactive, 15, 15, 600, 300, std::nullopt);
  ASSERT_EQ(run.actions.size(), 1u);
  EXPECT_EQ(run.action_times[0], 315);
  EXPECT_EQ(run.actions[0].replicas_after, 5);
}

TEST(PredictivePolicyTest, BacklogIsClearedWithinTheLookahead) {
  PredictivePolicy p(StandardSizing(), PredOptions());
  // 31500 queued over the 105 s lookahead adds 300 req/s: 600 in all.
  const Plan plan = p.Decide(PoolObs(0, 5, 300, Flat({60, 120}, {300, 300}), 31500));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_after, 10);
  EXPECT_DOUBLE_EQ(plan.actions[0].metric, 600);
  EXPECT_THAT(plan.actions[0].reason, HasSubstr("backlog"));
}

TEST(PredictivePolicyTest, HeadroomIsOnTopOfTheDemand) {
  PredictiveOptions o = PredOptions();
  o.headroom = 0.1;
  PredictivePolicy p(StandardSizing(), o);
  // 600 x 1.1 = 660 req/s: 10.3 nodes.
  EXPECT_EQ(After(p.Decide(PoolObs(0, 5, 600, Flat({120}, {600}))), 5), 11);
}

TEST(PredictivePolicyTest, MinAndMaxClamp) {
  PredictiveOptions o = PredOptions();
  o.min_replicas = 2;
  o.max_replicas = 12;
  {
    PredictivePolicy p(StandardSizing(), o);
    const Plan plan = p.Decide(PoolObs(0, 5, 300, Flat({120}, {5000})));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].replicas_after, 12);
    EXPECT_THAT(plan.actions[0].reason, HasSubstr("capped at max 12"));
  }
  {
    PredictivePolicy p(StandardSizing(), o);
    const Plan plan = p.Decide(PoolObs(0, 0, 0, Flat({120}, {0})));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].replicas_after, 2);
    EXPECT_THAT(plan.actions[0].reason, HasSubstr("held at min 2"));
  }
  {
    // No demand at all: down to min, never below it.
    PredictivePolicy p(StandardSizing(), o);
    const Trace run = Drive(p, 10, 0, 3600, 0, 0.0);
    ASSERT_EQ(run.actions.size(), 1u);
    EXPECT_EQ(run.replicas, 2);
  }
  {
    // Above max is fixed at once: max is a bound, not something to wait for.
    PredictivePolicy p(StandardSizing(), o);
    const Plan plan = p.Decide(PoolObs(0, 20, 900, Flat({120}, {900})));
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].kind, ActionKind::kScaleIn);
    EXPECT_EQ(plan.actions[0].replicas_after, 12);
  }
}

TEST(PredictivePolicyTest, QuantileChoiceSetsTheSize) {
  // At +2m: p10 300, p50 600, p90 900 req/s; observed demand is low.
  Forecast f = Flat({120}, {600});
  f.p10 = {300};
  f.p90 = {900};
  auto size_for = [&](double quantile) {
    PredictiveOptions o = PredOptions();
    o.quantile = quantile;
    PredictivePolicy p(StandardSizing(), o);
    return After(p.Decide(PoolObs(0, 1, 50, f)), 1);
  };
  EXPECT_EQ(size_for(0.9), 15);
  EXPECT_EQ(size_for(0.5), 10);
  EXPECT_EQ(size_for(0.1), 5);
  EXPECT_GT(size_for(0.9), size_for(0.5));
  EXPECT_EQ(size_for(0.7), 12);   // 750 req/s, halfway between p50 and p90
  EXPECT_EQ(size_for(0.99), 15);  // clamped to p90
  EXPECT_EQ(size_for(0.0), 5);    // clamped to p10
}

TEST(PredictivePolicyTest, IgnoresOtherPools) {
  PoolSizing s = StandardSizing();
  s.types.push_back(Type("other", 4, 1e9));
  s.pool = 1;
  PredictivePolicy p(s, PredOptions());
  Observation obs = PoolObs(0, 0, 900);
  obs.pools = {PoolObservation{.node_type = 0, .ready = 10, .utilization = 1.0},
               PoolObservation{.node_type = 1, .ready = 1}};
  const Plan plan = p.Decide(obs);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].node_type, 1);
  EXPECT_EQ(plan.actions[0].replicas_before, 1);
  EXPECT_EQ(plan.actions[0].replicas_after, 5);  // 15 needed, 10 of them in pool 0
}

TEST(PredictivePolicyTest, AnAgedForecastStillReachesItsLookahead) {
  // Lookahead 30 min; the forecast was made 15 s ago, so its 30 min horizon
  // reads 1785 s. It must still be the cutoff: the 2 h horizon (a spike much
  // later) is for later decisions.
  PredictiveOptions o;
  o.min_replicas = 1;
  o.max_replicas = 100;
  o.quantile = 0.9;
  o.headroom = 0;
  o.target_utilization = 0.8;
  o.lookahead = 1800;
  Forecast f;
  f.horizons = {285, 1785, 7185};
  f.p10 = f.p50 = f.p90 = {300, 300, 900};
  f.age = 15;
  PredictivePolicy aged(StandardSizing(), o);
  Plan plan = aged.Decide(PoolObs(600, 5, 300, f));
  EXPECT_TRUE(plan.actions.empty()) << plan.actions[0].reason;
  // The same forecast made just now, with the 2 h spike beyond the lookahead's
  // first horizon, is read the same way.
  f.horizons = {300, 1800, 7200};
  f.age = 0;
  PredictivePolicy fresh(StandardSizing(), o);
  EXPECT_TRUE(fresh.Decide(PoolObs(600, 5, 300, f)).actions.empty());
}

// --- OraclePolicy ---------------------------------------------------------------

// 300 req/s, 900 in [600, 900): the mean over [t0, t1) integrates the step.
double StepDemand(Seconds t0, Seconds t1) {
  const double overlap = std::max(0.0, std::min(t1, 900.0) - std::max(t0, 600.0));
  return 300 + 600 * overlap / (t1 - t0);
}

OracleOptions OracleOpts() {
  OracleOptions o;
  o.min_replicas = 1;
  o.max_replicas = 40;
  o.target_utilization = 0.8;
  return o;
}

struct OracleRun {
  std::vector<std::pair<Seconds, Action>> actions;
  std::vector<Plan> plans;
};
OracleRun DriveOracle(OraclePolicy& oracle, int replicas, Seconds to) {
  OracleRun run;
  for (Seconds now = 0; now <= to; now += kInterval) {
    Plan plan = oracle.Decide(PoolObs(now, replicas, StepDemand(now - kInterval, now)));
    for (const Action& a : plan.actions) run.actions.emplace_back(now, a);
    replicas = After(plan, replicas);
    run.plans.push_back(std::move(plan));
  }
  return run;
}

TEST(OraclePolicyTest, ScalesOutOneBootTimeAndATickAheadAndInAtOnce) {
  OraclePolicy oracle(StandardSizing(), OracleOpts(), StepDemand);
  const OracleRun run = DriveOracle(oracle, 5, 1200);
  ASSERT_EQ(run.actions.size(), 2u);
  // K = ceil((90 + 15) / 15) = 7 ticks ahead: the tick [600, 615) first comes
  // into view at now = 600 - 7 x 15 = 495, where now + boot + interval = 600.
  const auto& [out_at, out] = run.actions[0];
  EXPECT_EQ(out_at, 495);
  EXPECT_EQ(out_at + kBoot + kInterval, 600);
  EXPECT_LE(out_at + kBoot, 600);  // ready before the step
  EXPECT_EQ(out.kind, ActionKind::kScaleOut);
  EXPECT_EQ(out.replicas_after, 15);
  EXPECT_DOUBLE_EQ(out.metric, 900);
  EXPECT_EQ(out.reason, "oracle: 900 req/s at +105s needs 15");
  // Down at the first tick after the step, with nothing left to cover.
  const auto& [in_at, in] = run.actions[1];
  EXPECT_EQ(in_at, 900);
  EXPECT_EQ(in.kind, ActionKind::kScaleIn);
  EXPECT_EQ(in.replicas_after, 5);
}

TEST(OraclePolicyTest, WithRolesSizesEachRoleOnItsOwnDemand) {
  // Two roles: role 0 steady at 300 req/s, role 1 rising from 0 to 600.
  OraclePolicy oracle(StandardSizing(), OracleOpts(), [](Seconds, Seconds) { return 900.0; },
                      {[](Seconds, Seconds) { return 300.0; },
                       [](Seconds t0, Seconds) { return t0 >= 600 ? 600.0 : 0.0; }});
  EXPECT_TRUE(oracle.wants_node_view());
  Observation obs = PoolObs(495, 5, 300);
  for (int i = 0; i < 5; ++i) {
    NodeObservation& n = obs.nodes.emplace_back();
    n.id = i;
    n.type = 0;
    n.role = 0;
    n.speed_rps = 80;
  }
  const Plan plan = oracle.Decide(obs);
  // Role 0 keeps its 5 (300 / 64 per node at 80 %); role 1 gets 10 of its own,
  // started now so that they are ready for the tick at 600.
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].kind, ActionKind::kScaleOut);
  EXPECT_EQ(plan.actions[0].role, 1);
  EXPECT_EQ(plan.actions[0].count, 10);
  EXPECT_EQ(plan.actions[0].replicas_after, 15);
  // A fleet-wide count of 15 would have been the same number, but not where it is needed:
  // once role 1's demand is gone, its nodes (not role 0's) are the ones removed.
  obs.now = 2000;
  for (int i = 5; i < 15; ++i) {
    NodeObservation& n = obs.nodes.emplace_back();
    n.id = i;
    n.type = 0;
    n.role = 1;
    n.speed_rps = 80;
  }
  OraclePolicy later(StandardSizing(), OracleOpts(), [](Seconds, Seconds) { return 300.0; },
                     {[](Seconds, Seconds) { return 300.0; }, [](Seconds, Seconds) { return 0.0; }});
  const Plan in = later.Decide(obs);
  ASSERT_EQ(in.actions.size(), 1u);
  EXPECT_EQ(in.actions[0].kind, ActionKind::kScaleIn);
  EXPECT_EQ(in.actions[0].role, 1);
  EXPECT_EQ(in.actions[0].count, 10);
}

TEST(OraclePolicyTest, BacklogIsServedInTheComingTick) {
  OraclePolicy oracle(StandardSizing(), OracleOpts(), [](Seconds, Seconds) { return 300.0; });
  // 4500 queued over 15 s: 300 req/s more, 600 in all.
  Observation obs = PoolObs(0, 5, 300, {}, 4500);
  const Plan plan = oracle.Decide(obs);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].replicas_after, 10);
}

TEST(OraclePolicyTest, ClampsToMinAndMax) {
  OracleOptions o = OracleOpts();
  o.min_replicas = 3;
  o.max_replicas = 12;
  OraclePolicy high(StandardSizing(), o, [](Seconds, Seconds) { return 5000.0; });
  const Plan up = high.Decide(PoolObs(0, 5, 300));
  ASSERT_EQ(up.actions.size(), 1u);
  EXPECT_EQ(up.actions[0].replicas_after, 12);
  EXPECT_THAT(up.actions[0].reason, HasSubstr("capped at max 12"));
  OraclePolicy idle(StandardSizing(), o, [](Seconds, Seconds) { return 0.0; });
  EXPECT_EQ(After(idle.Decide(PoolObs(0, 5, 0)), 5), 3);
}

void ExpectSamePlans(const std::vector<Plan>& a, const std::vector<Plan>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].actions.size(), b[i].actions.size()) << i;
    for (std::size_t j = 0; j < a[i].actions.size(); ++j) {
      const Action& x = a[i].actions[j];
      const Action& y = b[i].actions[j];
      EXPECT_EQ(x.kind, y.kind);
      EXPECT_EQ(x.node_type, y.node_type);
      EXPECT_EQ(x.count, y.count);
      EXPECT_EQ(x.replicas_before, y.replicas_before);
      EXPECT_EQ(x.replicas_after, y.replicas_after);
      EXPECT_EQ(x.metric, y.metric);
      EXPECT_EQ(x.reason, y.reason);
    }
  }
}

TEST(OraclePolicyTest, SameObservationsGiveSamePlans) {
  OraclePolicy a(StandardSizing(), OracleOpts(), StepDemand);
  OraclePolicy b(StandardSizing(), OracleOpts(), StepDemand);
  const OracleRun ra = DriveOracle(a, 5, 1200);
  const OracleRun rb = DriveOracle(b, 5, 1200);
  EXPECT_FALSE(ra.actions.empty());
  ExpectSamePlans(ra.plans, rb.plans);
}

TEST(PredictivePolicyTest, SameObservationsGiveSamePlans) {
  auto run = [] {
    PredictivePolicy p(StandardSizing(), PredOptions());
    std::vector<Plan> plans;
    int replicas = 5;
    for (Seconds t = 0; t <= 1800; t += kInterval) {
      const double demand = 300 + 200 * std::sin(t / 300);
      Plan plan = p.Decide(PoolObs(t, replicas, demand, Flat({60, 120}, {demand, demand}, 0.2)));
      replicas = After(plan, replicas);
      plans.push_back(std::move(plan));
    }
    return plans;
  };
  ExpectSamePlans(run(), run());
}

}  // namespace
}  // namespace meshtwin
