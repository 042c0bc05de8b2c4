#include "twin/topology.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/graph/adjacency_list.hpp"
#include "boost/graph/connected_components.hpp"
#include "boost/graph/dijkstra_shortest_paths.hpp"
#include "boost/graph/filtered_graph.hpp"
#include "boost/property_map/function_property_map.hpp"

namespace meshtwin {
namespace {

// What is wrong with one failure domain's links. The default is healthy.
struct DomainFault {
  bool cut = false;
  double factor = 1;
  double loss = 0;
};

struct SwitchProps {
  MeshTopology::Vertex::Kind kind = MeshTopology::Vertex::Kind::kCore;
  int zone = -1;
  int index = 0;
};

// A link's state, derived from the faults of the (at most two) domains that
// hold it. `id` numbers links: aggregation switch a's core link is a, rack
// r's uplink to its zone's switch s is 2 zones + 2r + s.
struct LinkProps {
  int id = 0;
  bool up = true;
  double factor = 1;
  double loss = 0;
};

// Links point away from the core: a route is core -> aggregation -> rack, so
// Dijkstra over this graph never forwards through a rack switch.
using Graph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, SwitchProps, LinkProps>;
using VertexId = boost::graph_traits<Graph>::vertex_descriptor;
using LinkId = boost::graph_traits<Graph>::edge_descriptor;

// Only the links that are up carry traffic.
struct LinkIsUp {
  const Graph* graph = nullptr;
  bool operator()(const LinkId& e) const { return (*graph)[e].up; }
};

// Route cost: latency first, then -log of the chance a request gets through
// (additive along a route), so equally fast routes prefer the less lossy.
struct RouteCost {
  double latency = 0;
  double neg_log_pass = 0;
};
struct RouteCostLess {
  bool operator()(const RouteCost& a, const RouteCost& b) const {
    return a.latency < b.latency || (a.latency == b.latency && a.neg_log_pass < b.neg_log_pass);
  }
};
struct RouteCostPlus {
  RouteCost operator()(const RouteCost& a, const RouteCost& b) const {
    return {a.latency + b.latency, a.neg_log_pass + b.neg_log_pass};
  }
};

constexpr VertexId kCore = 0;

}  // namespace

struct MeshTopology::Impl {
  Impl() = default;
  // Rebuilds the graph rather than copying it: g++ 12 warns (falsely,
  // -Wmaybe-uninitialized) inside Boost 1.74's adjacency_list copy.
  Impl(const Impl& other) {
    Build(other.spec);
    zone_faults = other.zone_faults;
    rack_faults = other.rack_faults;
    aggregation_faults = other.aggregation_faults;
    ApplyFaults();
  }
  Impl& operator=(const Impl&) = delete;

  TopologySpec spec;
  int racks = 0;
  Graph graph;
  std::vector<DomainFault> zone_faults, rack_faults, aggregation_faults;

  // Derived from the link states by Refresh() when `dirty`.
  mutable bool dirty = true;
  mutable std::vector<bool> vertex_reachable;
  mutable std::vector<Seconds> rack_latency;
  mutable std::vector<double> rack_loss;
  mutable std::vector<int> rack_hops;
  mutable std::vector<std::vector<int>> partitions;
  mutable int unreachable_racks = 0;

  VertexId Aggregation(int zone, int s) const { return 1 + 2 * zone + s; }
  VertexId Rack(int rack) const { return 1 + 2 * spec.zones + rack; }
  int ZoneOf(int rack) const { return rack / spec.racks_per_zone; }

  DomainFault* Fault(const FailureDomain& d) {
    switch (d.kind) {
      case FailureDomain::Kind::kZone:
        return &zone_faults[d.index];
      case FailureDomain::Kind::kRack:
        return &rack_faults[d.index];
      case FailureDomain::Kind::kAggregation:
        return &aggregation_faults[2 * d.index + d.switch_index];
    }
    return nullptr;
  }

  // The healthy network of `topology` (already validated), into a fresh Impl.
  void Build(const TopologySpec& topology) {
    spec = topology;
    racks = spec.zones * spec.racks_per_zone;
    zone_faults.assign(spec.zones, DomainFault{});
    rack_faults.assign(racks, DomainFault{});
    aggregation_faults.assign(2 * spec.zones, DomainFault{});
    // Called on a fresh Impl only: the graph starts empty.
    AddSwitch({Vertex::Kind::kCore, -1, 0});
    for (int z = 0; z < spec.zones; ++z) {
      for (int s = 0; s < 2; ++s) {
        AddSwitch({Vertex::Kind::kAggregation, z, s});
      }
    }
    for (int r = 0; r < racks; ++r) {
      AddSwitch({Vertex::Kind::kRack, ZoneOf(r), r});
    }
    int id = 0;
    for (int z = 0; z < spec.zones; ++z) {
      for (int s = 0; s < 2; ++s) {
        boost::add_edge(kCore, Aggregation(z, s), LinkProps{id++, true, 1, 0}, graph);
      }
    }
    for (int r = 0; r < racks; ++r) {
      for (int s = 0; s < 2; ++s) {
        boost::add_edge(Aggregation(ZoneOf(r), s), Rack(r), LinkProps{id++, true, 1, 0}, graph);
      }
    }
    dirty = true;
  }

  // add_vertex(props, g) trips a false -Wmaybe-uninitialized of g++ 12 in
  // Boost 1.74's named_graph under the sanitizers: add, then set.
  void AddSwitch(const SwitchProps& props) { graph[boost::add_vertex(graph)] = props; }

  // Derives every link's state from the faults of the domains holding it.
  void ApplyFaults() {
    const int core_links = 2 * spec.zones;
    for (LinkId e : boost::make_iterator_range(boost::edges(graph))) {
      LinkProps& link = graph[e];
      const DomainFault* a;
      const DomainFault* b;
      if (link.id < core_links) {
        a = &zone_faults[link.id / 2];
        b = &aggregation_faults[link.id];
      } else {
        const int rack = (link.id - core_links) / 2;
        const int s = (link.id - core_links) % 2;
        a = &rack_faults[rack];
        b = &aggregation_faults[2 * ZoneOf(rack) + s];
      }
      link.up = !a->cut && !b->cut;
      link.factor = a->factor * b->factor;
      link.loss = 1 - (1 - a->loss) * (1 - b->loss);
    }
  }

  void Route() const {
    const std::size_t n = boost::num_vertices(graph);
    boost::filtered_graph<Graph, LinkIsUp> up_graph(graph, LinkIsUp{&graph});
    std::vector<VertexId> predecessor(n);
    std::vector<RouteCost> cost(n);
    std::vector<LinkId> via(n);
    const auto index = boost::get(boost::vertex_index, graph);
    const double hop = spec.hop_latency;
    auto weight = boost::make_function_property_map<LinkId, RouteCost>([&](const LinkId& e) {
      const LinkProps& link = graph[e];
      return RouteCost{hop * link.factor, link.loss >= 1 ? std::numeric_limits<double>::infinity()
                                                         : -std::log1p(-link.loss)};
    });
    constexpr double kInf = std::numeric_limits<double>::infinity();
    boost::dijkstra_shortest_paths(
        up_graph, kCore, boost::make_iterator_property_map(predecessor.begin(), index),
        boost::make_iterator_property_map(cost.begin(), index), weight, index, RouteCostLess(),
        RouteCostPlus(), RouteCost{kInf, kInf}, RouteCost{0, 0},
        boost::make_dijkstra_visitor(boost::record_edge_predecessors(
            boost::make_iterator_property_map(via.begin(), index), boost::on_edge_relaxed())));

    vertex_reachable.assign(n, false);
    for (std::size_t v = 0; v < n; ++v) vertex_reachable[v] = cost[v].latency < kInf;
    rack_latency.assign(racks, kForever);
    rack_loss.assign(racks, 1.0);
    rack_hops.assign(racks, -1);
    unreachable_racks = 0;
    for (int r = 0; r < racks; ++r) {
      VertexId v = Rack(r);
      if (!vertex_reachable[v]) {
        ++unreachable_racks;
        continue;
      }
      rack_latency[r] = cost[v].latency;
      // Walk the route back to the core, compounding loss exactly.
      double pass = 1;
      int hops = 0;
      while (v != kCore) {
        pass *= 1 - graph[via[v]].loss;
        ++hops;
        v = boost::source(via[v], graph);
      }
      rack_loss[r] = 1 - pass;
      rack_hops[r] = hops;
    }
  }

  // Connected components of the unreachable switches and every link (up or
  // down) between two of them: racks cut off by one failure land together.
  void FindPartitions() const {
    partitions.clear();
    if (unreachable_racks == 0) return;
    const std::size_t n = boost::num_vertices(graph);
    std::vector<int> failed_index(n, -1);
    std::vector<VertexId> failed;
    for (VertexId v = 1; v < n; ++v) {
      if (!vertex_reachable[v]) {
        failed_index[v] = static_cast<int>(failed.size());
        failed.push_back(v);
      }
    }
    boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS> failed_part(failed.size());
    for (LinkId e : boost::make_iterator_range(boost::edges(graph))) {
      const int a = failed_index[boost::source(e, graph)];
      const int b = failed_index[boost::target(e, graph)];
      if (a >= 0 && b >= 0) boost::add_edge(a, b, failed_part);
    }
    std::vector<int> component(failed.size());
    const int count = boost::connected_components(failed_part, component.data());
    std::vector<std::vector<int>> groups(count);
    for (std::size_t i = 0; i < failed.size(); ++i) {
      if (graph[failed[i]].kind == Vertex::Kind::kRack) {
        groups[component[i]].push_back(graph[failed[i]].index);
      }
    }
    for (std::vector<int>& g : groups) {
      if (g.empty()) continue;  // a switch down with every rack still reachable
      std::sort(g.begin(), g.end());
      partitions.push_back(std::move(g));
    }
    std::sort(partitions.begin(), partitions.end());
  }

  void Refresh() const {
    if (!dirty) return;
    Route();
    FindPartitions();
    dirty = false;
  }

  bool RackInRange(int rack) const { return rack >= 0 && rack < racks; }
};

absl::StatusOr<MeshTopology> MeshTopology::Create(const TopologySpec& spec) {
  if (spec.zones < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("faults.topology.zones: must be at least 1, got ", spec.zones));
  }
  if (spec.racks_per_zone < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "faults.topology.racks_per_zone: must be at least 1, got ", spec.racks_per_zone));
  }
  const int64_t racks = int64_t{spec.zones} * spec.racks_per_zone;
  if (racks > kMaxRacks) {
    return absl::InvalidArgumentError(
        absl::StrCat("faults.topology.racks_per_zone: zones x racks_per_zone = ", racks,
                     " racks, at most ", kMaxRacks, " are supported"));
  }
  if (!std::isfinite(spec.hop_latency) || spec.hop_latency < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("faults.topology.hop_latency: must be a finite number of seconds >= 0, got ",
                     spec.hop_latency));
  }

  auto impl = std::make_unique<Impl>();
  impl->Build(spec);
  return MeshTopology(std::move(impl));
}

