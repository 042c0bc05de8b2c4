// The vocabulary of the twin: node types, node states, what a control loop
// observes, what a forecast says and what a policy plans. Plain values, no I/O:
// the simulator and the live bridge both speak in these terms.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace meshtwin {

// Time is seconds since the start of the run (SimGrid's unit), as double.
using Seconds = double;

// A kind of node the mesh can run: its capabilities, price and scaling bounds.
struct NodeTypeSpec {
  std::string name;
  int cores = 4;               // CPU cores per node
  double core_speed = 1e9;     // flop/s per core
  double memory_gb = 16;       // memory per node (advertised; not yet a constraint)
  Seconds boot_time = 60;      // from provisioning to serving
  double cost_per_hour = 0.1;  // price of one node-hour (any currency)
  int initial = 0;             // nodes at t = 0 (already booted)
  int min = 0;                 // the autoscaler never goes below this
  int max = 0;                 // ... nor above this (also: hosts built for the type)

  // Aggregate compute of one node, flop/s.
  double NodeSpeed() const { return cores * core_speed; }
};

// Priority classes of requests, highest priority first.
enum class RequestClass : std::uint8_t { kCritical = 0, kStandard = 1, kBestEffort = 2 };
inline constexpr int kNumClasses = 3;
const char* ToString(RequestClass c);
// Per-class values, indexed by static_cast<int>(RequestClass).
using PerClass = std::array<double, kNumClasses>;

// What one request costs and how much queueing a node tolerates.
struct WorkloadSpec {
  double request_work = 5e7;  // flop per request
  Seconds queue_limit = 30;   // backlog bound per node, in seconds of its full speed
  // Fraction of every role's demand in each class (sums to 1). The default is
  // all standard, i.e. no classes.
  PerClass class_share = {0, 1, 0};
  // Longest a request of the class may wait in a node's queue once admission
  // control is on: what would wait longer is dropped on arrival (0: queue_limit).
  PerClass class_deadline = {0, 0, 0};
  // Bytes of state that move with one queued request when work migrates.
  double request_bytes = 64 * 1024;
};

// A role nodes can take (web, api, batch, ...). Each role has its own demand
// and is served only by the nodes holding it. A scenario without roles has
// one implicit role, "default", that every node holds.
struct RoleSpec {
  std::string name = "default";
  double share = 1;          // fraction of the demand, when the trace has no channel of this name
  Seconds switch_time = 60;  // a node changing to this role serves nothing for this long
};

// The service-level objective a tick is judged against.
struct SloSpec {
  Seconds latency_target = 0.5;      // mean latency estimate must stay at or below (<= 0: unused)
  double utilization_ceiling = 1.0;  // fleet utilisation must stay at or below (>= 1: unused)
  bool drops_violate = true;         // any dropped request makes the tick a violation
};

// kSwitching: changing role; serves no new work until the switch completes
// (it finishes its queued work meanwhile).
// kFailed: crashed or cut off; serves nothing until it is replaced or recovers.
enum class NodeState : std::uint8_t { kBooting, kReady, kDraining, kStopped, kSwitching, kFailed };
constexpr int kNumNodeStates = 6;
const char* ToString(NodeState s);

// Forecast of demand (requests/s) at several horizons, with quantiles.
// Empty when no forecaster runs.
struct Forecast {
  std::vector<Seconds> horizons;      // seconds ahead of the observation time
  std::vector<double> p10, p50, p90;  // one value per horizon
  double recent_mae = std::numeric_limits<double>::quiet_NaN();  // model's recent error
  // How long before the observation the forecast was made (a model working
  // at a coarser step than the control loop forecasts from its last step
  // boundary); `horizons` already count from the observation.
  Seconds age = 0;
  bool empty() const { return horizons.empty(); }
};

// One node type's share of the fleet, as a control loop sees it.
struct PoolObservation {
  int node_type = 0;              // index into the scenario's node types
  int ready = 0;                  // serving
  int ready_without_metrics = 0;  // of `ready`: became ready during the last tick, so no
                                  // full metric window yet (unready pods to the HPA)
  int booting = 0;                // provisioned, not serving yet (unready pods to the HPA)
  int draining = 0;               // told to stop, finishing their queue (ignored by the HPA)
  int switching = 0;              // changing role: provisioned, serving nothing new
  double utilization = 0;         // mean CPU utilisation over the last tick of the nodes ready
                                  // throughout it, 0..1
};

// One role's share of the mesh over the last tick.
struct RoleObservation {
  int role = 0;             // index into the scenario's roles
  double demand_rps = 0;    // offered to the role
  double capacity_rps = 0;  // what its ready nodes can serve
  double utilization = 0;   // of its ready nodes, 0..1
  double queued_requests = 0;
  double dropped_requests = 0;
  int ready = 0;      // nodes holding the role, serving
  int booting = 0;    // booting into the role
  int switching = 0;  // switching into the role
};

// One node as the control loop sees it (filled only for policies that ask,
// see Policy::wants_node_view: it costs O(nodes) per tick).
struct NodeObservation {
  int id = 0;
  int type = 0;
  int role = 0;
  NodeState state = NodeState::kReady;
  double speed_rps = 0;         // requests/s it serves at full speed
  double utilization = 0;       // over the last tick, 0..1
  PerClass queued = {0, 0, 0};  // requests waiting at the end of the last tick, per class
  double queue_seconds = 0;     // its whole queue in seconds of its full speed
  double latency_s = 0;         // mean latency estimate of its requests over the last tick
  double service_time_s = 0;    // mean time a request was being served, queueing excluded
                                // (what a slow node shows whatever its backlog); 0: served none
  double error_rate = 0;      // fraction of the requests it completed in the last tick that failed
  Seconds heartbeat_age = 0;  // since the manager last heard from it (crashed or cut off: grows)
  bool isolated = false;      // a kIsolate was carried out on it
  int rack = 0, zone = 0;     // where it sits (faults.topology)
};

// What the control loop knows at the start of a tick: the last tick's metrics.
struct Observation {
  Seconds now = 0;
  Seconds interval = 15;                  // control interval
  double demand_rps = 0;                  // arrival rate over the last tick
  double capacity_rps = 0;                // what the ready nodes can serve
  double utilization = 0;                 // fleet utilisation over the last tick, 0..1
  double queued_requests = 0;             // backlog at the end of the last tick
  double dropped_requests = 0;            // dropped during the last tick
  double latency_s = 0;                   // mean latency estimate over the last tick
  std::vector<PoolObservation> pools;     // one per node type, in scenario order
  std::vector<RoleObservation> roles;     // one per role, in scenario order (one when no roles)
  PerClass demand_by_class = {0, 0, 0};   // offered over the last tick, requests/s
  PerClass dropped_by_class = {0, 0, 0};  // dropped or throttled in the last tick, requests
  PerClass queued_by_class = {0, 0, 0};   // waiting at the end of the last tick, requests
  std::vector<NodeObservation> nodes;     // empty unless the policy wants_node_view()
  Forecast forecast;
};

enum class ActionKind : std::uint8_t {
  kScaleOut,  // add `count` nodes of `node_type` (taking `role`, or the role the mesh needs most)
  kScaleIn,  // remove `count` nodes of `node_type` (booting first, then the newest ready; of `role`
             // if >= 0)
  kChangeRole,    // node `node` switches to `role`, paying the role's switch_time
  kMigrate,       // move `requests` queued requests of `request_class` from `node` to `target_node`
  kSetAdmission,  // per-class token-bucket rate limits and priority scheduling from now on
  kIsolate,  // node `node` is suspect: no new work from now on (its queue drains), until replaced
  kReplace,  // node `node` (silent, failed or isolated) is removed and a new node of its type
             // and role is launched in its place (on another rack if `node`'s is unreachable)
};
const char* ToString(ActionKind k);

// One thing a policy wants done.
struct Action {
  ActionKind kind = ActionKind::kScaleOut;
  int node_type = 0;
  int count = 0;            // nodes to add or remove (> 0)
  int replicas_before = 0;  // the pool's replica count the decision started from
  int replicas_after = 0;   // the replica count it asks for
  double metric = 0;        // the metric value that drove it (e.g. utilisation)
  std::string reason;       // short human-readable explanation
  int role = -1;            // kScaleOut: role of the new nodes (-1: the mesh picks); kScaleIn: only
                            // nodes of this role (-1: any); kChangeRole: the new role
  int node = -1;            // kChangeRole: the node; kMigrate: the source node
  int target_node = -1;     // kMigrate: the destination node
  int request_class = 1;    // kMigrate: the class of the moved requests
  double requests = 0;      // kMigrate: how many queued requests to move
  // kSetAdmission: admitted rate per class, requests/s (+inf: unlimited), and
  // the token bucket's depth in seconds of that rate.
  PerClass rate_limit = {std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::infinity()};
  Seconds burst = 1;
};

// A policy's decision for one tick; empty means "leave things as they are".
struct Plan {
  std::vector<Action> actions;
};

// Figures a finished run reports (the `--json` summary, less wall time).
struct RunSummary {
  std::string scenario;
  std::string policy;
  std::uint64_t seed = 0;
  Seconds duration = 0;
  double requests_total = 0;
  double requests_served = 0;
  double requests_dropped = 0;
  double requests_queued_at_end = 0;
  int slo_violation_minutes = 0;
  double node_hours = 0;
  double cost = 0;
  int peak_nodes = 0;
  int scale_up_events = 0;
  int scale_down_events = 0;
  double mean_utilization = 0;
  double mean_latency_s = 0;
  int ticks = 0;
  PerClass dropped_by_class = {0, 0, 0};    // of requests_dropped (throttled included)
  PerClass throttled_by_class = {0, 0, 0};  // refused by admission control's rate limits
  int migrations = 0;                       // kMigrate actions carried out
  double requests_migrated = 0;
  int role_switches = 0;
  // Capacity discovery through the DHT (zeros with dht: none).
  std::string dht = "none";  // none | chord | kademlia
  double dht_messages = 0;   // protocol messages sent
  int dht_queries = 0;       // the manager's reads of a role's records
  int dht_queries_failed = 0;
  int dht_rejoins = 0;                // nodes cut off from the overlay that joined again
  int nodes_discovered = 0;           // nodes that came up during the run and were found
  double discovery_delay_mean_s = 0;  // from ready to found by the manager
  double discovery_delay_max_s = 0;
  // Faults and self-healing (zeros without a faults section).
  int node_failures = 0;    // nodes crashed (singly, by MTBF, or with their rack or zone)
  int domain_failures = 0;  // racks and zones lost at once
  int gray_failures = 0;    // nodes slowed or made to fail requests
  int partitions = 0;       // groups of racks cut off together
  int manager_outages = 0;
  int isolations = 0;                 // kIsolate carried out
  int replacements = 0;               // kReplace carried out
  int failures_undetected = 0;        // failures no action answered by the end
  double detection_delay_mean_s = 0;  // failure -> first action on the node
  double detection_delay_max_s = 0;
  double recovery_mean_s = 0;  // failure -> the replacement ready
  double recovery_max_s = 0;
  double requests_lost_to_failures = 0;
};

}  // namespace meshtwin
