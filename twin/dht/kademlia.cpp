// Kademlia as a sans-I/O state machine; the protocol choices are listed in
// kademlia.h.
#include "twin/dht/kademlia.h"

#include <algorithm>
#include <bit>
#include <map>
#include <unordered_map>
#include <utility>

namespace meshtwin::dht {

// ---------------------------------------------------------------------------
// KademliaRoutingTable

KademliaRoutingTable::KademliaRoutingTable(Contact self, int k) : self_(self), k_(std::max(1, k)) {}

int KademliaRoutingTable::BucketIndex(Key a, Key b) { return std::countl_zero(a ^ b); }

Contact KademliaRoutingTable::Seen(Contact contact, Seconds now, Seconds stale_age) {
  if (!contact.valid() || contact.id == self_.id) return {};
  const auto index = static_cast<std::size_t>(BucketIndex(self_.id, contact.id));
  while (buckets_.size() <= index) {
    buckets_.emplace_back();
    buckets_.back().last_lookup = now;  // a new bucket starts fresh, not idle since time 0
  }
  Bucket& bucket = buckets_[index];
  const Entry seen{contact.id, contact.address, static_cast<float>(now)};
  auto same = [&](const Entry& e) { return e.id == contact.id; };
  if (auto it = std::find_if(bucket.entries.begin(), bucket.entries.end(), same);
      it != bucket.entries.end()) {
    bucket.entries.erase(it);  // move to the most recently seen end: O(k)
    bucket.entries.push_back(seen);
    return {};
  }
  if (auto it = std::find_if(bucket.cache.begin(), bucket.cache.end(), same);
      it != bucket.cache.end()) {
    bucket.cache.erase(it);
  }
  if (bucket.entries.size() < static_cast<std::size_t>(k_)) {
    bucket.entries.push_back(seen);
    return {};
  }
  bucket.cache.push_back(seen);
  if (bucket.cache.size() > static_cast<std::size_t>(kReplacementCache)) {
    bucket.cache.erase(bucket.cache.begin());
  }
  const Entry& oldest = bucket.entries.front();
  if (!bucket.probing && now - static_cast<Seconds>(oldest.last_seen) >= stale_age) {
    bucket.probing = true;
    return oldest.contact();
  }
  return {};
}

bool KademliaRoutingTable::Remove(Contact contact) {
  const auto index = static_cast<std::size_t>(BucketIndex(self_.id, contact.id));
  if (index >= buckets_.size()) return false;
  Bucket& bucket = buckets_[index];
  auto it = std::find_if(bucket.entries.begin(), bucket.entries.end(), [&](const Entry& e) {
    return e.id == contact.id && e.address == contact.address;
  });
  if (it == bucket.entries.end()) return false;
  bucket.entries.erase(it);
  if (!bucket.cache.empty()) {
    // The newest cached contact takes the place, in last-seen order.
    const Entry promoted = bucket.cache.back();
    bucket.cache.pop_back();
    auto at = std::upper_bound(bucket.entries.begin(), bucket.entries.end(), promoted.last_seen,
                               [](float seen, const Entry& e) { return seen < e.last_seen; });
    bucket.entries.insert(at, promoted);
  }
  return true;
}

void KademliaRoutingTable::ProbeDone(int bucket) {
  if (bucket >= 0 && static_cast<std::size_t>(bucket) < buckets_.size()) {
    buckets_[static_cast<std::size_t>(bucket)].probing = false;
  }
}

void KademliaRoutingTable::AppendBucket(int bucket, std::vector<Contact>* out) const {
  for (const Entry& e : buckets_[static_cast<std::size_t>(bucket)].entries) {
    out->push_back(e.contact());
  }
}

void KademliaRoutingTable::Closest(Key target, int count, Key exclude,
                                   std::vector<Contact>* out) const {
  if (count <= 0) return;
  // Buckets in XOR order from the target: the target's own bucket p (shares
  // p + 1 bits with it), then every nearer bucket (they all differ from the
  // target first at bit p), then p - 1, p - 2, ... each farther than the last.
  // Whole groups are gathered until `count` is reached, then sorted.
  const std::size_t first = out->size();
  const int size = static_cast<int>(buckets_.size());
  const int p = BucketIndex(self_.id, target);
  auto enough = [&] { return out->size() - first >= static_cast<std::size_t>(count) + 1; };
  if (p < size) AppendBucket(p, out);
  if (!enough()) {
    for (int q = p + 1; q < size; ++q) AppendBucket(q, out);
  }
  for (int q = std::min(p, size) - 1; q >= 0 && !enough(); --q) AppendBucket(q, out);
  // `exclude` may be among them: gathering count + 1 leaves count after it goes.
  out->erase(std::remove_if(out->begin() + static_cast<std::ptrdiff_t>(first), out->end(),
                            [&](const Contact& c) { return c.id == exclude; }),
             out->end());
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end(),
            [&](const Contact& a, const Contact& b) { return (a.id ^ target) < (b.id ^ target); });
  if (out->size() - first > static_cast<std::size_t>(count)) {
    out->resize(first + static_cast<std::size_t>(count));
  }
}

void KademliaRoutingTable::Touch(Key target, Seconds now) {
  const auto index = static_cast<std::size_t>(BucketIndex(self_.id, target));
  if (index < buckets_.size()) buckets_[index].last_lookup = now;
}

std::vector<int> KademliaRoutingTable::IdleBuckets(Seconds now, Seconds refresh_every,
                                                   int limit) const {
  std::vector<int> idle;
  const int count = bucket_count();
  for (int i = 0; i < count; ++i) {
    if (buckets_[static_cast<std::size_t>(i)].last_lookup + refresh_every <= now) idle.push_back(i);
  }
  std::stable_sort(idle.begin(), idle.end(), [&](int a, int b) {
    return buckets_[static_cast<std::size_t>(a)].last_lookup <
           buckets_[static_cast<std::size_t>(b)].last_lookup;
  });
  if (idle.size() > static_cast<std::size_t>(std::max(0, limit))) {
    idle.resize(static_cast<std::size_t>(std::max(0, limit)));
  }
  return idle;
}

std::size_t KademliaRoutingTable::size() const {
  std::size_t n = 0;
  for (const Bucket& b : buckets_) n += b.entries.size();
  return n;
}

int KademliaRoutingTable::bucket_count() const {
  for (int i = static_cast<int>(buckets_.size()) - 1; i >= 0; --i) {
    if (!buckets_[static_cast<std::size_t>(i)].entries.empty()) return i + 1;
  }
  return 0;
}

std::size_t KademliaRoutingTable::bucket_size(int bucket) const {
  if (bucket < 0 || static_cast<std::size_t>(bucket) >= buckets_.size()) return 0;
  return buckets_[static_cast<std::size_t>(bucket)].entries.size();
}

std::vector<Contact> KademliaRoutingTable::BucketContents(int bucket) const {
  std::vector<Contact> out;
  if (bucket >= 0 && static_cast<std::size_t>(bucket) < buckets_.size()) AppendBucket(bucket, &out);
  return out;
}

bool KademliaRoutingTable::Contains(Key id) const {
  const auto index = static_cast<std::size_t>(BucketIndex(self_.id, id));
  if (index >= buckets_.size()) return false;
  const auto& entries = buckets_[index].entries;
  return std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; });
}

// ---------------------------------------------------------------------------
// KademliaNode

namespace {

constexpr std::uint64_t kSweepToken = 1;        // the RPC-timeout wake-up
constexpr std::uint64_t kMaintenanceToken = 2;  // expiry, republish, refresh
constexpr int kQueryAttempts = 2;               // a lost datagram is not a dead peer
constexpr int kRefreshesPerTick = 2;
constexpr int kJoinAttempts = 3;           // self-lookups through the bootstrap before kJoin fails
constexpr std::size_t kShortlistPerK = 3;  // a lookup remembers 3k candidates

class KademliaNode final : public Node {
 public:
  KademliaNode(Contact self, const KademliaOptions& options)
      : self_(self),
        k_(std::max(1, options.k)),
        alpha_(std::max(1, options.alpha)),
        rpc_timeout_(std::max(1e-3, options.rpc_timeout)),
        refresh_every_(std::max(1e-3, options.refresh_every)),
        republish_every_(std::max(1e-3, options.republish_every)),
        tick_(std::max(std::min(refresh_every_, republish_every_) / 8, rpc_timeout_)),
        stale_age_(refresh_every_ / 4),
        rng_(options.seed ^ (self.id * 0x9e3779b97f4a7c15ULL)),
        table_(self, k_) {}

  Contact self() const override { return self_; }
  std::string_view protocol() const override { return "kademlia"; }
  bool joined() const override { return joined_ && !left_; }

