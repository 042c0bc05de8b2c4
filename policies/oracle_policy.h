// The oracle: sees the true future demand and keeps exactly the capacity
// needed, starting nodes one boot time ahead. Not a policy anyone could run;
// the lower bound on cost at zero SLO violations that the others are judged
// against.
//
//   OraclePolicy o(sizing, options, [&trace](Seconds t0, Seconds t1) { return ...; });
#pragma once

#include <functional>
#include <string_view>

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

class OraclePolicy : public Policy {
 public:
  OraclePolicy(PoolSizing sizing, OracleOptions options, DemandFunction demand);
  std::string_view name() const override { return "oracle"; }
  // Keeps, at every tick from now until now + boot time + one interval, the
  // nodes each of those ticks needs: scale out early enough for the largest,
  // scale in at once to what the coming ticks need.
  Plan Decide(const Observation& obs) override;

 private:
  PoolSizing sizing_;
  OracleOptions options_;
  DemandFunction demand_;
};

}  // namespace meshtwin