MeshTopology::MeshTopology(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MeshTopology::MeshTopology(const MeshTopology& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}
MeshTopology& MeshTopology::operator=(const MeshTopology& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
MeshTopology::MeshTopology(MeshTopology&&) noexcept = default;
MeshTopology& MeshTopology::operator=(MeshTopology&&) noexcept = default;
MeshTopology::~MeshTopology() = default;

int MeshTopology::zones() const { return impl_->spec.zones; }
int MeshTopology::racks_per_zone() const { return impl_->spec.racks_per_zone; }
int MeshTopology::racks() const { return impl_->racks; }

int MeshTopology::RackOfNode(int node_id) const {
  return node_id < 0 ? -1 : node_id % impl_->racks;
}

int MeshTopology::ZoneOfRack(int rack) const {
  return impl_->RackInRange(rack) ? impl_->ZoneOf(rack) : -1;
}

absl::Status MeshTopology::CheckDomain(const FailureDomain& d) const {
  switch (d.kind) {
    case FailureDomain::Kind::kZone:
      if (d.index < 0 || d.index >= zones()) {
        return absl::InvalidArgumentError(
            absl::StrCat("domain.zone: ", d.index, " is out of range [0, ", zones(), ")"));
      }
      return absl::OkStatus();
    case FailureDomain::Kind::kRack:
      if (!impl_->RackInRange(d.index)) {
        return absl::InvalidArgumentError(
            absl::StrCat("domain.rack: ", d.index, " is out of range [0, ", racks(), ")"));
      }
      return absl::OkStatus();
    case FailureDomain::Kind::kAggregation:
      if (d.index < 0 || d.index >= zones()) {
        return absl::InvalidArgumentError(
            absl::StrCat("domain.zone: ", d.index, " is out of range [0, ", zones(), ")"));
      }
      if (d.switch_index != 0 && d.switch_index != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("domain.switch: ", d.switch_index, " is not 0 or 1"));
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("domain: unknown kind");
}

void MeshTopology::SetCut(const FailureDomain& d, bool cut) {
  if (!CheckDomain(d).ok()) return;
  DomainFault* f = impl_->Fault(d);
  if (f->cut == cut) return;
  f->cut = cut;
  impl_->ApplyFaults();
  impl_->dirty = true;
}

void MeshTopology::SetLatency(const FailureDomain& d, double factor) {
  if (!CheckDomain(d).ok()) return;
  factor = std::isnan(factor) ? 1 : std::clamp(factor, 1.0, kMaxLatencyFactor);
  DomainFault* f = impl_->Fault(d);
  if (f->factor == factor) return;
  f->factor = factor;
  impl_->ApplyFaults();
  impl_->dirty = true;
}

void MeshTopology::SetLoss(const FailureDomain& d, double loss) {
  if (!CheckDomain(d).ok()) return;
  loss = std::isnan(loss) ? 0 : std::clamp(loss, 0.0, 1.0);
  DomainFault* f = impl_->Fault(d);
  if (f->loss == loss) return;
  f->loss = loss;
  impl_->ApplyFaults();
  impl_->dirty = true;
}

void MeshTopology::ClearFaults() {
  for (auto* faults : {&impl_->zone_faults, &impl_->rack_faults, &impl_->aggregation_faults}) {
    std::fill(faults->begin(), faults->end(), DomainFault{});
  }
  impl_->ApplyFaults();
  impl_->dirty = true;
}

bool MeshTopology::RackReachable(int rack) const {
  if (!impl_->RackInRange(rack)) return false;
  impl_->Refresh();
  return impl_->vertex_reachable[impl_->Rack(rack)];
}

Seconds MeshTopology::RackLatency(int rack) const {
  if (!impl_->RackInRange(rack)) return kForever;
  impl_->Refresh();
  return impl_->rack_latency[rack];
}

double MeshTopology::RackLoss(int rack) const {
  if (!impl_->RackInRange(rack)) return 1;
  impl_->Refresh();
  return impl_->rack_loss[rack];
}

int MeshTopology::RackHops(int rack) const {
  if (!impl_->RackInRange(rack)) return -1;
  impl_->Refresh();
  return impl_->rack_hops[rack];
}

std::vector<std::vector<int>> MeshTopology::Partitions() const {
  impl_->Refresh();
  return impl_->partitions;
}

int MeshTopology::UnreachableRacks() const {
  impl_->Refresh();
  return impl_->unreachable_racks;
}

std::vector<MeshTopology::Vertex> MeshTopology::vertices() const {
  impl_->Refresh();
  const Graph& g = impl_->graph;
  std::vector<Vertex> out;
  out.reserve(boost::num_vertices(g));
  for (VertexId v : boost::make_iterator_range(boost::vertices(g))) {
    out.push_back(Vertex{g[v].kind, g[v].zone, g[v].index, impl_->vertex_reachable[v]});
  }
  return out;
}

std::vector<MeshTopology::Edge> MeshTopology::edges() const {
  const Graph& g = impl_->graph;
  std::vector<Edge> out(boost::num_edges(g));
  for (LinkId e : boost::make_iterator_range(boost::edges(g))) {
    const LinkProps& link = g[e];
    out[link.id] = Edge{static_cast<int>(boost::source(e, g)),
                        static_cast<int>(boost::target(e, g)),
                        link.up,
                        link.factor,
                        link.loss,
                        impl_->spec.hop_latency * link.factor};
  }
  return out;
}

}  // namespace meshtwin
