// The shadow file (shadow.h5, format "meshtwin-shadow" version 1) that
// `meshtwin shadow` writes (live_bridge/shadow.cpp holds the writer and the
// schema), read back for viewers: the GUI's shadow view and tests. The
// reader lives here, next to the results file's, because the GUI reads
// files through datasets/ and must not link the live bridge.
//
//   MESHTWIN_ASSIGN_OR_RETURN(ShadowFileData s, ReadShadowFile("shadow.h5"));
//   for (std::size_t i = 0; i < s.steps.size(); ++i) ... s.steps.would_be_nodes[i] ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "twin/status.h"

namespace meshtwin {

// The root attributes: what ran and the report's figures as written.
struct ShadowFileAttributes {
  std::int32_t version = 0;
  std::string scenario;
  std::string policy;
  std::string node_type;  // the pool the policy decided on
  double node_rps = 0;    // requests/s one node of the pool serves
  double interval = 0;    // s between steps (> 0)
  double slo_utilization_ceiling = 1;
  double production_node_hours = 0;
  double would_be_node_hours = 0;
  double production_cost = 0;
  double would_be_cost = 0;
  std::int32_t intervals = 0;          // steps with data
  std::int32_t missing_intervals = 0;  // steps without
  std::int32_t production_risk_intervals = 0;
  std::int32_t would_be_risk_intervals = 0;
  // Every other string attribute of the root: where the data came from
  // (prometheus, demand_query, capacity_query), by name.
  std::map<std::string, std::string> about;
};

// /steps: one row per interval, all of the same length. A step without data
// holds NaN in the measured series and -1 in desired_nodes and the risk flags.
struct ShadowFileSteps {
  std::vector<double> time;                      // unix seconds, end of the interval
  std::vector<double> demand;                    // requests/s
  std::vector<double> production_nodes;          // production's ready nodes of the pool
  std::vector<double> production_capacity;       // requests/s at full speed
  std::vector<std::int32_t> desired_nodes;       // what the policy asked for (-1: no data)
  std::vector<double> would_be_nodes;            // the policy's fleet, booting included (billed)
  std::vector<double> would_be_ready;            // of those, ready
  std::vector<double> would_be_capacity;         // requests/s the ready ones serve
  std::vector<double> forecast_p50;              // first horizon's median (NaN: none)
  std::vector<std::int32_t> production_at_risk;  // 1, 0 or -1 (no data)
  std::vector<std::int32_t> would_be_at_risk;    // 1, 0 or -1 (no data)

  std::size_t size() const { return time.size(); }
};

// A row of /decisions: an action the policy would have taken (none was).
struct ShadowFileDecision {
  double time = 0;  // unix seconds
  std::string action;
  std::string node_type;
  std::int32_t count = 0;
  std::int32_t replicas_before = 0;
  std::int32_t replicas_after = 0;
  double metric = 0;
  std::string reason;
};

struct ShadowFileData {
  ShadowFileAttributes attributes;
  ShadowFileSteps steps;
  std::vector<ShadowFileDecision> decisions;
};

// Reads a shadow file. No file is NotFound; anything else wrong (not HDF5,
// another format or version, a missing or mistyped attribute or dataset,
// series of different lengths, step times not finite and increasing, flags
// out of range) is InvalidArgument naming the file and the object:
// "s.h5: /steps/demand: has 10 values but /steps/time has 12".
absl::StatusOr<ShadowFileData> ReadShadowFile(const std::string& path);

}  // namespace meshtwin
