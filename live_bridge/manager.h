// The live manager behind `meshtwin manager`: the simulator's control loop,
// forecaster and policies, unchanged, fed by real agents and acting on a real
// cluster.
//
// Every interval (aligned on the wall clock, so replicas agree on tick
// numbers) it observes — the agents' heartbeats from the AgentRegistry, the
// demand from Prometheus or the agents — forecasts with the scenario's
// pipeline (events that came in by gRPC, webhook or file included), decides
// with the scenario's policy plus self-healing (silent nodes are replaced),
// and, when it leads, acts: new capacity through a Provisioner (local
// processes, Kubernetes' scale subresource, an exec hook), roles and drains
// as commands to the agents. Each acting tick is claimed in etcd under the
// leader's fence first (a create that succeeds once per tick, and only while
// the election key is still ours), so a deposed leader cannot act and no
// tick's plan is carried out twice. Every decision is appended to the fsynced
// decision log.
//
// A replica that does not lead is a hot standby: it turns agents away (they
// go to the leader), keeps its forecaster warm on the demand series, and
// decides nothing. After winning an election it waits takeover_grace for the
// agents to re-register before its first decision.
//
//   MESHTWIN_ASSIGN_OR_RETURN(ManagerConfig c, LoadManagerConfig("manager.yaml"));
//   MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Manager> m, Manager::Create(c));
//   MESHTWIN_RETURN_IF_ERROR(m->Start());   // servers, election, events
//   absl::Status s = m->Run(&stop);         // ticks until *stop or duration
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "live_bridge/manager_config.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

// What a manager has done so far (for tests, logs and /metrics).
struct ManagerStatus {
  bool leader = false;
  std::int64_t fence = 0;
  std::string leader_id;
  std::uint64_t ticks = 0;
  std::uint64_t decisions = 0;        // ticks with actions, logged
  std::uint64_t actions_applied = 0;  // carried out
  std::uint64_t actions_fenced = 0;   // refused: the tick was claimed already or we lost the lead
  std::uint64_t actions_failed = 0;
  std::uint64_t actions_unsupported = 0;
  std::uint64_t events = 0;  // global events received
  std::uint64_t elections_won = 0;
  int agents = 0;  // registered
  int dht_nodes = 0;  // whose capability record the DHT returned last tick (with a dht section)
  int ready = 0;   // of which ready
  double demand_rps = 0;
  double capacity_rps = 0;
  std::string last_error;  // of the latest demand query or action that failed
};

class Manager {
 public:
  // Builds the policy, forecaster, provisioner and decision log.
  // InvalidArgument / NotFound naming the config key or file at fault.
  static absl::StatusOr<std::unique_ptr<Manager>> Create(const ManagerConfig& config);
  ~Manager();  // Shutdown
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts the gRPC server (agents, events), the HTTP endpoint (/metrics,
  // POST /events), the events file follower and the election. Unavailable
  // when an address cannot be bound or etcd cannot be reached.
  absl::Status Start();

  // One tick every interval until *stop is set or the configured duration
  // has passed; then resigns and stops the servers. Errors of one tick (a
  // failed query, a failed action) are logged and recorded, not fatal.
  absl::Status Run(const std::atomic<bool>* stop);

  // One observe -> forecast -> decide -> act step at wall time `now_unix`
  // (Run calls it; tests may too).
  void Tick(double now_unix);

  // Stops everything. Idempotent.
  void Shutdown();

  ManagerStatus Status() const;
  int grpc_port() const;
  int http_port() const;  // 0 without an HTTP endpoint

  class Impl;

 private:
  explicit Manager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
