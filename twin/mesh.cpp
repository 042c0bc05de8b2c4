#include "twin/mesh.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace meshtwin {
namespace {

// Work below this fraction of a node's tick capacity counts as none: it keeps
// floating-point dust from SimGrid's progress accounting out of the backlogs.
constexpr double kNegligibleFraction = 1e-9;

}  // namespace

void SloMinuteCounter::Add(Seconds start, Seconds dt, bool violated) {
  if (!violated) return;
  auto first = static_cast<std::int64_t>(std::floor(start / 60.0));
  // A tick [start, start + dt) touches every minute up to the one holding its last instant.
  auto last = static_cast<std::int64_t>(std::ceil((start + dt) / 60.0)) - 1;
  first = std::max(first, last_counted_ + 1);
  if (last >= first) {
    minutes_ += static_cast<int>(last - first + 1);
    last_counted_ = last;
  }
}

double MmcMeanLatency(double arrival_rps, double service_time, int servers) {
  if (arrival_rps <= 0) return service_time;
  const double a = arrival_rps * service_time;  // offered load in servers
  const double c = servers;
  if (a >= c) return std::numeric_limits<double>::infinity();
  // Erlang B by its stable recursion, then Erlang C from it.
  double b = 1.0;
  for (int k = 1; k <= servers; ++k) b = a * b / (k + a * b);
  const double rho = a / c;
  const double erlang_c = b / (1.0 - rho * (1.0 - b));
  const double wait = erlang_c * service_time / (c - a);
  return service_time + wait;
}

MeshModel::MeshModel(std::vector<NodeTypeSpec> types, WorkloadSpec workload, SloSpec slo,
                     std::vector<RoleSpec> roles)
    : types_(std::move(types)),
      workload_(workload),
      slo_(slo),
      roles_(roles.empty() ? std::vector<RoleSpec>{RoleSpec{}} : std::move(roles)),
      tick_role_demand_(roles_.size(), 0),
      tick_role_dropped_(roles_.size(), 0),
      role_ready_(roles_.size()),
      active_by_type_(types_.size(), 0) {
  rate_limit_.fill(std::numeric_limits<double>::infinity());
}

void MeshModel::AddInitialNodes() {
  // Largest-remainder spread: node k goes to the role furthest below its
  // share of the first k + 1 nodes.
  double share_sum = 0;
  for (const RoleSpec& r : roles_) share_sum += r.share;
  std::vector<int> count(roles_.size(), 0);
  int placed = 0;
  for (int t = 0; t < static_cast<int>(types_.size()); ++t) {
    for (int i = 0; i < types_[static_cast<std::size_t>(t)].initial; ++i) {
      std::size_t best = 0;
      double best_gap = -std::numeric_limits<double>::infinity();
      for (std::size_t r = 0; r < roles_.size(); ++r) {
        const double share = share_sum > 0 ? roles_[r].share / share_sum : 1.0 / roles_.size();
        const double gap = share * (placed + 1) - count[r];
        if (gap > best_gap + 1e-12) {
          best_gap = gap;
          best = r;
        }
      }
      ++count[best];
      ++placed;
      int id = Provision(t, 0, static_cast<int>(best));
      nodes_[static_cast<std::size_t>(id)].ready_at = 0;
      nodes_[static_cast<std::size_t>(id)].state = NodeState::kReady;
    }
  }
}

int MeshModel::Provision(int type, Seconds now, int role) {
  const NodeTypeSpec& spec = types_.at(static_cast<std::size_t>(type));
  if (role < 0 || role >= static_cast<int>(roles_.size())) {
    role = 0;
    if (roles_.size() > 1) {
      // The role with the most demand per unit of capacity it has or has coming.
      std::vector<double> have(roles_.size(), 0);
      for (int id : live_) {
        const Node& n = nodes_[static_cast<std::size_t>(id)];
        if (n.state == NodeState::kReady || n.state == NodeState::kBooting) {
          have[static_cast<std::size_t>(n.role)] += n.speed;
        } else if (n.state == NodeState::kSwitching) {
          have[static_cast<std::size_t>(n.next_role)] += n.speed;
        }
      }
      double best = -1;
      for (std::size_t r = 0; r < roles_.size(); ++r) {
        const double need = have_last_ ? last_.demand_by_role[r] : roles_[r].share;
        const double ratio = need / std::max(have[r], 1.0);
        if (ratio > best) {
          best = ratio;
          role = static_cast<int>(r);
        }
      }
    }
  }
  Node n;
  n.id = static_cast<int>(nodes_.size());
  n.type = type;
  n.role = role;
  n.state = NodeState::kBooting;
  n.provisioned_at = now;
  n.ready_at = now + spec.boot_time;
  n.last_heard = now;
  n.speed = spec.NodeSpeed();
  nodes_.push_back(n);
  live_.push_back(n.id);  // ids only grow, so live_ stays sorted
  ++active_by_type_[static_cast<std::size_t>(type)];
  return n.id;
}

