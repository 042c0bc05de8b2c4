#include "policies/hpa_policy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

namespace meshtwin {
namespace {

// getReplicasChangePerPeriod. The comparison is strict (time.After): an event
// exactly one period old no longer counts, so a 15 s sync gets a fresh budget
// for a 15 s rule on every tick.
int ReplicasChangedInPeriod(Seconds period, const std::vector<HpaScaleEvent>& events, Seconds now) {
  const Seconds cutoff = now - period;
  int replicas = 0;
  for (const HpaScaleEvent& event : events) {
    if (event.time > cutoff) replicas += event.change;
  }
  return replicas;
}

Seconds LongestPeriod(const HpaScalingBehavior& behavior) {
  Seconds longest = 0;
  for (const HpaScalingRule& rule : behavior.rules) longest = std::max(longest, rule.period);
  return longest;
}

// The replica count at the start of a rule's period: undo what recent events
// did, so several small steps cannot add up to more than one rule allows.
int PeriodStartReplicas(int current_replicas, const std::vector<HpaScaleEvent>& up_events,
                        const std::vector<HpaScaleEvent>& down_events, Seconds period,
                        Seconds now) {
  return current_replicas - ReplicasChangedInPeriod(period, up_events, now) +
         ReplicasChangedInPeriod(period, down_events, now);
}

// storeScaleEvent for one direction. Upstream marks events older than the
// longest period "outdated" and overwrites the last such one; with a fixed rule
// set and a clock that never goes back, "outdated" is just "older than the
// cutoff", so no flag needs to be stored.
void StoreEvent(std::vector<HpaScaleEvent>& events, Seconds longest_period, int change,
                Seconds now) {
  const Seconds cutoff = now - longest_period;
  bool found_old = false;
  std::size_t old_index = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].time < cutoff) {
      found_old = true;
      old_index = i;
    }
  }
  const HpaScaleEvent event{now, change};
  if (found_old) {
    events[old_index] = event;
  } else {
    events.push_back(event);
  }
}

std::string Format(const char* prefix, double value, const char* op, double target) {
  char buffer[96];
  std::snprintf(buffer, sizeof(buffer), "%s %.2f %s target %.2f", prefix, value, op, target);
  return buffer;
}

std::string FormatBound(const char* what, int value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s %d", what, value);
  return buffer;
}

// GetResourceUtilizationRatio in integer arithmetic, as upstream: usage and
// requests in millicores (each node requests 1000), utilisation floored to a
// whole percent. Flooring also keeps ratios such as 192/280/0.6 x 7 = 8.0 from
// rounding up to 9 through floating-point noise.
double UtilizationRatio(const std::vector<double>& utilization, int idle_pods, int target_percent) {
  constexpr std::int64_t kRequestMilli = 1000;
  std::int64_t usage_total = 0;
  for (double u : utilization) usage_total += std::llround(u * kRequestMilli);
  const std::int64_t requests_total =
      kRequestMilli * static_cast<std::int64_t>(utilization.size() + static_cast<std::size_t>(idle_pods));
  const std::int64_t current_percent = usage_total * 100 / requests_total;
  return static_cast<double>(current_percent) / target_percent;
}

}  // namespace

int CalcUtilizationReplicas(int current_replicas, const std::vector<double>& ready_utilization,
                            int unready_pods, double target_utilization, double tolerance) {
  // The HPA's target is a whole percentage (targetAverageUtilization).
  const int target_percent = static_cast<int>(std::lround(target_utilization * 100));
  // Upstream fails the sync ("did not receive metrics for any ready pods") and
  // leaves the scale alone; an invalid target would do the same at validation.
  if (ready_utilization.empty() || target_percent <= 0) return current_replicas;

  const int ready_count = static_cast<int>(ready_utilization.size());
  const double usage_ratio = UtilizationRatio(ready_utilization, 0, target_percent);

  // Booting pods only matter on a scale-up: they will soon take load, so they
  // are assumed idle to damp the jump. On a scale-down they are left out.
  const bool scale_up_with_unready = unready_pods > 0 && usage_ratio > 1.0;
  if (!scale_up_with_unready) {
    if (std::abs(1.0 - usage_ratio) <= tolerance) return current_replicas;
    return static_cast<int>(std::ceil(usage_ratio * ready_count));
  }

  const int counted = ready_count + unready_pods;
  const double new_usage_ratio = UtilizationRatio(ready_utilization, unready_pods, target_percent);
  if (std::abs(1.0 - new_usage_ratio) <= tolerance ||
      (usage_ratio < 1.0 && new_usage_ratio > 1.0) ||
      (usage_ratio > 1.0 && new_usage_ratio < 1.0)) {
    return current_replicas;
  }
  const int new_replicas = static_cast<int>(std::ceil(new_usage_ratio * counted));
  if ((new_usage_ratio < 1.0 && new_replicas > current_replicas) ||
      (new_usage_ratio > 1.0 && new_replicas < current_replicas)) {
    return current_replicas;
  }
  return new_replicas;
}

