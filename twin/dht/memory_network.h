// An in-memory transport for DHT nodes: a discrete-event queue of messages
// and timers in simulated time, with a latency, random loss and churn
// (crashes and graceful leaves). It drives the protocol cores in unit tests
// and checks lookups against a global view of who is alive. Deterministic
// for a seed. Single-threaded.
//
//   MemoryNetwork net([](Contact c) { return MakeChordNode(c, {}); }, {});
//   Address a = net.AddNode(HashKey("a"));  net.Join(a, -1);
//   Address b = net.AddNode(HashKey("b"));  net.Join(b, a);
//   net.RunUntil(60);
//   std::uint64_t op = net.Lookup(b, key);  net.RunUntil(61);
//   const Completed* c = net.Find(op);     // c->result.owner == net.TrueOwner(key)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <vector>

#include "twin/dht/dht.h"

namespace meshtwin::dht {

struct MemoryNetworkOptions {
  Seconds latency = 0.01;  // one-way delay of every message
  Seconds jitter = 0;      // plus uniform [0, jitter)
  double loss = 0;         // probability a message is lost
  std::uint64_t seed = 1;
};

class MemoryNetwork {
 public:
  using Factory = std::function<std::unique_ptr<Node>(Contact)>;
  // An operation result and the node it completed at.
  struct Completed {
    Address at = -1;
    OpResult result;
  };
  enum class Metric { kRing, kXor };  // what "responsible for a key" means

  MemoryNetwork(Factory make, MemoryNetworkOptions options, Metric metric = Metric::kRing);

  // Creates a node with id `id` (not joined yet); returns its address.
  Address AddNode(Key id);
  // The node at `address` joins through `bootstrap` (-1: it is the first), now.
  void Join(Address address, Address bootstrap);
  void Crash(Address address);  // gone at once, silently
  void Leave(Address address);  // graceful leave, then gone

  std::uint64_t Lookup(Address from, Key key);
  std::uint64_t Put(Address from, Key key, std::string data, Seconds ttl);
  std::uint64_t Get(Address from, Key key);

  // Processes every event up to and including time `t`.
  void RunUntil(Seconds t);
  Seconds now() const { return now_; }

  Node* node(Address address) { return nodes_[static_cast<std::size_t>(address)].get(); }
  bool alive(Address address) const { return alive_[static_cast<std::size_t>(address)]; }
  std::size_t size() const { return nodes_.size(); }
  // Live nodes that have completed their join.
  std::vector<Contact> LiveJoined() const;
  // The live joined node responsible for `key` under the metric (invalid if none).
  Contact TrueOwner(Key key) const;

  const Completed* Find(std::uint64_t op) const;
  const std::vector<Completed>& completed() const { return completed_; }
  std::uint64_t messages_sent() const { return sent_; }
  std::uint64_t messages_lost() const { return lost_; }

 private:
  struct Event {
    Seconds at;
    std::uint64_t seq;  // FIFO among equal times: determinism
    bool is_message;
    Address to;
    Message message;
    std::uint64_t token;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void Apply(Address at, Effects& fx);

  Factory make_;
  MemoryNetworkOptions options_;
  Metric metric_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<bool> alive_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  Seconds now_ = 0;
  std::vector<Completed> completed_;
  std::map<std::uint64_t, std::size_t> by_op_;  // (at, op) packed -> index in completed_
  std::uint64_t sent_ = 0, lost_ = 0;
};

}  // namespace meshtwin::dht
