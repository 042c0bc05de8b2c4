#include "sim/fault_injector.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace meshtwin {
namespace {

enum Kind { kCrash = 0, kDomain = 1, kGray = 2, kLink = 3, kManager = 4 };

bool Up(const Node& n) {
  return n.state == NodeState::kReady || n.state == NodeState::kSwitching ||
         n.state == NodeState::kDraining || n.state == NodeState::kBooting;
}

absl::Status CheckDomain(const MeshTopology& t, const FailureDomain& d, const std::string& key) {
  const bool zone = d.kind != FailureDomain::Kind::kRack;
  const int limit = zone ? t.zones() : t.racks();
  if (d.index < 0 || d.index >= limit) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": ", zone ? "zone " : "rack ", d.index,
                                                   " is not in the topology (", limit,
                                                   zone ? " zones)" : " racks)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FaultInjector> FaultInjector::Create(const FaultsSpec& spec,
                                                    const std::vector<NodeTypeSpec>& types,
                                                    std::uint64_t seed) {
  MESHTWIN_ASSIGN_OR_RETURN(MeshTopology topology, MeshTopology::Create(spec.topology));
  for (std::size_t i = 0; i < spec.domains.size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(
        CheckDomain(topology, spec.domains[i].domain, absl::StrCat("faults.domains[", i, "]")));
  }
  for (std::size_t i = 0; i < spec.links.size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(
        CheckDomain(topology, spec.links[i].domain, absl::StrCat("faults.links[", i, "]")));
  }
  for (const MtbfSpec& m : spec.mtbf) {
    if (m.node_type < 0 || m.node_type >= static_cast<int>(types.size())) {
      return absl::InvalidArgumentError("faults.mtbf: unknown node type");
    }
  }
  FaultInjector f(spec, std::move(topology), seed);
  f.mtbf_by_type_.assign(types.size(), 0);
  for (const MtbfSpec& m : spec.mtbf)
    f.mtbf_by_type_[static_cast<std::size_t>(m.node_type)] = m.mtbf;
  return f;
}

FaultInjector::FaultInjector(const FaultsSpec& spec, MeshTopology topology, std::uint64_t seed)
    : spec_(spec), topology_(std::move(topology)), rng_(seed ^ 0xFA017ULL) {
  auto add = [this](Seconds at, int kind, std::size_t index, Seconds duration) {
    timeline_.push_back(Timed{at, kind, static_cast<int>(index), false});
    if (std::isfinite(duration)) {
      timeline_.push_back(Timed{at + duration, kind, static_cast<int>(index), true});
    }
  };
  for (std::size_t i = 0; i < spec_.crashes.size(); ++i)
    add(spec_.crashes[i].at, kCrash, i, kForever);
  for (std::size_t i = 0; i < spec_.domains.size(); ++i) {
    add(spec_.domains[i].at, kDomain, i, spec_.domains[i].duration);
  }
  for (std::size_t i = 0; i < spec_.gray.size(); ++i)
    add(spec_.gray[i].at, kGray, i, spec_.gray[i].duration);
  for (std::size_t i = 0; i < spec_.links.size(); ++i)
    add(spec_.links[i].at, kLink, i, spec_.links[i].duration);
  for (std::size_t i = 0; i < spec_.manager.size(); ++i)
    add(spec_.manager[i].at, kManager, i, kForever);
  // Ends before starts at the same time; then by kind and index: deterministic.
  std::stable_sort(timeline_.begin(), timeline_.end(), [](const Timed& a, const Timed& b) {
    if (a.at != b.at) return a.at < b.at;
    if (a.end != b.end) return a.end;
    return a.kind != b.kind ? a.kind < b.kind : a.index < b.index;
  });
  rack_down_.assign(static_cast<std::size_t>(topology_.racks()), 0);
  rack_cut_.assign(static_cast<std::size_t>(topology_.racks()), 0);
  gray_nodes_.resize(spec_.gray.size());
}

bool FaultInjector::ManagerDown(Seconds now) const {
  for (const ManagerCrashSpec& m : spec_.manager) {
    if (now >= m.at && now < m.at + m.duration) return true;
  }
  return false;
}

std::vector<int> FaultInjector::Pick(const MeshModel& mesh, int node_type, int count) {
  std::vector<int> candidates;
  for (const Node& n : mesh.nodes()) {
    if (n.state != NodeState::kReady && n.state != NodeState::kSwitching) continue;
    if (node_type >= 0 && n.type != node_type) continue;
    candidates.push_back(n.id);
  }
  std::vector<int> out;
  for (int i = 0; i < count && !candidates.empty(); ++i) {
    const std::size_t k = rng_() % candidates.size();
    out.push_back(candidates[k]);
    candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(k));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> FaultInjector::NodesIn(const MeshModel& mesh, const FailureDomain& d) const {
  std::vector<int> out;
  for (const Node& n : mesh.nodes()) {
    if (!Up(n) || static_cast<std::size_t>(n.id) >= placed_.size() ||
        !placed_[static_cast<std::size_t>(n.id)])
      continue;
    const bool in = d.kind == FailureDomain::Kind::kRack ? n.rack == d.index : n.zone == d.index;
    if (in) out.push_back(n.id);
  }
  return out;
}

void FaultInjector::CrashNode(MeshModel& mesh, int id, Seconds now) {
  const Node& n = mesh.node(id);
  if (!Up(n)) return;
  mesh.Crash(id, now);
  ++stats_.node_failures;
  failures_.push_back(Failure{id, now});
}

void FaultInjector::Apply(MeshModel& mesh, Seconds now) {
  // Place new nodes first, so that a fault due now can hit them.
  const int racks = topology_.racks();
  for (const Node& n : mesh.nodes()) {
    const auto id = static_cast<std::size_t>(n.id);
    if (placed_.size() <= id) placed_.resize(id + 1, 0);
    if (placed_[id] || n.state == NodeState::kStopped) continue;
    int rack = topology_.RackOfNode(n.id);
    auto usable = [&](int r) {
      return !rack_down_[static_cast<std::size_t>(r)] && topology_.RackReachable(r);
    };
    if (!usable(rack)) {
      // Its rack is lost or cut off: the usable rack with the fewest nodes
      // (the lowest index among equals), so replacements spread out.
      std::vector<int> load(static_cast<std::size_t>(racks), 0);
      for (const Node& other : mesh.nodes()) {
        const auto oid = static_cast<std::size_t>(other.id);
        if (other.state != NodeState::kStopped && oid < placed_.size() && placed_[oid]) {
          ++load[static_cast<std::size_t>(other.rack)];
        }
      }
      int best = -1;
      for (int r = 0; r < racks; ++r) {
        if (usable(r) && (best < 0 || load[static_cast<std::size_t>(r)] <
                                          load[static_cast<std::size_t>(best)])) {
          best = r;
        }
      }
      if (best >= 0) rack = best;
    }
    mesh.SetPlacement(n.id, rack, topology_.ZoneOfRack(rack));
    placed_[id] = 1;
    const double mtbf = mtbf_by_type_[static_cast<std::size_t>(n.type)];
    if (mtbf > 0) {
      const double draw = std::exponential_distribution<double>(1 / mtbf)(rng_);
      mtbf_due_.emplace_back(std::max(now, n.ready_at) + draw, n.id);
      std::sort(mtbf_due_.begin(), mtbf_due_.end());
    }
  }

  bool network_changed = false;
  for (; next_ < timeline_.size() && timeline_[next_].at <= now; ++next_) {
    const Timed& t = timeline_[next_];
    const auto i = static_cast<std::size_t>(t.index);
    switch (t.kind) {
      case kCrash: {
        const CrashSpec& c = spec_.crashes[i];
        for (int id : Pick(mesh, c.node_type, c.count)) CrashNode(mesh, id, now);
        break;
      }
      case kDomain: {
        const FailureDomain& d = spec_.domains[i].domain;
        std::vector<int> racks_hit;
        if (d.kind == FailureDomain::Kind::kRack) {
          racks_hit.push_back(d.index);
        } else {
          for (int r = 0; r < racks; ++r) {
            if (topology_.ZoneOfRack(r) == d.index) racks_hit.push_back(r);
          }
        }
        for (int r : racks_hit) rack_down_[static_cast<std::size_t>(r)] = t.end ? 0 : 1;
        if (!t.end) {
          ++stats_.domain_failures;
          for (int id : NodesIn(mesh, d)) CrashNode(mesh, id, now);
        }
        break;
      }
      case kGray: {
        const GraySpec& g = spec_.gray[i];
        if (!t.end) {
          for (int id : Pick(mesh, g.node_type, g.count)) {
            mesh.SetGray(id, g.speed, g.error_rate);
            gray_nodes_[i].push_back(id);
            ++stats_.gray_failures;
            failures_.push_back(Failure{id, now});
          }
        } else {
          for (int id : gray_nodes_[i]) mesh.SetGray(id, 1, 0);
        }
        break;
      }
      case kLink: {
        const LinkFaultSpec& l = spec_.links[i];
        if (l.cut) topology_.SetCut(l.domain, !t.end);
        if (l.latency != 1) topology_.SetLatency(l.domain, t.end ? 1 : l.latency);
        if (l.loss > 0) topology_.SetLoss(l.domain, t.end ? 0 : l.loss);
        network_changed = true;
        break;
      }
      case kManager:
        ++stats_.manager_outages;
        break;
    }
  }
  while (!mtbf_due_.empty() && mtbf_due_.front().first <= now) {
    const int id = mtbf_due_.front().second;
    mtbf_due_.erase(mtbf_due_.begin());
    CrashNode(mesh, id, now);
  }
  // Every tick, not only when a link changed: new nodes need their paths.
  (void)network_changed;
  UpdateNetwork(mesh, now);

  // Recoveries: a replacement that became ready ends its failure's outage.
  for (Failure& f : failures_) {
    if (f.replacement < 0 || f.recovered >= 0) continue;
    const Node& r = mesh.node(f.replacement);
    if (r.state == NodeState::kReady) {
      f.recovered = now;
      stats_.recovery_times.push_back(now - f.start);
    }
  }
}

void FaultInjector::UpdateNetwork(MeshModel& mesh, Seconds now) {
  // A new cut-off group of racks is one partition, whatever its size.
  const std::vector<std::vector<int>> now_cut = topology_.Partitions();
  for (const std::vector<int>& p : now_cut) {
    if (std::find(partitions_.begin(), partitions_.end(), p) == partitions_.end()) {
      ++stats_.partitions;
    }
  }
  partitions_ = now_cut;
  for (const Node& n : mesh.nodes()) {
    if (n.state == NodeState::kStopped) continue;
    const bool reachable = topology_.RackReachable(n.rack);
    if (!reachable && !n.unreachable) failures_.push_back(Failure{n.id, now});
    if (reachable && n.unreachable) {
      // Healed before anyone acted: not a failure left undetected.
      std::erase_if(failures_, [&n](const Failure& f) { return f.node == n.id && f.detected < 0; });
    }
    mesh.SetUnreachable(n.id, !reachable);
    mesh.SetPath(n.id, reachable ? topology_.RackLatency(n.rack) : 0,
                 reachable ? topology_.RackLoss(n.rack) : 0);
  }
}

void FaultInjector::OnAction(const Action& action, int replacement, Seconds now) {
  if (action.kind != ActionKind::kReplace && action.kind != ActionKind::kIsolate) return;
  for (Failure& f : failures_) {
    if (f.node != action.node) continue;
    if (f.detected < 0) {
      f.detected = now;
      stats_.detection_delays.push_back(now - f.start);
    }
    if (replacement >= 0 && f.replacement < 0) f.replacement = replacement;
  }
}

FaultStats FaultInjector::Finish() const {
  FaultStats s = stats_;
  for (const Failure& f : failures_) {
    if (f.detected < 0) ++s.undetected;
  }
  return s;
}

}  // namespace meshtwin