std::vector<int> MeshModel::PickForRemoval(int type, int count, int role) const {
  std::vector<int> picked;
  for (NodeState wanted : {NodeState::kBooting, NodeState::kReady}) {
    for (auto it = live_.rbegin(); it != live_.rend() && static_cast<int>(picked.size()) < count;
         ++it) {
      const Node& n = nodes_[static_cast<std::size_t>(*it)];
      if (n.type == type && n.state == wanted && (role < 0 || n.role == role)) {
        picked.push_back(n.id);
      }
    }
  }
  return picked;
}

bool MeshModel::ChangeRole(int id, int role, Seconds now) {
  if (id < 0 || id >= static_cast<int>(nodes_.size()) || role < 0 ||
      role >= static_cast<int>(roles_.size())) {
    return false;
  }
  Node& n = nodes_[static_cast<std::size_t>(id)];
  if (n.state != NodeState::kReady || n.role == role) return false;
  n.state = NodeState::kSwitching;
  n.next_role = role;
  n.switch_until = now + roles_[static_cast<std::size_t>(role)].switch_time;
  ++role_switches_;
  return true;
}

void MeshModel::SetAdmission(const PerClass& rate_limit, Seconds burst) {
  burst_ = std::max(burst, 0.0);
  for (int c = 0; c < kNumClasses; ++c) {
    const double limit = std::max(rate_limit[c], 0.0);
    // A new or raised limit starts with a full bucket; a lowered one keeps
    // no more tokens than its new depth.
    const double depth = limit * burst_;
    tokens_[c] = !priority_ || limit > rate_limit_[c] ? depth : std::min(tokens_[c], depth);
    rate_limit_[c] = limit;
  }
  priority_ = true;
}

double MeshModel::TakeQueued(int id, int cls, double requests) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  if (n.state == NodeState::kStopped || requests <= 0) return 0;
  const double w = workload_.request_work;
  const double taken = std::min(requests, n.backlog_c[cls] / w);
  n.backlog_c[cls] -= taken * w;
  if (n.backlog_c[cls] < 1e-9 * w) n.backlog_c[cls] = 0;
  n.backlog = n.backlog_c[0] + n.backlog_c[1] + n.backlog_c[2];
  migrating_ += taken;
  migrating_c_[cls] += taken;
  return taken;
}

void MeshModel::AddQueued(int id, int cls, double requests) {
  migrating_ = std::max(0.0, migrating_ - requests);
  migrating_c_[cls] = std::max(0.0, migrating_c_[cls] - requests);
  Node* target = &nodes_.at(static_cast<std::size_t>(id));
  if (target->state == NodeState::kStopped) {
    Node* best = nullptr;
    for (int other : live_) {
      Node& n = nodes_[static_cast<std::size_t>(other)];
      if (n.state == NodeState::kReady && n.role == target->role &&
          (best == nullptr || n.backlog / n.speed < best->backlog / best->speed)) {
        best = &n;
      }
    }
    if (best == nullptr) {
      pending_dropped_c_[cls] += requests;
      return;
    }
    target = best;
  }
  target->backlog_c[cls] += requests * workload_.request_work;
  target->backlog += requests * workload_.request_work;
}

void MeshModel::Remove(int id, Seconds now) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  if (n.state == NodeState::kBooting) {
    Stop(id, now);
  } else if (n.state == NodeState::kReady) {
    n.state = NodeState::kDraining;
    if (n.backlog <= 0) Stop(id, now);
  }
}

void MeshModel::LoseQueue(Node& n) {
  const double w = workload_.request_work;
  for (int c = 0; c < kNumClasses; ++c) {
    pending_dropped_c_[c] += n.backlog_c[c] / w;
    pending_lost_ += n.backlog_c[c] / w;
    n.backlog_c[c] = 0;
  }
  n.backlog = 0;
}

