// The mesh's fleet and its flow-level load model, free of any simulator: which
// nodes exist and in what state, how each tick's demand is balanced over the
// ready nodes, what each node must execute, and what the tick amounted to
// (served, dropped, queued, utilisation, latency, SLO). An executor (SimGrid
// node actors in sim/, or a plain loop in tests) carries out the work between
// BeginTick and EndTick and reports what each node completed.
//
//   MeshModel mesh(types, workload, slo);
//   mesh.AddInitialNodes();
//   mesh.BeginTick(now, dt, demand_rps);
//   for (int id : mesh.working_nodes()) mesh.ReportServed(id, Execute(mesh.node(id).assigned));
//   TickRecord r = mesh.EndTick();
//
// Per-tick cost is O(nodes). Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "twin/types.h"

namespace meshtwin {

// One node of the fleet. Work is in flop.
struct Node {
  int id = 0;
  int type = 0;
  int role = 0;              // the role it serves (while switching: the role it is leaving)
  int next_role = -1;        // while switching: the role it will serve
  Seconds switch_until = 0;  // while switching: when it starts serving next_role
  NodeState state = NodeState::kBooting;
  Seconds provisioned_at = 0;
  Seconds ready_at = 0;
  Seconds stopped_at = std::numeric_limits<double>::quiet_NaN();
  double speed = 0;     // flop/s of the whole node
  double backlog = 0;   // work queued at the start of the tick
  double assigned = 0;  // work to execute in the current tick (backlog + accepted arrivals)
  double accepted = 0;  // arrivals accepted in the current tick
  double served = 0;    // work completed in the current tick
  // The same, per request class (sums equal the totals above).
  PerClass backlog_c = {0, 0, 0};
  PerClass accepted_c = {0, 0, 0};
  PerClass served_c = {0, 0, 0};
  // Faults (twin/faults.h).
  double speed_factor = 1;   // gray failure: the share of its speed it still has
  double error_rate = 0;     // gray failure: the share of completed requests that fail
  bool unreachable = false;  // cut off by a partition: no new work, no heartbeats
  bool isolated = false;     // suspect (kIsolate): no new work
  Seconds last_heard = 0;    // its last heartbeat reached the manager then
  int rack = 0, zone = 0;
  double latency_s = 0;       // mean latency estimate of its requests over the last tick
  double service_time_s = 0;  // mean time a request was served, queueing excluded
  double errors = 0;          // requests it completed in the current tick that failed
  Seconds path_latency = 0;   // one way, manager to node (faults.topology)
  double path_loss = 0;       // share of requests lost on the way (degraded links)
};

// What one tick amounted to, fleet-wide.
struct TickRecord {
  Seconds time = 0;  // tick start
  Seconds dt = 0;
  double demand_rps = 0;    // offered rate
  double arrived = 0;       // requests offered in the tick
  double capacity_rps = 0;  // ready capacity
  double served = 0;        // requests completed
  double dropped = 0;       // requests refused (queues full, or no ready node)
  double queued = 0;        // requests waiting at the end of the tick
  double utilization = 0;   // completed work / ready capacity, 0..1
  double latency = 0;       // request-weighted mean latency estimate, s (0 if no demand)
  bool slo_violated = false;
  int ready = 0, booting = 0, draining = 0, switching = 0;
  int failed = 0;                   // crashed nodes not yet replaced
  double lost = 0;                  // of dropped: requests lost to failures (sent to or queued on
                                    // crashed nodes, failed by gray ones)
  std::vector<int> active_by_type;  // nodes not stopped, per type
  std::vector<double> utilization_by_type;  // of ready nodes, per type
  // Per request class, in requests. `dropped_by_class` includes `throttled_by_class`.
  PerClass arrived_by_class = {0, 0, 0};
  PerClass served_by_class = {0, 0, 0};
  PerClass dropped_by_class = {0, 0, 0};
  PerClass throttled_by_class = {0, 0, 0};
  PerClass queued_by_class = {0, 0, 0};  // in queues or migrating
  double migrating = 0;                  // of `queued`: requests in transit between nodes
  // Per role, in scenario order.
  std::vector<double> demand_by_role;       // requests/s
  std::vector<double> capacity_by_role;     // requests/s of its ready nodes
  std::vector<double> utilization_by_role;  // of its ready nodes
  std::vector<double> dropped_by_role;
  std::vector<double> queued_by_role;
  std::vector<int> ready_by_role;  // ready nodes holding the role
  std::vector<int> booting_by_role;
  std::vector<int> switching_by_role;  // switching into the role
};

// Counts the minutes (of simulated time, aligned on whole minutes) that
// overlap at least one tick that missed the SLO.
class SloMinuteCounter {
 public:
  void Add(Seconds start, Seconds dt, bool violated);
  int minutes() const { return minutes_; }

