// The agent's configuration file (`meshtwin agent --config agent.yaml`):
//
//   node: agent-0                  # must be the CN of tls.cert
//   manager: manager.example:7443   # or managers: [m0:7443, m1:7443] (replicas)
//   tls: {ca: certs/ca.crt, cert: certs/agent-0.crt, key: certs/agent-0.key, refresh: 60s}
//   heartbeat: {interval: 5s}
//   metrics: {listen: 127.0.0.1:9464}   # served over mutual TLS with the agent's certificate
//   dht: {protocol: chord, listen: 127.0.0.1:0, refresh: 30s, ttl: 90s}
//                                  # optional: publish the node's capability record in
//                                  # the mesh's DHT, joined through the manager
//   workload: {grace: 10s, restart_backoff: 1s, restart_backoff_max: 30s}
//   roles:
//     web: ["python3", "-m", "http.server", "8080"]
//   role: web                      # optional: the role to start in
//   software: [python3]
//
// Relative paths are relative to the file's directory. Every error names
// FILE:LINE:COL and the key.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

struct AgentConfig {
  std::string source;                 // the file it was read from, for messages
  std::string node_id;                // required
  std::string manager;                // host:port: managers.front()
  std::vector<std::string> managers;  // every replica, in the order tried (at least one)
  TlsOptions tls;                     // tls.ca, tls.cert, tls.key required; refresh default 60 s
  // Heartbeat period. heartbeat_interval_set: the file gave one; otherwise the
  // manager's RegistrationReply decides (5 s when it says nothing).
  Seconds heartbeat_interval = 5;
  bool heartbeat_interval_set = false;
  std::string metrics_host = "127.0.0.1";  // metrics.listen, host part
  int metrics_port = 9464;                 // metrics.listen, port part (0: ephemeral)
  Seconds workload_grace = 10;             // SIGTERM -> SIGKILL
  Seconds restart_backoff = 1;             // first wait before restarting a dead workload
  Seconds restart_backoff_max = 30;
  std::map<std::string, std::vector<std::string>> roles;  // role -> command line
  std::string role;                                       // initial role ("": none)
  std::vector<std::string> software;
  // The DHT (over gRPC, mutual TLS): "" for none, else chord or kademlia.
  // The agent joins through the bootstrap its manager names at registration
  // and re-publishes its capability record under role:<role> every refresh.
  std::string dht_protocol;
  std::string dht_listen = "127.0.0.1:0";
  Seconds dht_refresh = 30;
  Seconds dht_ttl = 90;
};

// Parses a config from text; `source` names it in messages and anchors
// relative paths (its directory). InvalidArgument naming "SOURCE:LINE:COL:
// key: expected ..., got ..." for a bad key or value.
absl::StatusOr<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& source);

// Reads and parses `path` (NotFound when it does not exist), then checks the
// TLS files (CheckTlsFiles) and that the certificate's CN is `node`: errors
// there name the tls or node key's line.
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace meshtwin::live
