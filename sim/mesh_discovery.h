// Capacity discovery through the DHT inside a full simulation (scenario key
// `dht: chord|kademlia`). Every node of the mesh that is up runs a Chord or
// Kademlia node (the sans-I/O cores of twin/dht) on its own host and keeps its
// capability record (role, cores, memory, load, spare cores) published under
// its class keys with a TTL; the manager runs one more DHT node and reads
// every role's records each query interval. The mesh then routes a role's
// demand only to the ready nodes whose record the manager found under that
// role, so a node that finished booting serves once it is discovered, and a
// node whose record cannot be found serves nothing new.
//
//   MeshDiscovery d(options);             // from the scenario's dht section
//   d.Start(manager_host, mesh, host_of); // in an actor, at time 0
//   each tick: d.Sync(mesh, host_of, now); mesh.SetRoutable(&d.discovered());
//
// Protocol messages are SimGrid mailbox communications between the hosts of
// the mesh's platform (its link latencies and bandwidth, shared with the
// migrations), one actor per DHT node. As in sim/dht_simulation.h, nothing
// is detached: each actor reaps its own sends, and a node that left stays to
// drain its mailbox for a while, so no message is left unreceived.
//
// The initial nodes form the mesh before the run starts: the manager knows
// them from its seed list at time 0 (they still join the DHT and publish);
// every node after them is known only through the DHT.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "twin/mesh.h"
#include "twin/types.h"

namespace simgrid::s4u {
class Host;
}

namespace meshtwin {

struct DiscoveryOptions {
  std::string protocol = "chord";  // chord | kademlia
  Seconds refresh = 30;            // record re-published this often
  Seconds ttl = 90;                // record lifetime
  Seconds query_every = 15;        // the manager reads every role's records this often
  Seconds control_interval = 15;   // the tick, over which a node's load is measured
  std::uint64_t seed = 1;
  std::vector<std::string> roles;        // role names, in the mesh's order
  std::vector<NodeTypeSpec> node_types;  // for the records' cores and memory
  int max_links_per_node = 6;            // overlay links kept per node in snapshots
};

struct DiscoveryStats {
  std::int64_t messages = 0;        // DHT messages sent (control messages excluded)
  std::int64_t bytes = 0;           // their wire size
  std::int64_t queries = 0;         // Gets the manager issued
  std::int64_t queries_failed = 0;  // of which failed (timeout, no route)
  std::int64_t joins = 0;           // DHT joins completed
  std::int64_t join_failures = 0;   // joins that failed and were retried
  std::int64_t rejoins = 0;         // nodes cut off from the manager's overlay that joined again
  std::int64_t bad_records = 0;     // values under a class key that did not decode
  // Per node that became ready after time 0 and was discovered: seconds from
  // ready to the first query that found it.
  std::vector<double> discovery_delays;
};

class MeshDiscovery {
 public:
  explicit MeshDiscovery(DiscoveryOptions options);
  ~MeshDiscovery();
  MeshDiscovery(const MeshDiscovery&) = delete;
  MeshDiscovery& operator=(const MeshDiscovery&) = delete;

  // At time 0, from inside an actor: starts the manager's DHT node on
  // `manager_host` (the first node of the DHT) and one for each node of
  // `mesh`, which the manager knows from the start. `host_of(id)` is the host
  // a node runs on.
  void Start(simgrid::s4u::Host* manager_host, const MeshModel& mesh,
             const std::function<simgrid::s4u::Host*(int)>& host_of);

  // At the start of each tick, from the manager actor: a DHT node for every
  // node that came up since, a graceful leave for every node that stopped,
  // and each record brought up to date (load, spare, role; a role change is
  // published at once).
  void Sync(const MeshModel& mesh, const std::function<simgrid::s4u::Host*(int)>& host_of,
            Seconds now);

  // By node id: 1 if the manager's latest reads found the node's record
  // under the role the node holds now.
  const std::vector<char>& discovered() const { return discovered_; }
  const DiscoveryStats& stats() const { return stats_; }
  const std::string& protocol() const { return options_.protocol; }

  // Appends the overlay's links among `node_ids` (routing entries: Chord's
  // successors and fingers, Kademlia's bucket contacts; at most
  // max_links_per_node each) to the snapshot's link arrays.
  void AppendLinks(const std::vector<std::int32_t>& node_ids, NodeSnapshots* out) const;

  struct Impl;  // the SimGrid side (mesh_discovery.cpp)

 private:
  char Known(const Node& n, Seconds now) const;

  DiscoveryOptions options_;
  std::vector<char> discovered_;
  DiscoveryStats stats_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin
