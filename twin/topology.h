// The mesh's network as a graph (core, two aggregation switches per zone, one
// switch per rack; twin/faults.h describes the shape): which racks the
// manager at the core can still reach once switches and links fail, over
// which route, at what latency and loss, and which racks are cut off together.
//
//   MESHTWIN_ASSIGN_OR_RETURN(MeshTopology topo, MeshTopology::Create(spec.topology));
//   topo.SetCut({FailureDomain::Kind::kZone, 1}, true);
//   for (int id : nodes) node.unreachable = !topo.RackReachable(topo.RackOfNode(id));
//   for (const std::vector<int>& racks : topo.Partitions()) ReportPartition(racks);
//
// Faults are kept per failure domain, so overlapping faults compose (a link
// is down while any domain holding it is cut; factors multiply; losses
// compound) and clearing one fault leaves the others in place. Routes are
// recomputed lazily, at the first query after a change: O((V + E) log V),
// V = 1 + 2 zones + racks, E = 2 zones + 2 racks.
//
// Not thread-safe, not even for concurrent const calls (they may recompute).
#pragma once

#include <memory>
#include <vector>

#include "twin/faults.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

class MeshTopology {
 public:
  // The largest topology Create accepts, in racks.
  static constexpr int kMaxRacks = 10000;
  // Latency factors are clamped to [1, kMaxLatencyFactor] so sums stay finite.
  static constexpr double kMaxLatencyFactor = 1e9;

  // One vertex of the graph, for viewers. vertices()[i] is vertex i; the
  // order is the core, then zone z's aggregation switches (2z, 2z + 1), then
  // the racks in index order.
  struct Vertex {
    enum class Kind { kCore, kAggregation, kRack };
    Kind kind = Kind::kCore;
    int zone = -1;          // -1 for the core
    int index = 0;          // kAggregation: switch 0 or 1 of its zone; kRack: rack index
    bool reachable = true;  // a path of up links leads here from the core
  };
  // One link, for viewers: `from` is the end nearer the core.
  struct Edge {
    int from = 0, to = 0;  // indices into vertices()
    bool up = true;
    double latency_factor = 1;  // product of the factors of the domains holding it
    double loss = 0;            // share of requests lost crossing it
    Seconds latency = 0;        // one way: hop_latency x latency_factor
  };

  // InvalidArgument naming the field ("faults.topology.zones: ...") unless
  // zones >= 1, racks_per_zone >= 1, zones x racks_per_zone <= kMaxRacks and
  // hop_latency is finite and >= 0.
  static absl::StatusOr<MeshTopology> Create(const TopologySpec& spec);

  MeshTopology(const MeshTopology& other);
  MeshTopology& operator=(const MeshTopology& other);
  MeshTopology(MeshTopology&&) noexcept;
  MeshTopology& operator=(MeshTopology&&) noexcept;
  ~MeshTopology();

  int zones() const;
  int racks_per_zone() const;
  int racks() const;
  // Nodes are placed on racks round robin by id: node_id % racks(); -1 for a
  // negative id.
  int RackOfNode(int node_id) const;
  // rack / racks_per_zone(); -1 for a rack out of range.
  int ZoneOfRack(int rack) const;

  // OK when `d` names a zone, rack or aggregation switch of this topology;
  // otherwise InvalidArgument ("domain.rack: 12 is out of range [0, 12)").
  absl::Status CheckDomain(const FailureDomain& d) const;

  // Faults on a domain's links: a zone's are its two aggregation switches'
  // core links, a rack's its two uplinks, an aggregation switch's all of its
  // links (so a route through it crosses two of them). Idempotent; cut=false,
  // factor=1, loss=0 clear the fault. A domain that fails CheckDomain is
  // ignored. `factor` is clamped to [1, kMaxLatencyFactor] (NaN: 1), `loss` to
  // [0, 1] (NaN: 0).
  void SetCut(const FailureDomain& d, bool cut);
  void SetLatency(const FailureDomain& d, double factor);
  void SetLoss(const FailureDomain& d, double loss);
  // Clears every fault.
  void ClearFaults();

  // Per rack, over the best route from the core: the one of least latency
  // (Dijkstra over hop_latency x factor of the links that are up), and among
  // equally fast routes the one that loses the fewest requests. Routes go
  // core -> aggregation switch -> rack: rack switches forward nothing.
  // A rack out of range is reported as unreachable.
  bool RackReachable(int rack) const;
  Seconds RackLatency(int rack) const;  // one way; kForever when unreachable
  double RackLoss(int rack) const;      // 1 - prod(1 - loss) along the route; 1 when unreachable
  int RackHops(int rack) const;         // links on the route; -1 when unreachable

  // The racks cut off from the core, grouped by the failure that cut them
  // off: connected components of the unreachable part of the graph (its
  // switches, and its links whether up or down). A cut zone, or both its
  // aggregation switches down, is one group of all its racks; a cut rack is
  // a group of one. Each group sorted, groups sorted by their first rack.
  std::vector<std::vector<int>> Partitions() const;
  // Number of racks that cannot be reached.
  int UnreachableRacks() const;

  std::vector<Vertex> vertices() const;
  std::vector<Edge> edges() const;

 private:
  struct Impl;
  explicit MeshTopology(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin
