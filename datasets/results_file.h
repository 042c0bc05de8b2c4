// The results file a simulation writes (HDF5; schema in datasets/FORMAT.md),
// and a reader for tests and tools. Writing goes to a temporary name that is
// renamed over `path` only when the file is complete.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/trace.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

// Per-tick series, all of the same length (one entry per control tick).
struct TickSeries {
  std::vector<double> time;                // tick start, s
  std::vector<double> demand;              // offered rate over the tick, requests/s
  std::vector<double> arrived;             // requests that arrived in the tick
  std::vector<double> capacity;            // ready capacity, requests/s
  std::vector<double> served;              // requests completed in the tick
  std::vector<double> dropped;             // requests dropped in the tick (queue full)
  std::vector<double> queued;              // requests waiting at the end of the tick
  std::vector<double> utilization;         // fleet CPU utilisation of ready nodes, 0..1
  std::vector<double> latency;             // mean latency estimate, s
  std::vector<std::uint8_t> slo_violated;  // 1 if the tick missed the SLO
  std::vector<std::int32_t> nodes_ready;
  std::vector<std::int32_t> nodes_booting;
  std::vector<std::int32_t> nodes_draining;
  std::vector<std::int32_t> nodes_by_type;    // ticks x types, row-major (active = not stopped)
  std::vector<std::int32_t> nodes_switching;  // changing role
  std::vector<double> migrating;              // of `queued`: requests in transit between nodes
  std::vector<double> lost;                   // of `dropped`: requests lost to failures (version 3)
  std::vector<std::int32_t> nodes_failed;     // crashed nodes not yet replaced (version 3)
  // ticks x kNumClasses (critical, standard, best_effort), row-major, requests.
  std::vector<double> served_by_class;
  std::vector<double> dropped_by_class;    // includes throttled_by_class
  std::vector<double> throttled_by_class;  // refused by admission control's rate limits
  std::vector<double> queued_by_class;
  // ticks x roles, row-major (one column, "default", without roles).
  std::vector<double> demand_by_role;       // requests/s
  std::vector<double> utilization_by_role;  // of the role's ready nodes, 0..1
  std::vector<std::int32_t> nodes_by_role;  // ready nodes holding the role

  std::size_t size() const { return time.size(); }
};

// One action a policy decided, as it was carried out.
struct DecisionRecord {
  double time = 0;
  std::string policy;
  std::string node_type;
  std::string
      action;  // ToString(ActionKind): scale_out, scale_in, change_role, migrate, set_admission
  std::int32_t count = 0;
  std::int32_t replicas_before = 0;
  std::int32_t replicas_after = 0;
  double metric = 0;
  std::string reason;
};

// The forecasts the control loop received (empty when the scenario runs no
// forecaster). Matrices are origins x horizons, row-major.
struct ForecastSeries {
  std::string model;             // e.g. "holt-winters", "gru"
  std::vector<double> horizons;  // s ahead of the origin
  std::vector<double> time;      // forecast origins, run time
  std::vector<double> p10, p50, p90;
  std::vector<double> actual;  // the demand that came (NaN past the end of the run)

  std::size_t size() const { return time.size(); }
};

// One retrain of the forecaster after drift.
struct RetrainRow {
  double time = 0;
  std::int32_t samples = 0;
  double old_mae = 0, new_mae = 0;
  std::int32_t accepted = 0;  // 1 if the new model replaced the old one
  std::string reason;
};

// The fleet node by node at sampled ticks, for viewers (the GUI's topology
// panel). Snapshot s is taken at the end of the tick starting at time[s] and
// holds the nodes [offset[s], offset[s+1]) of the flat per-node arrays (every
// node not stopped, by ascending id) and the overlay links
// [link_offset[s], link_offset[s+1]) of the link arrays.
struct NodeSnapshots {
  std::int32_t every = 0;            // ticks between snapshots; 0: none recorded
  std::vector<double> time;          // tick start, s
  std::vector<std::int64_t> offset;  // size() + 1 entries (empty when no snapshots)
  std::vector<std::int32_t> id;      // node id, stable for the node's life
  std::vector<std::int16_t> type;    // index into ResultsData::node_types
  std::vector<std::int16_t> role;    // index into ResultsData::roles (switching: the next role)
  std::vector<std::uint8_t> state;   // NodeState
  std::vector<float> utilization;    // over the tick, 0..1
  std::vector<float> queued;         // requests waiting on the node at the end of the tick
  // Where nodes sit, with a faults topology (zones == 0 and empty without
  // one): rack and zone per node row, and whether the manager could reach
  // the rack at the end of the tick.
  std::int32_t zones = 0, racks_per_zone = 0;
  std::vector<std::int16_t> rack;
  std::vector<std::int16_t> zone;
  std::vector<std::uint8_t> reachable;
  // Links of the discovery overlay between nodes (node ids; none without a DHT).
  std::string links;                      // "" (none), "chord" or "kademlia"
  std::vector<std::int64_t> link_offset;  // size() + 1 entries when links is set
  std::vector<std::int32_t> link_from, link_to;

  std::size_t size() const { return time.size(); }
};

struct ResultsData {
  std::string scenario_name;
  std::string scenario_text;  // the scenario YAML as loaded
  std::string overrides;      // the --set overrides, one per line
  std::string policy;
  std::uint64_t seed = 0;
  double control_interval = 0;
  double trace_epoch = 0;  // UTC unix time of run time 0 (the trace's calendar)
  std::vector<std::string> node_types;
  std::vector<std::string> roles;  // role names ("default" when the scenario has none)
  TickSeries ticks;
  std::vector<DecisionRecord> decisions;
  std::vector<Event> events;
  ForecastSeries forecasts;
  std::vector<RetrainRow> retrains;
  NodeSnapshots nodes;
  RunSummary summary;
};

// Writes `data` to `path` atomically (temporary file, then rename). Object
// modification times are not stored, so equal data gives identical bytes.
absl::Status WriteResultsFile(const std::string& path, const ResultsData& data);

// Reads a results file written by WriteResultsFile; a file of another schema
// or version is an InvalidArgument error naming the path and object.
absl::StatusOr<ResultsData> ReadResultsFile(const std::string& path);

}  // namespace meshtwin
