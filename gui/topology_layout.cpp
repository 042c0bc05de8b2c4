#include "gui/topology_layout.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/fruchterman_reingold.hpp>
#include <boost/graph/topology.hpp>
#include <boost/random/linear_congruential.hpp>
#include <cmath>
#include <numbers>
#include <set>
#include <utility>

#include "gui/snapshot_lookup.h"

namespace meshtwin::gui {
namespace {

constexpr std::int32_t kMaxNodeId = 50'000'000;  // guards the by-id vectors
constexpr double kGoldenAngle = 2.39996322972865332;

// A deterministic small offset in [-0.5, 0.5)^2 for node `id`.
Vec2 Jitter(std::int32_t id) {
  std::uint32_t h = static_cast<std::uint32_t>(id) * 2654435761u;
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  return {static_cast<float>(h & 0xffff) / 65536.0f - 0.5f,
          static_cast<float>((h >> 16) & 0xffff) / 65536.0f - 0.5f};
}

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
using Topology = boost::rectangle_topology<boost::minstd_rand>;
using Point = Topology::point_type;

// FR's repulsion between vertices closer than `2 k` only, found through a
// hash grid of cell 2 k: O(n) per iteration. (Boost's grid_force_pairs sizes
// its cells from the area rather than its square root, which makes a single
// cell, i.e. all pairs, for any graph that fits the screen.)
template <typename PositionMap>
struct LocalForcePairs {
  PositionMap position;
  double two_k;
  template <typename G, typename ApplyForce>
  void operator()(const G& g, ApplyForce apply_force) const {
    std::unordered_map<std::int64_t, std::vector<std::size_t>> cells;
    auto key = [&](const Point& p, int dx, int dy) {
      const auto cx = static_cast<std::int64_t>(std::floor(p[0] / two_k)) + dx;
      const auto cy = static_cast<std::int64_t>(std::floor(p[1] / two_k)) + dy;
      return (cx << 32) ^ (cy & 0xffffffff);
    };
    const std::size_t n = boost::num_vertices(g);
    cells.reserve(n);
    for (std::size_t v = 0; v < n; ++v) cells[key(position[v], 0, 0)].push_back(v);
    for (std::size_t u = 0; u < n; ++u) {
      const Point& p = position[u];
      for (int dx = -1; dx <= 1; ++dx) {
        for (int dy = -1; dy <= 1; ++dy) {
          auto it = cells.find(key(p, dx, dy));
          if (it == cells.end()) continue;
          for (std::size_t v : it->second) {
            if (v == u) continue;
            const double ddx = p[0] - position[v][0], ddy = p[1] - position[v][1];
            // apply_force(u, v) pushes u away from v (Boost applies it one way).
            if (ddx * ddx + ddy * ddy < two_k * two_k) apply_force(u, v);
          }
        }
      }
    }
  }
};

}  // namespace

void TopologyLayout::Reset() { *this = TopologyLayout(options_); }

const Vec2* TopologyLayout::PositionOf(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= has_.size() || !has_[static_cast<std::size_t>(id)])
    return nullptr;
  return &pos_[static_cast<std::size_t>(id)];
}

Vec2 TopologyLayout::HubPosition(std::size_t role) const {
  return role < hubs_.size() ? hubs_[role] : Vec2{};
}

std::int64_t TopologyLayout::CellKey(int cx, int cy) const {
  return (static_cast<std::int64_t>(cx) << 32) ^ static_cast<std::uint32_t>(cy);
}

void TopologyLayout::GridInsert(std::int32_t id, Vec2 p) {
  const float cell = options_.spacing;
  grid_[CellKey(static_cast<int>(std::floor(p.x / cell)), static_cast<int>(std::floor(p.y / cell)))]
      .push_back(id);
}

void TopologyLayout::Set(std::int32_t id, Vec2 p) {
  const auto i = static_cast<std::size_t>(id);
  if (i >= pos_.size()) {
    pos_.resize(std::max(i + 1, pos_.size() * 2));
    has_.resize(pos_.size(), 0);
  }
  pos_[i] = p;
  if (!has_[i]) ++placed_count_;
  has_[i] = 1;
  if (placed_count_ == 1 && hubs_.empty()) min_ = max_ = p;
  min_ = {std::min(min_.x, p.x), std::min(min_.y, p.y)};
  max_ = {std::max(max_.x, p.x), std::max(max_.y, p.y)};
}

Vec2 TopologyLayout::ClusterSlot(std::size_t role) {
  const std::size_t i = cluster_fill_[role]++;
  const double r = options_.spacing * std::sqrt(static_cast<double>(i) + 0.5);
  const double a = static_cast<double>(i) * kGoldenAngle;
  const Vec2 hub = hubs_[role];
  return {hub.x + static_cast<float>(r * std::cos(a)), hub.y + static_cast<float>(r * std::sin(a))};
}