void MeshModel::Crash(int id, Seconds) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  if (n.state == NodeState::kStopped || n.state == NodeState::kFailed) return;
  LoseQueue(n);
  n.state = NodeState::kFailed;
  n.next_role = -1;
}

void MeshModel::SetGray(int id, double speed_factor, double error_rate) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  n.speed_factor = std::clamp(speed_factor, 1e-6, 1.0);
  n.error_rate = std::clamp(error_rate, 0.0, 1.0);
}

void MeshModel::SetUnreachable(int id, bool unreachable) {
  nodes_.at(static_cast<std::size_t>(id)).unreachable = unreachable;
}

void MeshModel::Isolate(int id) { nodes_.at(static_cast<std::size_t>(id)).isolated = true; }

void MeshModel::SetPlacement(int id, int rack, int zone) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  n.rack = rack;
  n.zone = zone;
}

void MeshModel::SetPath(int id, Seconds latency, double loss) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  n.path_latency = std::max(0.0, latency);
  n.path_loss = std::clamp(loss, 0.0, 1.0);
}

void MeshModel::Kill(int id, Seconds now) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  if (n.state == NodeState::kStopped) return;
  LoseQueue(n);
  Stop(id, now);
}

void MeshModel::Stop(int id, Seconds now) {
  Node& n = nodes_[static_cast<std::size_t>(id)];
  n.state = NodeState::kStopped;
  n.stopped_at = now;
  n.backlog = n.assigned = n.accepted = n.served = 0;
  n.backlog_c = n.accepted_c = n.served_c = PerClass{};
  --active_by_type_[static_cast<std::size_t>(n.type)];
  stopped_now_.push_back(id);
}

std::vector<int> MeshModel::TakeStopped() {
  std::vector<int> out;
  out.swap(stopped_now_);
  return out;
}

void MeshModel::PromoteBooted(Seconds now) {
  for (int id : live_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    if (n.state == NodeState::kBooting && n.ready_at <= now) {
      n.state = NodeState::kReady;
    } else if (n.state == NodeState::kSwitching && n.switch_until <= now) {
      n.state = NodeState::kReady;
      n.role = n.next_role;
      n.next_role = -1;
      n.ready_at = now;  // like a booted node: no full metric window in its new role yet
    }
  }
}

int MeshModel::active_nodes() const {
  int total = 0;
  for (int c : active_by_type_) total += c;
  return total;
}

double MeshModel::ClassRoom(const Node& n, int cls) const {
  const double deadline = workload_.class_deadline[cls] > 0
                              ? std::min(workload_.class_deadline[cls], workload_.queue_limit)
                              : workload_.queue_limit;
  // A request of class `cls` waits behind the queued work of its own and
  // higher classes and behind the higher classes' new arrivals.
  double ahead = 0;
  for (int k = 0; k <= cls; ++k) ahead += n.backlog_c[k];
  for (int k = 0; k < cls; ++k) ahead += n.accepted_c[k];
  return std::max(0.0, deadline * n.speed + n.speed * tick_dt_ - ahead);
}

double MeshModel::PlaceClass(const std::vector<int>& nodes, double speed_sum, int cls,
                             double work) {
  if (work <= 0) return 0;
  double leftover = 0, room_left = 0;
  for (int id : nodes) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    const double share = work * (n.speed / speed_sum);
    const double room = ClassRoom(n, cls);
    const double take = std::min(room, share);
    n.accepted_c[cls] = take;
    leftover += share - take;
    room_left += room - take;
  }
  if (leftover <= 0) return 0;
  // Spill over to the nodes with room left, in proportion to it: everything
  // fits when the room suffices, else every node is filled.
  const double fraction = room_left > 0 ? std::min(1.0, leftover / room_left) : 0;
  for (int id : nodes) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    n.accepted_c[cls] += fraction * std::max(0.0, ClassRoom(n, cls) - n.accepted_c[cls]);
  }
  return std::max(0.0, leftover - room_left);
}

