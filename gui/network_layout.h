// The mesh's real network for the topology panel, when a results file has a
// faults topology (`nodes.zones` > 0): the core (where the manager sits), two
// aggregation switches per zone, one switch per rack dual-homed to its zone's
// two aggregation switches (twin/faults.h, twin/topology.h), and every node
// around its rack.
//
// The switch graph comes from MeshTopology's vertices() and edges() and is
// laid out once, with Boost.Graph's Kamada-Kawai spring layout (from a radial
// start: zones in sectors round the core) when it has at most
// `max_force_vertices` vertices, else radially alone; it is then spread so
// that no rack's node disc reaches another's or a switch. Nodes take the
// free sunflower slot nearest their rack (slots left empty by nodes that have
// gone are reused, so churn does not grow the discs) the first time a
// snapshot holds them, and keep that position for good: positions depend
// only on the data, walked in time order, not on scrubbing.
//
//   NetworkLayout net;
//   if (net.Extend(data) || net.built()) { const Vec2* p = net.PositionOf(id); ... }
//   std::vector<RackStatus> racks = RackStatuses(data.nodes, snapshot);
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "gui/topology_layout.h"
#include "twin/faults.h"
#include "twin/topology.h"

namespace meshtwin::gui {

// One rack in one snapshot.
struct RackStatus {
  int nodes = 0;      // rows of the snapshot on the rack
  int reachable = 0;  // of them, reachable from the core at the end of the tick
  int failed = 0;     // of them, in state failed
  // Cut off from the core (a partition): it holds nodes and none is reachable.
  // A rack without nodes says nothing about its links and is never cut off.
  bool cut_off() const { return nodes > 0 && reachable == 0; }
};

// Per rack (zones x racks_per_zone of them, rack-major as in the file), the
// nodes of snapshot `s`. Empty without a topology or for a bad index; rows
// with a rack out of range are skipped; missing `reachable` counts as reachable.
std::vector<RackStatus> RackStatuses(const NodeSnapshots& ns, std::size_t s);

// Per zone: true when some rack of the zone is cut off and none is reachable
// (the whole zone is cut off: its aggregation switches' links to the core).
std::vector<bool> ZonesCutOff(const std::vector<RackStatus>& racks, int zones, int racks_per_zone);

// The network faults in force at run time `t`, read from the run's fault
// events (source "faults"): each event "<domain> cut off (partition)" (the
// simulation's wording, sim/simulation.cpp AppendFaultEvents; domain "zone
// 2", "rack 5" or "aggregation switch 1 of zone 0") whose [start, end) holds
// `t` (no end: from start on). These show a partition even once the manager
// has replaced every node it cut off, when the snapshot's racks are empty.
std::vector<FailureDomain> ActiveCuts(const std::vector<Event>& events, double t);

struct NetworkLayoutOptions {
  float spacing = 1.0f;                  // between neighbouring nodes, layout units
  int hole_slots = 3;                    // sunflower slots left empty round a rack switch
  std::size_t max_force_vertices = 400;  // largest switch graph laid out by Kamada-Kawai
};

class NetworkLayout {
 public:
  enum class Kind { kCore, kAggregation, kRack };
  struct Switch {
    Kind kind = Kind::kCore;
    int zone = -1;  // -1 for the core
    int index = 0;  // kAggregation: 0 or 1 within its zone; kRack: rack index
    Vec2 pos;
    std::string label;  // "core", "z1a", "r5"
  };
  struct Link {
    int from = 0, to = 0;  // indices into switches(); `from` nearer the core
  };

  explicit NetworkLayout(NetworkLayoutOptions options = {}) : options_(options) {}

  // Builds the switch graph on the first call that sees a topology, then
  // places the nodes of every snapshot not seen yet. Returns the number of
  // nodes placed by this call. Does nothing without a topology (zones == 0,
  // per-node racks missing, or more racks than MeshTopology accepts).
  std::size_t Extend(const ResultsData& data);
  void Reset();

