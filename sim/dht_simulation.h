// A DHT-only experiment on SimGrid: N Chord or Kademlia nodes (the sans-I/O
// cores of twin/dht) join, then look keys up under churn and message loss,
// and every lookup is judged against a global view of who is alive.
//
//   DhtExperiment e;  e.protocol = "kademlia";  e.nodes = 10000;
//   absl::StatusOr<DhtReport> r = RunDhtExperiment(e, {});
//   // r->successful_lookups / r->lookups, r->hops_mean, r->latency_p99_s, ...
//
// Design, and why. SimGrid carries and times every protocol message: each one
// is a mailbox communication of Message::WireSize() bytes between two hosts of
// a star platform, one link per host, so a message between two hosts takes
// 2 x link_latency + size / bandwidth (CM02 network model: the platform's
// latencies, without TCP correction factors). What SimGrid 3.32 does not do
// cheaply decided the rest (measured on this 2-core machine, 10^6 messages):
//  * Detached sends (Comm::detach) and host-to-host sendto comms sit in one
//    list that is scanned at every completion; so do an actor's own sends
//    until it waits for them. With a few thousand messages in flight a
//    message then costs 50-100 us instead of 3. So nothing here is detached
//    or a sendto: every message is a mailbox put that its sending actor keeps
//    and reaps (wait_any over its own few sends and its receive), which keeps
//    every list SimGrid scans a handful of entries long.
//  * An actor per node (the SimGrid examples' way) costs a context and two
//    memory mappings each (65,530 allowed) and, past a few thousand actors,
//    cache misses that double the cost of a message. So the platform has at
//    most `hosts` hosts (by default min(nodes, 1,000)); nodes are spread over
//    them round robin and one actor per host runs the state machines of all
//    its nodes: it receives every message for them from its mailbox (a
//    permanent receiver, so messages to one host travel concurrently and
//    none waits unreceived), calls OnMessage / OnTimer, and sends what they
//    return from that host. Two nodes of one host talk through a loopback
//    route with the same delay as any two hosts: grouping is the simulator's
//    economy, not a topology.
//  * Links do not share bandwidth between concurrent messages (FATPIPE)
//    unless `shared_links`: DHT messages are a few hundred bytes, so sharing
//    moves arrivals by microseconds, and SimGrid's sharing solver cost a
//    third of the run at 10^5 nodes.
//  * Timers never leave their host: each host actor keeps its nodes' timers,
//    lookups, joins and churn in one heap and waits for its mailbox with a
//    timeout to the next of them, rounded up to `timer_slack` (timers still
//    fire at or after their time, as the Node contract asks).
//  * Messages to a node that has crashed or left are never put on the
//    network (the sender's request times out, as it would); lost messages
//    (probability `loss`) are dropped before they are sent. A message already
//    in flight when its receiver dies is received and discarded by the host.
//  * An actor lets the others run at every SimGrid call (each send), so what
//    a node asks for is kept per host, never in shared scratch space.
//
// SimGrid's engine runs once per process: call RunDhtExperiment once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

struct DhtExperiment {
  std::string protocol = "chord";  // "chord" | "kademlia"
  int nodes = 1000;                // nodes alive at any time (churn replaces, it does not shrink)
  Seconds duration = 600;          // measured time, after the join phase
  double lookup_rate = 1;          // lookups per node per minute (Poisson), for random keys
  double churn = 0;                // fraction of the nodes replaced per minute (Poisson)
  double leave_fraction = 0.5;     // of the churned-out nodes, the share leaving gracefully
  double loss = 0;                 // probability that a message is lost
  std::uint64_t seed = 1;
  Seconds link_latency = 0.005;  // per host link: host to host is twice this
  double bandwidth = 125e6;      // per host link, bytes/s (1 Gbit/s)
  Seconds join_spread = 60;      // the initial nodes join at uniform times in [0, join_spread)
  Seconds settle = 60;           // then the DHT settles this long before lookups and churn start
  Seconds drain = 30;            // after `duration`, running lookups get this long to finish
  int hosts = 0;                 // hosts (and actors); 0: min(nodes, 1000)
  bool shared_links = false;   // concurrent messages share a link's bandwidth (slower to simulate)
  Seconds timer_slack = 0.01;  // timers of one host within this are served by one wake-up
};

struct DhtReport {
  std::string protocol;
  int nodes = 0;
  int hosts = 0;
  std::uint64_t seed = 0;
  Seconds duration = 0;
  Seconds join_phase_s = 0;  // join_spread + settle: when lookups started
  int joined_at_start = 0;   // nodes joined when lookups started
  std::int64_t lookups = 0;  // issued after the join phase by nodes that lived to see them end
  std::int64_t lookups_completed = 0;
  std::int64_t successful_lookups = 0;  // ok and the true owner
  double success_rate = 0;              // successful_lookups / lookups (1 without lookups)
  double hops_mean = 0;                 // over successful lookups
  double hops_p99 = 0;
  double latency_mean_s = 0;  // over successful lookups, issue to completion
  double latency_p99_s = 0;
  std::int64_t messages = 0;          // every message the nodes sent, join phase included
  std::int64_t messages_lost = 0;     // dropped by `loss`
  std::int64_t messages_to_dead = 0;  // addressed to a node already gone: never sent
  double messages_per_node_s = 0;     // after the join phase, per live node and simulated second
  std::int64_t joins = 0;             // replacement nodes joined after the join phase
  std::int64_t leaves = 0;
  std::int64_t crashes = 0;
  std::int64_t join_failures = 0;  // joins that reported failure (retried through another node)
  Seconds simulated_s = 0;
  double wall_seconds = 0;
  double peak_rss_mib = 0;  // of the whole process (0 if unknown)
};

// InvalidArgument naming the field if `e` cannot run.
absl::Status ValidateDhtExperiment(const DhtExperiment& e);

// Runs `e` on SimGrid. `on_progress` (may be empty) gets the fraction of
// simulated time done, now and then. Deterministic in `e`: the same
// experiment gives the same report but for wall_seconds and peak_rss_mib.
absl::StatusOr<DhtReport> RunDhtExperiment(const DhtExperiment& e,
                                           const std::function<void(double)>& on_progress);

}  // namespace meshtwin
