// How `meshtwin simulate` reports a run: a table for people, one JSON object
// for scripts (same figures, stable keys).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "datasets/results_file.h"

namespace meshtwin {

struct RunReport {
  const ResultsData* results = nullptr;
  std::string scenario_source;  // path, or "built-in"
  std::string results_path;     // where results.h5 went
  double wall_seconds = 0;
};

// Keys, in this order: scenario, scenario_source, policy, seed, duration_s,
// ticks, requests_total, requests_served, requests_dropped,
// requests_queued_at_end, slo_violation_minutes, node_hours, cost, peak_nodes,
// scale_up_events, scale_down_events, mean_utilization, mean_latency_s,
// results_file, wall_seconds, dropped_by_class and throttled_by_class (objects
// with keys critical, standard, best_effort; whole requests), migrations,
// requests_migrated, role_switches. Everything but wall_seconds is a pure
// function of the run (and results_file of where it was written).
nlohmann::ordered_json SummaryJson(const RunReport& report);

// A readable multi-line table.
std::string SummaryTable(const RunReport& report);

}  // namespace meshtwin