int ScaleUpLimit(int current_replicas, const std::vector<HpaScaleEvent>& up_events,
                 const std::vector<HpaScaleEvent>& down_events, const HpaScalingBehavior& rules,
                 Seconds now) {
  if (rules.select == HpaScalingBehavior::Select::kDisabled) return current_replicas;
  const bool pick_min = rules.select == HpaScalingBehavior::Select::kMin;
  // Starting from the identity of the chosen fold keeps upstream's answer for
  // an empty rule list (no scale-up under Max, unbounded under Min).
  int result = pick_min ? std::numeric_limits<int>::max() : std::numeric_limits<int>::min();
  for (const HpaScalingRule& rule : rules.rules) {
    const int start =
        PeriodStartReplicas(current_replicas, up_events, down_events, rule.period, now);
    int proposed = 0;
    if (rule.type == HpaScalingRule::Type::kPods) {
      proposed = start + rule.value;
    } else {
      // Rounded up so that a small pool can always grow by at least one.
      proposed = static_cast<int>(
          std::ceil(static_cast<double>(start) * (1 + static_cast<double>(rule.value) / 100)));
    }
    result = pick_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int ScaleDownLimit(int current_replicas, const std::vector<HpaScaleEvent>& up_events,
                   const std::vector<HpaScaleEvent>& down_events, const HpaScalingBehavior& rules,
                   Seconds now) {
  if (rules.select == HpaScalingBehavior::Select::kDisabled) return current_replicas;
  // For a scale-down the smallest change is the largest limit, hence the swap.
  const bool pick_min_change = rules.select == HpaScalingBehavior::Select::kMin;
  int result = pick_min_change ? std::numeric_limits<int>::min() : std::numeric_limits<int>::max();
  for (const HpaScalingRule& rule : rules.rules) {
    const int start =
        PeriodStartReplicas(current_replicas, up_events, down_events, rule.period, now);
    int proposed = 0;
    if (rule.type == HpaScalingRule::Type::kPods) {
      proposed = start - rule.value;
    } else {
      // Truncated (Go's int32 conversion), so a percentage never removes more
      // than it says.
      proposed = static_cast<int>(static_cast<double>(start) *
                                  (1 - static_cast<double>(rule.value) / 100));
    }
    result = pick_min_change ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

HpaPolicy::HpaPolicy(HpaOptions options) : options_(std::move(options)) {}

int HpaPolicy::Normalize(int current, int desired, Seconds now) {
  // stabilizeRecommendationWithBehaviors: the up window holds a scale-up to the
  // lowest recent recommendation, the down window holds a scale-down to the
  // highest, so a short spike or dip is ignored.
  const Seconds up_cutoff = now - options_.scale_up.stabilization_window;
  const Seconds down_cutoff = now - options_.scale_down.stabilization_window;
  int up_recommendation = desired;
  int down_recommendation = desired;
  bool found_old = false;
  std::size_t old_index = 0;
  for (std::size_t i = 0; i < recommendations_.size(); ++i) {
    const Recommendation& rec = recommendations_[i];
    if (rec.time > up_cutoff) up_recommendation = std::min(rec.replicas, up_recommendation);
    if (rec.time > down_cutoff) down_recommendation = std::max(rec.replicas, down_recommendation);
    if (rec.time < up_cutoff && rec.time < down_cutoff) {
      found_old = true;
      old_index = i;
    }
  }
  int stabilized = current;
  if (stabilized < up_recommendation) stabilized = up_recommendation;
  if (stabilized > down_recommendation) stabilized = down_recommendation;
  // The raw recommendation is what later windows compare against, not the
  // stabilised one; reusing an expired slot keeps the history bounded.
  const Recommendation record{now, desired};
  if (found_old) {
    recommendations_[old_index] = record;
  } else {
    recommendations_.push_back(record);
  }
  last_stabilized_ = stabilized;

  // convertDesiredReplicasWithBehaviorRate.
  if (stabilized > current) {
    int limit = ScaleUpLimit(current, up_events_, down_events_, options_.scale_up, now);
    // A limit below current means recent scale-downs used the budget; it must
    // not turn a scale-up into a scale-down.
    limit = std::max(limit, current);
    const int maximum_allowed = std::min(options_.max_replicas, limit);
    return std::min(stabilized, maximum_allowed);
  }
  if (stabilized < current) {
    int limit = ScaleDownLimit(current, up_events_, down_events_, options_.scale_down, now);
    // A limit above current means recent removals (say, down to max) exceeded
    // the rules; it must not turn a scale-down into a scale-up.
    limit = std::min(limit, current);
    const int minimum_allowed = std::max(options_.min_replicas, limit);
    return std::max(stabilized, minimum_allowed);
  }
  return stabilized;
}

void HpaPolicy::StoreScaleEvent(int previous, int next, Seconds now) {
  if (next > previous) {
    StoreEvent(up_events_, LongestPeriod(options_.scale_up), next - previous, now);
  } else {
    StoreEvent(down_events_, LongestPeriod(options_.scale_down), previous - next, now);
  }
}

Plan HpaPolicy::Decide(const Observation& obs) {
  const PoolObservation* pool = nullptr;
  for (const PoolObservation& candidate : obs.pools) {
    if (candidate.node_type == options_.node_type) {
      pool = &candidate;
      break;
    }
  }
  if (pool == nullptr) return {};

  const Seconds now = obs.now;
  // Draining nodes are already on their way out, like terminating pods that
  // the scale subresource no longer counts.
  const int current = pool->ready + pool->booting;
  // recordInitialRecommendation: the size the HPA found on its first sync
  // counts as a recommendation, so it cannot scale down straight away.
  if (recommendations_.empty()) recommendations_.push_back({now, current});

  int desired = current;
  std::string reason;
  if (current > options_.max_replicas) {
    desired = options_.max_replicas;
    reason = FormatBound("replicas above max", options_.max_replicas);
  } else if (current < options_.min_replicas) {
    desired = options_.min_replicas;
    reason = FormatBound("replicas below min", options_.min_replicas);
  } else {
    // No ready node means no metric: upstream aborts the sync before it
    // records a recommendation, and so do we.
    // groupPods: a pod ready for less than one metric window has no usable
    // sample yet and counts as unready, like a booting one.
    const int with_metrics = pool->ready - pool->ready_without_metrics;
    if (with_metrics <= 0) return {};
    const std::vector<double> ready_utilization(static_cast<std::size_t>(with_metrics),
                                                pool->utilization);
    const int unready = pool->booting + pool->ready_without_metrics;
    const int recommended = CalcUtilizationReplicas(
        current, ready_utilization, unready, options_.target_utilization, options_.tolerance);
    desired = Normalize(current, recommended, now);
    if (desired == current) return {};
    reason = Format("cpu", pool->utilization, desired > current ? ">" : "<",
                    options_.target_utilization);
    if (last_stabilized_ != recommended) {
      reason += desired > current ? ", scale-up stabilised" : ", scale-down stabilised";
    }
    if (desired != last_stabilized_) {
      if (desired == options_.max_replicas) {
        reason += FormatBound(", capped at max", options_.max_replicas);
      } else if (desired == options_.min_replicas) {
        reason += FormatBound(", held at min", options_.min_replicas);
      } else {
        reason += ", rate limited";
      }
    }
  }
  if (desired == current) return {};

  StoreScaleEvent(current, desired, now);
  Action action;
  action.kind = desired > current ? ActionKind::kScaleOut : ActionKind::kScaleIn;
  action.node_type = options_.node_type;
  action.count = desired > current ? desired - current : current - desired;
  action.replicas_before = current;
  action.replicas_after = desired;
  action.metric = pool->utilization;
  action.reason = std::move(reason);
  Plan plan;
  plan.actions.push_back(std::move(action));
  return plan;
}

}  // namespace meshtwin
