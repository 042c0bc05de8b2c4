#include "twin/control_loop.h"

#include <vector>

#include <gtest/gtest.h>

namespace meshtwin {
namespace {

class FixedMetrics : public MetricSource {
 public:
  absl::StatusOr<Observation> Observe() override {
    if (fail) return absl::UnavailableError("metrics down");
    Observation o;
    o.now = 30;
    o.utilization = 0.9;
    return o;
  }
  bool fail = false;
};

class ConstantForecast : public ForecastSource {
 public:
  Forecast Predict(const Observation&) override {
    Forecast f;
    f.horizons = {300};
    f.p10 = {90};
    f.p50 = {100};
    f.p90 = {110};
    return f;
  }
};

// Scales out one node when utilisation is high, and remembers what it saw.
class RecordingPolicy : public Policy {
 public:
  std::string_view name() const override { return "recording"; }
  Plan Decide(const Observation& obs) override {
    seen.push_back(obs);
    Plan p;
    if (obs.utilization > 0.8) {
      Action a;
      a.kind = ActionKind::kScaleOut;
      a.count = 1;
      p.actions.push_back(a);
    }
    return p;
  }
  std::vector<Observation> seen;
};

class RecordingActuator : public Actuator {
 public:
  absl::Status Apply(const Plan& plan, const Observation&) override {
    applied.push_back(plan);
    return absl::OkStatus();
  }
  std::vector<Plan> applied;
};

TEST(ControlLoop, ObservesForecastsDecidesActs) {
  FixedMetrics metrics;
  ConstantForecast forecaster;
  RecordingPolicy policy;
  RecordingActuator actuator;
  ControlLoop loop(metrics, &forecaster, policy, actuator);
  absl::StatusOr<Plan> plan = loop.Step();
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(policy.seen.size(), 1u);
  EXPECT_EQ(policy.seen[0].forecast.p50, std::vector<double>{100});
  ASSERT_EQ(actuator.applied.size(), 1u);
  ASSERT_EQ(actuator.applied[0].actions.size(), 1u);
  EXPECT_EQ(actuator.applied[0].actions[0].kind, ActionKind::kScaleOut);
}

TEST(ControlLoop, WithoutForecasterTheForecastIsEmpty) {
  FixedMetrics metrics;
  RecordingPolicy policy;
  RecordingActuator actuator;
  ControlLoop loop(metrics, nullptr, policy, actuator);
  ASSERT_TRUE(loop.Step().ok());
  EXPECT_TRUE(policy.seen[0].forecast.empty());
}

TEST(ControlLoop, AMetricsFailureStopsTheStepBeforeAnyAction) {
  FixedMetrics metrics;
  metrics.fail = true;
  RecordingPolicy policy;
  RecordingActuator actuator;
  ControlLoop loop(metrics, nullptr, policy, actuator);
  EXPECT_EQ(loop.Step().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(policy.seen.empty());
  EXPECT_TRUE(actuator.applied.empty());
}

}  // namespace
}  // namespace meshtwin
