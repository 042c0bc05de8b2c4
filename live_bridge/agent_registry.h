// The manager's side of AgentService: which agents have registered, what they
// can do, their latest load, and a command queue to each. Register binds a
// node id to the caller's certificate: an agent can speak only for its own
// node. The heartbeat stream brings load samples in and takes commands out.
// The types here are the bridge's boundary: protobuf stays in the .cpp files.
//
//   AgentRegistry registry({.manager_id = "manager-0"});
//   LiveServer server({.address = "0.0.0.0:7443", .tls = tls});
//   server.AddService(registry.service());
//   MESHTWIN_RETURN_IF_ERROR(server.Start());
//   for (const AgentRecord& a : registry.Snapshot()) ...   // the control loop
//   registry.SendCommand("agent-3", AgentCommand::Drain(60, "scale in"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twin/policy.h"
#include "twin/status.h"
#include "twin/types.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace meshtwin::live {

struct GpuGroup {
  std::string model;
  int count = 0;
  double memory_gb = 0;  // per GPU
};

// What a node can do, as its agent detected it.
struct AgentCapabilities {
  int cores = 0;
  double core_speed = 0;  // flop/s per core (0: unknown)
  double memory_gb = 0;
  std::vector<GpuGroup> gpus;
  std::vector<std::string> software;  // tags
  std::vector<std::string> roles;     // roles the node may take
  std::string node_type;              // the configured node type it matches, if any
};

// One load sample over the agent's last sampling window.
struct LoadSample {
  double time_unix = 0;  // end of the window
  Seconds window = 0;
  double cpu_utilization = 0;  // 0..1
  double memory_used_gb = 0;
  double requests_per_s = 0;
  Seconds latency = 0;  // mean
  Seconds latency_p99 = 0;
  double error_rate = 0;  // 0..1
  double queued_requests = 0;
};

struct AgentRegistration {
  std::string node_id;  // must be the identity in the agent's certificate
  AgentCapabilities capabilities;
  std::string role;
  std::string dht_address;      // host:port of its DhtService
  std::string metrics_address;  // host:port of its /metrics
  std::string agent_version;
};

// What the manager tells an agent when it registers.
struct RegistrationReply {
  std::string manager_id;
  Seconds heartbeat_interval = 1;
  std::string assigned_role;               // empty: keep the current one
  std::vector<std::string> dht_bootstrap;  // DhtService endpoints to join the mesh's DHT through
};

// One heartbeat, as an agent sends it.
struct AgentHeartbeat {
  std::string node_id;
  NodeState state = NodeState::kReady;
  std::string role;
  LoadSample load;
  std::uint64_t last_command_seq = 0;  // the last command it carried out
};

enum class AgentCommandKind : std::uint8_t { kChangeRole, kDrain, kStartWorkload, kStopWorkload };
const char* ToString(AgentCommandKind kind);

// Something the manager wants one node to do.
struct AgentCommand {
  AgentCommandKind kind = AgentCommandKind::kChangeRole;
  std::uint64_t seq = 0;  // set by the registry: increasing per node, from the registry's
                          // creation time in microseconds (so a restart numbers higher)
  std::string reason;
  std::int64_t fence = 0;         // the issuing leader's election revision
  std::string role;               // kChangeRole
  std::string workload;           // kStartWorkload, kStopWorkload
  std::vector<std::string> args;  // kStartWorkload
  Seconds seconds = 0;            // kDrain: deadline; kStopWorkload: grace period

  static AgentCommand ChangeRole(std::string role, std::string reason);
  static AgentCommand Drain(Seconds deadline, std::string reason);
};

// What the manager knows about one agent.
struct AgentRecord {
  AgentRegistration registration;
  NodeState state = NodeState::kBooting;
  std::string role;
  LoadSample load;             // the latest sample
  Seconds registered_at = 0;   // registry clock
  Seconds last_heartbeat = 0;  // registry clock; 0: none yet
  std::uint64_t heartbeats = 0;
  std::uint64_t last_command_seq = 0;  // the last command it reported carried out
  bool streaming = false;              // its heartbeat stream is open
};

// The record as the control loop's per-node view (twin/types.h). The id, type
// and role indices are the caller's to fill: the registry knows names only.
NodeObservation ToNodeObservation(const AgentRecord& record, Seconds now);

struct AgentRegistryOptions {
  std::string manager_id = "manager";  // in every RegistrationReply
  Seconds heartbeat_interval = 1;      // what agents are asked to send at
  const Clock* clock = nullptr;        // not owned; null: a monotonic wall clock
  // Called on a gRPC thread after each heartbeat is applied (outside the
  // registry's lock), with the wall-clock (CLOCK_REALTIME) time it was
  // applied: for measuring how long heartbeats take to land. Must be thread-safe.
  std::function<void(const AgentHeartbeat&, double applied_unix)> on_heartbeat = nullptr;
  // DhtService endpoints given to every agent at registration (the
  // manager's own DHT node): agents join the mesh's DHT through them.
  std::vector<std::string> dht_bootstrap = {};
};

// Thread-safe: gRPC's threads call in, the control loop reads snapshots and
// sends commands. Must outlive the server it is added to (shut that down first).
class AgentRegistry {
 public:
  explicit AgentRegistry(AgentRegistryOptions options = {});
  ~AgentRegistry();
  AgentRegistry(const AgentRegistry&) = delete;
  AgentRegistry& operator=(const AgentRegistry&) = delete;

  // The AgentService to add to a LiveServer.
  grpc::Service* service();

  // Every registered agent, by node id.
  std::vector<AgentRecord> Snapshot() const;
  std::optional<AgentRecord> Find(const std::string& node_id) const;

  // Queues `command` for `node_id` (sent at once on its heartbeat stream, or
  // when it next opens one) and returns its sequence number. NotFound for an
  // agent that never registered.
  absl::StatusOr<std::uint64_t> SendCommand(const std::string& node_id, AgentCommand command);

  // A manager replica that is not the leader stops accepting: Register and
  // new heartbeat streams answer UNAVAILABLE (with `note`, e.g. who leads),
  // open streams end at their next heartbeat, and the fleet is forgotten, so
  // agents move on to the leader. Accepting again starts from no agents.
  void SetAccepting(bool accepting, std::string note = {});

  // Replaces options.dht_bootstrap for registrations from now on.
  void SetDhtBootstrap(std::vector<std::string> endpoints);

  // Forgets a node (replaced or scaled in): its stream ends at its next
  // heartbeat. False if it was not registered.
  bool Remove(const std::string& node_id);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
