#include "policies/oracle_policy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace meshtwin {

OraclePolicy::OraclePolicy(PoolSizing sizing, OracleOptions options, DemandFunction demand,
                           std::vector<DemandFunction> role_demand)
    : sizing_(std::move(sizing)),
      options_(options),
      demand_(std::move(demand)),
      role_demand_(std::move(role_demand)) {}

Plan OraclePolicy::DecideByRole(const Observation& obs) {
  const std::size_t roles = role_demand_.size();
  const NodeTypeSpec& spec = sizing_.types[static_cast<std::size_t>(sizing_.pool)];
  // Per role: the other pools' ready nodes (as an observation, so NodesFor
  // holds them to the latency target too), the pool's nodes, the backlog.
  std::vector<Observation> fixed(roles);
  for (Observation& f : fixed) {
    f.pools.resize(sizing_.types.size());
    for (std::size_t t = 0; t < f.pools.size(); ++t) f.pools[t].node_type = static_cast<int>(t);
  }
  std::vector<double> queued(roles, 0);
  std::vector<int> have(roles, 0);
  int total = 0;
  for (const NodeObservation& n : obs.nodes) {
    const std::size_t r = static_cast<std::size_t>(n.role);
    if (r >= roles) continue;
    queued[r] += n.queued[0] + n.queued[1] + n.queued[2];
    if (n.type == sizing_.pool) {
      if (n.state == NodeState::kReady || n.state == NodeState::kBooting ||
          n.state == NodeState::kSwitching) {
        ++have[r];
        ++total;
      }
    } else if (n.state == NodeState::kReady && n.type >= 0 &&
               static_cast<std::size_t>(n.type) < sizing_.types.size()) {
      ++fixed[r].pools[static_cast<std::size_t>(n.type)].ready;
    }
  }
  const int ticks_ahead =
      static_cast<int>(std::ceil((spec.boot_time + obs.interval) / obs.interval));
  std::vector<int> need(roles, 0);
  int need_total = 0;
  for (std::size_t r = 0; r < roles; ++r) {
    for (int k = 0; k <= ticks_ahead; ++k) {
      const Seconds t0 = obs.now + k * obs.interval;
      double rps = role_demand_[r](t0, t0 + obs.interval);
      if (k == 0) rps += queued[r] / obs.interval;
      need[r] = std::max(need[r], sizing_.NodesFor(rps, fixed[r], options_.target_utilization));
    }
    need_total += need[r];
  }
  // The pool's bounds apply to its total: trim the largest needs first when
  // over the maximum, pad the smallest roles when under the minimum.
  while (need_total > options_.max_replicas) {
    --*std::max_element(need.begin(), need.end());
    --need_total;
  }
  while (need_total < options_.min_replicas) {
    ++*std::min_element(need.begin(), need.end());
    ++need_total;
  }
  Plan plan;
  int running = total;
  for (std::size_t r = 0; r < roles; ++r) {
    if (need[r] == have[r]) continue;
    Action a;
    a.kind = need[r] > have[r] ? ActionKind::kScaleOut : ActionKind::kScaleIn;
    a.node_type = sizing_.pool;
    a.role = static_cast<int>(r);
    a.count = std::abs(need[r] - have[r]);
    a.replicas_before = running;
    running += need[r] - have[r];
    a.replicas_after = running;
    char reason[96];
    std::snprintf(reason, sizeof(reason), "oracle: role %zu needs %d of the pool (has %d)", r,
                  need[r], have[r]);
    a.reason = reason;
    plan.actions.push_back(std::move(a));
  }
  return plan;
}

Plan OraclePolicy::Decide(const Observation& obs) {
  if (role_demand_.size() > 1 && !obs.nodes.empty() && obs.interval > 0 && sizing_.pool >= 0 &&
      static_cast<std::size_t>(sizing_.pool) < sizing_.types.size()) {
    return DecideByRole(obs);
  }
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