void MeshModel::BeginTick(Seconds now, Seconds dt, const std::vector<double>& role_demand_rps) {
  assert(role_demand_rps.size() == roles_.size());
  tick_start_ = now;
  tick_dt_ = dt;
  tick_demand_rps_ = 0;
  tick_dropped_ = 0;
  working_.clear();
  const double w = workload_.request_work;
  const PerClass& mix = workload_.class_share;
  tick_dropped_c_ = pending_dropped_c_;
  pending_dropped_c_ = PerClass{};
  tick_throttled_c_ = PerClass{};
  tick_arrived_c_ = PerClass{};

  // Admission control's token buckets act on each class fleet-wide; the
  // fraction a class gets through applies to every role alike.
  PerClass admitted_fraction = {1, 1, 1};
  for (std::size_t r = 0; r < roles_.size(); ++r) {
    tick_demand_rps_ += role_demand_rps[r];
    for (int c = 0; c < kNumClasses; ++c) tick_arrived_c_[c] += role_demand_rps[r] * mix[c] * dt;
  }
  if (priority_) {
    for (int c = 0; c < kNumClasses; ++c) {
      if (!std::isfinite(rate_limit_[c])) continue;
      const double available = tokens_[c] + rate_limit_[c] * dt;
      const double admitted = std::min(tick_arrived_c_[c], available);
      tokens_[c] = std::min(rate_limit_[c] * burst_, available - admitted);
      if (tick_arrived_c_[c] > 0) admitted_fraction[c] = admitted / tick_arrived_c_[c];
      tick_throttled_c_[c] = tick_arrived_c_[c] - admitted;
      tick_dropped_c_[c] += tick_throttled_c_[c];
    }
  }

  for (auto& v : role_ready_) v.clear();
  std::vector<double> ready_speed(roles_.size(), 0);
  for (int id : live_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    n.accepted = n.served = n.assigned = 0;
    n.accepted_c = n.served_c = PerClass{};
    // A crashed node nobody has noticed yet still gets its share (lost).
    const bool takes_work = (n.state == NodeState::kReady && !n.isolated && !n.unreachable) ||
                            n.state == NodeState::kFailed;
    if (takes_work && routable(id)) {
      role_ready_[static_cast<std::size_t>(n.role)].push_back(id);
      ready_speed[static_cast<std::size_t>(n.role)] += n.speed;
    }
  }

  for (std::size_t r = 0; r < roles_.size(); ++r) {
    const double speed_sum = ready_speed[r];
    double role_dropped = 0;
    PerClass work;  // admitted arrivals of the role, flop
    for (int c = 0; c < kNumClasses; ++c) {
      work[c] = role_demand_rps[r] * mix[c] * dt * admitted_fraction[c] * w;
    }
    if (speed_sum <= 0) {
      for (int c = 0; c < kNumClasses; ++c) {
        tick_dropped_c_[c] += work[c] / w;
        role_dropped += work[c] / w;
      }
    } else if (priority_) {
      for (int c = 0; c < kNumClasses; ++c) {
        const double lost = PlaceClass(role_ready_[r], speed_sum, c, work[c]) / w;
        tick_dropped_c_[c] += lost;
        role_dropped += lost;
      }
    } else {
      // First come, first served: weighted round robin in the fluid limit;
      // each node gets work in proportion to its speed, and what would leave
      // more than queue_limit seconds of work queued at the end of the tick is
      // dropped, from every class in proportion to the mix.
      const double total = work[0] + work[1] + work[2];
      for (int id : role_ready_[r]) {
        Node& n = nodes_[static_cast<std::size_t>(id)];
        const double share = total * (n.speed / speed_sum);
        const double room = workload_.queue_limit * n.speed + n.speed * dt - n.backlog;
        const double accepted = std::clamp(room, 0.0, share);
        const double keep = share > 0 ? accepted / share : 0;
        for (int c = 0; c < kNumClasses; ++c) {
          n.accepted_c[c] = work[c] * (n.speed / speed_sum) * keep;
          const double lost = (work[c] * (n.speed / speed_sum) - n.accepted_c[c]) / w;
          tick_dropped_c_[c] += lost;
          role_dropped += lost;
        }
      }
    }
    tick_role_demand_[r] = role_demand_rps[r];
    tick_role_dropped_[r] = role_dropped;
  }
  // What went to crashed nodes is lost.
  tick_lost_ = pending_lost_;
  pending_lost_ = 0;
  for (int id : live_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    n.errors = 0;
    if (n.state != NodeState::kFailed) continue;
    for (int c = 0; c < kNumClasses; ++c) {
      tick_dropped_c_[c] += n.accepted_c[c] / w;
      tick_lost_ += n.accepted_c[c] / w;
      n.accepted_c[c] = 0;
    }
  }
  tick_dropped_ = tick_dropped_c_[0] + tick_dropped_c_[1] + tick_dropped_c_[2];

  for (int id : live_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    if (n.state == NodeState::kReady) {
      n.accepted = n.accepted_c[0] + n.accepted_c[1] + n.accepted_c[2];
      n.assigned = n.backlog + n.accepted;
    } else if (n.state == NodeState::kDraining || n.state == NodeState::kSwitching) {
      n.assigned = n.backlog;
    }
    if (n.assigned > kNegligibleFraction * n.speed * dt) {
      working_.push_back(id);
    } else {
      n.assigned = 0;
    }
  }
}

