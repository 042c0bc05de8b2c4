// Kademlia's internals, for transports that need the message kinds and for
// tests of the routing table. Most code only needs dht.h:
//
//   std::unique_ptr<dht::Node> n = dht::MakeKademliaNode({id, address}, {});
//
// Protocol choices (Maymounkov & Mazieres 2002, with the simplifications noted):
// * Distance is the XOR of two 64-bit ids; bucket i holds contacts sharing
//   exactly i leading bits with this node (i = 0 is the farther half).
// * A bucket keeps at most k contacts, least recently seen first. A contact
//   heard from when its bucket is full goes to a small replacement cache; the
//   least recently seen contact is pinged only if it has not been heard from
//   in refresh_every / 4 (a bound on ping traffic: the paper pings on every
//   newcomer). A contact that fails an RPC (two attempts for a query of a
//   lookup still running, else one) is dropped and the newest cached contact
//   takes its place. Only nodes heard from directly enter the table.
// * Lookups are iterative with at most alpha requests in flight. A lookup
//   for a node (Lookup) or a value (Get) ends when the alpha closest live
//   candidates have all answered; one that must reach the k closest (Put,
//   Join, republish) ends when the k closest have. A Get that has found no
//   value yet also waits for the k closest. Requests go to the closest
//   candidates not yet asked within that window, or within the k closest
//   once a request has timed out (the paper's rule for a stalled round). A
//   timed-out query is retried once without holding its alpha slot. A
//   candidate that fails is replaced by the next closest from the table. The
//   node itself is a candidate, so a lookup can answer "me".
// * OpResult.hops is the length of the request chain through which the owner
//   (the closest node that answered) was found: contacts from the node's own
//   table are 1 leg away, contacts named in a reply from a node d legs away
//   are d + 1. 0 when the node itself owns the key. This is the number of
//   sequential lookup rounds needed to reach the owner.
// * Get merges the values of every node it hears from (one per publisher, the
//   latest expiry wins); ok means the lookup itself worked, values may be empty.
//   No caching of values along the path.
// * A Put stores at the k closest (acknowledged); ok if at least one stored.
//   A holder republishes a key every republish_every unless another holder's
//   STORE for it arrived meanwhile (the paper's optimisation); values keep
//   their expiry. A STORE straight from the publisher replaces its old value;
//   a republished copy replaces only a value that expires earlier.
// * Join adds the bootstrap, looks up its own id (kJoin is reported then;
//   up to three tries if nobody answers, then ok = false), then refreshes
//   every non-full bucket farther than its closest neighbour.
//   Maintenance runs every min(refresh_every, republish_every) / 8: expiry,
//   republish of due keys, and a refresh (lookup of a random id) of at most
//   two buckets idle for refresh_every, the stalest first.
// * Leave sends one unacknowledged kLeave to each of its k closest contacts
//   (they drop it from their tables) and to the k closest it knows to each
//   held key, with those values; then it goes silent. Nodes that did not hear
//   drop it on their next timeout.
// * RPC timeouts share one timer per node: requests time out in the order
//   they were sent, so the node keeps a single wake-up at the oldest deadline.
//   With the maintenance tick, a node has at most two timers pending.
#pragma once

#include <cstdint>
#include <vector>

#include "twin/dht/dht.h"

namespace meshtwin::dht {

// Message::kind values of the Kademlia protocol.
enum class KademliaMessage : std::uint8_t {
  kPing = 1,
  kPong,
  kFindNode,        // target: the id sought; reply: contacts
  kFindNodeReply,   // contacts: the k closest the replier knows (not the asker)
  kFindValue,       // target: the key
  kFindValueReply,  // values held under the key, and contacts as kFindNodeReply
  kStore,           // values to hold
  kStoreAck,
  kLeave,  // the sender is leaving (no reply); values: what it hands over
};

// The k-bucket routing table of one node: 64 buckets by shared-prefix length,
// least recently seen first, each with a small replacement cache. A pure data
// structure; O(k) per update. Not thread-safe.
class KademliaRoutingTable {
 public:
  static constexpr int kReplacementCache = 4;

  KademliaRoutingTable(Contact self, int k);

  // Leading bits `a` and `b` share (64 when equal): the bucket of b at a.
  static int BucketIndex(Key a, Key b);

  // Records that `contact` was heard from at `now`. Returns a contact to ping
  // (the least recently seen of a full bucket, unseen for `stale_age`), or an
  // invalid one; the caller reports the outcome with ProbeDone.
  Contact Seen(Contact contact, Seconds now, Seconds stale_age);
  // Drops `contact` (it failed to answer) and promotes the newest cached one.
  // Returns whether it was in the table.
  bool Remove(Contact contact);
  // The ping of bucket `bucket`'s oldest contact finished (either way).
  void ProbeDone(int bucket);

  // Appends to `out` the `count` contacts closest to `target`, nearest first,
  // leaving out `exclude`. O(k log k) plus the near buckets when sparse.
  void Closest(Key target, int count, Key exclude, std::vector<Contact>* out) const;

  // A lookup for `target` ran at `now`: its bucket is not idle.
  void Touch(Key target, Seconds now);
  // Buckets (at most `limit`, stalest first) not touched since
  // `now - refresh_every`, among those up to the closest non-empty one.
  std::vector<int> IdleBuckets(Seconds now, Seconds refresh_every, int limit) const;

  std::size_t size() const;
  // One past the highest non-empty bucket index (that of the closest
  // neighbour); 0 when empty.
  int bucket_count() const;
  std::size_t bucket_size(int bucket) const;
  // Contacts of a bucket, least recently seen first.
  std::vector<Contact> BucketContents(int bucket) const;
  bool Contains(Key id) const;

 private:
  struct Entry {
    Key id;
    Address address;
    float last_seen;  // seconds; float keeps an entry at 16 bytes (precise to 0.1 s over weeks)
    Contact contact() const { return Contact{id, address}; }
  };
  struct Bucket {
    std::vector<Entry> entries;  // least recently seen first, at most k
    std::vector<Entry> cache;    // newest last, at most kReplacementCache
    Seconds last_lookup = 0;
    bool probing = false;
  };
  void AppendBucket(int bucket, std::vector<Contact>* out) const;

  Contact self_;
  int k_;
  std::vector<Bucket> buckets_;  // grows to the closest neighbour's bucket
};

}  // namespace meshtwin::dht
