// Injects a scenario's faults (twin/faults.h) into the mesh model at the
// start of each tick, places nodes on the topology's racks, keeps their
// reachability and paths in step with the network (twin/topology.h), and
// measures how the control loop copes: detection delays, recovery times,
// partitions. No SimGrid: the simulator calls it between ticks.
//
//   FaultInjector f = *FaultInjector::Create(scenario.faults, scenario.node_types, seed);
//   each tick: f.Apply(mesh, now); if (!f.ManagerDown(now)) loop.Step();
//   each action carried out: f.OnAction(action, replacement_id, now);
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "twin/faults.h"
#include "twin/mesh.h"
#include "twin/status.h"
#include "twin/topology.h"
#include "twin/types.h"

namespace meshtwin {

struct FaultStats {
  int node_failures = 0;    // nodes crashed (one by one, by MTBF, or with their rack or zone)
  int domain_failures = 0;  // racks and zones lost at once
  int gray_failures = 0;    // nodes slowed or made to fail requests
  int partitions = 0;       // groups of racks cut off together (one each, however many nodes)
  int manager_outages = 0;
  std::vector<double>
      detection_delays;  // failure (or gray start, or cut) -> first action on the node
  std::vector<double> recovery_times;  // failure -> its replacement ready
  int undetected = 0;                  // failures with no action on the node by the end of the run
};

class FaultInjector {
 public:
  // InvalidArgument naming the key if the faults refer to what the scenario
  // lacks (a node type, a rack or zone the topology does not have).
  static absl::StatusOr<FaultInjector> Create(const FaultsSpec& spec,
                                              const std::vector<NodeTypeSpec>& types,
                                              std::uint64_t seed);

  // Applies every fault due by `now` (and undoes those whose duration is
  // over), places new nodes on racks (round robin, skipping lost or cut-off
  // racks) and updates every node's reachability and path.
  void Apply(MeshModel& mesh, Seconds now);
  // The manager is down: no observation, no decision.
  bool ManagerDown(Seconds now) const;
  // The control loop acted on a node: the first action on a failed node
  // detects it; `replacement` (>= 0 for kReplace) is the node launched in its
  // place, whose readiness ends the recovery.
  void OnAction(const Action& action, int replacement, Seconds now);
  // Closes the books at the end of the run.
  FaultStats Finish() const;

  const MeshTopology& topology() const { return topology_; }

 private:
  FaultInjector(const FaultsSpec& spec, MeshTopology topology, std::uint64_t seed);

  struct Failure {
    int node = -1;
    Seconds start = 0;
    Seconds detected = -1;
    int replacement = -1;
    Seconds recovered = -1;
  };
  struct Timed {
    Seconds at;
    int kind;  // index into the spec's lists, by kind (see Apply)
    int index;
    bool end;  // the end of a fault with a duration
  };

  void CrashNode(MeshModel& mesh, int id, Seconds now);
  std::vector<int> Pick(const MeshModel& mesh, int node_type, int count);
  std::vector<int> NodesIn(const MeshModel& mesh, const FailureDomain& d) const;
  void UpdateNetwork(MeshModel& mesh, Seconds now);

  FaultsSpec spec_;
  MeshTopology topology_;
  std::mt19937_64 rng_;
  std::vector<Timed> timeline_;  // sorted by time
  std::size_t next_ = 0;
  std::vector<char> placed_;                       // by node id
  std::vector<double> mtbf_by_type_;               // 0: none
  std::vector<std::pair<Seconds, int>> mtbf_due_;  // (when, node), kept sorted
  std::vector<char> rack_down_;                    // lost racks (domain failures)
  std::vector<int> rack_cut_;  // cuts covering the rack (counted, overlapping faults)
  std::vector<Failure> failures_;
  std::vector<std::vector<int>> gray_nodes_;  // by gray spec: the nodes it hit
  std::vector<std::vector<int>> partitions_;  // the current ones
  FaultStats stats_;
};

}  // namespace meshtwin
