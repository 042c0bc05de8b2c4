#include "gui/network_layout.h"

#include <algorithm>
// Kamada-Kawai's all-pairs shortest paths (Johnson's) trips GCC 12's
// -Wmaybe-uninitialized inside Boost's edge iterators once inlined; the
// warning points into these headers, so silencing it around them is enough.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/kamada_kawai_spring_layout.hpp>
#include <boost/graph/topology.hpp>
#pragma GCC diagnostic pop
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string_view>

#include "gui/snapshot_lookup.h"
#include "twin/faults.h"
#include "twin/topology.h"
#include "twin/types.h"

namespace meshtwin::gui {
namespace {

constexpr std::int32_t kMaxNodeId = 50'000'000;  // guards the by-id vectors
constexpr double kGoldenAngle = 2.39996322972865332;

// Boost's Kamada-Kawai stops when the energy settles (layout_tolerance),
// which a symmetric graph may never do: it can cycle between moves. This caps
// the global steps and each vertex's local steps.
struct BoundedTolerance {
  boost::layout_tolerance<double> tolerance{1e-4};
  int global_steps = 0, local_steps = 0;
  template <typename Graph>
  bool operator()(double delta_p, typename boost::graph_traits<Graph>::vertex_descriptor p,
                  const Graph& g, bool global) {
    if (global) {
      if (++global_steps > 400) return true;
    } else if (++local_steps > 50) {
      local_steps = 0;
      return true;
    }
    const bool done = tolerance(delta_p, p, g, global);
    if (done && !global) local_steps = 0;
    return done;
  }
};

bool HasTopology(const NodeSnapshots& ns) {
  return ns.zones > 0 && ns.racks_per_zone > 0 && ns.rack.size() == ns.id.size() &&
         ns.offset.size() == ns.size() + 1;
}

float Distance(Vec2 a, Vec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }

}  // namespace

std::vector<RackStatus> RackStatuses(const NodeSnapshots& ns, std::size_t s) {
  if (!HasTopology(ns) || s >= ns.size()) return {};
  const long long racks = static_cast<long long>(ns.zones) * ns.racks_per_zone;
  if (racks > MeshTopology::kMaxRacks) return {};
  std::vector<RackStatus> out(static_cast<std::size_t>(racks));
  const SnapshotRows rows = RowsOf(ns, s);
  const bool has_reachable = ns.reachable.size() == ns.id.size();
  const bool has_state = ns.state.size() == ns.id.size();
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    const int rack = ns.rack[r];
    if (rack < 0 || rack >= racks) continue;
    RackStatus& st = out[static_cast<std::size_t>(rack)];
    ++st.nodes;
    if (!has_reachable || ns.reachable[r] != 0) ++st.reachable;
    if (has_state && static_cast<NodeState>(ns.state[r]) == NodeState::kFailed) ++st.failed;
  }
  return out;
}

std::vector<bool> ZonesCutOff(const std::vector<RackStatus>& racks, int zones, int racks_per_zone) {
  std::vector<bool> out(static_cast<std::size_t>(std::max(0, zones)), false);
  for (int z = 0; z < zones; ++z) {
    bool cut = false, reached = false;
    for (int k = 0; k < racks_per_zone; ++k) {
      const auto r = static_cast<std::size_t>(z * racks_per_zone + k);
      if (r >= racks.size()) break;
      cut = cut || racks[r].cut_off();
      reached = reached || racks[r].reachable > 0;
    }
    out[static_cast<std::size_t>(z)] = cut && !reached;
  }
  return out;
}

