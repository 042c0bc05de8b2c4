// Sizing: how many nodes a pool needs for a demand, given the capacity the
// other pools bring. Shared by the predictive and oracle policies so that
// their node counts mean the same thing.
//
//   PoolSizing s{types, workload, slo, /*pool=*/1};
//   int n = s.NodesFor(/*demand_rps=*/9000, /*fixed_speed=*/4.8e11, /*target_utilization=*/0.8);
#pragma once

#include <vector>

#include "twin/types.h"

namespace meshtwin {

struct PoolSizing {
  std::vector<NodeTypeSpec> types;
  WorkloadSpec workload;
  SloSpec slo;
  int pool = 0;  // the node type being sized

  // Flop/s the ready nodes of every other pool bring, from an observation.
  double FixedSpeed(const Observation& obs) const;

  // The smallest node count n of `pool` (not clamped to min/max) such that
  // `demand_rps` spread over `fixed_speed` + n pool nodes in proportion to
  // speed (as the mesh balances) keeps fleet utilisation at or below
  // `target_utilization` and the SLO's utilisation ceiling, and each node's
  // M/M/c mean latency (MmcMeanLatency in twin/mesh.h) at or below the SLO's
  // latency target (when it has one). 0 when the fixed pools suffice.
  int NodesFor(double demand_rps, double fixed_speed, double target_utilization) const;
};

}  // namespace meshtwin
