// The configuration of `meshtwin shadow --config shadow.yaml`:
//
//   prometheus: http://prometheus:9090
//   demand_query: sum(rate(http_requests_total{job="web"}[1m]))   # requests/s
//   capacity_query: sum(kube_deployment_status_replicas_ready{deployment="web"})
//   capacity_unit: nodes          # nodes (default) | requests/s
//   interval: 15s                 # one decision per interval (default 15s)
//   lookback: 30m                 # history read at start to warm the forecaster
//                                 # (default: the scenario's forecast.warmup; 0 without one)
//   scenario: default             # a library name or a file (relative to this file)
//   policy: ["policy.target_utilization=0.5"]   # --set-style scenario overrides
//   out: shadow.h5                # relative to this file's directory
//   duration: 6h                  # optional: stop after this long (default: until SIGTERM)
//   timeout: 30s                  # per Prometheus query
//
// Every error names FILE:LINE:COL and the key.
#pragma once

#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

struct ShadowConfig {
  std::string source;            // the file it was read from, for messages
  std::string prometheus_url;    // required
  std::string demand_query;      // required: production's offered load, requests/s
  std::string capacity_query;    // required: production's ready nodes of the policy's pool
  bool capacity_in_rps = false;  // capacity_unit: requests/s (converted at the pool's node speed)
  Seconds interval = 15;
  Seconds lookback = -1;  // < 0: the scenario's forecast warmup (0 when it has no forecaster)
  std::string scenario = "default";  // as resolved: an existing file or a library name
  std::vector<std::string> policy_overrides;
  std::string out = "shadow.h5";  // resolved against the config's directory
  Seconds duration = 0;           // 0: until SIGTERM / SIGINT
  Seconds query_timeout = 30;
  Scenario loaded;  // the scenario with the overrides applied, validated for shadowing
};

// Parses a config from text; `source` names it in messages and anchors
// relative paths. Loads and checks the scenario too (an error in it is
// reported at the scenario or policy key, with the scenario's own message).
absl::StatusOr<ShadowConfig> ParseShadowConfig(const std::string& text, const std::string& source);

// Reads and parses `path` (NotFound when it does not exist).
absl::StatusOr<ShadowConfig> LoadShadowConfig(const std::string& path);

}  // namespace meshtwin::live