void MeshModel::ReportServed(int id, double served_flops) {
  Node& n = nodes_.at(static_cast<std::size_t>(id));
  n.served = std::clamp(served_flops, 0.0, n.assigned);
  // Which classes the completed work belonged to: in priority order with
  // admission control, else in proportion (a FIFO queue's mix).
  PerClass pending;
  double total = 0;
  for (int c = 0; c < kNumClasses; ++c) total += pending[c] = n.backlog_c[c] + n.accepted_c[c];
  if (priority_) {
    double left = n.served;
    for (int c = 0; c < kNumClasses; ++c) {
      n.served_c[c] = std::min(left, pending[c]);
      left -= n.served_c[c];
    }
  } else {
    for (int c = 0; c < kNumClasses; ++c) {
      n.served_c[c] = total > 0 ? n.served * (pending[c] / total) : 0;
    }
  }
  const double fail = 1 - (1 - n.error_rate) * (1 - n.path_loss);
  n.errors = fail > 0 ? n.served * fail / workload_.request_work : 0;
}

TickRecord MeshModel::EndTick() {
  TickRecord r;
  r.time = tick_start_;
  r.dt = tick_dt_;
  r.demand_rps = tick_demand_rps_;
  r.arrived = tick_demand_rps_ * tick_dt_;
  r.dropped = tick_dropped_;
  r.arrived_by_class = tick_arrived_c_;
  r.dropped_by_class = tick_dropped_c_;
  r.throttled_by_class = tick_throttled_c_;
  const std::size_t k = types_.size();
  const std::size_t nr = roles_.size();
  std::vector<double> type_served(k, 0), type_capacity(k, 0);
  std::vector<double> role_served(nr, 0), role_capacity(nr, 0), role_queued(nr, 0);
  r.ready_by_role.assign(nr, 0);
  r.booting_by_role.assign(nr, 0);
  r.switching_by_role.assign(nr, 0);
  const double w = workload_.request_work;

  double ready_capacity_work = 0, ready_served_work = 0;
  double served_work = 0, queued_work = 0;
  double weighted_latency = 0, latency_weight = 0;
  // Nodes of one type that start and end the tick with empty queues receive
  // the same arrival rate, so their M/M/c latency is computed once per type.
  std::vector<double> memo_rate(k, -1), memo_latency(k, 0);

  for (int id : live_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    if (n.state == NodeState::kStopped) continue;
    const NodeTypeSpec& spec = types_[static_cast<std::size_t>(n.type)];
    const std::size_t t = static_cast<std::size_t>(n.type);
    const std::size_t role = static_cast<std::size_t>(n.role);
    const double start_backlog = n.backlog;
    double end_backlog = 0;
    const double dust = kNegligibleFraction * n.speed * tick_dt_;
    // A gray node's failed requests left its queue but were not served.
    const double error_share = n.served > 0 && n.errors > 0 ? n.errors * w / n.served : 0;
    for (int c = 0; c < kNumClasses; ++c) {
      double left = n.backlog_c[c] + n.accepted_c[c] - n.served_c[c];
      if (left <= dust) left = 0;
      n.backlog_c[c] = left;
      end_backlog += left;
      const double failed = n.served_c[c] / w * error_share;
      r.served_by_class[c] += n.served_c[c] / w - failed;
      r.dropped_by_class[c] += failed;
      r.queued_by_class[c] += left / w;
    }
    r.lost += n.errors;
    r.dropped += n.errors;
    served_work += n.served - n.errors * w;
    if (n.state != NodeState::kFailed && !n.unreachable) n.last_heard = tick_start_ + tick_dt_;
    n.latency_s = 0;
    n.service_time_s = n.served > 0 ? w / (spec.core_speed * n.speed_factor) : 0;
    queued_work += end_backlog;
    role_queued[role] += end_backlog / w;

    if (n.state == NodeState::kReady) {
      const double capacity = n.speed * tick_dt_;
      ready_capacity_work += capacity;
      ready_served_work += n.served;
      type_capacity[t] += capacity;
      type_served[t] += n.served;
      role_capacity[role] += capacity;
      role_served[role] += n.served;
      ++r.ready;
      ++r.ready_by_role[role];
      const double rate = n.accepted / w / tick_dt_;  // requests/s this node took
      if (rate > 0) {
        const double service_time = w / (spec.core_speed * n.speed_factor);
        double latency;
        if (start_backlog == 0 && end_backlog == 0) {
          if (n.speed_factor < 1) {
            latency = MmcMeanLatency(rate, service_time, spec.cores);
          } else {
            if (memo_rate[t] != rate) {
              memo_rate[t] = rate;
              memo_latency[t] = MmcMeanLatency(rate, service_time, spec.cores);
            }
            latency = memo_latency[t];
          }
          // At or beyond saturation with no queue left the tick was exactly
          // full: charge the time a request waits behind a full tick's work.
          if (!std::isfinite(latency)) latency = service_time + tick_dt_ / 2;
        } else {
          // Overloaded: a request waits behind the mean backlog over the tick.
          latency = service_time + 0.5 * (start_backlog + end_backlog) / (n.speed * n.speed_factor);
        }
        latency += 2 * n.path_latency;
        weighted_latency += rate * latency;
        latency_weight += rate;
        n.latency_s = latency;
      }
    } else if (n.state == NodeState::kFailed) {
      ++r.failed;
    } else if (n.state == NodeState::kBooting) {
      ++r.booting;
      ++r.booting_by_role[role];
    } else if (n.state == NodeState::kDraining) {
      ++r.draining;
    } else if (n.state == NodeState::kSwitching) {
      ++r.switching;
      ++r.switching_by_role[static_cast<std::size_t>(n.next_role)];
    }
    n.backlog = end_backlog;
    n.assigned = 0;
    node_seconds_ += tick_dt_;
    cost_ += tick_dt_ / 3600.0 * spec.cost_per_hour;
    if (n.state == NodeState::kDraining && end_backlog == 0) Stop(id, tick_start_ + tick_dt_);
  }

  std::erase_if(live_, [this](int id) {
    return nodes_[static_cast<std::size_t>(id)].state == NodeState::kStopped;
  });

  r.lost += tick_lost_;
  lost_total_ += r.lost;
  r.migrating = migrating_;
  for (int c = 0; c < kNumClasses; ++c) r.queued_by_class[c] += migrating_c_[c];
  r.capacity_rps = ready_capacity_work / w / tick_dt_;
  r.served = served_work / w;
  r.queued = queued_work / w + migrating_;
  r.utilization = ready_capacity_work > 0 ? ready_served_work / ready_capacity_work : 0;
  r.latency = latency_weight > 0 ? weighted_latency / latency_weight : 0;
  r.active_by_type = active_by_type_;
  r.utilization_by_type.resize(k);
  for (std::size_t t = 0; t < k; ++t) {
    r.utilization_by_type[t] = type_capacity[t] > 0 ? type_served[t] / type_capacity[t] : 0;
  }
  r.demand_by_role = tick_role_demand_;
  r.dropped_by_role = tick_role_dropped_;
  r.queued_by_role = role_queued;
  r.capacity_by_role.resize(nr);
  r.utilization_by_role.resize(nr);
  for (std::size_t i = 0; i < nr; ++i) {
    r.capacity_by_role[i] = role_capacity[i] / w / tick_dt_;
    r.utilization_by_role[i] = role_capacity[i] > 0 ? role_served[i] / role_capacity[i] : 0;
  }
  // Best-effort work exists to be shed: only the other classes' drops count.
  const double slo_drops = r.dropped_by_class[0] + r.dropped_by_class[1];
  r.slo_violated = (slo_.latency_target > 0 && r.latency > slo_.latency_target) ||
                   (slo_.utilization_ceiling < 1 && r.utilization > slo_.utilization_ceiling) ||
                   (slo_.drops_violate && slo_drops > 0);
  slo_minutes_.Add(r.time, r.dt, r.slo_violated);
  last_ = r;
  have_last_ = true;
  return r;
}

