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

MeshModel::MeshModel(std::vector<NodeTypeSpec> types, WorkloadSpec workload, SloSpec slo)
    : types_(std::move(types)), workload_(workload), slo_(slo), active_by_type_(types_.size(), 0) {}

void MeshModel::AddInitialNodes() {
  for (int t = 0; t < static_cast<int>(types_.size()); ++t) {
    for (int i = 0; i < types_[static_cast<std::size_t>(t)].initial; ++i) {
      int id = Provision(t, 0);
      nodes_[static_cast<std::size_t>(id)].ready_at = 0;
      nodes_[static_cast<std::size_t>(id)].state = NodeState::kReady;
    }
  }
}

int MeshModel::Provision(int type, Seconds now) {
  const NodeTypeSpec& spec = types_.at(static_cast<std::size_t>(type));
  Node n;
  n.id = static_cast<int>(nodes_.size());
  n.type = type;
  n.state = NodeState::kBooting;
  n.provisioned_at = now;
  n.ready_at = now + spec.boot_time;
  n.speed = spec.NodeSpeed();
  nodes_.push_back(n);
  live_.push_back(n.id);  // ids only grow, so live_ stays sorted
  ++active_by_type_[static_cast<std::size_t>(type)];
  return n.id;
}

std::vector<int> MeshModel::PickForRemoval(int type, int count) const {
  std::vector<int> picked;
  for (NodeState wanted : {NodeState::kBooting, NodeState::kReady}) {
    for (auto it = live_.rbegin(); it != live_.rend() && static_cast<int>(picked.size()) < count;
         ++it) {
      const Node& n = nodes_[static_cast<std::size_t>(*it)];
      if (n.type == type && n.state == wanted) picked.push_back(n.id);
    }
  }
  return picked;
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

void MeshModel::Stop(int id, Seconds now) {
  Node& n = nodes_[static_cast<std::size_t>(id)];
  n.state = NodeState::kStopped;
  n.stopped_at = now;
  n.backlog = n.assigned = n.accepted = n.served = 0;
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
    if (n.state == NodeState::kBooting && n.ready_at <= now) n.state = NodeState::kReady;
  }
}

int MeshModel::active_nodes() const {
  int total = 0;
  for (int c : active_by_type_) total += c;
  return total;
}

void MeshModel::BeginTick(Seconds now, Seconds dt, double demand_rps) {
  tick_start_ = now;
  tick_dt_ = dt;
  tick_demand_rps_ = demand_rps;
  tick_dropped_ = 0;
  working_.clear();

  double ready_speed = 0;
  for (int id : live_) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    if (n.state == NodeState::kReady) ready_speed += n.speed;
  }
  const double arriving_work = demand_rps * dt * workload_.request_work;
  if (ready_speed <= 0) tick_dropped_ = demand_rps * dt;

  for (int id : live_) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    n.accepted = n.served = 0;
    n.assigned = 0;
    if (n.state == NodeState::kReady && ready_speed > 0) {
      // Weighted round robin in the fluid limit: each node gets work in
      // proportion to its speed; what would leave more than queue_limit
      // seconds of work queued at the end of the tick is dropped.
      const double share = arriving_work * (n.speed / ready_speed);
      const double room = workload_.queue_limit * n.speed + n.speed * dt - n.backlog;
      n.accepted = std::clamp(room, 0.0, share);
      tick_dropped_ += (share - n.accepted) / workload_.request_work;
      n.assigned = n.backlog + n.accepted;
    } else if (n.state == NodeState::kDraining) {
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
}