// Pushes `p` away from placed nodes closer than the spacing and towards the
// centroid of `anchors` (its overlay neighbours), a few small steps.
Vec2 TopologyLayout::Relax(Vec2 p, const std::vector<Vec2>& anchors) const {
  const float cell = options_.spacing;
  for (int step = 0; step < options_.refine_steps; ++step) {
    float fx = 0, fy = 0;
    const int cx = static_cast<int>(std::floor(p.x / cell));
    const int cy = static_cast<int>(std::floor(p.y / cell));
    for (int dx = -1; dx <= 1; ++dx) {
      for (int dy = -1; dy <= 1; ++dy) {
        auto it = grid_.find(CellKey(cx + dx, cy + dy));
        if (it == grid_.end()) continue;
        for (std::int32_t other : it->second) {
          const Vec2 q = pos_[static_cast<std::size_t>(other)];
          const float ux = p.x - q.x, uy = p.y - q.y;
          const float d = std::sqrt(ux * ux + uy * uy);
          if (d >= cell || d < 1e-6f) continue;
          const float push = (cell - d) / d * 0.5f;
          fx += ux * push;
          fy += uy * push;
        }
      }
    }
    if (!anchors.empty()) {
      Vec2 c{};
      for (const Vec2& a : anchors) {
        c.x += a.x;
        c.y += a.y;
      }
      c.x /= static_cast<float>(anchors.size());
      c.y /= static_cast<float>(anchors.size());
      fx += (c.x - p.x) * 0.05f;
      fy += (c.y - p.y) * 0.05f;
    }
    // Never more than half a spacing per step: local refinement, not a jump.
    const float len = std::sqrt(fx * fx + fy * fy);
    const float limit = 0.5f * cell;
    if (len > limit) {
      fx *= limit / len;
      fy *= limit / len;
    }
    p.x += fx;
    p.y += fy;
  }
  return p;
}

void TopologyLayout::FirstLayout(const ResultsData& data, std::size_t s) {
  const NodeSnapshots& ns = data.nodes;
  const SnapshotRows rows = RowsOf(ns, s);
  const std::size_t roles = std::max<std::size_t>(1, data.roles.size());
  cluster_fill_.assign(roles, 0);

  // Hubs on a circle wide enough for each role's sunflower disc (with room
  // to grow to twice its first size).
  std::vector<std::size_t> per_role(roles, 0);
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    per_role[std::min<std::size_t>(static_cast<std::size_t>(std::max<int>(0, ns.role[r])),
                                   roles - 1)]++;
  }
  double max_radius = options_.spacing;
  for (std::size_t n : per_role) {
    max_radius = std::max(max_radius, options_.spacing * std::sqrt(2.0 * static_cast<double>(n)));
  }
  hubs_.assign(roles, Vec2{});
  if (roles > 1) {
    const double ring = (2 * max_radius + 2 * options_.spacing) /
                        (2 * std::sin(std::numbers::pi / static_cast<double>(roles)));
    for (std::size_t k = 0; k < roles; ++k) {
      const double a = 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(roles) -
                       std::numbers::pi / 2;
      hubs_[k] = {static_cast<float>(ring * std::cos(a)), static_cast<float>(ring * std::sin(a))};
    }
  }
  min_ = max_ = hubs_[0];
  for (const Vec2& h : hubs_) {
    min_ = {std::min(min_.x, h.x), std::min(min_.y, h.y)};
    max_ = {std::max(max_.x, h.x), std::max(max_.y, h.y)};
  }

  // Initial placement: the sunflower slot of each node's role.
  std::vector<std::int32_t> ids;
  std::vector<Vec2> start;
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    const std::int32_t id = ns.id[r];
    if (id < 0 || id > kMaxNodeId) continue;
    const auto role =
        std::min<std::size_t>(static_cast<std::size_t>(std::max<int>(0, ns.role[r])), roles - 1);
    ids.push_back(id);
    start.push_back(ClusterSlot(role));
  }

  // A run with a DHT is laid out on its overlay graph even when the first
  // snapshot holds few links yet (the DHT still joining): the links of every
  // snapshot available between the first snapshot's nodes.
  const bool linked = !ns.links.empty() && ns.link_offset.size() == ns.size() + 1;
  const std::size_t n = ids.size();
  const bool run_fr =
      n >= 2 && (linked ? n <= options_.max_linked_fr_nodes : n <= options_.max_star_fr_nodes);
  if (run_fr && linked) {
    LinkedForceLayout(data, ids, &start);
  } else if (run_fr) {
    // Vertices: the nodes, then one hub per role.
    const std::size_t vertices = n + roles;
    Graph g(vertices);
    {
      std::size_t i = 0;
      for (std::size_t r = rows.begin; r < rows.end; ++r) {
        if (ns.id[r] < 0 || ns.id[r] > kMaxNodeId) continue;
        const auto role = std::min<std::size_t>(
            static_cast<std::size_t>(std::max<int>(0, ns.role[r])), roles - 1);
        boost::add_edge(i++, n + role, g);
      }
    }
    std::vector<Point> points(vertices);
    for (std::size_t i = 0; i < vertices; ++i) {
      const Vec2 p = i < n ? start[i] : hubs_[i - n];
      points[i][0] = p.x;
      points[i][1] = p.y;
    }
    // The rectangle sets FR's ideal edge length k = sqrt(area / vertices);
    // make k about 1.5 spacings.
    const double half =
        0.5 * 1.5 * options_.spacing * std::sqrt(static_cast<double>(vertices)) * 2.0;
    boost::minstd_rand rng(42);
    const double extent = std::max(
        {half, static_cast<double>(max_.x - min_.x), static_cast<double>(max_.y - min_.y)});
    Topology topology(rng, -extent * 2, -extent * 2, extent * 2, extent * 2);
    auto position =
        boost::make_iterator_property_map(points.begin(), boost::get(boost::vertex_index, g));
    const double temperature = options_.spacing * 4;
    boost::fruchterman_reingold_force_directed_layout(
        g, position, topology,
        boost::cooling(boost::linear_cooling<double>(
                           static_cast<std::size_t>(options_.fr_iterations), temperature))
            .force_pairs(boost::all_force_pairs()));
    for (std::size_t i = 0; i < n; ++i) {
      start[i] = {static_cast<float>(points[i][0]), static_cast<float>(points[i][1])};
    }
    for (std::size_t k = 0; k < roles; ++k) {
      hubs_[k] = {static_cast<float>(points[n + k][0]), static_cast<float>(points[n + k][1])};
    }
    used_force_layout_ = true;
  }
  for (std::size_t i = 0; i < n; ++i) {
    Set(ids[i], start[i]);
    GridInsert(ids[i], start[i]);
  }
  for (const Vec2& h : hubs_) {
    min_ = {std::min(min_.x, h.x), std::min(min_.y, h.y)};
    max_ = {std::max(max_.x, h.x), std::max(max_.y, h.y)};
  }
}

