#include "twin/dht/memory_network.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace meshtwin::dht {

MemoryNetwork::MemoryNetwork(Factory make, MemoryNetworkOptions options, Metric metric)
    : make_(std::move(make)), options_(options), metric_(metric), rng_(options.seed) {}

Address MemoryNetwork::AddNode(Key id) {
  const auto address = static_cast<Address>(nodes_.size());
  nodes_.push_back(make_(Contact{id, address}));
  alive_.push_back(true);
  return address;
}

void MemoryNetwork::Apply(Address at, Effects& fx) {
  for (Message& m : fx.send) {
    ++sent_;
    const bool lost = options_.loss > 0 &&
                      std::uniform_real_distribution<double>(0, 1)(rng_) < options_.loss;
    if (lost || m.to < 0 || static_cast<std::size_t>(m.to) >= nodes_.size()) {
      ++lost_;
      continue;
    }
    Seconds delay = options_.latency;
    if (options_.jitter > 0) delay += std::uniform_real_distribution<double>(0, options_.jitter)(rng_);
    const Address to = m.to;
    queue_.push(Event{now_ + delay, seq_++, true, to, std::move(m), 0});
  }
  for (const TimerRequest& t : fx.timers) {
    queue_.push(Event{std::max(t.at, now_), seq_++, false, at, Message{}, t.token});
  }
  for (OpResult& r : fx.done) {
    // Op ids are per node: key the index by (node, op) so lookups of either work.
    by_op_[(static_cast<std::uint64_t>(static_cast<std::uint32_t>(at)) << 40) ^ r.op] =
        completed_.size();
    completed_.push_back(Completed{at, std::move(r)});
  }
  fx.Clear();
}

void MemoryNetwork::Join(Address address, Address bootstrap) {
  Effects fx;
  const Contact boot =
      bootstrap >= 0 ? nodes_[static_cast<std::size_t>(bootstrap)]->self() : Contact{};
  nodes_[static_cast<std::size_t>(address)]->Join(now_, boot, &fx);
  Apply(address, fx);
}

void MemoryNetwork::Crash(Address address) { alive_[static_cast<std::size_t>(address)] = false; }

void MemoryNetwork::Leave(Address address) {
  Effects fx;
  nodes_[static_cast<std::size_t>(address)]->Leave(now_, &fx);
  Apply(address, fx);
  alive_[static_cast<std::size_t>(address)] = false;
}

std::uint64_t MemoryNetwork::Lookup(Address from, Key key) {
  Effects fx;
  const std::uint64_t op = nodes_[static_cast<std::size_t>(from)]->Lookup(now_, key, &fx);
  Apply(from, fx);
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(from)) << 40) ^ op;
}

std::uint64_t MemoryNetwork::Put(Address from, Key key, std::string data, Seconds ttl) {
  Effects fx;
  const std::uint64_t op =
      nodes_[static_cast<std::size_t>(from)]->Put(now_, key, std::move(data), ttl, &fx);
  Apply(from, fx);
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(from)) << 40) ^ op;
}

std::uint64_t MemoryNetwork::Get(Address from, Key key) {
  Effects fx;
  const std::uint64_t op = nodes_[static_cast<std::size_t>(from)]->Get(now_, key, &fx);
  Apply(from, fx);
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(from)) << 40) ^ op;
}

const MemoryNetwork::Completed* MemoryNetwork::Find(std::uint64_t op) const {
  auto it = by_op_.find(op);
  return it == by_op_.end() ? nullptr : &completed_[it->second];
}

void MemoryNetwork::RunUntil(Seconds t) {
  Effects fx;
  while (!queue_.empty() && queue_.top().at <= t) {
    Event e = std::move(const_cast<Event&>(queue_.top()));
    queue_.pop();
    now_ = e.at;
    if (!alive_[static_cast<std::size_t>(e.to)]) continue;  // dead nodes hear nothing
    Node* n = nodes_[static_cast<std::size_t>(e.to)].get();
    if (e.is_message) {
      n->OnMessage(now_, e.message, &fx);
    } else {
      n->OnTimer(now_, e.token, &fx);
    }
    Apply(e.to, fx);
  }
  now_ = std::max(now_, t);
}

std::vector<Contact> MemoryNetwork::LiveJoined() const {
  std::vector<Contact> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (alive_[i] && nodes_[i]->joined()) out.push_back(nodes_[i]->self());
  }
  return out;
}

Contact MemoryNetwork::TrueOwner(Key key) const {
  Contact best;
  if (metric_ == Metric::kXor) {
    Key best_distance = std::numeric_limits<Key>::max();
    for (const Contact& c : LiveJoined()) {
      if (!best.valid() || (c.id ^ key) < best_distance) {
        best = c;
        best_distance = c.id ^ key;
      }
    }
    return best;
  }
  // Chord: the first id at or after the key clockwise.
  Key best_gap = std::numeric_limits<Key>::max();
  for (const Contact& c : LiveJoined()) {
    const Key gap = c.id - key;  // modulo 2^64
    if (!best.valid() || gap < best_gap) {
      best = c;
      best_gap = gap;
    }
  }
  return best;
}

}  // namespace meshtwin::dht