TickRecord MeshModel::EndTick() {
  TickRecord r;
  r.time = tick_start_;
  r.dt = tick_dt_;
  r.demand_rps = tick_demand_rps_;
  r.arrived = tick_demand_rps_ * tick_dt_;
  r.dropped = tick_dropped_;
  const std::size_t k = types_.size();
  std::vector<double> type_served(k, 0), type_capacity(k, 0);
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
    const double start_backlog = n.backlog;
    double end_backlog = n.assigned - n.served;
    if (end_backlog <= kNegligibleFraction * n.speed * tick_dt_) end_backlog = 0;
    served_work += n.served;
    queued_work += end_backlog;

    if (n.state == NodeState::kReady) {
      const double capacity = n.speed * tick_dt_;
      ready_capacity_work += capacity;
      ready_served_work += n.served;
      type_capacity[t] += capacity;
      type_served[t] += n.served;
      ++r.ready;
      const double rate = n.accepted / w / tick_dt_;  // requests/s this node took
      if (rate > 0) {
        const double service_time = w / spec.core_speed;
        double latency;
        if (start_backlog == 0 && end_backlog == 0) {
          if (memo_rate[t] != rate) {
            memo_rate[t] = rate;
            memo_latency[t] = MmcMeanLatency(rate, service_time, spec.cores);
          }
          latency = memo_latency[t];
          // At or beyond saturation with no queue left the tick was exactly
          // full: charge the time a request waits behind a full tick's work.
          if (!std::isfinite(latency)) latency = service_time + tick_dt_ / 2;
        } else {
          // Overloaded: a request waits behind the mean backlog over the tick.
          latency = service_time + 0.5 * (start_backlog + end_backlog) / n.speed;
        }
        weighted_latency += rate * latency;
        latency_weight += rate;
      }
    } else if (n.state == NodeState::kBooting) {
      ++r.booting;
    } else if (n.state == NodeState::kDraining) {
      ++r.draining;
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

  r.capacity_rps = ready_capacity_work / w / tick_dt_;
  r.served = served_work / w;
  r.queued = queued_work / w;
  r.utilization = ready_capacity_work > 0 ? ready_served_work / ready_capacity_work : 0;
  r.latency = latency_weight > 0 ? weighted_latency / latency_weight : 0;
  r.active_by_type = active_by_type_;
  r.utilization_by_type.resize(k);
  for (std::size_t t = 0; t < k; ++t) {
    r.utilization_by_type[t] = type_capacity[t] > 0 ? type_served[t] / type_capacity[t] : 0;
  }
  r.slo_violated = (slo_.latency_target > 0 && r.latency > slo_.latency_target) ||
                   (slo_.utilization_ceiling < 1 && r.utilization > slo_.utilization_ceiling) ||
                   (slo_.drops_violate && r.dropped > 0);
  slo_minutes_.Add(r.time, r.dt, r.slo_violated);
  last_ = r;
  have_last_ = true;
  return r;
}

Observation MeshModel::Observe(Seconds now, Seconds interval) const {
  Observation obs;
  obs.now = now;
  obs.interval = interval;
  if (have_last_) {
    obs.demand_rps = last_.demand_rps;
    obs.capacity_rps = last_.capacity_rps;
    obs.utilization = last_.utilization;
    obs.queued_requests = last_.queued;
    obs.dropped_requests = last_.dropped;
    obs.latency_s = last_.latency;
  }
  obs.pools.resize(types_.size());
  for (std::size_t t = 0; t < types_.size(); ++t) {
    obs.pools[t].node_type = static_cast<int>(t);
    if (have_last_) obs.pools[t].utilization = last_.utilization_by_type[t];
  }
  for (int id : live_) {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    PoolObservation& p = obs.pools[static_cast<std::size_t>(n.type)];
    switch (n.state) {
      case NodeState::kBooting: ++p.booting; break;
      case NodeState::kReady:
        ++p.ready;
        // Promoted at this tick's start: it served no part of the last tick.
        if (!have_last_ || n.ready_at > last_.time) ++p.ready_without_metrics;
        break;
      case NodeState::kDraining: ++p.draining; break;
      case NodeState::kSwitching: ++p.switching; break;
      case NodeState::kStopped: break;
    }
  }
  return obs;
}

}  // namespace meshtwin
