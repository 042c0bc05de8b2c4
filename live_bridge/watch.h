// What a running manager shows the outside: a stream of changes (nodes,
// decisions, global events) that the GUI's live source follows, and a
// snapshot of the mesh that `meshtwin simulate --from-live` forks into a
// scenario. Served by the manager (WatchHub, the WatchService over mutual
// TLS); read by WatchClient. Protobuf stays in the .cpp files.
//
//   WatchHub hub;                                  // manager side
//   server.AddService(hub.service());
//   hub.SetSnapshotSource([&](Seconds history) { return manager.Snapshot(history); });
//   hub.Publish(WatchEvent::NodeChanged(node));    // from the control loop
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto client, WatchClient::Connect("m0:7443", tls));
//   MESHTWIN_ASSIGN_OR_RETURN(LiveSnapshot s, client->Snapshot(3600));
//   client->Watch({.include_decisions = true}, [](const WatchEvent& e) { ...; return true; });
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datasets/trace.h"
#include "live_bridge/agent_registry.h"
#include "live_bridge/decision_log.h"
#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace meshtwin::live {

// One node as a viewer sees it.
struct LiveNode {
  std::string id;
  NodeState state = NodeState::kBooting;
  std::string role;
  AgentCapabilities capabilities;  // capabilities.node_type: the scenario node type it counts as
  LoadSample load;
};

// What the manager knows now.
struct LiveSnapshot {
  double time_unix = 0;
  std::string manager_id;
  std::int64_t fence = 0;
  bool leader = false;
  std::string scenario_name;
  std::string scenario_yaml;           // the scenario's text as the manager loaded it
  std::vector<std::string> overrides;  // the manager's policy overrides
  Seconds interval = 0;
  std::vector<LiveNode> nodes;
  double history_start_unix = 0;  // demand_history[i] covers [start + i*step, start + (i+1)*step)
  Seconds history_step = 0;
  std::vector<double> demand_history;    // requests/s; NaN: no reading
  std::vector<int> ready_history;        // the pool's ready nodes per tick (empty or as long)
  std::vector<double> capacity_history;  // what they serve at full speed, requests/s
  Forecast forecast;                     // horizons relative to time_unix
  std::vector<Event> events;             // absolute (unix) times
};

// One control tick of the manager, whatever it decided.
struct LiveTick {
  double demand_rps = 0;  // NaN: no reading this tick
  double capacity_rps = 0;
  int agents = 0, ready = 0, booting = 0;
  bool leader = false;
  std::int64_t fence = 0;
  Forecast forecast;  // horizons relative to the tick's time
};

struct WatchEvent {
  enum class Kind : std::uint8_t { kNodeChanged, kNodeRemoved, kDecision, kGlobalEvent, kTick };
  Kind kind = Kind::kNodeChanged;
  std::uint64_t seq = 0;  // set by the hub: increasing
  double time_unix = 0;
  LiveNode node;             // kNodeChanged
  std::string removed_node;  // kNodeRemoved
  std::string reason;        // kNodeRemoved
  LoggedDecision decision;   // kDecision
  Event event;               // kGlobalEvent (absolute times)
  LiveTick tick;             // kTick

  static WatchEvent NodeChanged(LiveNode node, double time_unix);
  static WatchEvent NodeRemoved(std::string id, std::string reason, double time_unix);
  static WatchEvent Decision(LoggedDecision decision);
  static WatchEvent GlobalEvent(Event event, double time_unix);
  static WatchEvent Tick(LiveTick tick, double time_unix);
};

struct WatchRequest {
  bool include_decisions = true;
  bool include_load = false;  // a NodeChanged per heartbeat round, not only per state/role change
};

struct WatchHubOptions {
  // Events queued per subscriber before it is cut off as too slow (it may
  // reconnect and take a new snapshot).
  std::size_t queue_limit = 10000;
};

// The WatchService. Thread-safe: the control loop publishes, gRPC's threads
// stream. Must outlive the server it is added to (shut that down first).
class WatchHub {
 public:
  explicit WatchHub(WatchHubOptions options = {});
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  grpc::Service* service();

  // Answers Snapshot; called on gRPC's threads (must be thread-safe).
  // Without one, Snapshot answers UNAVAILABLE.
  void SetSnapshotSource(std::function<LiveSnapshot(Seconds history)> source);

  // Sends `event` to every subscriber (decisions only to those that asked
  // for them; ticks, node changes, removals and global events to all); load-only
  // NodeChanged events (published with load_only = true) go only to
  // subscribers with include_load. Returns the sequence number given.
  std::uint64_t Publish(WatchEvent event, bool load_only = false);

  int subscribers() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A viewer's end. Thread-safe: Watch runs on one thread, Cancel from any.
class WatchClient {
 public:
  // Checks the TLS files; the channel connects lazily.
  static absl::StatusOr<std::unique_ptr<WatchClient>> Connect(const std::string& address,
                                                              const TlsOptions& tls);
  ~WatchClient();
  WatchClient(const WatchClient&) = delete;
  WatchClient& operator=(const WatchClient&) = delete;

  // Unavailable when the manager cannot be reached (naming the address);
  // InvalidArgument for an answer that is not a consistent snapshot.
  absl::StatusOr<LiveSnapshot> Snapshot(Seconds history, Seconds timeout = 10);

  // Streams events to `on_event` until it returns false, Cancel() is called
  // (both: OK) or the stream fails (its status, naming the address).
  // InvalidArgument for an event that is not consistent (naming the field).
  absl::Status Watch(const WatchRequest& request,
                     const std::function<bool(const WatchEvent&)>& on_event);
  // Ends the Watch in progress; called when none is, it ends the next one
  // at once (so a Cancel racing a Watch that is just starting is not lost).
  void Cancel();

  class Impl;

 private:
  explicit WatchClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