std::vector<FailureDomain> ActiveCuts(const std::vector<Event>& events, double t) {
  static constexpr std::string_view kCut = " cut off (partition)";
  std::vector<FailureDomain> out;
  for (const Event& e : events) {
    if (e.source != "faults" || t < e.start || (!std::isnan(e.end) && t >= e.end)) continue;
    const std::size_t at = e.text.find(kCut);
    if (at == std::string::npos) continue;
    const std::string domain = e.text.substr(0, at);
    FailureDomain d;
    int a = 0, b = 0, used = 0;
    if (std::sscanf(domain.c_str(), "zone %d%n", &a, &used) == 1 &&
        used == static_cast<int>(domain.size())) {
      d.kind = FailureDomain::Kind::kZone;
      d.index = a;
    } else if (std::sscanf(domain.c_str(), "rack %d%n", &a, &used) == 1 &&
               used == static_cast<int>(domain.size())) {
      d.kind = FailureDomain::Kind::kRack;
      d.index = a;
    } else if (std::sscanf(domain.c_str(), "aggregation switch %d of zone %d%n", &a, &b, &used) ==
                   2 &&
               used == static_cast<int>(domain.size())) {
      d.kind = FailureDomain::Kind::kAggregation;
      d.switch_index = a;
      d.index = b;
    } else {
      continue;
    }
    out.push_back(d);
  }
  return out;
}

NetworkLayout::State NetworkLayout::StateAt(const std::vector<RackStatus>& racks,
                                            const std::vector<FailureDomain>& cuts) const {
  State st;
  if (!built()) return st;
  st.switch_cut.assign(switches_.size(), 0);
  st.link_cut.assign(links_.size(), 0);
  // The events' cuts, through the topology's own routing.
  std::vector<bool> routed(static_cast<std::size_t>(this->racks()), true);
  if (!cuts.empty() && topology_) {
    MeshTopology topo = *topology_;
    for (const FailureDomain& d : cuts) {
      if (topo.CheckDomain(d).ok()) topo.SetCut(d, true);
    }
    const std::vector<MeshTopology::Vertex> v = topo.vertices();
    const std::vector<MeshTopology::Edge> e = topo.edges();
    for (std::size_t i = 0; i < v.size() && i < switches_.size(); ++i) {
      st.switch_cut[i] = v[i].reachable ? 0 : 1;
    }
    for (std::size_t i = 0; i < e.size() && i < links_.size(); ++i) {
      st.link_cut[i] = e[i].up ? 0 : 1;
    }
    for (int r = 0; r < this->racks(); ++r) {
      routed[static_cast<std::size_t>(r)] = topo.RackReachable(r);
    }
  }
  // The snapshot's: cut-off racks no event explains.
  const std::vector<bool> zone_cut = ZonesCutOff(racks, zones_, racks_per_zone_);
  for (std::size_t i = 0; i < links_.size(); ++i) {
    const Switch& to = switches_[static_cast<std::size_t>(links_[i].to)];
    if (to.kind == Kind::kRack) {
      const auto r = static_cast<std::size_t>(to.index);
      if (r < racks.size() && racks[r].cut_off() && routed[r] &&
          !zone_cut[static_cast<std::size_t>(to.zone)]) {
        st.link_cut[i] = 1;
      }
    } else if (to.kind == Kind::kAggregation && zone_cut[static_cast<std::size_t>(to.zone)]) {
      bool explained = false;
      for (int k = 0; k < racks_per_zone_; ++k) {
        explained = explained || !routed[static_cast<std::size_t>(to.zone * racks_per_zone_ + k)];
      }
      if (!explained) {
        st.link_cut[i] = 1;
        st.switch_cut[static_cast<std::size_t>(links_[i].to)] = 1;
      }
    }
  }
  for (int r = 0; r < this->racks(); ++r) {
    const auto ri = static_cast<std::size_t>(r);
    const auto vi = static_cast<std::size_t>(RackVertex(r));
    if (ri < racks.size() && racks[ri].cut_off()) st.switch_cut[vi] = 1;
    st.cut_racks += st.switch_cut[vi];
  }
  return st;
}

void NetworkLayout::Reset() { *this = NetworkLayout(options_); }

Vec2 NetworkLayout::RackPosition(int rack) const {
  if (rack < 0 || rack >= racks() || switches_.empty()) {
    return switches_.empty() ? Vec2{} : switches_[0].pos;
  }
  return switches_[static_cast<std::size_t>(RackVertex(rack))].pos;
}

