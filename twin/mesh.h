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
  NodeState state = NodeState::kBooting;
  Seconds provisioned_at = 0;
  Seconds ready_at = 0;
  Seconds stopped_at = std::numeric_limits<double>::quiet_NaN();
  double speed = 0;       // flop/s of the whole node
  double backlog = 0;     // work queued at the start of the tick
  double assigned = 0;    // work to execute in the current tick (backlog + accepted arrivals)
  double accepted = 0;    // arrivals accepted in the current tick
  double served = 0;      // work completed in the current tick
};

// What one tick amounted to, fleet-wide.
struct TickRecord {
  Seconds time = 0;            // tick start
  Seconds dt = 0;
  double demand_rps = 0;       // offered rate
  double arrived = 0;          // requests offered in the tick
  double capacity_rps = 0;     // ready capacity
  double served = 0;           // requests completed
  double dropped = 0;          // requests refused (queues full, or no ready node)
  double queued = 0;           // requests waiting at the end of the tick
  double utilization = 0;      // completed work / ready capacity, 0..1
  double latency = 0;          // request-weighted mean latency estimate, s (0 if no demand)
  bool slo_violated = false;
  int ready = 0, booting = 0, draining = 0;
  std::vector<int> active_by_type;         // nodes not stopped, per type
  std::vector<double> utilization_by_type; // of ready nodes, per type
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

class MeshModel {
 public:
  MeshModel(std::vector<NodeTypeSpec> types, WorkloadSpec workload, SloSpec slo);

  // Adds each type's `initial` nodes, ready at time 0.
  void AddInitialNodes();
  // Provisions a node of `type` at `now`; it serves from now + boot_time. Returns its id.
  int Provision(int type, Seconds now);
  // The `count` nodes of `type` a scale-in removes: booting ones first, then
  // ready ones, newest first (the ReplicaSet controller's preference).
  std::vector<int> PickForRemoval(int type, int count) const;
  // A booting node stops at once; a ready one drains (no new work, then stops).
  void Remove(int id, Seconds now);

  // Nodes whose boot has completed by `now` become ready.
  void PromoteBooted(Seconds now);
  // Balances `demand_rps` over [now, now + dt) across ready nodes in
  // proportion to their speed, drops what would overflow their queues, and
  // sets every node's `assigned` work.
  void BeginTick(Seconds now, Seconds dt, double demand_rps);
  // Nodes with work to execute this tick (ready or draining), ascending id.
  const std::vector<int>& working_nodes() const { return working_; }
  // The executor reports the work node `id` completed in this tick (<= assigned).
  void ReportServed(int id, double served_flops);
  // Closes the tick: backlogs, drained nodes stop, the fleet-wide record.
  TickRecord EndTick();

  // What a control loop sees at the start of a tick (metrics of the last one).
  Observation Observe(Seconds now, Seconds interval) const;

  const Node& node(int id) const { return nodes_[static_cast<std::size_t>(id)]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<NodeTypeSpec>& types() const { return types_; }
  const WorkloadSpec& workload() const { return workload_; }
  int active_nodes() const;               // not stopped
  int active_nodes(int type) const { return active_by_type_[static_cast<std::size_t>(type)]; }
  double node_hours() const { return node_seconds_ / 3600.0; }
  double cost() const { return cost_; }
  int slo_violation_minutes() const { return slo_minutes_.minutes(); }
  // Nodes that stopped during the last EndTick or Remove (for the executor to retire).
  std::vector<int> TakeStopped();

 private:
  void Stop(int id, Seconds now);

  std::vector<NodeTypeSpec> types_;
  WorkloadSpec workload_;
  SloSpec slo_;
  std::vector<Node> nodes_;
  std::vector<int> live_;          // ids of nodes not stopped, ascending
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
