// The Kubernetes Horizontal Pod Autoscaler, as coded in
// pkg/controller/podautoscaler (replica_calculator.go, horizontal.go) with the
// autoscaling/v2 default behaviour (pkg/apis/autoscaling/v2/defaults.go),
// applied to one node pool: nodes are the "pods", CPU utilisation the metric.
//
//   HpaOptions o;  o.node_type = 1;  o.min_replicas = 2;  o.max_replicas = 40;
//   HpaPolicy hpa(o);
//   Plan p = hpa.Decide(observation);   // once per 15 s sync period
#pragma once

#include <deque>
#include <string_view>
#include <vector>

#include "twin/policy.h"

namespace meshtwin {

// One HPAScalingPolicy: at most `value` pods (or percent) per `period`.
struct HpaScalingRule {
  enum class Type { kPods, kPercent };
  Type type = Type::kPods;
  int value = 4;
  Seconds period = 15;
};

// HPAScalingRules: a stabilisation window, how to pick among rules, the rules.
struct HpaScalingBehavior {
  enum class Select { kMax, kMin, kDisabled };
  Seconds stabilization_window = 0;
  Select select = Select::kMax;
  std::vector<HpaScalingRule> rules;
};

struct HpaOptions {
  int node_type = 0;                 // index of the pool (node type) the HPA scales
  double target_utilization = 0.6;  // target average CPU utilisation, 0..1
  double tolerance = 0.1;            // --horizontal-pod-autoscaler-tolerance
  int min_replicas = 1;
  int max_replicas = 10;
  // Defaults of autoscaling/v2: scale up by max(4 pods, 100 %) per 15 s, no window.
  HpaScalingBehavior scale_up{0, HpaScalingBehavior::Select::kMax,
                              {{HpaScalingRule::Type::kPods, 4, 15},
                               {HpaScalingRule::Type::kPercent, 100, 15}}};
  // ... scale down by up to 100 % per 15 s after a 300 s stabilisation window.
  HpaScalingBehavior scale_down{300, HpaScalingBehavior::Select::kMax,
                                {{HpaScalingRule::Type::kPercent, 100, 15}}};
};

// ReplicaCalculator.GetResourceReplicas for a utilisation metric, without
// missing pods: `ready_utilization` holds one value per ready pod (0..1 of its
// request), `unready_pods` counts pods not ready yet (booting). Returns the
// desired replica count before behaviour normalisation.
int CalcUtilizationReplicas(int current_replicas, const std::vector<double>& ready_utilization,
                            int unready_pods, double target_utilization, double tolerance);

// Scale-up and scale-down limits of horizontal.go given recent scale events.
struct HpaScaleEvent {
  Seconds time = 0;
  int change = 0;  // replicas added (scale-up list) or removed (scale-down list), > 0
};
int ScaleUpLimit(int current_replicas, const std::vector<HpaScaleEvent>& up_events,
                 const std::vector<HpaScaleEvent>& down_events, const HpaScalingBehavior& rules,
                 Seconds now);
int ScaleDownLimit(int current_replicas, const std::vector<HpaScaleEvent>& up_events,
                   const std::vector<HpaScaleEvent>& down_events, const HpaScalingBehavior& rules,
                   Seconds now);

// The HPA controller for one pool. Deterministic; not thread-safe.
class HpaPolicy : public Policy {
 public:
  explicit HpaPolicy(HpaOptions options);
  std::string_view name() const override { return "hpa"; }
  Plan Decide(const Observation& obs) override;

  const HpaOptions& options() const { return options_; }

 private:
  struct Recommendation {
    Seconds time;
    int replicas;
  };
  // normalizeDesiredReplicasWithBehaviors: stabilisation, then rate limits.
  int Normalize(int current, int desired, Seconds now);
  // storeScaleEvent: reuses one slot older than the longest rule period.
  void StoreScaleEvent(int previous, int next, Seconds now);

  HpaOptions options_;
  std::vector<Recommendation> recommendations_;
  std::vector<HpaScaleEvent> up_events_, down_events_;
  // The stabilised recommendation of the last Normalize, kept so Decide can
  // say whether stabilisation or a rate limit shaped the action.
  int last_stabilized_ = 0;
};

}  // namespace meshtwin