float NetworkLayout::UsedRadius(int rack) const {
  if (rack < 0 || rack >= racks() || next_slot_.empty()) return 0;
  const int slots = options_.hole_slots + next_slot_[static_cast<std::size_t>(rack)];
  return options_.spacing * (std::sqrt(static_cast<float>(slots) - 0.5f) + 0.5f);
}

const Vec2* NetworkLayout::PositionOf(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= slot_.size() ||
      slot_[static_cast<std::size_t>(id)] < 0)
    return nullptr;
  return &pos_[static_cast<std::size_t>(id)];
}

int NetworkLayout::RackOf(std::int32_t id) const {
  if (!PositionOf(id)) return -1;
  const int c = cluster_[static_cast<std::size_t>(id)];
  return c < racks() ? c : -1;
}

void NetworkLayout::Grow(Vec2 p) {
  min_ = {std::min(min_.x, p.x), std::min(min_.y, p.y)};
  max_ = {std::max(max_.x, p.x), std::max(max_.y, p.y)};
}

Vec2 NetworkLayout::SlotPosition(int cluster, int slot) const {
  const double i = static_cast<double>(options_.hole_slots + slot);
  const double r = options_.spacing * std::sqrt(i + 0.5);
  // Each rack's spiral starts at its own angle, so neighbouring discs do
  // not look stamped out of one mould.
  const double a = i * kGoldenAngle + 0.7 * cluster;
  const Vec2 c = cluster < racks() ? RackPosition(cluster) : switches_[0].pos;
  return {c.x + static_cast<float>(r * std::cos(a)), c.y + static_cast<float>(r * std::sin(a))};
}

