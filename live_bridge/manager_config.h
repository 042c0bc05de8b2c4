// The configuration of `meshtwin manager --config manager.yaml`:
//
//   id: manager-0                     # this replica (the CN of tls.cert)
//   listen: 127.0.0.1:7443            # gRPC: agents, events (mutual TLS)
//   tls: {ca: certs/ca.crt, cert: certs/manager-0.crt, key: certs/manager-0.key}
//   http: 127.0.0.1:9470              # optional: /metrics and POST /events (mutual TLS)
//   interval: 15s                     # one decision per interval, aligned on the clock
//   heartbeat: 1s                     # what agents are asked to send at
//   scenario: default                 # node types, SLO, policy and forecaster
//   policy: ["policy.name=predictive"]   # --set-style overrides
//   demand:                           # optional: requests/s from Prometheus
//     prometheus: https://127.0.0.1:9090
//     query: sum(rate(http_requests_total[1m]))
//     timeout: 5s
//   etcd:                             # optional: replicas elect a leader
//     endpoint: https://127.0.0.1:2379
//     key: /meshtwin/leader
//     lease_ttl: 5s
//   dht: {protocol: chord, listen: 127.0.0.1:0}   # optional: the mesh's DHT; the manager
//                                     # seeds it and reads the agents' capability records
//   decision_log: decisions.jsonl     # append-only, fsynced
//   events: {file: events.jsonl, keywords: keywords.yaml}   # both optional
//   prometheus_sd: agents.json        # optional: agents' /metrics for Prometheus' file_sd
//   role: web                         # role of new nodes when the policy names none
//   drain: 30s                        # a scaled-in node's time to finish its queue
//   takeover_grace: 3s                # a new leader waits this for agents to re-register
//   duration: 1h                      # optional: stop after this long
//   actuator:
//     kind: process                   # none | process | kubernetes | exec
//     process: {binary: /usr/bin/meshtwin, work_dir: agents, ca_key: certs/ca.key,
//               roles: {web: [sleep, infinity]}}
//     kubernetes: {api_server: https://k8s:6443, namespace: default, deployment: web,
//                  token_file: /var/run/secrets/.../token, ca_file: ca.crt, dry_run: true}
//     exec: {command: [./scale.sh], timeout: 60s}
//
// The manager speaks mutual TLS to everything (agents, etcd, Prometheus, its
// HTTP clients) with the one certificate in `tls`. Relative paths are
// relative to the file; every error names FILE:LINE:COL and the key.
#pragma once

#include <string>
#include <vector>

#include "live_bridge/provisioners.h"
#include "live_bridge/tls.h"
#include "scenarios/scenario.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

struct ManagerConfig {
  std::string source;  // the file it was read from, for messages
  std::string id;      // required
  std::string listen = "127.0.0.1:7443";
  TlsOptions tls;           // required
  std::string http_listen;  // "": no HTTP endpoint
  Seconds interval = 15;
  Seconds heartbeat_interval = 1;
  std::string scenario = "default";
  std::vector<std::string> policy_overrides;
  Scenario loaded;  // with the overrides applied

  std::string prometheus_url;  // "": demand is the sum of the agents' requests/s
  std::string demand_query;
  Seconds query_timeout = 5;

  std::string etcd_endpoint;  // "": a single replica, always the leader (fence 0)
  std::string election_key = "/meshtwin/leader";
  Seconds lease_ttl = 5;

  std::string dht_protocol;  // "": no DHT; chord | kademlia
  std::string dht_listen = "127.0.0.1:0";

  std::string decision_log;  // required
  std::string events_file;   // "": none followed
  std::string keywords_file;
  std::string prometheus_sd_file;
  std::string default_role;  // "": the scenario's first role
  Seconds drain = 30;
  Seconds takeover_grace = -1;  // < 0: two heartbeat intervals + 1 s
  Seconds duration = 0;         // 0: until SIGTERM / SIGINT

  std::string actuator = "none";  // none | process | kubernetes | exec
  ProcessLauncherOptions process;
  KubernetesScalerOptions kubernetes;
  ExecHookOptions exec;
};

// Parses a config from text; `source` names it in messages and anchors
// relative paths. Loads and checks the scenario too.
absl::StatusOr<ManagerConfig> ParseManagerConfig(const std::string& text,
                                                 const std::string& source);

// Reads and parses `path` (NotFound when it does not exist).
absl::StatusOr<ManagerConfig> LoadManagerConfig(const std::string& path);

}  // namespace meshtwin::live