 private:
  int minutes_ = 0;
  std::int64_t last_counted_ = -1;  // index of the last minute counted
};

// Mean latency of an M/M/c queue: service time plus Erlang-C waiting time.
// `arrival_rps` below c/service_time; returns +inf when the queue is unstable.
double MmcMeanLatency(double arrival_rps, double service_time, int servers);

// Request classes and admission control: without admission control a node's
// queue is first come, first served, and what does not fit is dropped from
// every class alike. SetAdmission turns on per-class token buckets (what they
// refuse is "throttled", counted in the drops) and strict priority: each
// role's queue room goes to critical first, then standard, then best-effort,
// each class only as far as its deadline allows, and nodes serve their queues
// in that order. So within a role critical work is never dropped while a lower
// class is admitted (given deadlines that do not grow as priority falls, which
// the scenario loader checks). Best-effort drops do not make a tick violate
// the SLO: shedding them is what the class is for.
//
// Roles: each role's demand is balanced over the ready nodes holding it.
// ChangeRole sends a node through kSwitching (it finishes its queue, takes no
// new work) for the new role's switch time.
//
// Migration: TakeQueued removes queued requests from a node and AddQueued
// delivers them elsewhere; in between, the executor models the transfer and
// the requests count as queued ("migrating").
class MeshModel {
 public:
  MeshModel(std::vector<NodeTypeSpec> types, WorkloadSpec workload, SloSpec slo,
            std::vector<RoleSpec> roles = {RoleSpec{}});

  // Adds each type's `initial` nodes, ready at time 0, spread over the roles
  // in proportion to their shares.
  void AddInitialNodes();
  // Provisions a node of `type` at `now`; it serves from now + boot_time.
  // `role` < 0: the role whose last-tick demand is largest against the
  // capacity it has or has coming. Returns its id.
  int Provision(int type, Seconds now, int role = -1);
  // The `count` nodes of `type` a scale-in removes: booting ones first, then
  // ready ones, newest first (the ReplicaSet controller's preference). With
  // `role` >= 0 only nodes holding that role.
  std::vector<int> PickForRemoval(int type, int count, int role = -1) const;
  // A booting node stops at once; a ready one drains (no new work, then stops).
  void Remove(int id, Seconds now);

  // Node `id` (ready) starts switching to `role`; false if it cannot (not
  // ready, already in that role, unknown role).
  bool ChangeRole(int id, int role, Seconds now);
  // Faults. Crash: the node fails at once (kFailed) and its queue is lost;
  // until the manager replaces it (Kill), a load balancer that has not
  // noticed keeps sending it its share of new work, which is lost too. Gray:
  // it runs at `speed_factor` of its speed and fails `error_rate` of what it
  // completes. Unreachable: no new work reaches it (routes avoid it) and its
  // heartbeats stop; it works off its queue. Isolate: no new work.
  void Crash(int id, Seconds now);
  void SetGray(int id, double speed_factor, double error_rate);
  void SetUnreachable(int id, bool unreachable);
  void Isolate(int id);
  void SetPlacement(int id, int rack, int zone);
  // The network path to node `id`: one-way latency (added twice to its
  // requests' latency) and the share of requests lost on the way.
  void SetPath(int id, Seconds latency, double loss);
  // Stops node `id` at once whatever its state; its queue is lost to failures.
  void Kill(int id, Seconds now);
  double requests_lost_to_failures() const { return lost_total_; }
  // Per-class token-bucket limits (requests/s, +inf: none), bucket depth in
  // seconds of the rate, and priority scheduling from now on.
  void SetAdmission(const PerClass& rate_limit, Seconds burst);
  // Restricts new work to the ready nodes whose entry in `routable` (by node
  // id) is non-zero: the nodes the manager knows of when capacity is
  // discovered through the DHT. Others still work off their queues. Null (the
  // default): every ready node is routable. The vector must outlive the model.
  void SetRoutable(const std::vector<char>* routable) { routable_ = routable; }
  bool routable(int id) const {
    return routable_ == nullptr || (static_cast<std::size_t>(id) < routable_->size() &&
                                    (*routable_)[static_cast<std::size_t>(id)] != 0);
  }
  bool admission_on() const { return priority_; }
  // Removes up to `requests` queued requests of class `cls` from node `id`
  // (between ticks); returns how many it removed. They count as migrating
  // until AddQueued delivers them.
  double TakeQueued(int id, int cls, double requests);
  // Delivers migrated requests to node `id`'s queue; if it has stopped, to
  // the ready node of its role with the shortest queue; if there is none,
  // they are dropped (in the next tick's record).
  void AddQueued(int id, int cls, double requests);