void NetworkLayout::Build(const ResultsData& data) {
  const NodeSnapshots& ns = data.nodes;
  if (!HasTopology(ns)) return;
  TopologySpec spec;
  spec.zones = ns.zones;
  spec.racks_per_zone = ns.racks_per_zone;
  absl::StatusOr<MeshTopology> topo = MeshTopology::Create(spec);
  if (!topo.ok()) return;
  zones_ = ns.zones;
  racks_per_zone_ = ns.racks_per_zone;
  topology_ = std::make_shared<const MeshTopology>(*topo);
  const int racks = zones_ * racks_per_zone_;
  const std::vector<MeshTopology::Vertex> vertices = topo->vertices();
  const std::vector<MeshTopology::Edge> edges = topo->edges();
  const std::size_t n = vertices.size();

  switches_.clear();
  for (const MeshTopology::Vertex& v : vertices) {
    Switch s;
    s.zone = v.zone;
    s.index = v.index;
    switch (v.kind) {
      case MeshTopology::Vertex::Kind::kCore:
        s.kind = Kind::kCore;
        s.label = "core";
        break;
      case MeshTopology::Vertex::Kind::kAggregation:
        s.kind = Kind::kAggregation;
        s.label = "z" + std::to_string(v.zone) + (v.index == 0 ? "a" : "b");
        break;
      case MeshTopology::Vertex::Kind::kRack:
        s.kind = Kind::kRack;
        s.label = "r" + std::to_string(v.index);
        break;
    }
    switches_.push_back(std::move(s));
  }
  links_.clear();
  for (const MeshTopology::Edge& e : edges) links_.push_back({e.from, e.to});

  // Radial start, in units of one link: the core at the centre, zone z's
  // sector of the circle, its aggregation switches at radius 1 and its racks
  // spread over the sector at radius 2 (a single zone hangs below the core).
  const double sector = 2 * std::numbers::pi / zones_;
  const double spread = std::min(sector, std::numbers::pi) * 0.8;
  std::vector<Vec2> p(n);
  for (std::size_t i = 1; i < n; ++i) {
    const Switch& s = switches_[i];
    const double mid = -std::numbers::pi / 2 + sector * (s.zone + 0.5);
    double a = mid, radius = 1;
    if (s.kind == Kind::kAggregation) {
      a = mid + (s.index == 0 ? -1 : 1) * std::min(sector / 6, 0.3);
    } else {
      const int j = s.index - s.zone * racks_per_zone_;
      a = mid + (racks_per_zone_ == 1
                     ? 0.0
                     : spread * (j / static_cast<double>(racks_per_zone_ - 1) - 0.5));
      radius = 2;
    }
    p[i] = {static_cast<float>(radius * std::cos(a)), static_cast<float>(radius * std::sin(a))};
  }

  // Kamada-Kawai on the switch graph (edge length 1), deterministic.
  if (n >= 3 && n <= options_.max_force_vertices) {
    using Graph =
        boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                              boost::property<boost::edge_weight_t, double>>;
    using Topology = boost::square_topology<>;
    Graph g(n);
    for (const Link& l : links_) {
      boost::add_edge(static_cast<std::size_t>(l.from), static_cast<std::size_t>(l.to), 1.0, g);
    }
    std::vector<Topology::point_type> points(n);
    for (std::size_t i = 0; i < n; ++i) {
      points[i][0] = p[i].x;
      points[i][1] = p[i].y;
    }
    Topology topology(4.0);
    auto position =
        boost::make_iterator_property_map(points.begin(), boost::get(boost::vertex_index, g));
    if (boost::kamada_kawai_spring_layout(g, position, boost::get(boost::edge_weight, g), topology,
                                          boost::edge_length(1.0), BoundedTolerance{})) {
      // Translate so the core stays at the origin.
      for (std::size_t i = 0; i < n; ++i) {
        p[i] = {static_cast<float>(points[i][0] - points[0][0]),
                static_cast<float>(points[i][1] - points[0][1])};
      }
      used_force_layout_ = true;
    }
  }

  // The nodes a rack must hold: the most any rack holds in the snapshots
  // available now, and at least twice the first snapshot's (a streamed run
  // grows). Slots are reused, so that is the most slots a rack ever needs.
  int most = 1, first_most = 0;
  for (std::size_t s = 0; s < ns.size(); ++s) {
    std::vector<int> count(static_cast<std::size_t>(racks), 0);
    const SnapshotRows rows = RowsOf(ns, s);
    for (std::size_t r = rows.begin; r < rows.end; ++r) {
      if (ns.rack[r] >= 0 && ns.rack[r] < racks) ++count[static_cast<std::size_t>(ns.rack[r])];
    }
    const int m = count.empty() ? 0 : *std::max_element(count.begin(), count.end());
    if (s == 0) first_most = m;
    most = std::max(most, m);
  }
  most = std::max(most, 2 * first_most);
  const float sp = options_.spacing;
  rack_radius_ = sp * (std::sqrt(static_cast<float>(options_.hole_slots + most) - 0.5f) + 0.5f);

  // Spread the layout (one scale about the core) until every rack's disc
  // keeps clear of the other discs and switches: rack-rack >= 2 R + gap,
  // rack-switch >= R + gap, switch-switch >= gap.
  const float gap = 2 * sp;
  float scale = 0;
  auto need = [&](std::size_t i, std::size_t j) {
    const bool ri = switches_[i].kind == Kind::kRack, rj = switches_[j].kind == Kind::kRack;
    const float want = (ri && rj) ? 2 * rack_radius_ + gap : (ri || rj) ? rack_radius_ + gap : gap;
    const float d = Distance(p[i], p[j]);
    scale = std::max(scale, want / std::max(d, 1e-4f));
  };
  if (n <= 2000) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) need(i, j);
    }
  } else {
    // The radial start alone: racks on one ring, in order; aggregation
    // switches and the core inside it.
    const auto first_rack = static_cast<std::size_t>(RackVertex(0));
    for (std::size_t i = first_rack; i < n; ++i) need(i, i + 1 < n ? i + 1 : first_rack);
    for (std::size_t i = 0; i < first_rack; ++i) {
      need(0, i == 0 ? 1 : i);
      need(i, first_rack + static_cast<std::size_t>(switches_[i].zone * racks_per_zone_));
    }
  }
  scale = std::max(scale, 1.0f);
  min_ = max_ = Vec2{};
  for (std::size_t i = 0; i < n; ++i) {
    switches_[i].pos = {p[i].x * scale, p[i].y * scale};
    Grow(switches_[i].pos);
  }
  min_rack_distance_ = 0;
  if (racks > 1) {
    min_rack_distance_ = 1e30f;
    const auto first_rack = static_cast<std::size_t>(RackVertex(0));
    for (std::size_t i = first_rack; i < n && n <= 2000; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        min_rack_distance_ =
            std::min(min_rack_distance_, Distance(switches_[i].pos, switches_[j].pos));
      }
    }
    if (n > 2000) {
      for (std::size_t i = first_rack; i + 1 < n; ++i) {
        min_rack_distance_ =
            std::min(min_rack_distance_, Distance(switches_[i].pos, switches_[i + 1].pos));
      }
    }
  }
  // The discs' full extent, so that Fit shows them whole from the start.
  for (int r = 0; r < racks; ++r) {
    const Vec2 c = RackPosition(r);
    Grow({c.x - rack_radius_, c.y - rack_radius_});
    Grow({c.x + rack_radius_, c.y + rack_radius_});
  }
  free_slots_.assign(static_cast<std::size_t>(racks) + 1, {});
  next_slot_.assign(static_cast<std::size_t>(racks) + 1, 0);
}