  bool built() const { return !switches_.empty(); }
  int zones() const { return zones_; }
  int racks_per_zone() const { return racks_per_zone_; }
  int racks() const { return zones_ * racks_per_zone_; }
  const std::vector<Switch>& switches() const { return switches_; }
  const std::vector<Link>& links() const { return links_; }
  // Index into switches() of the core (0), aggregation switch `k` (0, 1) of
  // zone `z`, and rack `r`.
  static int CoreVertex() { return 0; }
  int AggregationVertex(int z, int k) const { return 1 + 2 * z + k; }
  int RackVertex(int rack) const { return 1 + 2 * zones_ + rack; }
  // Where rack `rack`'s switch sits (the core for a rack out of range).
  Vec2 RackPosition(int rack) const;

  // What is cut off at one time, per switch and per link (1: cut), from two
  // sources: the links `cuts` takes down (ActiveCuts), with the racks and
  // switches that leaves unreachable (MeshTopology's routes), and the
  // snapshot's `racks` (RackStatuses): a rack whose nodes are all unreachable
  // is cut off even without an event saying why; its uplinks are drawn cut,
  // or its zone's core links when no rack of the zone is reachable.
  struct State {
    std::vector<std::uint8_t> switch_cut;  // by switches() index
    std::vector<std::uint8_t> link_cut;    // by links() index
    int cut_racks = 0;
  };
  State StateAt(const std::vector<RackStatus>& racks, const std::vector<FailureDomain>& cuts) const;

  // The node's position, or nullptr if no snapshot seen so far held it.
  const Vec2* PositionOf(std::int32_t id) const;
  // The rack the node was placed on (-1: unknown, placed round the core).
  int RackOf(std::int32_t id) const;

  std::size_t snapshots_seen() const { return snapshots_seen_; }
  std::size_t placed() const { return placed_count_; }
  // Radius of a rack's node disc, the size the layout was spread for.
  float rack_radius() const { return rack_radius_; }
  // Radius of the slots rack `rack` has used so far (its disc as drawn).
  float UsedRadius(int rack) const;
  // Smallest on-layout distance between two rack switches (0 with one rack).
  float min_rack_distance() const { return min_rack_distance_; }
  Vec2 min_corner() const { return min_; }
  Vec2 max_corner() const { return max_; }
  // True when the switch graph was laid out by Boost's Kamada-Kawai.
  bool used_force_layout() const { return used_force_layout_; }

 private:
  void Build(const ResultsData& data);
  void PlaceSnapshot(const NodeSnapshots& ns, std::size_t s);
  Vec2 SlotPosition(int cluster, int slot) const;
  void Grow(Vec2 p);

  NetworkLayoutOptions options_;
  int zones_ = 0, racks_per_zone_ = 0;
  std::vector<Switch> switches_;
  std::vector<Link> links_;
  std::shared_ptr<const MeshTopology> topology_;  // fault-free; StateAt copies it
  float rack_radius_ = 0;
  float min_rack_distance_ = 0;
  bool used_force_layout_ = false;
  // Nodes, by id.
  std::vector<Vec2> pos_;
  std::vector<std::int32_t> slot_;      // -1: not placed
  std::vector<std::int32_t> cluster_;   // rack, or racks() for "round the core"
  std::vector<std::uint8_t> released_;  // 1 once its slot went back to the free list
  // Per cluster (racks, then the core's): slots freed by nodes that left,
  // kept sorted descending (the smallest is taken first, from the back), and
  // the next never-used slot.
  std::vector<std::vector<std::int32_t>> free_slots_;
  std::vector<std::int32_t> next_slot_;
  std::vector<std::int32_t> live_;  // ids of the last snapshot placed, ascending
  std::size_t snapshots_seen_ = 0;
  std::size_t placed_count_ = 0;
  Vec2 min_{0, 0}, max_{0, 0};
};

}  // namespace meshtwin::gui