  void Join(Seconds now, Contact bootstrap, Effects* out) override;
  void Leave(Seconds now, Effects* out) override;
  void OnMessage(Seconds now, const Message& message, Effects* out) override;
  void OnTimer(Seconds now, std::uint64_t token, Effects* out) override;
  std::uint64_t Lookup(Seconds now, Key key, Effects* out) override;
  std::uint64_t Put(Seconds now, Key key, std::string data, Seconds ttl, Effects* out) override;
  std::uint64_t Get(Seconds now, Key key, Effects* out) override;
  std::vector<StoredValue> StoredValues(Seconds now) const override;
  std::vector<Contact> RoutingContacts(std::size_t limit) const override {
    std::vector<Contact> out;
    for (int b = table_.bucket_count() - 1; b >= 0 && out.size() < limit; --b) {
      for (const Contact& c : table_.BucketContents(b)) {
        if (out.size() == limit) break;
        out.push_back(c);
      }
    }
    return out;
  }

 private:
  enum class Goal : std::uint8_t { kLookup, kPut, kGet, kJoin, kRefresh, kRepublish };
  enum class Purpose : std::uint8_t { kQuery, kPing, kStore };
  enum class State : std::uint8_t { kFresh, kInFlight, kResponded, kFailed };

  struct Candidate {
    Key distance;  // to the operation's target
    Contact contact;
    int depth;  // request legs from this node (see OpResult.hops in kademlia.h)
    State state;
  };
  // An iterative lookup, then for kPut / kRepublish the STOREs it sends.
  struct Operation {
    Goal goal = Goal::kLookup;
    Key target = 0;
    Seconds started = 0;
    std::vector<Candidate> shortlist;  // nearest first; this node included
    int in_flight = 0;
    bool any_reply = false;
    bool had_remote = false;          // some other node was a candidate
    bool widened = false;             // a request timed out: ask among the k closest
    std::vector<StoredValue> values;  // kPut / kRepublish: to store; kGet: found
    Contact owner;
    int hops = 0;
    int stores_pending = 0;
    int stores_ok = 0;
  };
  // An RPC awaiting its reply. Ids grow with time and every RPC has the same
  // timeout, so the map's order is deadline order.
  struct Pending {
    Seconds deadline;
    Contact to;
    std::uint64_t op;  // kQuery / kStore: the operation (0: none)
    Purpose purpose;
    std::uint8_t attempt;
    std::int16_t depth;   // kQuery: the candidate's depth
    std::int16_t bucket;  // kPing: the probed bucket
  };
  struct Held {
    StoredValue value;
    Seconds last_stored;  // last STORE of it received or sent
  };