void NetworkLayout::PlaceSnapshot(const NodeSnapshots& ns, std::size_t s) {
  const SnapshotRows rows = RowsOf(ns, s);
  const int racks = this->racks();
  std::vector<std::int32_t> ids;
  ids.reserve(rows.size());
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    if (ns.id[r] >= 0 && ns.id[r] <= kMaxNodeId) ids.push_back(ns.id[r]);
  }
  std::sort(ids.begin(), ids.end());
  // Nodes gone since the last snapshot free their slots.
  std::vector<std::int32_t> gone;
  std::set_difference(live_.begin(), live_.end(), ids.begin(), ids.end(), std::back_inserter(gone));
  for (std::int32_t id : gone) {
    const auto i = static_cast<std::size_t>(id);
    // A node seen again after it had gone keeps its position; its slot is
    // freed once only.
    if (released_[i]) continue;
    released_[i] = 1;
    std::vector<std::int32_t>& free = free_slots_[static_cast<std::size_t>(cluster_[i])];
    free.insert(std::upper_bound(free.begin(), free.end(), slot_[i], std::greater<>()), slot_[i]);
  }
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    const std::int32_t id = ns.id[r];
    if (id < 0 || id > kMaxNodeId) continue;
    const auto i = static_cast<std::size_t>(id);
    if (i >= slot_.size()) {
      const std::size_t size = std::max(i + 1, slot_.size() * 2);
      pos_.resize(size);
      slot_.resize(size, -1);
      cluster_.resize(size, 0);
      released_.resize(size, 0);
    }
    if (slot_[i] >= 0) continue;
    const int cluster = ns.rack[r] >= 0 && ns.rack[r] < racks ? ns.rack[r] : racks;
    std::vector<std::int32_t>& free = free_slots_[static_cast<std::size_t>(cluster)];
    std::int32_t slot;
    if (!free.empty()) {
      slot = free.back();
      free.pop_back();
    } else {
      slot = next_slot_[static_cast<std::size_t>(cluster)]++;
    }
    slot_[i] = slot;
    cluster_[i] = cluster;
    pos_[i] = SlotPosition(cluster, slot);
    Grow(pos_[i]);
    ++placed_count_;
  }
  live_ = std::move(ids);
}

std::size_t NetworkLayout::Extend(const ResultsData& data) {
  const NodeSnapshots& ns = data.nodes;
  if (!built()) {
    Build(data);
    if (!built()) return 0;
  }
  if (!HasTopology(ns) || ns.zones != zones_ || ns.racks_per_zone != racks_per_zone_) return 0;
  const std::size_t before = placed_count_;
  for (; snapshots_seen_ < ns.size(); ++snapshots_seen_) PlaceSnapshot(ns, snapshots_seen_);
  return placed_count_ - before;
}

}  // namespace meshtwin::gui
