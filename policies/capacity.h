// Sizing: how many nodes a pool needs for a demand, given the capacity the
// other pools bring. Shared by the predictive and oracle policies so that
// their node counts mean the same thing.
//
//   PoolSizing s{types, workload, slo, /*pool=*/1};
//   int n = s.NodesFor(/*demand_rps=*/9000, /*fixed_speed=*/4.8e11, /*target_utilization=*/0.8);
//   int m = s.NodesFor(9000, observation, 0.8);  // fixed capacity (and its latency) from obs
//
// Plain values and pure functions; safe to share between threads once built.
#pragma once

#include <vector>

#include "twin/types.h"

namespace meshtwin {

struct PoolSizing {
  // NodesFor never answers more than this: it bounds the search when a
  // latency target is barely above the service time.
  static constexpr int kMaxNodes = 100000;

  std::vector<NodeTypeSpec> types;
  WorkloadSpec workload;
  SloSpec slo;
  int pool = 0;  // the node type being sized

  // Flop/s the ready nodes of every other pool bring, from an observation.
  // Booting, draining and switching nodes take no new work, so they bring none.
  double FixedSpeed(const Observation& obs) const;

  // The smallest node count n of `pool` (not clamped to min/max) such that
  // `demand_rps` spread over `fixed_speed` + n pool nodes in proportion to
  // speed (as the mesh balances) keeps fleet utilisation at or below
  // `target_utilization` and the SLO's utilisation ceiling, and each node's
  // M/M/c mean latency (MmcMeanLatency in twin/mesh.h) at or below the SLO's
  // latency target (when it has one). 0 when the fixed pools suffice.
  //
  // This overload knows how fast the fixed pools are but not of which types,
  // so only the pool's own nodes are held to the latency target; the overload
  // below also holds the other pools' ready nodes to it.
  // Edge cases: a demand <= 0 needs 0 nodes; a target_utilization outside
  // (0, 1] is clamped to 1 (a fleet cannot run above 100 %, and <= 0 is read as
  // "no target of its own"); a ceiling <= 0 is ignored like one >= 1. When the
  // pool's own nodes cannot meet the latency target at any size (the service
  // time request_work / core_speed alone reaches it), the latency target is
  // given up and the utilisation bound returned: more nodes would only cost.
  // At most kMaxNodes.
  int NodesFor(double demand_rps, double fixed_speed, double target_utilization) const;

  // As above with fixed_speed = FixedSpeed(obs), and the latency target also
  // held for the ready nodes of every other pool in `obs`: every node gets
  // demand x its speed / total speed, so adding pool nodes relieves them too,
  // and the SLO judges the mean over all of them. A fixed type that could not
  // meet the target at any size is left out of that check.
  int NodesFor(double demand_rps, const Observation& obs, double target_utilization) const;
};

}  // namespace meshtwin
