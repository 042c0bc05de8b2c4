// The mesh's distributed hash table as sans-I/O state machines. A DHT node
// never sends, sleeps or reads a clock: every call gets the current time and
// returns what it wants done in an Effects value (messages to send, timers to
// set, operations that completed). A transport carries the messages — SimGrid
// mailboxes in sim/, gRPC in live_bridge/, an in-memory event queue in tests —
// and calls back OnMessage / OnTimer. The same protocol code runs in all three.
//
//   std::unique_ptr<dht::Node> n = dht::MakeChordNode({id, address}, options);
//   dht::Effects fx;
//   n->Join(now, bootstrap, &fx);         // fx.send: messages, fx.timers: wake-ups
//   ... transport delivers ... n->OnMessage(now, message, &fx);
//   std::uint64_t op = n->Lookup(now, key, &fx);   // later: fx.done has {op, owner, hops}
//
// Identifiers and keys share one 64-bit space (Chord's ring is 2^64 around;
// Kademlia's distance is the XOR of two ids). Deterministic: the same calls
// in the same order give the same effects (randomness comes from a seed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twin/types.h"

namespace meshtwin::dht {

using Key = std::uint64_t;
// A transport endpoint: in the simulator the node's index, live a peer slot.
using Address = std::int32_t;

// A stable 64-bit hash of a name (a capability class, a node name) into the
// key space: the same on every platform and build.
Key HashKey(std::string_view text);

struct Contact {
  Key id = 0;
  Address address = -1;
  bool valid() const { return address >= 0; }
  friend bool operator==(const Contact&, const Contact&) = default;
};

// One value stored under a key. Each publisher has at most one value per key:
// a new Put from the same publisher replaces its old one. Values expire.
struct StoredValue {
  Key key = 0;
  Key publisher = 0;
  std::string data;
  Seconds expires = 0;  // absolute time; gone after it
  friend bool operator==(const StoredValue&, const StoredValue&) = default;
};

// A protocol message. `kind` is the protocol's own (ChordMessage,
// KademliaMessage); the other fields are used as that kind needs.
struct Message {
  std::uint8_t kind = 0;
  Contact from;                     // the sender
  Address to = -1;                  // the receiver
  std::uint64_t rpc = 0;            // request id, echoed by its reply
  Key target = 0;                   // the key or id asked about
  std::vector<Contact> contacts;    // successors, predecessor, closest nodes, ...
  std::vector<StoredValue> values;  // STORE payload, FIND_VALUE reply, hand-over
  std::int32_t hops = 0;            // hops so far (recursive routing)
  Contact origin;                   // who asked first (recursive routing replies go there)
  std::uint64_t origin_op = 0;      // the operation at the origin

  // Approximate size on the wire, bytes (for transports that model size).
  std::size_t WireSize() const;
};

// A wake-up the node asked for: OnTimer(now, token) at or after `at`.
struct TimerRequest {
  Seconds at = 0;
  std::uint64_t token = 0;
};

enum class OpKind : std::uint8_t { kLookup, kPut, kGet, kJoin };

// An operation that finished (or failed: timeouts, no route).
struct OpResult {
  std::uint64_t op = 0;
  OpKind kind = OpKind::kLookup;
  bool ok = false;
  Key key = 0;
  Contact owner;                    // kLookup: the node responsible for `key`
  int hops = 0;                     // messages on the path (request legs)
  Seconds started = 0;
  Seconds finished = 0;
  std::vector<StoredValue> values;  // kGet: every unexpired value under `key`
};

// What a call wants done. Callers clear it (or use a fresh one) per call;
// the node only appends.
struct Effects {
  std::vector<Message> send;
  std::vector<TimerRequest> timers;
  std::vector<OpResult> done;
  void Clear() {
    send.clear();
    timers.clear();
    done.clear();
  }
};

// One DHT node. Not thread-safe; a transport serialises calls per node.
class Node {
 public:
  virtual ~Node() = default;
  virtual Contact self() const = 0;
  virtual std::string_view protocol() const = 0;  // "chord" | "kademlia"

  // Joins through `bootstrap` (an invalid contact: the first node, alone).
  // Completion is an OpResult of kind kJoin; periodic maintenance timers start.
  virtual void Join(Seconds now, Contact bootstrap, Effects* out) = 0;
  // Graceful leave: hands stored values to the nodes that take them over and
  // tells its neighbours. The node is inert afterwards.
  virtual void Leave(Seconds now, Effects* out) = 0;
  virtual void OnMessage(Seconds now, const Message& message, Effects* out) = 0;
  virtual void OnTimer(Seconds now, std::uint64_t token, Effects* out) = 0;

  // Finds the node responsible for `key`; returns the operation id that the
  // OpResult carries.
  virtual std::uint64_t Lookup(Seconds now, Key key, Effects* out) = 0;
  // Stores `data` under `key` as this node's value, for `ttl` seconds
  // (replicated as the protocol does; republished by the protocol's own
  // maintenance only if the protocol says so — callers refresh their records).
  virtual std::uint64_t Put(Seconds now, Key key, std::string data, Seconds ttl,
                            Effects* out) = 0;
  // Fetches every unexpired value stored under `key`.
  virtual std::uint64_t Get(Seconds now, Key key, Effects* out) = 0;

  virtual bool joined() const = 0;
  // Unexpired values this node holds (tests and metrics).
  virtual std::vector<StoredValue> StoredValues(Seconds now) const = 0;
  // Up to `limit` distinct peers this node routes through, most useful
  // first (Chord: successors, then fingers; Kademlia: the closest bucket
  // first), never itself. For viewers of the overlay.
  virtual std::vector<Contact> RoutingContacts(std::size_t limit) const = 0;
};

struct ChordOptions {
  int successors = 8;              // successor-list length (tolerates that many failures in a row)
  Seconds stabilize_every = 10;    // stabilise + notify
  Seconds fix_fingers_every = 10;  // refreshes a few fingers per round
  int fingers_per_round = 4;
  Seconds check_predecessor_every = 10;
  Seconds rpc_timeout = 2;         // an unanswered request counts as a failed peer
  int replicas = 3;                // a value is stored at the owner and its next replicas - 1 successors
  std::uint64_t seed = 1;
};

struct KademliaOptions {
  int k = 20;                      // bucket size and replication
  int alpha = 3;                   // parallel requests per lookup
  Seconds rpc_timeout = 2;
  Seconds refresh_every = 3600;    // refresh buckets not looked up in this long
  Seconds republish_every = 3600;  // re-store held values at the k closest
  std::uint64_t seed = 1;
};

std::unique_ptr<Node> MakeChordNode(Contact self, const ChordOptions& options);
std::unique_ptr<Node> MakeKademliaNode(Contact self, const KademliaOptions& options);

}  // namespace meshtwin::dht
