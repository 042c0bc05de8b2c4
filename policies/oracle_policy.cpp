#include "policies/oracle_policy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

namespace meshtwin {

OraclePolicy::OraclePolicy(PoolSizing sizing, OracleOptions options, DemandFunction demand)
    : sizing_(std::move(sizing)), options_(options), demand_(std::move(demand)) {}

Plan OraclePolicy::Decide(const Observation& obs) {
  const PoolObservation* pool = nullptr;
  for (const PoolObservation& candidate : obs.pools) {
    if (candidate.node_type == sizing_.pool) {
      pool = &candidate;
      break;
    }
  }
  if (pool == nullptr || !demand_ || !(obs.interval > 0) || sizing_.pool < 0 ||
      static_cast<std::size_t>(sizing_.pool) >= sizing_.types.size()) {
    return {};
  }
  const NodeTypeSpec& spec = sizing_.types[static_cast<std::size_t>(sizing_.pool)];
  const Seconds now = obs.now;
  const Seconds dt = obs.interval;
  // Same count as the predictive policy, so the two compare like for like.
  const int current = pool->ready + pool->booting + pool->switching;

  // A node started now is ready at now + boot_time and serves from the first
  // tick starting then or later, so tick ceil(boot / dt) is the earliest it can
  // cover. Looking one tick beyond the boot time leaves a tick's margin for an
  // actuator that carries the plan out during the tick rather than at its
  // start; looking no further keeps the oracle from paying for nodes before
  // any tick could use them.
  const int ticks_ahead = static_cast<int>(std::ceil((spec.boot_time + dt) / dt));
  int need = 0;
  double need_rps = 0;
  Seconds need_at = 0;
  for (int k = 0; k <= ticks_ahead; ++k) {
    const Seconds t0 = now + k * dt;
    double rps = demand_(t0, t0 + dt);
    // The backlog has to be served in the coming tick as well, or it is latency.
    if (k == 0) rps += std::max(obs.queued_requests, 0.0) / dt;
    const int needed = sizing_.NodesFor(rps, obs, options_.target_utilization);
    if (k == 0 || needed > need) {
      need = needed;
      need_rps = rps;
      need_at = k * dt;
    }
  }
  const int desired = std::min(std::max(need, options_.min_replicas), options_.max_replicas);
  if (desired == current) return {};

  char reason[96];
  std::snprintf(reason, sizeof(reason), "oracle: %.0f req/s at +%.0fs needs %d", need_rps, need_at,
                need);
  Action action;
  action.kind = desired > current ? ActionKind::kScaleOut : ActionKind::kScaleIn;
  action.node_type = sizing_.pool;
  action.count = desired > current ? desired - current : current - desired;
  action.replicas_before = current;
  action.replicas_after = desired;
  action.metric = need_rps;
  action.reason = reason;
  if (desired != need) {
    const bool capped = desired == options_.max_replicas;
    std::snprintf(reason, sizeof(reason), capped ? ", capped at max %d" : ", held at min %d",
                  desired);
    action.reason += reason;
  }
  Plan plan;
  plan.actions.push_back(std::move(action));
  return plan;
}

}  // namespace meshtwin
