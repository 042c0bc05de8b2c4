// The sweep file (HDF5; schema in datasets/FORMAT.md, "Sweep files") that
// `meshtwin sweep` writes: what was swept, one row per point run, and which
// points are on the Pareto front of node-hours against SLO-violation minutes.
// `meshtwin sweep merge` reads shard files back and joins them.
//
//   SweepData sweep = ...;                       // filled by the sweep command
//   MarkParetoFront(sweep.points, sweep.metric_names);
//   MESHTWIN_RETURN_IF_ERROR(WriteSweepFile("sweep.h5", sweep));
//   MESHTWIN_ASSIGN_OR_RETURN(SweepData back, ReadSweepFile("sweep.h5"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "twin/status.h"

namespace meshtwin {

// One --param: a scenario key and the values it takes, in grid order.
struct SweepParam {
  std::string key;                  // "policy.target_utilization"
  std::string spec;                 // as given: "0.4:0.8:0.1" or "60s,300s"
  std::vector<std::string> values;  // "0.4", "0.5", ...; passed to --set as written
};

// One point of the sweep, run or failed: a row of /points.
struct SweepPoint {
  std::int32_t index = 0;           // global grid index, 0 .. total_points - 1
  std::vector<std::string> values;  // one per SweepData::params
  std::vector<double> numeric;      // the same as numbers (NaN where not a number)
  std::int32_t exit_code = 0;       // the run's exit code; 0 = ran
  std::string error;                // first line of its stderr when it failed
  std::vector<double> metrics;      // one per SweepData::metric_names; NaN when failed
  bool pareto = false;              // on the front of node_hours vs slo_violation_minutes
};

// The metrics every sweep file has, in this order, at the start of
// SweepData::metric_names. Other numeric summary keys of the runs follow.
inline const std::vector<std::string>& CoreSweepMetrics() {
  static const std::vector<std::string> names = {
      "node_hours",        "slo_violation_minutes", "cost",           "requests_total",
      "requests_served",   "requests_dropped",      "peak_nodes",     "scale_up_events",
      "scale_down_events", "mean_utilization",      "mean_latency_s", "wall_seconds"};
  return names;
}

// Everything a sweep file holds: what was swept, and the rows of the points
// one invocation (a whole sweep, a shard, or a merge) holds. Plain data.
struct SweepData {
  std::string scenario_name;           // the scenario's `name`
  std::string scenario_source;         // SCENARIO as given (file path or library name)
  std::string scenario_text;           // its YAML text as loaded
  std::vector<std::string> overrides;  // --set overrides common to every point
  std::uint64_t seed = 1;              // seeds the --random draw
  std::int32_t random = 0;             // --random N; 0 = the whole grid
  std::vector<SweepParam> params;
  std::int32_t total_points = 0;    // size of the grid (product of the value counts)
  std::int32_t planned_points = 0;  // points the sweep runs over all shards
  // "i/n" for a shard (an unsharded sweep is "0/1"); "merged" for a merge.
  std::string shard = "0/1";
  std::vector<std::string> merged_from;   // merged: one "FILE (shard i/n)" per input
  std::vector<std::int32_t> missing;      // merged: planned indices no input had
  std::vector<std::string> metric_names;  // starts with CoreSweepMetrics()
  std::vector<SweepPoint> points;         // sorted by index
};

// Writes `data` to `path` atomically (temporary name, then rename); equal data
// gives identical bytes. Internal error if the rows do not match the columns.
absl::Status WriteSweepFile(const std::string& path, const SweepData& data);

// Reads a sweep file. Anything wrong is InvalidArgument naming the file and
// the object ("s.h5: /points: missing field 'node_hours'"); no file is NotFound.
absl::StatusOr<SweepData> ReadSweepFile(const std::string& path);

// Sets `pareto` on every point: true when it ran (exit code 0, both metrics
// finite) and no other run has node_hours <= and slo_violation_minutes <= with
// at least one of them strictly smaller. Points with equal figures are all on
// the front. Returns the indices (SweepPoint::index) of the front, sorted by
// node_hours then slo_violation_minutes then index.
std::vector<std::int32_t> MarkParetoFront(std::vector<SweepPoint>& points,
                                          const std::vector<std::string>& metric_names);

}  // namespace meshtwin