  static OpKind KindOf(Goal goal) {
    switch (goal) {
      case Goal::kPut:
        return OpKind::kPut;
      case Goal::kGet:
        return OpKind::kGet;
      case Goal::kJoin:
        return OpKind::kJoin;
      default:
        return OpKind::kLookup;
    }
  }
  std::uint64_t NextRandom() {  // SplitMix64: 8 bytes of state per node
    std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  Key RandomIdInBucket(int bucket) {
    const Key bit = Key{1} << (63 - bucket);
    const Key low = bit - 1;
    return (self_.id & ~(bit | low)) | (~self_.id & bit) | (NextRandom() & low);
  }

  void Request(Seconds now, KademliaMessage kind, Contact to, Purpose purpose, std::uint64_t op,
               int attempt, int depth, int bucket, Key target,
               const std::vector<StoredValue>* values, Effects* out);
  Message Reply(KademliaMessage kind, const Message& request) const;
  void ArmSweep(Effects* out);
  void Sweep(Seconds now, Effects* out);
  void TimedOut(Seconds now, const Pending& pending, Effects* out);
  void HandleReply(Seconds now, const Message& message, Effects* out);
  void MarkSeen(Seconds now, Contact contact, Effects* out);

  std::uint64_t StartOperation(Seconds now, Goal goal, Key target, std::vector<StoredValue> values,
                               Effects* out);
  void Advance(Seconds now, std::uint64_t id, Effects* out);
  void Finish(Seconds now, std::uint64_t id, Effects* out);
  void QueryAnswered(Seconds now, const Pending& pending, const Message& reply, Effects* out);
  void QueryFailed(Seconds now, const Pending& pending, Effects* out);
  void StoreDone(Seconds now, std::uint64_t id, bool ok, Effects* out);
  void AddCandidate(Operation& op, Contact contact, int depth) const;
  void Complete(Seconds now, std::uint64_t id, const Operation& op, bool ok, Effects* out) const;
  std::uint64_t FailNow(Seconds now, OpKind kind, Key key, Effects* out);

  bool StoreLocal(Seconds now, const StoredValue& value, bool from_publisher);
  void Maintenance(Seconds now, Effects* out);

  const Contact self_;
  const int k_;
  const int alpha_;
  const Seconds rpc_timeout_, refresh_every_, republish_every_, tick_, stale_age_;
  std::uint64_t rng_;
  KademliaRoutingTable table_;
  std::unordered_map<std::uint64_t, Operation> ops_;
  std::map<std::uint64_t, Pending> pending_;
  std::map<Key, std::vector<Held>> store_;  // ordered: republish order is deterministic
  std::uint64_t next_op_ = 1;
  std::uint64_t next_rpc_ = 1;
  Contact bootstrap_;  // the join in progress
  Seconds join_started_ = 0;
  int join_attempts_ = 0;
  bool joined_ = false;
  bool left_ = false;
  bool maintaining_ = false;
  bool sweep_armed_ = false;  // a sweep timer is set at or before the oldest deadline
};

// --- transport of requests and replies -------------------------------------

void KademliaNode::Request(Seconds now, KademliaMessage kind, Contact to, Purpose purpose,
                           std::uint64_t op, int attempt, int depth, int bucket, Key target,
                           const std::vector<StoredValue>* values, Effects* out) {
  const std::uint64_t rpc = next_rpc_++;
  Message m;
  m.kind = static_cast<std::uint8_t>(kind);
  m.from = self_;
  m.to = to.address;
  m.rpc = rpc;
  m.target = target;
  if (values != nullptr) m.values = *values;
  out->send.push_back(std::move(m));
  pending_.emplace_hint(
      pending_.end(), rpc,
      Pending{now + rpc_timeout_, to, op, purpose, static_cast<std::uint8_t>(attempt),
              static_cast<std::int16_t>(std::min(depth, 32767)),
              static_cast<std::int16_t>(bucket)});
  ArmSweep(out);
}

Message KademliaNode::Reply(KademliaMessage kind, const Message& request) const {
  Message m;
  m.kind = static_cast<std::uint8_t>(kind);
  m.from = self_;
  m.to = request.from.address;
  m.rpc = request.rpc;
  m.target = request.target;
  return m;
}

void KademliaNode::ArmSweep(Effects* out) {
  if (sweep_armed_ || pending_.empty()) return;
  out->timers.push_back(TimerRequest{pending_.begin()->second.deadline, kSweepToken});
  sweep_armed_ = true;
}

void KademliaNode::Sweep(Seconds now, Effects* out) {
  sweep_armed_ = true;  // requests sent while handling timeouts must not arm a later timer
  while (!pending_.empty() && pending_.begin()->second.deadline <= now) {
    const Pending pending = pending_.begin()->second;
    pending_.erase(pending_.begin());
    TimedOut(now, pending, out);
  }
  sweep_armed_ = false;
  ArmSweep(out);
}

void KademliaNode::TimedOut(Seconds now, const Pending& pending, Effects* out) {
  switch (pending.purpose) {
    case Purpose::kQuery: {
      auto it = ops_.find(pending.op);
      if (it != ops_.end() && pending.attempt + 1 < kQueryAttempts) {
        // Ask again, but free the alpha slot: a dead peer must not hold up
        // the lookup's other requests for a second timeout.
        Operation& op = it->second;
        if (pending.attempt == 0) --op.in_flight;
        op.widened = true;
        Request(now,
                op.goal == Goal::kGet ? KademliaMessage::kFindValue : KademliaMessage::kFindNode,
                pending.to, Purpose::kQuery, pending.op, pending.attempt + 1, pending.depth, -1,
                op.target, nullptr, out);
        Advance(now, pending.op, out);
        return;
      }
      table_.Remove(pending.to);
      QueryFailed(now, pending, out);
      return;
    }
    case Purpose::kPing:
      table_.Remove(pending.to);
      table_.ProbeDone(pending.bucket);
      return;
    case Purpose::kStore:
      table_.Remove(pending.to);
      StoreDone(now, pending.op, false, out);
      return;
  }
}

void KademliaNode::MarkSeen(Seconds now, Contact contact, Effects* out) {
  const Contact probe = table_.Seen(contact, now, stale_age_);
  if (probe.valid()) {
    Request(now, KademliaMessage::kPing, probe, Purpose::kPing, 0, 0, 0,
            KademliaRoutingTable::BucketIndex(self_.id, probe.id), probe.id, nullptr, out);
  }
}

void KademliaNode::OnMessage(Seconds now, const Message& message, Effects* out) {
  if (left_ || !message.from.valid() || message.from.id == self_.id) return;
  if (message.to >= 0 && message.to != self_.address) return;
  switch (static_cast<KademliaMessage>(message.kind)) {
    case KademliaMessage::kPing:
      MarkSeen(now, message.from, out);
      out->send.push_back(Reply(KademliaMessage::kPong, message));
      return;
    case KademliaMessage::kFindNode:
    case KademliaMessage::kFindValue: {
      MarkSeen(now, message.from, out);
      const bool value = message.kind == static_cast<std::uint8_t>(KademliaMessage::kFindValue);
      Message reply = Reply(
          value ? KademliaMessage::kFindValueReply : KademliaMessage::kFindNodeReply, message);
      table_.Closest(message.target, k_, message.from.id, &reply.contacts);
      if (value) {
        if (auto it = store_.find(message.target); it != store_.end()) {
          for (const Held& h : it->second) {
            if (h.value.expires > now) reply.values.push_back(h.value);
          }
        }
      }
      out->send.push_back(std::move(reply));
      return;
    }
    case KademliaMessage::kLeave:
      table_.Remove(message.from);
      for (const StoredValue& v : message.values) StoreLocal(now, v, false);
      return;
    case KademliaMessage::kStore:
      MarkSeen(now, message.from, out);
      for (const StoredValue& v : message.values) {
        StoreLocal(now, v, v.publisher == message.from.id);
      }
      out->send.push_back(Reply(KademliaMessage::kStoreAck, message));
      return;
    case KademliaMessage::kPong:
    case KademliaMessage::kFindNodeReply:
    case KademliaMessage::kFindValueReply:
    case KademliaMessage::kStoreAck:
      HandleReply(now, message, out);
      return;
  }
  // Unknown kinds are dropped: a message is input, not trusted.
}

void KademliaNode::HandleReply(Seconds now, const Message& message, Effects* out) {
  auto it = pending_.find(message.rpc);
  if (it == pending_.end() || it->second.to.address != message.from.address ||
      it->second.to.id != message.from.id) {
    return;  // late (timed out already), unsolicited, or from someone else
  }
  const auto kind = static_cast<KademliaMessage>(message.kind);
  const Purpose purpose = it->second.purpose;
  const bool expected = (purpose == Purpose::kPing && kind == KademliaMessage::kPong) ||
                        (purpose == Purpose::kStore && kind == KademliaMessage::kStoreAck) ||
                        (purpose == Purpose::kQuery && (kind == KademliaMessage::kFindNodeReply ||
                                                        kind == KademliaMessage::kFindValueReply));
  if (!expected) return;
  const Pending pending = it->second;
  pending_.erase(it);
  MarkSeen(now, message.from, out);
  switch (purpose) {
    case Purpose::kQuery:
      QueryAnswered(now, pending, message, out);
      return;
    case Purpose::kPing:
      table_.ProbeDone(pending.bucket);
      return;
    case Purpose::kStore:
      StoreDone(now, pending.op, true, out);
      return;
  }
}

void KademliaNode::OnTimer(Seconds now, std::uint64_t token, Effects* out) {
  if (left_) return;
  if (token == kSweepToken) Sweep(now, out);
  if (token == kMaintenanceToken) Maintenance(now, out);
}

// --- operations ---------------------------------------------------------------

std::uint64_t KademliaNode::StartOperation(Seconds now, Goal goal, Key target,
                                           std::vector<StoredValue> values, Effects* out) {
  const std::uint64_t id = next_op_++;
  Operation& op = ops_[id];
  op.goal = goal;
  op.target = target;
  op.started = now;
  op.values = std::move(values);
  table_.Touch(target, now);
  std::vector<Contact> known;
  known.reserve(static_cast<std::size_t>(k_));
  table_.Closest(target, k_, self_.id, &known);
  op.shortlist.reserve(known.size() + 1);
  op.shortlist.push_back(Candidate{self_.id ^ target, self_, 0, State::kResponded});
  for (const Contact& c : known) {
    op.shortlist.push_back(Candidate{c.id ^ target, c, 1, State::kFresh});
  }
  std::sort(op.shortlist.begin(), op.shortlist.end(),
            [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
  op.had_remote = !known.empty();
  if (goal == Goal::kGet) {
    if (auto it = store_.find(target); it != store_.end()) {
      for (const Held& h : it->second) {
        if (h.value.expires > now) op.values.push_back(h.value);
      }
    }
  }
  Advance(now, id, out);
  return id;
}

void KademliaNode::Advance(Seconds now, std::uint64_t id, Effects* out) {
  auto it = ops_.find(id);
  if (it == ops_.end()) return;
  Operation& op = it->second;
  // A lookup for one node ends when the alpha closest live candidates have
  // answered; one that must reach the k closest waits for those.
  int need = alpha_;
  if (op.goal == Goal::kPut || op.goal == Goal::kJoin || op.goal == Goal::kRepublish ||
      (op.goal == Goal::kGet && op.values.empty())) {
    need = k_;
  }
  const auto kind =
      op.goal == Goal::kGet ? KademliaMessage::kFindValue : KademliaMessage::kFindNode;
  // Requests go to the closest unasked candidates among the first `need`;
  // once a request has timed out, among the first k (the paper's rule for a
  // round that stalls), so a cluster of dead contacts is probed alpha at a
  // time rather than one after another.
  const int window = op.widened ? std::max(need, k_) : need;
  int counted = 0;
  bool done = true;
  for (Candidate& c : op.shortlist) {
    if (c.state == State::kFailed) continue;
    if (counted == window) break;
    const bool needed = counted < need;
    ++counted;
    if (c.state == State::kResponded) continue;
    if (needed) done = false;
    if (c.state == State::kFresh && op.in_flight < alpha_) {
      c.state = State::kInFlight;
      ++op.in_flight;
      Request(now, kind, c.contact, Purpose::kQuery, id, 0, c.depth, -1, op.target, nullptr, out);
    }
  }
  if (done) Finish(now, id, out);
}

void KademliaNode::AddCandidate(Operation& op, Contact contact, int depth) const {
  if (!contact.valid() || contact.id == self_.id) return;
  const Key distance = contact.id ^ op.target;
  auto at = std::lower_bound(op.shortlist.begin(), op.shortlist.end(), distance,
                             [](const Candidate& c, Key d) { return c.distance < d; });
  if (at != op.shortlist.end() && at->distance == distance) {
    at->depth = std::min(at->depth, depth);
    return;
  }
  const std::size_t cap = kShortlistPerK * static_cast<std::size_t>(k_);
  if (static_cast<std::size_t>(at - op.shortlist.begin()) >= cap) return;
  op.shortlist.insert(at, Candidate{distance, contact, depth, State::kFresh});
  if (op.shortlist.size() > cap) op.shortlist.pop_back();
  op.had_remote = true;
}

void KademliaNode::QueryAnswered(Seconds now, const Pending& pending, const Message& reply,
                                 Effects* out) {
  auto it = ops_.find(pending.op);
  if (it == ops_.end()) return;  // the lookup ended without this answer
  Operation& op = it->second;
  if (pending.attempt == 0) --op.in_flight;  // a retry no longer holds a slot
  op.any_reply = true;
  const Key distance = pending.to.id ^ op.target;
  auto at = std::lower_bound(op.shortlist.begin(), op.shortlist.end(), distance,
                             [](const Candidate& c, Key d) { return c.distance < d; });
  if (at != op.shortlist.end() && at->distance == distance && at->state == State::kInFlight) {
    at->state = State::kResponded;
  }
  const std::size_t n = std::min(reply.contacts.size(), static_cast<std::size_t>(k_));
  for (std::size_t i = 0; i < n; ++i) AddCandidate(op, reply.contacts[i], pending.depth + 1);
  if (op.goal == Goal::kGet) {
    for (const StoredValue& v : reply.values) {
      if (v.key != op.target || v.expires <= now) continue;
      auto same = std::find_if(op.values.begin(), op.values.end(),
                               [&](const StoredValue& o) { return o.publisher == v.publisher; });
      if (same == op.values.end()) {
        op.values.push_back(v);
      } else if (v.expires > same->expires) {
        *same = v;
      }
    }
  }
  Advance(now, pending.op, out);
}

void KademliaNode::QueryFailed(Seconds now, const Pending& pending, Effects* out) {
  auto it = ops_.find(pending.op);
  if (it == ops_.end()) return;
  Operation& op = it->second;
  if (pending.attempt == 0) --op.in_flight;
  const Key distance = pending.to.id ^ op.target;
  auto at = std::lower_bound(op.shortlist.begin(), op.shortlist.end(), distance,
                             [](const Candidate& c, Key d) { return c.distance < d; });
  if (at != op.shortlist.end() && at->distance == distance && at->state == State::kInFlight) {
    at->state = State::kFailed;
  }
  // The dead contact has left the table: the table's next closest step in,
  // so a lookup whose first candidates all died still finds live ones.
  std::vector<Contact> known;
  table_.Closest(op.target, k_, self_.id, &known);
  for (const Contact& c : known) AddCandidate(op, c, 1);
  Advance(now, pending.op, out);
}

void KademliaNode::Complete(Seconds now, std::uint64_t id, const Operation& op, bool ok,
                            Effects* out) const {
  OpResult r;
  r.op = id;
  r.kind = KindOf(op.goal);
  r.ok = ok;
  r.key = op.target;
  r.owner = op.owner;
  r.hops = op.hops;
  r.started = op.started;
  r.finished = now;
  if (op.goal == Goal::kGet) r.values = op.values;
  out->done.push_back(std::move(r));
}

void KademliaNode::Finish(Seconds now, std::uint64_t id, Effects* out) {
  auto node = ops_.extract(id);  // out of the map: finishing may start new operations
  Operation& op = node.mapped();
  auto owner = std::find_if(op.shortlist.begin(), op.shortlist.end(),
                            [](const Candidate& c) { return c.state == State::kResponded; });
  op.owner = owner != op.shortlist.end() ? owner->contact : self_;
  op.hops = owner != op.shortlist.end() ? owner->depth : 0;
  // Failed if others were known and none answered (alone is fine once joined).
  const bool routed = op.any_reply || (!op.had_remote && joined_);
  switch (op.goal) {
    case Goal::kLookup:
    case Goal::kGet:
      Complete(now, id, op, routed, out);
      return;
    case Goal::kRefresh:
      return;
    case Goal::kJoin: {
      if (!op.any_reply && join_attempts_ < kJoinAttempts) {
        // Nobody answered (a lost exchange with the bootstrap): try again.
        ++join_attempts_;
        table_.Seen(bootstrap_, now, stale_age_);
        StartOperation(now, Goal::kJoin, self_.id, {}, out);
        return;
      }
      joined_ = joined_ || op.any_reply;
      op.started = join_started_;
      Complete(now, id, op, op.any_reply, out);
      if (!op.any_reply) return;
      // Refresh every bucket farther than the closest neighbour's that the
      // self-lookup left short: it populates them and announces this node.
      const int closest = table_.bucket_count() - 1;
      for (int b = 0; b < closest; ++b) {
        if (table_.bucket_size(b) < static_cast<std::size_t>(k_)) {
          StartOperation(now, Goal::kRefresh, RandomIdInBucket(b), {}, out);
        }
      }
      return;
    }
    case Goal::kPut:
    case Goal::kRepublish: {
      const bool put = op.goal == Goal::kPut;
      std::vector<Contact> targets;
      for (const Candidate& c : op.shortlist) {
        if (c.state != State::kResponded) continue;
        targets.push_back(c.contact);
        if (targets.size() == static_cast<std::size_t>(k_)) break;
      }
      op.shortlist = {};
      for (const Contact& c : targets) {
        if (c.id == self_.id) {
          for (const StoredValue& v : op.values) StoreLocal(now, v, put);
          ++op.stores_ok;
          continue;
        }
        ++op.stores_pending;
        Request(now, KademliaMessage::kStore, c, Purpose::kStore, put ? id : 0, 0, 0, -1, op.target,
                &op.values, out);
      }
      if (!put) return;  // a republish needs no answer
      if (op.stores_pending == 0) {
        Complete(now, id, op, op.stores_ok > 0, out);
        return;
      }
      op.values = {};
      ops_.insert(std::move(node));
      return;
    }
  }
}

void KademliaNode::StoreDone(Seconds now, std::uint64_t id, bool ok, Effects* out) {
  auto it = ops_.find(id);
  if (it == ops_.end()) return;
  Operation& op = it->second;
  --op.stores_pending;
  if (ok) ++op.stores_ok;
  if (op.stores_pending > 0) return;
  Complete(now, id, op, op.stores_ok > 0, out);
  ops_.erase(it);
}

std::uint64_t KademliaNode::FailNow(Seconds now, OpKind kind, Key key, Effects* out) {
  const std::uint64_t id = next_op_++;
  OpResult r;
  r.op = id;
  r.kind = kind;
  r.key = key;
  r.started = r.finished = now;
  out->done.push_back(std::move(r));
  return id;
}

// --- the Node interface -------------------------------------------------------

void KademliaNode::Join(Seconds now, Contact bootstrap, Effects* out) {
  if (left_) return;
  if (!maintaining_) {
    maintaining_ = true;  // a random phase keeps nodes' maintenance apart
    const double phase = static_cast<double>(NextRandom() >> 11) * 0x1.0p-53;
    out->timers.push_back(TimerRequest{now + tick_ * phase, kMaintenanceToken});
  }
  if (!bootstrap.valid() || bootstrap.id == self_.id) {
    joined_ = true;  // the first node: a network of one
    OpResult r;
    r.op = next_op_++;
    r.kind = OpKind::kJoin;
    r.ok = true;
    r.key = self_.id;
    r.owner = self_;
    r.started = r.finished = now;
    out->done.push_back(std::move(r));
    return;
  }
  bootstrap_ = bootstrap;
  join_started_ = now;
  join_attempts_ = 1;
  table_.Seen(bootstrap, now, stale_age_);
  StartOperation(now, Goal::kJoin, self_.id, {}, out);
}

void KademliaNode::Leave(Seconds now, Effects* out) {
  if (left_) return;
  left_ = true;
  // One unacknowledged kLeave per recipient: the k closest contacts to this
  // node (those most likely to name it in their replies) drop it at once,
  // and the k closest known to each held key also receive the values.
  std::map<Address, Message> notices;
  auto notice = [&](const Contact& c) -> Message& {
    Message& m = notices[c.address];
    if (m.to < 0) {
      m.kind = static_cast<std::uint8_t>(KademliaMessage::kLeave);
      m.from = self_;
      m.to = c.address;
    }
    return m;
  };
  std::vector<Contact> closest;
  table_.Closest(self_.id, k_, self_.id, &closest);
  for (const Contact& c : closest) notice(c);
  for (const auto& [key, held] : store_) {
    closest.clear();
    table_.Closest(key, k_, self_.id, &closest);
    for (const Contact& c : closest) {
      Message& m = notice(c);
      for (const Held& h : held) {
        if (h.value.expires > now) m.values.push_back(h.value);
      }
    }
  }
  for (auto& [address, m] : notices) out->send.push_back(std::move(m));
  ops_.clear();
  pending_.clear();
  store_.clear();
  table_ = KademliaRoutingTable(self_, k_);
}

std::uint64_t KademliaNode::Lookup(Seconds now, Key key, Effects* out) {
  if (left_) return FailNow(now, OpKind::kLookup, key, out);
  return StartOperation(now, Goal::kLookup, key, {}, out);
}

std::uint64_t KademliaNode::Put(Seconds now, Key key, std::string data, Seconds ttl, Effects* out) {
  if (left_ || !(ttl > 0)) return FailNow(now, OpKind::kPut, key, out);
  std::vector<StoredValue> values{StoredValue{key, self_.id, std::move(data), now + ttl}};
  return StartOperation(now, Goal::kPut, key, std::move(values), out);
}

std::uint64_t KademliaNode::Get(Seconds now, Key key, Effects* out) {
  if (left_) return FailNow(now, OpKind::kGet, key, out);
  return StartOperation(now, Goal::kGet, key, {}, out);
}

std::vector<StoredValue> KademliaNode::StoredValues(Seconds now) const {
  std::vector<StoredValue> out;
  for (const auto& [key, held] : store_) {
    for (const Held& h : held) {
      if (h.value.expires > now) out.push_back(h.value);
    }
  }
  return out;
}

// --- storage and maintenance ----------------------------------------------------

bool KademliaNode::StoreLocal(Seconds now, const StoredValue& value, bool from_publisher) {
  if (!(value.expires > now)) return false;
  std::vector<Held>& held = store_[value.key];
  for (Held& h : held) {
    if (h.value.publisher != value.publisher) continue;
    // The publisher's own STORE is its newest value; a republished copy only
    // wins if it lives longer (a holder may still have the superseded one).
    if (from_publisher || value.expires >= h.value.expires) h.value = value;
    h.last_stored = now;
    return true;
  }
  held.push_back(Held{value, now});
  return true;
}

void KademliaNode::Maintenance(Seconds now, Effects* out) {
  out->timers.push_back(TimerRequest{now + tick_, kMaintenanceToken});
  std::vector<Key> due;
  for (auto it = store_.begin(); it != store_.end();) {
    auto& held = it->second;
    held.erase(std::remove_if(held.begin(), held.end(),
                              [&](const Held& h) { return h.value.expires <= now; }),
               held.end());
    if (held.empty()) {
      it = store_.erase(it);
      continue;
    }
    // Republish unless some other holder's STORE arrived within the period.
    if (std::any_of(held.begin(), held.end(),
                    [&](const Held& h) { return h.last_stored + republish_every_ <= now; })) {
      due.push_back(it->first);
    }
    ++it;
  }
  for (Key key : due) {
    std::vector<StoredValue> values;
    for (Held& h : store_[key]) {
      h.last_stored = now;
      values.push_back(h.value);
    }
    StartOperation(now, Goal::kRepublish, key, std::move(values), out);
  }
  for (int bucket : table_.IdleBuckets(now, refresh_every_, kRefreshesPerTick)) {
    StartOperation(now, Goal::kRefresh, RandomIdInBucket(bucket), {}, out);
  }
}

}  // namespace

std::unique_ptr<Node> MakeKademliaNode(Contact self, const KademliaOptions& options) {
  return std::make_unique<KademliaNode>(self, options);
}

}  // namespace meshtwin::dht
