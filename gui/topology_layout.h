// Node positions for the topology panel, stable over a run: every node id
// gets a position the first time a snapshot holds it and keeps it for the
// rest of its life (and after, so that scrubbing back shows the same
// picture). Positions depend only on the data, not on the order the user
// scrubs in: Extend() walks the snapshots in time order.
//
// The first snapshot is laid out with Boost.Graph's Fruchterman-Reingold
// (edges: with a DHT, its overlay links between those nodes over every
// snapshot available plus a weak pull to the role's hub, with local
// repulsion, O(n) an iteration; else each node to its role's hub, the star
// the simulated network is); a star too large for all-pairs forces keeps the
// initial placement, a sunflower disc per role, which is what FR converges to
// for a star anyway. Nodes that appear later
// are placed next to their already-placed overlay neighbours, or at the rim of
// their role's cluster, and nudged apart from their nearest placed nodes
// (local refinement); no other node moves.
//
//   TopologyLayout layout;
//   layout.Extend(data);               // each frame: cheap when nothing is new
//   const Vec2* p = layout.PositionOf(node_id);
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "datasets/results_file.h"

namespace meshtwin::gui {

struct Vec2 {
  float x = 0, y = 0;
};

struct LayoutOptions {
  // Distance between neighbouring nodes, layout units.
  float spacing = 1.0f;
  // Largest star (no overlay links) laid out with all-pairs FR forces.
  std::size_t max_star_fr_nodes = 1500;
  // Largest graph with overlay links laid out with FR (grid force pairs).
  std::size_t max_linked_fr_nodes = 20000;
  int fr_iterations = 60;
  // Relaxation steps for each node placed after the first snapshot.
  int refine_steps = 6;
};

class TopologyLayout {
 public:
  explicit TopologyLayout(LayoutOptions options = {}) : options_(options) {}

  // Places the nodes of every snapshot not seen yet (all of them on the
  // first call). Returns the number of nodes placed by this call.
  std::size_t Extend(const ResultsData& data);

  // Forgets everything (a different run is shown).
  void Reset();

  // The node's position, or nullptr if no snapshot seen so far held it.
  const Vec2* PositionOf(std::int32_t id) const;

  // The hub (switch) of role `role`: the centre its nodes cluster around.
  Vec2 HubPosition(std::size_t role) const;
  std::size_t hub_count() const { return hubs_.size(); }

  std::size_t snapshots_seen() const { return snapshots_seen_; }
  std::size_t placed() const { return placed_count_; }
  // Smallest box holding every position and hub.
  Vec2 min_corner() const { return min_; }
  Vec2 max_corner() const { return max_; }
  // True when the first layout used Boost.Graph's Fruchterman-Reingold.
  bool used_force_layout() const { return used_force_layout_; }

 private:
  void FirstLayout(const ResultsData& data, std::size_t s);
  void PlaceLater(const ResultsData& data, std::size_t s);
  void LinkedForceLayout(const ResultsData& data, const std::vector<std::int32_t>& ids,
                         std::vector<Vec2>* start);
  Vec2 ClusterSlot(std::size_t role);
  void Set(std::int32_t id, Vec2 p);
  void GridInsert(std::int32_t id, Vec2 p);
  Vec2 Relax(Vec2 p, const std::vector<Vec2>& anchors) const;
  std::int64_t CellKey(int cx, int cy) const;

  LayoutOptions options_;
  std::vector<Vec2> pos_;                  // by node id
  std::vector<std::uint8_t> has_;          // by node id: 1 when placed
  std::vector<Vec2> hubs_;                 // by role
  std::vector<std::size_t> cluster_fill_;  // by role: sunflower slots used
  std::unordered_map<std::int64_t, std::vector<std::int32_t>> grid_;  // cell -> ids
  std::size_t snapshots_seen_ = 0;
  std::size_t placed_count_ = 0;
  bool used_force_layout_ = false;
  Vec2 min_{0, 0}, max_{0, 0};
};

}  // namespace meshtwin::gui
