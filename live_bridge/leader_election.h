// Leader election among `meshtwin manager` replicas through etcd: the leader
// is whoever created options.key, attached to its lease; it stays leader while
// it keeps the lease alive. Its fence (the revision that created the key)
// rises with every election, so agents and etcd itself can refuse a deposed
// leader's orders (EtcdClient::FencedCreate, AgentCommand::fence).
//
//   LeaderElection election(*etcd, {.candidate = "manager-0"});
//   election.Start([](const Leadership& l) {
//     spdlog::info("leader: {} (fence {})", l.leader_id, l.fence);
//   });
//   ... in the control loop: if (!election.IsLeader()) skip acting this tick;
//   election.Stop();  // resign: another replica takes over at once
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "live_bridge/etcd_client.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

struct ElectionOptions {
  std::string key = "/meshtwin/leader";
  std::string candidate;  // this replica's id (the value stored under key)
  Seconds lease_ttl = 5;  // >= 2: how long a crashed leader blocks a new election
  Seconds poll = 0.25;    // followers re-check the key this often
};

struct Leadership {
  bool leader = false;
  // The create_revision of our key while leader (the election revision); 0 otherwise.
  std::int64_t fence = 0;
  std::string leader_id;  // who holds the key ("" if nobody / unknown)

  friend bool operator==(const Leadership&, const Leadership&) = default;
};

// Campaigns on a background thread. Current, IsLeader and FencedCreate are
// thread-safe; Start and Stop are for the owning thread. The client must
// outlive the election.
class LeaderElection {
 public:
  LeaderElection(EtcdClient& client, ElectionOptions options);
  ~LeaderElection();  // Stop()
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // OK, or InvalidArgument naming the field: an empty key or candidate, a
  // lease_ttl below 2 s (the leader gives up 1 s before its lease can expire
  // and needs time left to renew it), a poll that is not > 0.
  static absl::Status Validate(const ElectionOptions& options);

  // Starts a background thread: campaign (grant lease, CreateIfAbsent(key,
  // candidate, lease)); as leader keep the lease alive every ttl/3; as
  // follower poll the key and campaign when it is gone. Calls on_change (from
  // that thread) whenever Leadership changes. With options that fail
  // Validate it logs the error and starts nothing (check Validate first).
  // Once only: a second call is ignored.
  void Start(std::function<void(const Leadership&)> on_change);
  // Resign: revoke the lease (deletes the key at once), stop the thread.
  // Idempotent. The thread reports leader=false through on_change before the
  // lease is revoked, so nothing acts as leader after another replica can win.
  void Stop();
  // The latest leadership; leader=false once IsLeader() would say so.
  Leadership Current() const;
  // True while leader AND the lease cannot yet have expired on etcd's side:
  // the leader considers itself leader only until (time the last successful
  // keepalive was SENT + ttl - 1 s safety margin); when that passes without a
  // renewal it steps down (on_change with leader=false) before another
  // replica can be elected.
  bool IsLeader() const;
  // FencedCreate with this replica's current fence against options.key;
  // FailedPrecondition if not leader.
  absl::StatusOr<bool> FencedCreate(const std::string& key, const std::string& value);

  // Tests only: what a crashed process leaves behind. Stops the thread
  // without revoking the lease or calling on_change; the key stays in etcd
  // until the lease expires.
  void AbandonForTesting();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
