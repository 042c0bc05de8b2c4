// The oracle: sees the true future demand and keeps exactly the capacity
// needed, starting nodes one boot time ahead. Not a policy anyone could run;
// the lower bound on cost at zero SLO violations that the others are judged
// against.
//
//   OraclePolicy o(sizing, options, [&trace](Seconds t0, Seconds t1) { return ...; });
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "policies/capacity.h"
#include "twin/policy.h"

namespace meshtwin {

// Mean demand (requests/s) over run time [t0, t1).
using DemandFunction = std::function<double(Seconds t0, Seconds t1)>;

struct OracleOptions {
  int min_replicas = 1;
  int max_replicas = 10;
  double target_utilization = 1.0;  // 1: only the SLO (latency, ceiling) bounds the sizing
};

// Sizes one pool (sizing.pool) with PoolSizing::NodesFor against the ready
// nodes of the other pools as observed. Replicas are the pool's ready, booting
// and switching nodes, as for PredictivePolicy. Deterministic if `demand` is;
// not thread-safe.
//
// With roles (`role_demand` holds one function per role, two or more), each
// role is sized on its own future demand against the other pools' ready nodes
// holding it, and the pool's nodes are added to and removed from each role
// separately (kScaleOut / kScaleIn with `role`): a mesh whose roles each have
// exactly what they need, which a fleet-wide count cannot promise.
class OraclePolicy : public Policy {
 public:
  OraclePolicy(PoolSizing sizing, OracleOptions options, DemandFunction demand,
               std::vector<DemandFunction> role_demand = {});
  std::string_view name() const override { return "oracle"; }
  bool wants_node_view() const override { return role_demand_.size() > 1; }
  // Keeps, at every tick from now until now + boot time + one interval, the
  // nodes each of those ticks needs: scale out early enough for the largest,
  // scale in at once to what the coming ticks need. Tick k = 0..K, K =
  // ceil((boot_time + interval) / interval), needs NodesFor(mean demand over
  // [now + k interval, now + (k + 1) interval)), plus, for k = 0, the observed
  // backlog served within that tick.
  Plan Decide(const Observation& obs) override;

 private:
  PoolSizing sizing_;
  OracleOptions options_;
  DemandFunction demand_;
  std::vector<DemandFunction> role_demand_;

  Plan DecideByRole(const Observation& obs);
};

}  // namespace meshtwin