  // Nodes whose boot or role switch has completed by `now` become ready.
  void PromoteBooted(Seconds now);
  // Balances each role's demand (requests/s, one value per role) over
  // [now, now + dt) across the role's ready nodes in proportion to their
  // speed, drops what would overflow their queues, and sets every node's
  // `assigned` work.
  void BeginTick(Seconds now, Seconds dt, const std::vector<double>& role_demand_rps);
  // The same for a mesh with one role.
  void BeginTick(Seconds now, Seconds dt, double demand_rps) {
    one_role_demand_[0] = demand_rps;
    BeginTick(now, dt, one_role_demand_);
  }
  // Nodes with work to execute this tick (ready or draining), ascending id.
  const std::vector<int>& working_nodes() const { return working_; }
  // The executor reports the work node `id` completed in this tick (<= assigned).
  void ReportServed(int id, double served_flops);
  // Closes the tick: backlogs, drained nodes stop, the fleet-wide record.
  TickRecord EndTick();

  // What a control loop sees at the start of a tick (metrics of the last
  // one); per-node metrics only `with_nodes`.
  Observation Observe(Seconds now, Seconds interval, bool with_nodes = false) const;

  const Node& node(int id) const { return nodes_[static_cast<std::size_t>(id)]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<NodeTypeSpec>& types() const { return types_; }
  const WorkloadSpec& workload() const { return workload_; }
  const std::vector<RoleSpec>& roles() const { return roles_; }
  int role_switches() const { return role_switches_; }
  int active_nodes() const;  // not stopped
  int active_nodes(int type) const { return active_by_type_[static_cast<std::size_t>(type)]; }
  double node_hours() const { return node_seconds_ / 3600.0; }
  double cost() const { return cost_; }
  int slo_violation_minutes() const { return slo_minutes_.minutes(); }
  // Nodes that stopped during the last EndTick or Remove (for the executor to retire).
  std::vector<int> TakeStopped();

 private:
  const std::vector<char>* routable_ = nullptr;
  double pending_lost_ = 0;  // lost between ticks (crashed queues), counted in the next one
  double tick_lost_ = 0;
  double lost_total_ = 0;
  // Loses node `id`'s queue to failures (counted in the next tick).
  void LoseQueue(Node& n);
  void Stop(int id, Seconds now);
  // Places `work` (flop) of class `cls` on `nodes` in proportion to speed,
  // within each node's room for the class, spilling what does not fit to the
  // nodes with room left; returns the work that fitted nowhere.
  double PlaceClass(const std::vector<int>& nodes, double speed_sum, int cls, double work);
  // A node's room for class `cls` this tick, flop (priority scheduling).
  double ClassRoom(const Node& n, int cls) const;

  std::vector<NodeTypeSpec> types_;
  WorkloadSpec workload_;
  SloSpec slo_;
  std::vector<RoleSpec> roles_;
  std::vector<double> one_role_demand_ = {0};
  bool priority_ = false;
  PerClass rate_limit_{}, tokens_{};
  Seconds burst_ = 1;
  PerClass tick_arrived_c_{}, tick_dropped_c_{}, tick_throttled_c_{}, pending_dropped_c_{};
  std::vector<double> tick_role_demand_, tick_role_dropped_;
  std::vector<std::vector<int>> role_ready_;  // per role: its ready nodes this tick
  double migrating_ = 0;                      // requests in transit
  PerClass migrating_c_{};
  int role_switches_ = 0;
  std::vector<Node> nodes_;
  std::vector<int> live_;  // ids of nodes not stopped, ascending
  std::vector<int> working_;
  std::vector<int> stopped_now_;
  std::vector<int> active_by_type_;
  Seconds tick_start_ = 0, tick_dt_ = 0;
  double tick_demand_rps_ = 0, tick_dropped_ = 0;
  double node_seconds_ = 0, cost_ = 0;
  SloMinuteCounter slo_minutes_;
  TickRecord last_;
  bool have_last_ = false;
};

}  // namespace meshtwin