// Boost.Graph's Fruchterman-Reingold on the overlay graph: the first
// snapshot's nodes, the links between them over every snapshot available
// (deduplicated, undirected), plus a weak edge from each node to its role's
// hub (gravity: a node with no link yet, or a component the DHT has not
// joined, stays near its role instead of drifting to the border). The
// repulsion is local (LocalForcePairs) and the ideal edge length is about 1.5
// spacings whatever the box, which is large enough never to clamp: O(n) per
// iteration, so 20,000 nodes lay out in well under a second.
void TopologyLayout::LinkedForceLayout(const ResultsData& data,
                                       const std::vector<std::int32_t>& ids,
                                       std::vector<Vec2>* start) {
  const NodeSnapshots& ns = data.nodes;
  const std::size_t n = ids.size();
  const std::size_t roles = hubs_.size();
  std::unordered_map<std::int32_t, std::size_t> vertex;
  vertex.reserve(n);
  for (std::size_t i = 0; i < n; ++i) vertex.emplace(ids[i], i);
  std::vector<std::size_t> role_of(n, 0);
  {
    const SnapshotRows rows = RowsOf(ns, snapshots_seen_);
    for (std::size_t r = rows.begin; r < rows.end; ++r) {
      if (auto it = vertex.find(ns.id[r]); it != vertex.end()) {
        role_of[it->second] = std::min<std::size_t>(
            static_cast<std::size_t>(std::max<int>(0, ns.role[r])), roles - 1);
      }
    }
  }
  std::set<std::pair<std::size_t, std::size_t>> links;
  for (std::size_t l = 0; l < ns.link_from.size() && l < ns.link_to.size(); ++l) {
    auto a = vertex.find(ns.link_from[l]), b = vertex.find(ns.link_to[l]);
    if (a == vertex.end() || b == vertex.end() || a->second == b->second) continue;
    links.emplace(std::min(a->second, b->second), std::max(a->second, b->second));
  }
  const std::size_t vertices = n + roles;
  Graph g(vertices);
  for (const auto& [a, b] : links) boost::add_edge(a, b, g);
  for (std::size_t i = 0; i < n; ++i) boost::add_edge(i, n + role_of[i], g);

  std::vector<Point> points(vertices);
  for (std::size_t i = 0; i < vertices; ++i) {
    const Vec2 p = i < n ? (*start)[i] : hubs_[i - n];
    points[i][0] = p.x;
    points[i][1] = p.y;
  }
  const double k = 1.5 * options_.spacing;
  const double radius =
      k * std::sqrt(static_cast<double>(vertices)) + std::max(max_.x - min_.x, max_.y - min_.y);
  boost::minstd_rand rng(42);
  Topology topology(rng, -4 * radius, -4 * radius, 4 * radius, 4 * radius);
  auto position =
      boost::make_iterator_property_map(points.begin(), boost::get(boost::vertex_index, g));
  // Forces with our k (Boost's would come from the box's area). A DHT's
  // overlay is an expander (fingers span the whole ring): uncapped d^2/k pulls
  // over a dozen long links per node would crush the layout into a heap that
  // local repulsion cannot hold, so each link pulls at most k, shared out over
  // the mean degree. Hub edges pull at a tenth of that.
  const double degree = 2.0 * static_cast<double>(links.size()) / static_cast<double>(n);
  const double share = 4.0 / std::max(4.0, degree);
  auto attractive = [k, n, share](Graph::edge_descriptor e, double, double d, const Graph& graph) {
    const bool hub = boost::target(e, graph) >= n || boost::source(e, graph) >= n;
    return (hub ? 0.1 : 1.0) * share * std::min(d * d / k, 2 * k);
  };
  auto repulsive = [k](std::size_t, std::size_t, double, double d, const Graph&) {
    return k * k / std::max(d, 1e-3);
  };
  const int iterations = std::max(options_.fr_iterations, 100);
  boost::fruchterman_reingold_force_directed_layout(
      g, position, topology,
      boost::attractive_force(attractive)
          .repulsive_force(repulsive)
          .force_pairs(LocalForcePairs<decltype(position)>{position, 2 * k * 2})
          .cooling(
              boost::linear_cooling<double>(static_cast<std::size_t>(iterations), 0.1 * radius)));
  for (std::size_t i = 0; i < n; ++i) {
    (*start)[i] = {static_cast<float>(points[i][0]), static_cast<float>(points[i][1])};
  }
  for (std::size_t r = 0; r < roles; ++r) {
    hubs_[r] = {static_cast<float>(points[n + r][0]), static_cast<float>(points[n + r][1])};
  }
  used_force_layout_ = true;
}