Observation MeshModel::Observe(Seconds now, Seconds interval, bool with_nodes) const {
  Observation obs;
  obs.now = now;
  obs.interval = interval;
  const std::size_t nr = roles_.size();
  obs.roles.resize(nr);
  for (std::size_t i = 0; i < nr; ++i) obs.roles[i].role = static_cast<int>(i);
  if (have_last_) {
    obs.demand_rps = last_.demand_rps;
    obs.capacity_rps = last_.capacity_rps;
    obs.utilization = last_.utilization;
    obs.queued_requests = last_.queued;
    obs.dropped_requests = last_.dropped;
    obs.latency_s = last_.latency;
    obs.dropped_by_class = last_.dropped_by_class;
    obs.queued_by_class = last_.queued_by_class;
    for (int c = 0; c < kNumClasses; ++c) {
      obs.demand_by_class[c] = last_.dt > 0 ? last_.arrived_by_class[c] / last_.dt : 0;
    }
    for (std::size_t i = 0; i < nr; ++i) {
      RoleObservation& ro = obs.roles[i];
      ro.demand_rps = last_.demand_by_role[i];
      ro.capacity_rps = last_.capacity_by_role[i];
      ro.utilization = last_.utilization_by_role[i];
      ro.queued_requests = last_.queued_by_role[i];
      ro.dropped_requests = last_.dropped_by_role[i];
    }
  }
  obs.pools.resize(types_.size());
  for (std::size_t t = 0; t < types_.size(); ++t) {
    obs.pools[t].node_type = static_cast<int>(t);
    if (have_last_) obs.pools[t].utilization = last_.utilization_by_type[t];
  }
  const double w = workload_.request_work;
  for (int id : live_) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    PoolObservation& p = obs.pools[static_cast<std::size_t>(n.type)];
    RoleObservation& ro = obs.roles[static_cast<std::size_t>(n.role)];
    switch (n.state) {
      case NodeState::kBooting:
        ++p.booting;
        ++ro.booting;
        break;
      case NodeState::kReady:
        ++p.ready;
        ++ro.ready;
        // Promoted at this tick's start: it served no part of the last tick.
        if (!have_last_ || n.ready_at > last_.time) ++p.ready_without_metrics;
        break;
      case NodeState::kDraining:
        ++p.draining;
        break;
      case NodeState::kSwitching:
        ++p.switching;
        ++obs.roles[static_cast<std::size_t>(n.next_role)].switching;
        break;
      case NodeState::kFailed:
        // Nobody has told the manager: it still counts the node as ready.
        ++p.ready;
        ++ro.ready;
        break;
      case NodeState::kStopped:
        break;
    }
    if (with_nodes) {
      NodeObservation& no = obs.nodes.emplace_back();
      no.id = n.id;
      no.type = n.type;
      no.role = n.state == NodeState::kSwitching ? n.next_role : n.role;
      no.state = n.state;
      no.speed_rps = n.speed / w;
      no.utilization = have_last_ && last_.dt > 0 ? n.served / (n.speed * last_.dt) : 0;
      for (int c = 0; c < kNumClasses; ++c) no.queued[c] = n.backlog_c[c] / w;
      no.queue_seconds = n.backlog / n.speed;
      no.latency_s = n.latency_s;
      no.service_time_s = n.service_time_s;
      no.error_rate = n.served > 0 ? n.errors * w / n.served : 0;
      no.heartbeat_age = std::max(0.0, now - n.last_heard);
      no.isolated = n.isolated;
      no.rack = n.rack;
      no.zone = n.zone;
      // A silent node sends no metrics: the manager has only its silence.
      if (no.heartbeat_age > 1e-9 || n.state == NodeState::kFailed) {
        if (n.state == NodeState::kFailed) no.state = NodeState::kReady;
        no.utilization = 0;
        no.latency_s = 0;
        no.service_time_s = 0;
        no.error_rate = 0;
      }
    }
  }
  return obs;
}

}  // namespace meshtwin
