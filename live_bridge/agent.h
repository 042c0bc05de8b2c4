// The node agent behind `meshtwin agent`: detects the host's capabilities,
// registers with the manager over mutual TLS (retrying with backoff while it
// is unreachable), heartbeats a load sample every interval, carries out the
// manager's commands once each (by sequence number) on a supervised workload
// process, and serves /metrics.
//
//   MESHTWIN_ASSIGN_OR_RETURN(AgentConfig config, LoadAgentConfig("agent.yaml"));
//   Agent agent({.config = config});
//   MESHTWIN_RETURN_IF_ERROR(agent.Start());   // probe, /metrics, the initial role
//   std::thread stopper([&] { WaitForSignal(); agent.Shutdown(); });
//   absl::Status s = agent.Run();              // until Shutdown or a fatal error
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "live_bridge/agent_config.h"
#include "live_bridge/agent_registry.h"
#include "live_bridge/host_probe.h"
#include "live_bridge/workload.h"
#include "twin/status.h"

namespace meshtwin::live {

class AgentClient;
class DhtPeer;
class MetricsHttpServer;

struct AgentOptions {
  AgentConfig config;
  ProbeOptions probe;                 // where capabilities are read from
  LoadSamplerOptions sampler;         // where load is read from
  Seconds register_backoff = 1;       // first wait after a failed registration
  Seconds register_backoff_max = 30;  // the wait doubles up to this
  std::string agent_version = "meshtwin-agent 0.1.0";
};

// What the agent has done so far, for tests and /metrics.
struct AgentStatus {
  bool registered = false;  // and heartbeating
  std::string manager_id;
  NodeState state = NodeState::kBooting;
  std::string role;
  WorkloadStatus workload;
  std::uint64_t registrations = 0;
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t commands_applied = 0;  // carried out (including ones that failed)
  std::uint64_t commands_failed = 0;   // carried out, but could not be done
  std::uint64_t commands_ignored = 0;  // a sequence number already seen
  std::uint64_t commands_fenced = 0;   // from a leader older than one already obeyed
  bool dht_joined = false;             // its DHT node is in the mesh's DHT
  std::uint64_t dht_publishes = 0;     // capability records put
  std::uint64_t dht_publish_failures = 0;
  std::uint64_t last_command_seq = 0;
  Seconds heartbeat_interval = 0;
};

// Thread-safe: Run on one thread, Shutdown, Status and HandleCommand from
// any. Commands are carried out in order on the agent's own command thread,
// never on gRPC's.
class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();  // Shutdown, then waits for Run's threads
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Detects capabilities, starts /metrics and the initial role's workload.
  // InvalidArgument/NotFound for a failed probe; Unavailable when the metrics
  // address cannot be bound; FailedPrecondition if the role cannot be run.
  absl::Status Start();

  // Registers (retrying while the manager is unreachable), then heartbeats,
  // re-registering when the stream breaks, until Shutdown: then stops the
  // heartbeats and the workload and returns OK. Returns early with the
  // manager's refusal (PermissionDenied, InvalidArgument) as a fatal error.
  absl::Status Run();

  // Makes Run return. Safe from any thread (not from a signal handler).
  void Shutdown();

  // Queues a manager command; ignored (and counted) when its sequence number
  // is not above the last one received. The heartbeat stream calls this;
  // public so that tests can replay a command.
  void HandleCommand(const AgentCommand& command);

  AgentStatus Status() const;
  const HostCapabilities& capabilities() const { return capabilities_; }
  int metrics_port() const;  // after Start

 private:
  void CommandLoop();
  void Apply(const AgentCommand& command);
  absl::Status SwitchRole(const std::string& role, Seconds grace);
  absl::StatusOr<std::string> RenderMetrics() const;
  AgentRegistration MakeRegistration() const;
  AgentHeartbeat MakeHeartbeat(const HostLoad& load, Seconds window) const;
  // Sleeps up to `seconds` or until Shutdown; false once shut down.
  bool SleepFor(Seconds seconds);
  // Joins the mesh's DHT through `bootstrap` and starts re-publishing the
  // capability record every dht_refresh (on dht_thread_).
  void StartDht(const std::string& bootstrap);
  void PublishLoop();

  const AgentOptions options_;
  HostCapabilities capabilities_;
  WorkloadSupervisor workload_;
  std::unique_ptr<MetricsHttpServer> metrics_;
  std::thread commands_thread_;
  std::unique_ptr<DhtPeer> dht_;  // set and reset by Run's thread only
  std::thread dht_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_ = false;
  std::deque<AgentCommand> queue_;
  std::uint64_t highest_seq_seen_ = 0;
  std::int64_t highest_fence_seen_ = 0;
  AgentStatus status_;
  std::optional<HostLoad> last_load_;
};

}  // namespace meshtwin::live