void TopologyLayout::PlaceLater(const ResultsData& data, std::size_t s) {
  const NodeSnapshots& ns = data.nodes;
  const SnapshotRows rows = RowsOf(ns, s);
  const std::size_t roles = hubs_.size();
  // Overlay neighbours of the new nodes, from this snapshot's links.
  std::unordered_map<std::int32_t, std::vector<std::int32_t>> neighbours;
  if (rows.link_end > rows.link_begin) {
    for (std::size_t l = rows.link_begin; l < rows.link_end; ++l) {
      const std::int32_t a = ns.link_from[l], b = ns.link_to[l];
      if (!PositionOf(a)) neighbours[a].push_back(b);
      if (!PositionOf(b)) neighbours[b].push_back(a);
    }
  }
  std::vector<Vec2> anchors;
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    const std::int32_t id = ns.id[r];
    if (id < 0 || id > kMaxNodeId || PositionOf(id)) continue;
    const auto role =
        std::min<std::size_t>(static_cast<std::size_t>(std::max<int>(0, ns.role[r])), roles - 1);
    anchors.clear();
    if (auto it = neighbours.find(id); it != neighbours.end()) {
      for (std::int32_t other : it->second) {
        if (const Vec2* p = PositionOf(other)) anchors.push_back(*p);
      }
    }
    Vec2 p;
    if (!anchors.empty()) {
      for (const Vec2& a : anchors) {
        p.x += a.x;
        p.y += a.y;
      }
      const Vec2 j = Jitter(id);
      p.x = p.x / static_cast<float>(anchors.size()) + j.x * options_.spacing;
      p.y = p.y / static_cast<float>(anchors.size()) + j.y * options_.spacing;
    } else {
      p = ClusterSlot(role);
    }
    p = Relax(p, anchors);
    Set(id, p);
    GridInsert(id, p);
  }
}

std::size_t TopologyLayout::Extend(const ResultsData& data) {
  const NodeSnapshots& ns = data.nodes;
  if (ns.offset.size() != ns.time.size() + 1) return 0;
  const std::size_t before = placed_count_;
  for (; snapshots_seen_ < ns.size(); ++snapshots_seen_) {
    if (hubs_.empty()) {
      FirstLayout(data, snapshots_seen_);
    } else {
      PlaceLater(data, snapshots_seen_);
    }
  }
  return placed_count_ - before;
}

}  // namespace meshtwin::gui
