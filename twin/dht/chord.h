// Chord (Stoica et al., SIGCOMM 2001) as a sans-I/O state machine: the message
// kinds it puts on the wire and a read-only view of a node's ring state for
// tests and metrics. Nodes are made with dht::MakeChordNode (dht.h); cast one
// to ChordNode to look at its ring:
//
//   auto* c = dynamic_cast<const dht::ChordNode*>(node);
//   c->successor(), c->predecessor(), c->successor_list(), c->finger(i)
//
// Routing is iterative: the node that asks (the origin) sends FIND_SUCCESSOR
// to one node at a time; each answers either "the key is between me and my
// successor: here is my successor list" or "these nodes precede the key more
// closely than I do" (the closest preceding nodes among its fingers and its
// successor list, best first, so that the origin can route around one that
// does not answer). The origin keeps the timeouts, retries and fall-backs:
// nodes on the path hold no state for other nodes' lookups. A Put or Get then
// goes to the owner, and on a timeout to the next nodes of the predecessor's
// successor list (the new owner after a crash; they hold the replicas).
//
// OpResult::hops counts the nodes that answered a FIND_SUCCESSOR on the
// successful attempt: the nodes the query went through, the last one being
// the key owner's predecessor (which answers with the successor). It is 0
// when the origin answers from its own table (the key lies between the
// origin and its successor, or the origin owns it). Timed-out requests, and
// the store or get at the owner, are not hops.
//
// Values: a Put replaces the publisher's value at the owner and its next
// replicas - 1 successors. Copies that move between nodes later (hand-over
// to a newcomer, re-replication after a failure, graceful leave) carry no
// version, so there the later expiry wins.
//
// For transports: deliver each Message to `to`; call OnTimer(token) at or
// after `at`. Timers are never cancelled (stale ones are ignored); a node
// keeps at most one request-timeout timer armed, its three periodic ones,
// and one per operation waiting to retry (a route that ran into failures
// that the ring has not repaired yet waits a round).
#pragma once

#include <cstdint>
#include <vector>

#include "twin/dht/dht.h"

namespace meshtwin::dht {

// Message::kind for Chord. Requests carry a fresh `rpc`; replies echo it.
// One-way messages have rpc 0.
enum class ChordMessage : std::uint8_t {
  kFindSuccessor = 1,   // request; target = key
  kFoundSuccessor,      // reply; contacts = the answerer's successor list: contacts[0] owns the key
  kCloserNodes,         // reply; contacts = nodes in (answerer, key), closest to the key first
  kGetPredecessor,      // request; target = 1 also asks for the successor list
  kPredecessor,         // reply; contacts[0] = predecessor (invalid if unknown), then successors
  kNotify,              // one-way: "I think I am your predecessor"
  kNewPredecessor,      // one-way, to the old predecessor: contacts[0] joined between us
  kPing,                // request (check predecessor)
  kPong,                // reply
  kGetFingers,          // request, by a node that has just joined, to its successor
  kFingers,             // reply; contacts = distinct fingers and successors
  kStore,               // request; values[0] replaces the publisher's value
  kStoreAck,            // reply
  kReplicaStore,        // one-way; values replace (a Put forwarded by the owner)
  kReplicaSync,         // one-way; values merge, the later expiry wins (hand-over, re-replication)
  kGet,                 // request; target = key
  kGetReply,            // reply; values = every unexpired value under the key
  kLeaveToSuccessor,    // one-way; contacts[0] = leaver's predecessor; values = all it held
  kLeaveToPredecessor,  // one-way; contacts = leaver's successor list
};

// A Chord node with its ring state visible. Not thread-safe (see Node).
class ChordNode : public Node {
 public:
  static constexpr int kFingers = 64;  // a 2^64 ring
  // The first live successor; self when alone.
  virtual Contact successor() const = 0;
  // Invalid when unknown (just joined, or the last one failed).
  virtual Contact predecessor() const = 0;
  // Nearest first, never self, at most ChordOptions::successors long.
  virtual const std::vector<Contact>& successor_list() const = 0;
  // The first node at or after self + 2^i; invalid when it is the successor
  // itself (routing uses the successor list for those) or not known yet.
  virtual Contact finger(int i) const = 0;
};

}  // namespace meshtwin::dht
