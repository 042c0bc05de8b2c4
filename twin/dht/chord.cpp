// Chord: successor list, 64-finger table, stabilise / fix fingers / check
// predecessor on timers, join through a bootstrap, graceful leave, values at
// the key's owner and its next replicas - 1 successors. See chord.h for the
// routing scheme and what a hop is.
//
// Beyond the paper, three things keep the ring right at 10^5 nodes:
// * a node told of a new predecessor tells the old one at once
//   (NEW_PREDECESSOR), so a join is wired in a few message delays, not
//   rounds;
// * when stabilise finds a node between us and our successor it asks that
//   node at once, and after a few such steps looks our own id up through the
//   ring (a relink): a node that joined a young ring which then grew around
//   it would otherwise walk back one node per round;
// * nodes declared dead are remembered for two rounds, so a neighbour that
//   has not noticed cannot hand them back; any message from one revives it.
//
// Costs: a message is handled in O(fingers + successors) (one scan of the
// table); the pending requests of a node live in one vector indexed by
// request id, with a single timer armed at the earliest deadline. Per node
// and round, steady maintenance is one GET_PREDECESSOR exchange with the
// successor (a NOTIFY only when the successor does not know us), a PING only
// when the predecessor has been silent for a whole round, and
// fingers_per_round finger checks, each one GET_PREDECESSOR to the finger (a
// lookup only when it turns out wrong or dead): 2 * (1 + fingers_per_round)
// messages.
#include "twin/dht/chord.h"

#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <utility>

namespace meshtwin::dht {
namespace {

using Kind = ChordMessage;

// Timer tokens. Operation retries carry the operation id under a tag bit.
constexpr std::uint64_t kTimerStabilize = 1;
constexpr std::uint64_t kTimerFixFingers = 2;
constexpr std::uint64_t kTimerCheckPredecessor = 3;
constexpr std::uint64_t kTimerRpcSweep = 4;
constexpr std::uint64_t kTimerRetryTag = std::uint64_t{1} << 62;

constexpr int kCandidatesPerReply = 3;  // alternatives let the origin route around a dead hop
constexpr int kOriginCandidates = 4;
constexpr std::size_t kMaxCandidates = 16;
// A hard stop for one routing attempt; greedy routing needs about log2 N.
constexpr int kMaxQueriesPerAttempt = 3 * ChordNode::kFingers;
constexpr int kRestarts = 2;            // a lookup that ran out of routes waits a round and retries
constexpr int kFailuresBeforeDead = 2;  // consecutive timeouts before a neighbour is dropped
constexpr int kWalkSteps = 3;           // steps back towards our place before a relink lookup

// Ring arithmetic modulo 2^64: unsigned wrap-around does the modulo.
// x in (a, b); (a, a) is the whole ring but a.
bool InOpen(Key x, Key a, Key b) { return a == b ? x != a : (x != a && x - a < b - a); }
// x in (a, b]; (a, a] is the whole ring.
bool InHalfOpen(Key x, Key a, Key b) { return a == b || (x != a && x - a <= b - a); }
Key FingerStart(Key self, int i) { return self + (Key{1} << i); }
bool SameNode(const Contact& a, const Contact& b) { return a.address == b.address; }

// kUser and kJoin report an OpResult; the others are the node's own upkeep.
enum class Purpose : std::uint8_t { kUser, kJoin, kFixFinger, kRelink };
enum class RpcPurpose : std::uint8_t { kRoute, kOwner, kStabilize, kPing, kVerifyFinger, kFingers };

struct Candidate {
  Contact contact;
  std::uint8_t failures = 0;
  bool answered = false;
};

// A lookup, put, get, join or finger fix in progress at its origin.
struct Operation {
  std::uint64_t id = 0;
  OpKind kind = OpKind::kLookup;
  Purpose purpose = Purpose::kUser;
  int finger = -1;  // kFixFinger
  Key key = 0;
  Seconds started = 0;
  int hops = 0;
  int queries = 0;
  int restarts = 0;
  std::uint64_t rpc = 0;              // the request in flight (0: none)
  std::vector<Candidate> candidates;  // closest preceding the key first
  std::vector<Contact> owners;        // after routing: owner, then its successors
  std::size_t owner_index = 0;
  StoredValue value;  // kPut
  Contact via;        // kJoin, kRelink: the first node asked
};

struct Rpc {
  std::uint64_t id = 0;
  Seconds deadline = 0;
  Contact peer;
  RpcPurpose purpose = RpcPurpose::kRoute;
  std::uint64_t op = 0;
  int finger = -1;
  bool done = false;
};

class ChordNodeImpl final : public ChordNode {
 public:
  ChordNodeImpl(Contact self, const ChordOptions& options)
      : self_(self), opt_(options), rng_(options.seed ^ (self.id * 0x9e3779b97f4a7c15ULL)) {
    // Out-of-range settings fall back to something that works: a zero period
    // would make a timer fire at the same instant for ever.
    const ChordOptions defaults;
    opt_.successors = std::max(1, opt_.successors);
    opt_.replicas = std::max(1, opt_.replicas);
    opt_.fingers_per_round = std::max(1, opt_.fingers_per_round);
    if (!(opt_.stabilize_every > 0)) opt_.stabilize_every = defaults.stabilize_every;
    if (!(opt_.fix_fingers_every > 0)) opt_.fix_fingers_every = defaults.fix_fingers_every;
    if (!(opt_.check_predecessor_every > 0)) {
      opt_.check_predecessor_every = defaults.check_predecessor_every;
    }
    if (!(opt_.rpc_timeout > 0)) opt_.rpc_timeout = defaults.rpc_timeout;
  }

  Contact self() const override { return self_; }
  std::string_view protocol() const override { return "chord"; }
  bool joined() const override { return joined_; }
  Contact successor() const override { return succ_.empty() ? self_ : succ_.front(); }
  Contact predecessor() const override { return pred_; }
  const std::vector<Contact>& successor_list() const override { return succ_; }
  Contact finger(int i) const override {
    return i >= 0 && i < kFingers ? fingers_[static_cast<std::size_t>(i)] : Contact{};
  }

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
    auto add = [&](const Contact& c) {
      if (out.size() >= limit || !c.valid() || c.id == self().id) return;
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    };
    for (const Contact& c : successor_list()) add(c);
    for (int i = kFingers - 1; i >= 0; --i) add(finger(i));
    return out;
  }

 private:
  // --- operations (origin side) ---
  Operation& NewOp(Seconds now, OpKind kind, Purpose purpose, Key key);
  void Route(Seconds now, Operation& op, Effects* out);
  void Advance(Seconds now, Operation& op, Effects* out);
  void Routed(Seconds now, Operation& op, std::vector<Contact> owners, Effects* out);
  void ContactOwner(Seconds now, Operation& op, Effects* out);
  void Exhausted(Seconds now, Operation& op, Effects* out);
  void Complete(Seconds now, Operation& op, bool ok, Contact owner, std::vector<StoredValue> values,
                Effects* out);
  void FinishJoin(Seconds now, Operation& op, const std::vector<Contact>& owners, Effects* out);
  void StartRelink(Seconds now, const Contact& via, Effects* out);
  void FinishRelink(Seconds now, const std::vector<Contact>& owners, Effects* out);
  void Retry(Seconds now, std::uint64_t op_id, Effects* out);
  void OnRouteReply(Seconds now, const Rpc& rpc, const Message& m, Effects* out);
  void OnRouteTimeout(Seconds now, const Rpc& rpc, Effects* out);
  void OnOwnerReply(Seconds now, const Rpc& rpc, const Message& m, Effects* out);
  void OnOwnerTimeout(Seconds now, const Rpc& rpc, Effects* out);
  void AddCandidate(Seconds now, Operation& op, const Contact& c) const;

  // --- requests and timers ---
  Message To(Kind kind, const Contact& peer) const;
  Message ReplyTo(Kind kind, const Message& request) const;
  std::uint64_t Call(Seconds now, const Contact& peer, RpcPurpose purpose, std::uint64_t op,
                     int finger, Message m, Effects* out);
  bool TakeRpc(const Message& reply, Rpc* rpc);
  void ArmSweep(Effects* out);
  void Sweep(Seconds now, Effects* out);
  void OnReply(Seconds now, const Message& m, Effects* out);
  void OnTimeout(Seconds now, const Rpc& rpc, Effects* out);
  void StartTimers(Seconds now, Effects* out);
  void Arm(Seconds at, std::uint64_t token, Effects* out) { out->timers.push_back({at, token}); }
  Seconds Jittered(Seconds every) { return every * (0.9 + 0.2 * Uniform()); }
  double Uniform();

  // --- ring maintenance ---
  void Stabilize(Seconds now, Effects* out);
  void OnStabilizeReply(Seconds now, const Message& m, Effects* out);
  void CheckPredecessor(Seconds now, Effects* out, bool now_please = false);
  void FixFingers(Seconds now, Effects* out);
  void StartFixFinger(Seconds now, int i, Effects* out);
  void SetFinger(int i, const Contact& c);
  void OnVerifyFinger(Seconds now, const Rpc& rpc, const Message& m, Effects* out);
  void SeedFingers(Seconds now, const Message& m);
  void Notify(const Contact& to, Effects* out) { out->send.push_back(To(Kind::kNotify, to)); }
  void Forget(const Contact& c);
  void ForgetFinger(const Contact& c);
  // Nodes declared dead are remembered for a while, so that a neighbour
  // which has not noticed yet cannot hand them back to us; any message from
  // one brings it back.
  void MarkDead(const Contact& c, Seconds now);
  bool IsDead(const Contact& c, Seconds now) const;
  void Revive(const Contact& c);
  int ClosestPreceding(Key key, Contact* best, int k) const;
  Contact ClosestFollowingFinger() const;
  int LowestUsefulFinger() const;
  void RebuildSuccessors(Seconds now, const Contact* first, const Contact& head,
                         const std::vector<Contact>& rest, std::size_t rest_from);

  // --- handlers (serving side) ---
  void OnFindSuccessor(const Message& m, Effects* out);
  void OnNotify(Seconds now, const Message& m, Effects* out);
  void OnNewPredecessor(Seconds now, const Message& m, Effects* out);
  void OnStore(Seconds now, const Message& m, Effects* out);
  void OnLeaveToSuccessor(Seconds now, const Message& m, Effects* out);
  void OnLeaveToPredecessor(Seconds now, const Message& m, Effects* out);
  std::vector<Contact> SuccessorsFromSelf() const;

  // --- values ---
  void Store(Seconds now, const StoredValue& v, bool replace);
  void ReplicatePut(const StoredValue& v, Effects* out);
  std::vector<StoredValue> ValuesUnder(Seconds now, Key key) const;
  void PurgeExpired(Seconds now);
  void SyncReplicas(Seconds now, Effects* out);

  Contact self_;
  ChordOptions opt_;
  std::uint64_t rng_;
  bool joined_ = false;
  bool joining_ = false;
  bool left_ = false;

  std::vector<Contact> succ_;  // nearest first; never self; empty: alone
  Contact pred_;
  Seconds pred_heard_ = 0;  // last message from the predecessor
  std::array<Contact, kFingers> fingers_{};
  int next_finger_ = 0;
  std::uint64_t fixing_ = 0;  // bit i: finger i has a check or lookup in flight

  struct Dead {
    Address address = -1;
    Seconds until = 0;
  };
  static constexpr std::size_t kDeadMemory = 8;
  std::array<Dead, kDeadMemory> dead_{};
  std::size_t dead_next_ = 0;

  std::uint64_t stabilize_rpc_ = 0;
  int stabilize_failures_ = 0;
  int walk_steps_ = 0;
  std::uint64_t relink_op_ = 0;
  std::uint64_t ping_rpc_ = 0;
  int ping_failures_ = 0;

  // Replica bookkeeping: what the owned range and replica set were when the
  // owned values were last pushed.
  Contact synced_pred_;
  std::vector<Contact> synced_replicas_;

  std::map<Key, std::vector<StoredValue>> store_;

  std::uint64_t next_op_ = 1;
  std::map<std::uint64_t, Operation> ops_;
  // Pending requests: pending_[i] has id rpc_base_ + i; ids are handed out in
  // order and the timeout is the same for all, so deadlines ascend too.
  std::uint64_t next_rpc_ = 1;
  std::uint64_t rpc_base_ = 1;
  std::size_t rpc_head_ = 0;
  std::vector<Rpc> pending_;
  bool sweep_armed_ = false;
};

double ChordNodeImpl::Uniform() {
  // SplitMix64: eight bytes of state per node, enough for timer jitter.
  std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

// ---------------------------------------------------------------- requests

Message ChordNodeImpl::To(Kind kind, const Contact& peer) const {
  Message m;
  m.kind = static_cast<std::uint8_t>(kind);
  m.from = self_;
  m.to = peer.address;
  return m;
}

Message ChordNodeImpl::ReplyTo(Kind kind, const Message& request) const {
  Message m = To(kind, request.from);
  m.rpc = request.rpc;
  return m;
}

std::uint64_t ChordNodeImpl::Call(Seconds now, const Contact& peer, RpcPurpose purpose,
                                  std::uint64_t op, int finger, Message m, Effects* out) {
  const std::uint64_t id = next_rpc_++;
  if (rpc_head_ == pending_.size()) {  // nothing pending: restart the window here
    pending_.clear();
    rpc_head_ = 0;
    rpc_base_ = id;
  }
  pending_.push_back(Rpc{id, now + opt_.rpc_timeout, peer, purpose, op, finger, false});
  m.rpc = id;
  out->send.push_back(std::move(m));
  ArmSweep(out);
  return id;
}

bool ChordNodeImpl::TakeRpc(const Message& reply, Rpc* rpc) {
  if (reply.rpc < rpc_base_ + rpc_head_ || reply.rpc >= rpc_base_ + pending_.size()) return false;
  Rpc& r = pending_[static_cast<std::size_t>(reply.rpc - rpc_base_)];
  if (r.done || r.peer.address != reply.from.address) return false;
  r.done = true;
  *rpc = r;
  while (rpc_head_ < pending_.size() && pending_[rpc_head_].done) ++rpc_head_;
  return true;
}

void ChordNodeImpl::ArmSweep(Effects* out) {
  if (sweep_armed_) return;
  for (std::size_t i = rpc_head_; i < pending_.size(); ++i) {
    if (!pending_[i].done) {
      Arm(pending_[i].deadline, kTimerRpcSweep, out);
      sweep_armed_ = true;
      return;
    }
  }
}

void ChordNodeImpl::Sweep(Seconds now, Effects* out) {
  sweep_armed_ = false;
  while (rpc_head_ < pending_.size()) {
    Rpc& r = pending_[rpc_head_];
    if (!r.done && r.deadline > now) break;
    ++rpc_head_;
    if (r.done) continue;
    r.done = true;
    const Rpc expired = r;  // OnTimeout may send and grow pending_
    OnTimeout(now, expired, out);
  }
  if (rpc_head_ == pending_.size()) {
    pending_.clear();
    rpc_head_ = 0;
    rpc_base_ = next_rpc_;
  } else if (rpc_head_ > 64 && rpc_head_ * 2 > pending_.size()) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(rpc_head_));
    rpc_base_ += rpc_head_;
    rpc_head_ = 0;
  }
  ArmSweep(out);
}

void ChordNodeImpl::OnReply(Seconds now, const Message& m, Effects* out) {
  Rpc rpc;
  if (!TakeRpc(m, &rpc)) return;  // late, duplicate or unsolicited
  const auto kind = static_cast<Kind>(m.kind);
  switch (rpc.purpose) {
    case RpcPurpose::kRoute:
      if (kind == Kind::kFoundSuccessor || kind == Kind::kCloserNodes) {
        return OnRouteReply(now, rpc, m, out);
      }
      break;
    case RpcPurpose::kOwner:
      if (kind == Kind::kStoreAck || kind == Kind::kGetReply) return OnOwnerReply(now, rpc, m, out);
      break;
    case RpcPurpose::kStabilize:
      if (kind == Kind::kPredecessor) {
        stabilize_rpc_ = 0;
        stabilize_failures_ = 0;
        return OnStabilizeReply(now, m, out);
      }
      break;
    case RpcPurpose::kPing:
      if (kind == Kind::kPong) {
        ping_rpc_ = 0;
        ping_failures_ = 0;
        return;
      }
      break;
    case RpcPurpose::kVerifyFinger:
      if (kind == Kind::kPredecessor) return OnVerifyFinger(now, rpc, m, out);
      break;
    case RpcPurpose::kFingers:
      if (kind == Kind::kFingers) return SeedFingers(now, m);
      return;
  }
  OnTimeout(now, rpc, out);  // a reply of the wrong kind is as good as none
}

void ChordNodeImpl::OnTimeout(Seconds now, const Rpc& rpc, Effects* out) {
  switch (rpc.purpose) {
    case RpcPurpose::kRoute:
      return OnRouteTimeout(now, rpc, out);
    case RpcPurpose::kOwner:
      return OnOwnerTimeout(now, rpc, out);
    case RpcPurpose::kStabilize:
      if (rpc.id != stabilize_rpc_) return;
      stabilize_rpc_ = 0;
      if (!succ_.empty() && SameNode(succ_.front(), rpc.peer) &&
          ++stabilize_failures_ >= kFailuresBeforeDead) {
        // Skip to the next successor in the list and ask it at once.
        MarkDead(rpc.peer, now);
        Forget(rpc.peer);
        stabilize_failures_ = 0;
      }
      return Stabilize(now, out);
    case RpcPurpose::kPing:
      if (rpc.id != ping_rpc_) return;
      ping_rpc_ = 0;
      if (!pred_.valid() || !SameNode(pred_, rpc.peer)) return;
      if (++ping_failures_ >= kFailuresBeforeDead) {
        MarkDead(pred_, now);
        pred_ = Contact{};
        ping_failures_ = 0;
        return;
      }
      return CheckPredecessor(now, out, /*now_please=*/true);
    case RpcPurpose::kVerifyFinger:
      fixing_ &= ~(std::uint64_t{1} << rpc.finger);
      ForgetFinger(rpc.peer);
      return StartFixFinger(now, rpc.finger, out);
    case RpcPurpose::kFingers:
      return;
  }
}

// ---------------------------------------------------------------- timers

void ChordNodeImpl::StartTimers(Seconds now, Effects* out) {
  // The first round comes soon (a fresh node wants its ring), spread over an
  // interval so that nodes joined together do not act together.
  Arm(now + opt_.stabilize_every * (0.05 + 0.95 * Uniform()), kTimerStabilize, out);
  Arm(now + opt_.fix_fingers_every * (0.05 + 0.95 * Uniform()), kTimerFixFingers, out);
  Arm(now + opt_.check_predecessor_every * (0.05 + 0.95 * Uniform()), kTimerCheckPredecessor, out);
}

void ChordNodeImpl::OnTimer(Seconds now, std::uint64_t token, Effects* out) {
  if (left_) return;
  if (token & kTimerRetryTag) return Retry(now, token & ~kTimerRetryTag, out);
  switch (token) {
    case kTimerRpcSweep:
      return Sweep(now, out);
    case kTimerStabilize:
      if (!joined_) return;
      PurgeExpired(now);
      Stabilize(now, out);
      return Arm(now + Jittered(opt_.stabilize_every), kTimerStabilize, out);
    case kTimerFixFingers:
      if (!joined_) return;
      FixFingers(now, out);
      return Arm(now + Jittered(opt_.fix_fingers_every), kTimerFixFingers, out);
    case kTimerCheckPredecessor:
      if (!joined_) return;
      CheckPredecessor(now, out);
      return Arm(now + Jittered(opt_.check_predecessor_every), kTimerCheckPredecessor, out);
    default:
      return;
  }
}

// ---------------------------------------------------------------- API

Operation& ChordNodeImpl::NewOp(Seconds now, OpKind kind, Purpose purpose, Key key) {
  const std::uint64_t id = next_op_++;
  Operation& op = ops_[id];
  op.id = id;
  op.kind = kind;
  op.purpose = purpose;
  op.key = key;
  op.started = now;
  return op;
}

void ChordNodeImpl::Join(Seconds now, Contact bootstrap, Effects* out) {
  if (joined_ || joining_ || left_) return;
  if (!bootstrap.valid() || SameNode(bootstrap, self_)) {
    joined_ = true;  // the first node: a ring of one
    Operation& op = NewOp(now, OpKind::kJoin, Purpose::kJoin, self_.id);
    Complete(now, op, true, self_, {}, out);
    return StartTimers(now, out);
  }
  joining_ = true;
  Operation& op = NewOp(now, OpKind::kJoin, Purpose::kJoin, self_.id);
  op.via = bootstrap;
  Route(now, op, out);
}

void ChordNodeImpl::Leave(Seconds now, Effects* out) {
  if (left_) return;
  if (joined_) {
    if (!succ_.empty()) {
      Message m = To(Kind::kLeaveToSuccessor, succ_.front());
      m.contacts.push_back(pred_);
      m.values = StoredValues(now);
      out->send.push_back(std::move(m));
    }
    if (pred_.valid()) {
      Message m = To(Kind::kLeaveToPredecessor, pred_);
      m.contacts = succ_;
      out->send.push_back(std::move(m));
    }
  }
  left_ = true;
  joined_ = joining_ = false;
  ops_.clear();
  pending_.clear();
  rpc_head_ = 0;
  rpc_base_ = next_rpc_;
  store_.clear();
}

std::uint64_t ChordNodeImpl::Lookup(Seconds now, Key key, Effects* out) {
  Operation& op = NewOp(now, OpKind::kLookup, Purpose::kUser, key);
  const std::uint64_t id = op.id;
  if (!joined_) {
    Complete(now, op, false, {}, {}, out);
  } else {
    Route(now, op, out);
  }
  return id;
}

std::uint64_t ChordNodeImpl::Put(Seconds now, Key key, std::string data, Seconds ttl,
                                 Effects* out) {
  Operation& op = NewOp(now, OpKind::kPut, Purpose::kUser, key);
  const std::uint64_t id = op.id;
  op.value = StoredValue{key, self_.id, std::move(data), now + ttl};
  if (!joined_ || ttl <= 0) {
    Complete(now, op, false, {}, {}, out);
  } else {
    Route(now, op, out);
  }
  return id;
}

std::uint64_t ChordNodeImpl::Get(Seconds now, Key key, Effects* out) {
  Operation& op = NewOp(now, OpKind::kGet, Purpose::kUser, key);
  const std::uint64_t id = op.id;
  if (!joined_) {
    Complete(now, op, false, {}, {}, out);
  } else {
    Route(now, op, out);
  }
  return id;
}

std::vector<StoredValue> ChordNodeImpl::StoredValues(Seconds now) const {
  std::vector<StoredValue> all;
  for (const auto& [key, list] : store_) {
    for (const StoredValue& v : list) {
      if (v.expires > now) all.push_back(v);
    }
  }
  return all;
}

// ---------------------------------------------------------------- routing (origin)

std::vector<Contact> ChordNodeImpl::SuccessorsFromSelf() const {
  std::vector<Contact> list;
  list.reserve(succ_.size() + 1);
  list.push_back(self_);
  list.insert(list.end(), succ_.begin(), succ_.end());
  if (list.size() > static_cast<std::size_t>(opt_.successors)) {
    list.resize(static_cast<std::size_t>(opt_.successors));
  }
  return list;
}

void ChordNodeImpl::Route(Seconds now, Operation& op, Effects* out) {
  op.candidates.clear();
  op.hops = 0;
  op.queries = 0;
  if (op.purpose == Purpose::kJoin || op.purpose == Purpose::kRelink) {
    op.candidates.push_back(Candidate{op.via});
    return Advance(now, op, out);
  }
  // The origin's own step, free of hops.
  if (succ_.empty() || op.key == self_.id ||
      (pred_.valid() && InHalfOpen(op.key, pred_.id, self_.id))) {
    return Routed(now, op, SuccessorsFromSelf(), out);
  }
  if (InHalfOpen(op.key, self_.id, succ_.front().id)) return Routed(now, op, succ_, out);
  std::array<Contact, kOriginCandidates> best;
  const int n = ClosestPreceding(op.key, best.data(), kOriginCandidates);
  for (int i = 0; i < n; ++i) op.candidates.push_back(Candidate{best[static_cast<std::size_t>(i)]});
  Advance(now, op, out);
}

void ChordNodeImpl::AddCandidate(Seconds now, Operation& op, const Contact& c) const {
  if (IsDead(c, now)) return;
  for (const Candidate& e : op.candidates) {
    if (SameNode(e.contact, c)) return;
  }
  const Key d = op.key - c.id;
  auto at = std::find_if(op.candidates.begin(), op.candidates.end(),
                         [&](const Candidate& e) { return op.key - e.contact.id > d; });
  op.candidates.insert(at, Candidate{c});
  if (op.candidates.size() > kMaxCandidates) op.candidates.pop_back();
}

void ChordNodeImpl::Advance(Seconds now, Operation& op, Effects* out) {
  // The closest untried candidate; one that timed out once gets a second
  // chance only when nothing fresh is left (a lost message is not a death).
  const Candidate* next = nullptr;
  for (int pass = 0; pass < kFailuresBeforeDead && next == nullptr; ++pass) {
    for (const Candidate& c : op.candidates) {
      if (!c.answered && c.failures == pass) {
        next = &c;
        break;
      }
    }
  }
  if (next == nullptr || op.queries >= kMaxQueriesPerAttempt) return Exhausted(now, op, out);
  ++op.queries;
  Message m = To(Kind::kFindSuccessor, next->contact);
  m.target = op.key;
  op.rpc = Call(now, next->contact, RpcPurpose::kRoute, op.id, -1, std::move(m), out);
}

void ChordNodeImpl::OnRouteReply(Seconds now, const Rpc& rpc, const Message& m, Effects* out) {
  auto it = ops_.find(rpc.op);
  if (it == ops_.end() || it->second.rpc != rpc.id) return;
  Operation& op = it->second;
  op.rpc = 0;
  for (Candidate& c : op.candidates) {
    if (SameNode(c.contact, m.from)) c.answered = true;
  }
  ++op.hops;
  if (static_cast<Kind>(m.kind) == Kind::kFoundSuccessor) {
    std::vector<Contact> owners;
    owners.reserve(m.contacts.size());
    for (const Contact& c : m.contacts) {
      if (c.valid()) owners.push_back(c);
    }
    if (!owners.empty()) return Routed(now, op, std::move(owners), out);
  } else {
    for (const Contact& c : m.contacts) {
      if (c.valid() && !SameNode(c, self_) && InOpen(c.id, m.from.id, op.key)) {
        AddCandidate(now, op, c);
      }
    }
  }
  Advance(now, op, out);
}

void ChordNodeImpl::OnRouteTimeout(Seconds now, const Rpc& rpc, Effects* out) {
  auto it = ops_.find(rpc.op);
  if (it == ops_.end() || it->second.rpc != rpc.id) return;
  Operation& op = it->second;
  op.rpc = 0;
  for (Candidate& c : op.candidates) {
    if (SameNode(c.contact, rpc.peer) && ++c.failures >= kFailuresBeforeDead) {
      MarkDead(rpc.peer, now);
      ForgetFinger(rpc.peer);  // the successor list is stabilise's business
    }
  }
  Advance(now, op, out);
}

void ChordNodeImpl::Routed(Seconds now, Operation& op, std::vector<Contact> owners, Effects* out) {
  switch (op.purpose) {
    case Purpose::kJoin:
      return FinishJoin(now, op, owners, out);
    case Purpose::kFixFinger:
      SetFinger(op.finger, owners.front());
      ops_.erase(op.id);
      return;
    case Purpose::kRelink:
      ops_.erase(op.id);
      return FinishRelink(now, owners, out);
    case Purpose::kUser:
      break;
  }
  if (op.kind == OpKind::kLookup) return Complete(now, op, true, owners.front(), {}, out);
  op.owners = std::move(owners);
  op.owner_index = 0;
  ContactOwner(now, op, out);
}

void ChordNodeImpl::ContactOwner(Seconds now, Operation& op, Effects* out) {
  // The owner first; if it does not answer, the next successors in the
  // predecessor's list: after a crash the first of them owns the key, and
  // all of them hold replicas.
  if (op.owner_index >= op.owners.size()) return Complete(now, op, false, {}, {}, out);
  const Contact target = op.owners[op.owner_index];
  if (SameNode(target, self_)) {
    if (op.kind == OpKind::kPut) {
      Store(now, op.value, /*replace=*/true);
      ReplicatePut(op.value, out);
      return Complete(now, op, true, self_, {}, out);
    }
    return Complete(now, op, true, self_, ValuesUnder(now, op.key), out);
  }
  Message m = To(op.kind == OpKind::kPut ? Kind::kStore : Kind::kGet, target);
  m.target = op.key;
  if (op.kind == OpKind::kPut) m.values.push_back(op.value);
  op.rpc = Call(now, target, RpcPurpose::kOwner, op.id, -1, std::move(m), out);
}

void ChordNodeImpl::OnOwnerReply(Seconds now, const Rpc& rpc, const Message& m, Effects* out) {
  auto it = ops_.find(rpc.op);
  if (it == ops_.end() || it->second.rpc != rpc.id) return;
  Operation& op = it->second;
  op.rpc = 0;
  std::vector<StoredValue> values;
  if (op.kind == OpKind::kGet) {
    for (const StoredValue& v : m.values) {
      if (v.key == op.key && v.expires > now) values.push_back(v);
    }
  }
  Complete(now, op, true, m.from, std::move(values), out);
}

void ChordNodeImpl::OnOwnerTimeout(Seconds now, const Rpc& rpc, Effects* out) {
  auto it = ops_.find(rpc.op);
  if (it == ops_.end() || it->second.rpc != rpc.id) return;
  Operation& op = it->second;
  op.rpc = 0;
  ++op.owner_index;
  ContactOwner(now, op, out);
}

void ChordNodeImpl::Exhausted(Seconds now, Operation& op, Effects* out) {
  if (op.purpose == Purpose::kFixFinger || op.purpose == Purpose::kRelink) {
    return Complete(now, op, false, {}, {}, out);  // upkeep tries again next round
  }
  // Every route ran into dead or silent nodes: the ring has not noticed a
  // failure yet. Wait one stabilisation round and route again.
  if (op.restarts < kRestarts) {
    ++op.restarts;
    return Arm(now + opt_.stabilize_every, kTimerRetryTag | op.id, out);
  }
  if (op.purpose == Purpose::kJoin) joining_ = false;
  Complete(now, op, false, {}, {}, out);
}

void ChordNodeImpl::Retry(Seconds now, std::uint64_t op_id, Effects* out) {
  auto it = ops_.find(op_id);
  if (it == ops_.end() || it->second.rpc != 0) return;
  if (it->second.purpose != Purpose::kJoin && !joined_) {
    return Complete(now, it->second, false, {}, {}, out);
  }
  Route(now, it->second, out);
}

void ChordNodeImpl::Complete(Seconds now, Operation& op, bool ok, Contact owner,
                             std::vector<StoredValue> values, Effects* out) {
  if (op.purpose == Purpose::kFixFinger) {
    fixing_ &= ~(std::uint64_t{1} << op.finger);
  } else if (op.purpose == Purpose::kRelink) {
    relink_op_ = 0;
  } else {
    OpResult r;
    r.op = op.id;
    r.kind = op.kind;
    r.ok = ok;
    r.key = op.key;
    r.owner = owner;
    r.hops = op.hops;
    r.started = op.started;
    r.finished = now;
    r.values = std::move(values);
    out->done.push_back(std::move(r));
  }
  ops_.erase(op.id);
}

void ChordNodeImpl::FinishJoin(Seconds now, Operation& op, const std::vector<Contact>& owners,
                               Effects* out) {
  joining_ = false;
  RebuildSuccessors(now, nullptr, owners.front(), owners, 1);
  if (succ_.empty()) return Complete(now, op, false, {}, {}, out);  // our own id is taken
  joined_ = true;
  const Contact s = succ_.front();
  Complete(now, op, true, s, {}, out);
  StartTimers(now, out);
  Notify(s, out);
  Call(now, s, RpcPurpose::kFingers, 0, -1, To(Kind::kGetFingers, s), out);
  // The answer may be stale (other nodes joining next to us at the same
  // time): check it now, the notify above arrives first.
  Stabilize(now, out);
}

void ChordNodeImpl::StartRelink(Seconds now, const Contact& via, Effects* out) {
  // successor(self.id) as the ring sees it: the node after us if the ring
  // does not know us yet, else us (and the predecessor's list goes on with
  // our true successors).
  Operation& op = NewOp(now, OpKind::kLookup, Purpose::kRelink, self_.id);
  op.via = via;
  relink_op_ = op.id;
  Route(now, op, out);
}

void ChordNodeImpl::FinishRelink(Seconds now, const std::vector<Contact>& owners, Effects* out) {
  relink_op_ = 0;
  std::size_t first = 0;
  while (first < owners.size() && SameNode(owners[first], self_)) ++first;
  if (first == owners.size()) return;
  const Contact c = owners[first];
  if (IsDead(c, now) || (!succ_.empty() && !InOpen(c.id, self_.id, succ_.front().id))) return;
  RebuildSuccessors(now, nullptr, c, owners, first + 1);
  Stabilize(now, out);  // confirms it and notifies it
}

// ---------------------------------------------------------------- serving

void ChordNodeImpl::OnMessage(Seconds now, const Message& m, Effects* out) {
  if (left_ || !m.from.valid()) return;
  if (pred_.valid() && SameNode(pred_, m.from)) pred_heard_ = now;
  Revive(m.from);
  const auto kind = static_cast<Kind>(m.kind);
  switch (kind) {
    case Kind::kFoundSuccessor:
    case Kind::kCloserNodes:
    case Kind::kPredecessor:
    case Kind::kPong:
    case Kind::kFingers:
    case Kind::kStoreAck:
    case Kind::kGetReply:
      return OnReply(now, m, out);
    default:
      break;
  }
  if (!joined_) {
    // Not in the ring (yet): an empty answer lets a router move on at once.
    if (kind == Kind::kFindSuccessor) out->send.push_back(ReplyTo(Kind::kCloserNodes, m));
    return;
  }
  switch (kind) {
    case Kind::kFindSuccessor:
      return OnFindSuccessor(m, out);
    case Kind::kGetPredecessor: {
      Message r = ReplyTo(Kind::kPredecessor, m);
      r.contacts.reserve(m.target == 1 ? succ_.size() + 1 : 1);
      r.contacts.push_back(pred_);
      if (m.target == 1) r.contacts.insert(r.contacts.end(), succ_.begin(), succ_.end());
      out->send.push_back(std::move(r));
      return;
    }
    case Kind::kNotify:
      return OnNotify(now, m, out);
    case Kind::kNewPredecessor:
      return OnNewPredecessor(now, m, out);
    case Kind::kPing:
      out->send.push_back(ReplyTo(Kind::kPong, m));
      return;
    case Kind::kGetFingers: {
      Message r = ReplyTo(Kind::kFingers, m);
      r.contacts = succ_;
      for (const Contact& f : fingers_) {
        if (f.valid() && (r.contacts.empty() || !SameNode(r.contacts.back(), f))) {
          r.contacts.push_back(f);
        }
      }
      out->send.push_back(std::move(r));
      return;
    }
    case Kind::kStore:
      return OnStore(now, m, out);
    case Kind::kReplicaStore:
    case Kind::kReplicaSync:
      for (const StoredValue& v : m.values) Store(now, v, kind == Kind::kReplicaStore);
      return;
    case Kind::kGet: {
      Message r = ReplyTo(Kind::kGetReply, m);
      r.values = ValuesUnder(now, m.target);
      out->send.push_back(std::move(r));
      return;
    }
    case Kind::kLeaveToSuccessor:
      return OnLeaveToSuccessor(now, m, out);
    case Kind::kLeaveToPredecessor:
      return OnLeaveToPredecessor(now, m, out);
    default:
      return;  // unknown kinds are dropped
  }
}

void ChordNodeImpl::OnFindSuccessor(const Message& m, Effects* out) {
  const Key key = m.target;
  if (succ_.empty() || key == self_.id) {
    Message r = ReplyTo(Kind::kFoundSuccessor, m);
    r.contacts = SuccessorsFromSelf();
    out->send.push_back(std::move(r));
    return;
  }
  if (InHalfOpen(key, self_.id, succ_.front().id)) {
    Message r = ReplyTo(Kind::kFoundSuccessor, m);
    r.contacts = succ_;
    out->send.push_back(std::move(r));
    return;
  }
  std::array<Contact, kCandidatesPerReply> best;
  const int n = ClosestPreceding(key, best.data(), kCandidatesPerReply);
  Message r = ReplyTo(Kind::kCloserNodes, m);
  r.contacts.assign(best.begin(), best.begin() + n);
  out->send.push_back(std::move(r));
}

int ChordNodeImpl::ClosestPreceding(Key key, Contact* best, int k) const {
  // The k known nodes in (self, key) nearest the key, nearest first: one
  // pass over the successor list and the fingers.
  int n = 0;
  auto consider = [&](const Contact& c) {
    if (!c.valid() || !InOpen(c.id, self_.id, key)) return;
    const Key d = key - c.id;
    for (int j = 0; j < n; ++j) {
      if (SameNode(best[j], c)) return;
    }
    int at = n;
    while (at > 0 && key - best[at - 1].id > d) --at;
    if (at >= k) return;
    if (n < k) ++n;
    for (int j = n - 1; j > at; --j) best[j] = best[j - 1];
    best[at] = c;
  };
  for (const Contact& c : succ_) consider(c);
  const Contact* last = nullptr;
  for (int i = kFingers - 1; i >= 0; --i) {
    const Contact& f = fingers_[static_cast<std::size_t>(i)];
    if (last != nullptr && SameNode(*last, f)) continue;  // runs of equal fingers
    consider(f);
    last = &f;
  }
  return n;
}

void ChordNodeImpl::OnNotify(Seconds now, const Message& m, Effects* out) {
  const Contact n = m.from;
  if (SameNode(n, self_) || (pred_.valid() && SameNode(n, pred_))) return;
  if (succ_.empty()) {  // alone until now: the newcomer is also our successor
    succ_.push_back(n);
    Notify(n, out);
  }
  if (pred_.valid() && !InOpen(n.id, pred_.id, self_.id)) {
    // A node beyond our predecessor thinks it precedes us: its successor,
    // our predecessor, may have failed. Check now rather than next round.
    return CheckPredecessor(now, out, /*now_please=*/true);
  }
  const Contact old = pred_;
  pred_ = n;
  pred_heard_ = now;
  ping_failures_ = 0;
  // Hand the newcomer what is no longer ours: its own range and the replicas
  // it now holds in our place. We keep copies (we are its first replica).
  Message handover = To(Kind::kReplicaSync, n);
  for (const auto& [key, list] : store_) {
    if (InHalfOpen(key, n.id, self_.id)) continue;
    for (const StoredValue& v : list) {
      if (v.expires > now) handover.values.push_back(v);
    }
  }
  if (!handover.values.empty()) out->send.push_back(std::move(handover));
  // Tell the old predecessor at once rather than at its next stabilisation,
  // so that lookups for the newcomer's keys stop landing on us.
  if (old.valid() && !SameNode(old, n)) {
    Message hint = To(Kind::kNewPredecessor, old);
    hint.contacts.push_back(n);
    out->send.push_back(std::move(hint));
  }
  SyncReplicas(now, out);
}

void ChordNodeImpl::OnNewPredecessor(Seconds now, const Message& m, Effects* out) {
  if (succ_.empty() || m.contacts.empty() || !SameNode(succ_.front(), m.from)) return;
  const Contact n = m.contacts.front();
  if (!n.valid() || SameNode(n, self_) || IsDead(n, now) || !InOpen(n.id, self_.id, m.from.id)) {
    return;
  }
  succ_.insert(succ_.begin(), n);
  if (succ_.size() > static_cast<std::size_t>(opt_.successors)) succ_.pop_back();
  Notify(n, out);
}

void ChordNodeImpl::OnStore(Seconds now, const Message& m, Effects* out) {
  if (m.values.empty()) return;  // malformed: no answer, the sender times out
  const StoredValue& v = m.values.front();
  Store(now, v, /*replace=*/true);
  ReplicatePut(v, out);
  out->send.push_back(ReplyTo(Kind::kStoreAck, m));
}

void ChordNodeImpl::OnLeaveToSuccessor(Seconds now, const Message& m, Effects* out) {
  for (const StoredValue& v : m.values) Store(now, v, /*replace=*/false);
  if (pred_.valid() && SameNode(pred_, m.from)) {
    const Contact p = m.contacts.empty() ? Contact{} : m.contacts.front();
    pred_ = p.valid() && !SameNode(p, self_) ? p : Contact{};
    pred_heard_ = now;
  }
  MarkDead(m.from, now);
  Forget(m.from);
  SyncReplicas(now, out);
}

void ChordNodeImpl::OnLeaveToPredecessor(Seconds now, const Message& m, Effects* out) {
  const bool was_successor = !succ_.empty() && SameNode(succ_.front(), m.from);
  MarkDead(m.from, now);
  Forget(m.from);
  if (was_successor) {
    // The leaver's successors become ours, ahead of what remains of our list.
    std::vector<Contact> rest = std::move(succ_);
    succ_.clear();
    for (const Contact& c : m.contacts) {
      if (!c.valid() || SameNode(c, m.from) || IsDead(c, now)) continue;
      if (SameNode(c, self_)) break;
      succ_.push_back(c);
    }
    for (const Contact& c : rest) {
      if (std::none_of(succ_.begin(), succ_.end(),
                       [&](const Contact& e) { return SameNode(e, c); })) {
        succ_.push_back(c);
      }
    }
    if (succ_.size() > static_cast<std::size_t>(opt_.successors)) {
      succ_.resize(static_cast<std::size_t>(opt_.successors));
    }
    if (!succ_.empty()) Notify(succ_.front(), out);
  }
  SyncReplicas(now, out);
}

// ---------------------------------------------------------------- ring maintenance

void ChordNodeImpl::Stabilize(Seconds now, Effects* out) {
  if (!joined_ || stabilize_rpc_ != 0) return;
  if (succ_.empty()) {
    // Every successor failed (or we are alone): the nearest finger, else the
    // predecessor, restarts the ring.
    Contact c = ClosestFollowingFinger();
    if (!c.valid()) c = pred_;
    if (!c.valid()) return SyncReplicas(now, out);
    succ_.push_back(c);
  }
  Message m = To(Kind::kGetPredecessor, succ_.front());
  m.target = 1;
  stabilize_rpc_ = Call(now, succ_.front(), RpcPurpose::kStabilize, 0, -1, std::move(m), out);
}

void ChordNodeImpl::RebuildSuccessors(Seconds now, const Contact* first, const Contact& head,
                                      const std::vector<Contact>& rest, std::size_t rest_from) {
  // [first], head, rest[rest_from..]: cut where the list comes back round to
  // us, without duplicates, at most `successors` long.
  const auto limit = static_cast<std::size_t>(opt_.successors);
  succ_.clear();
  auto add = [&](const Contact& c) {
    if (!c.valid() || succ_.size() >= limit || IsDead(c, now)) return true;
    if (SameNode(c, self_)) return false;
    if (std::none_of(succ_.begin(), succ_.end(),
                     [&](const Contact& e) { return SameNode(e, c); })) {
      succ_.push_back(c);
    }
    return true;
  };
  if (first != nullptr && !add(*first)) return;
  if (!add(head)) return;
  for (std::size_t i = rest_from; i < rest.size(); ++i) {
    if (!add(rest[i])) return;
  }
}

void ChordNodeImpl::OnStabilizeReply(Seconds now, const Message& m, Effects* out) {
  if (succ_.empty() || !SameNode(succ_.front(), m.from)) return Stabilize(now, out);  // moved on
  const Contact s = succ_.front();
  const Contact x = m.contacts.empty() ? Contact{} : m.contacts.front();
  const bool adopt =
      x.valid() && !SameNode(x, self_) && !IsDead(x, now) && InOpen(x.id, self_.id, s.id);
  RebuildSuccessors(now, adopt ? &x : nullptr, s, m.contacts, 1);
  if (adopt) {
    // A node sits between us and our successor: ask it at once rather than
    // next round. After many concurrent joins the gap can hold thousands of
    // nodes (we joined a young ring that grew around us): after a few steps
    // of this walk, look our place up through the ring instead, in O(log N).
    if (++walk_steps_ <= kWalkSteps || relink_op_ != 0) return Stabilize(now, out);
    walk_steps_ = 0;
    return StartRelink(now, x, out);
  }
  walk_steps_ = 0;
  if (!x.valid() || !SameNode(x, self_)) Notify(succ_.front(), out);  // it does not know us yet
  SyncReplicas(now, out);
}

void ChordNodeImpl::CheckPredecessor(Seconds now, Effects* out, bool now_please) {
  // A predecessor stabilises with us every round: ping only a silent one.
  if (!pred_.valid() || ping_rpc_ != 0) return;
  if (!now_please && now - pred_heard_ < opt_.check_predecessor_every) return;
  ping_rpc_ = Call(now, pred_, RpcPurpose::kPing, 0, -1, To(Kind::kPing, pred_), out);
}

int ChordNodeImpl::LowestUsefulFinger() const {
  // Fingers whose start lies in (self, successor] are the successor itself.
  if (succ_.empty()) return kFingers;
  const Key gap = succ_.front().id - self_.id;
  return gap == 0 ? kFingers : kFingers - std::countl_zero(gap);
}

void ChordNodeImpl::FixFingers(Seconds now, Effects* out) {
  const int lo = LowestUsefulFinger();
  for (int i = 0; i < lo && i < kFingers; ++i) fingers_[static_cast<std::size_t>(i)] = Contact{};
  if (lo >= kFingers) return;
  if (next_finger_ < lo || next_finger_ >= kFingers) next_finger_ = lo;
  // Check a few distinct fingers, each with one GET_PREDECESSOR: a finger is
  // right if its predecessor lies before the finger's start. The check of
  // finger i also covers the following fingers that point at the same node
  // (their starts are later). Unknown fingers are looked up.
  Address last_checked = -1;
  int started = 0;
  for (int scanned = 0; scanned < kFingers - lo && started < opt_.fingers_per_round; ++scanned) {
    const int i = next_finger_;
    next_finger_ = i + 1;
    if (next_finger_ >= kFingers) {
      next_finger_ = lo;
      last_checked = -1;  // the wrap breaks the "later start" argument
    }
    if (fixing_ & (std::uint64_t{1} << i)) continue;
    const Contact f = fingers_[static_cast<std::size_t>(i)];
    if (f.valid() && f.address == last_checked) continue;
    ++started;
    if (!f.valid()) {
      StartFixFinger(now, i, out);
      continue;
    }
    last_checked = f.address;
    fixing_ |= std::uint64_t{1} << i;
    Call(now, f, RpcPurpose::kVerifyFinger, 0, i, To(Kind::kGetPredecessor, f), out);
  }
}

void ChordNodeImpl::OnVerifyFinger(Seconds now, const Rpc& rpc, const Message& m, Effects* out) {
  const int i = rpc.finger;
  fixing_ &= ~(std::uint64_t{1} << i);
  if (!SameNode(fingers_[static_cast<std::size_t>(i)], m.from)) return;
  const Contact p = m.contacts.empty() ? Contact{} : m.contacts.front();
  if (!p.valid() || SameNode(p, self_)) return;
  const Key start = FingerStart(self_.id, i);
  // p in [start, finger): some node after the start precedes our finger.
  if (p.id - start < m.from.id - start) StartFixFinger(now, i, out);
}

void ChordNodeImpl::StartFixFinger(Seconds now, int i, Effects* out) {
  if (!joined_ || i < 0 || i >= kFingers) return;
  fixing_ |= std::uint64_t{1} << i;
  Operation& op = NewOp(now, OpKind::kLookup, Purpose::kFixFinger, FingerStart(self_.id, i));
  op.finger = i;
  Route(now, op, out);
}

void ChordNodeImpl::SetFinger(int i, const Contact& c) {
  fixing_ &= ~(std::uint64_t{1} << i);
  if (!c.valid() || SameNode(c, self_)) {
    fingers_[static_cast<std::size_t>(i)] = Contact{};
    return;
  }
  // c = successor(start_i), so it is also the successor of every later start
  // up to c.
  for (int j = i; j < kFingers; ++j) {
    if (j > i && !InHalfOpen(FingerStart(self_.id, j), self_.id, c.id)) break;
    fingers_[static_cast<std::size_t>(j)] = c;
  }
}

void ChordNodeImpl::SeedFingers(Seconds now, const Message& m) {
  // A newcomer borrows its successor's table: the successor of each of our
  // finger starts among the nodes it knows (a good guess; fix fingers
  // corrects it). Candidates after us going round count as "none".
  const int lo = LowestUsefulFinger();
  for (int i = lo; i < kFingers; ++i) {
    auto& f = fingers_[static_cast<std::size_t>(i)];
    if (f.valid()) continue;
    const Key start = FingerStart(self_.id, i);
    Key best_gap = self_.id - start;
    auto consider = [&](const Contact& c) {
      if (!c.valid() || SameNode(c, self_) || c.id - start >= best_gap || IsDead(c, now)) return;
      best_gap = c.id - start;
      f = c;
    };
    consider(m.from);
    for (const Contact& c : m.contacts) consider(c);
  }
}

Contact ChordNodeImpl::ClosestFollowingFinger() const {
  Contact best;
  for (const Contact& f : fingers_) {
    if (f.valid() && !SameNode(f, self_) &&
        (!best.valid() || f.id - self_.id < best.id - self_.id)) {
      best = f;
    }
  }
  return best;
}

void ChordNodeImpl::Forget(const Contact& c) {
  std::erase_if(succ_, [&](const Contact& e) { return SameNode(e, c); });
  ForgetFinger(c);
}

void ChordNodeImpl::MarkDead(const Contact& c, Seconds now) {
  if (!c.valid() || IsDead(c, now)) return;
  dead_[dead_next_] = Dead{c.address, now + 2 * opt_.stabilize_every};
  dead_next_ = (dead_next_ + 1) % kDeadMemory;
}

bool ChordNodeImpl::IsDead(const Contact& c, Seconds now) const {
  return std::any_of(dead_.begin(), dead_.end(),
                     [&](const Dead& d) { return d.address == c.address && d.until > now; });
}

void ChordNodeImpl::Revive(const Contact& c) {
  for (Dead& d : dead_) {
    if (d.address == c.address) d.address = -1;
  }
}

void ChordNodeImpl::ForgetFinger(const Contact& c) {
  for (Contact& f : fingers_) {
    if (SameNode(f, c)) f = Contact{};
  }
}

// ---------------------------------------------------------------- values

void ChordNodeImpl::Store(Seconds now, const StoredValue& v, bool replace) {
  // A Put replaces the publisher's value outright; copies moving between
  // nodes (hand-over, re-replication) only win with a later expiry, so an
  // old copy cannot overwrite a refresh.
  if (v.expires <= now) return;
  std::vector<StoredValue>& list = store_[v.key];
  for (StoredValue& e : list) {
    if (e.publisher == v.publisher) {
      if (replace || v.expires > e.expires) e = v;
      return;
    }
  }
  list.push_back(v);
}

void ChordNodeImpl::ReplicatePut(const StoredValue& v, Effects* out) {
  const std::size_t n = std::min(succ_.size(), static_cast<std::size_t>(opt_.replicas - 1));
  for (std::size_t i = 0; i < n; ++i) {
    Message m = To(Kind::kReplicaStore, succ_[i]);
    m.values.push_back(v);
    out->send.push_back(std::move(m));
  }
  // A newcomer between our predecessor and us may own the key already.
  if (pred_.valid() && !InHalfOpen(v.key, pred_.id, self_.id) &&
      std::none_of(succ_.begin(), succ_.begin() + static_cast<std::ptrdiff_t>(n),
                   [&](const Contact& c) { return SameNode(c, pred_); })) {
    Message m = To(Kind::kReplicaStore, pred_);
    m.values.push_back(v);
    out->send.push_back(std::move(m));
  }
}

std::vector<StoredValue> ChordNodeImpl::ValuesUnder(Seconds now, Key key) const {
  std::vector<StoredValue> values;
  auto it = store_.find(key);
  if (it == store_.end()) return values;
  for (const StoredValue& v : it->second) {
    if (v.expires > now) values.push_back(v);
  }
  return values;
}

void ChordNodeImpl::PurgeExpired(Seconds now) {
  for (auto it = store_.begin(); it != store_.end();) {
    std::erase_if(it->second, [&](const StoredValue& v) { return v.expires <= now; });
    it = it->second.empty() ? store_.erase(it) : std::next(it);
  }
}

void ChordNodeImpl::SyncReplicas(Seconds now, Effects* out) {
  // Push the values we own to replicas that may lack them: a successor new
  // to our first replicas - 1, or all of them when our range grew (the
  // predecessor failed or left, and its keys are ours now).
  if (!pred_.valid()) return;  // the range is unknown until someone notifies us
  const std::size_t n = std::min(succ_.size(), static_cast<std::size_t>(opt_.replicas - 1));
  const bool grew = !synced_pred_.valid() || (!SameNode(pred_, synced_pred_) &&
                                              !InOpen(pred_.id, synced_pred_.id, self_.id));
  std::vector<StoredValue> owned;
  bool collected = false;
  for (std::size_t i = 0; i < n; ++i) {
    const Contact& r = succ_[i];
    const bool known = std::any_of(synced_replicas_.begin(), synced_replicas_.end(),
                                   [&](const Contact& e) { return SameNode(e, r); });
    if (known && !grew) continue;
    if (!collected) {
      collected = true;
      for (const auto& [key, list] : store_) {
        if (!InHalfOpen(key, pred_.id, self_.id)) continue;
        for (const StoredValue& v : list) {
          if (v.expires > now) owned.push_back(v);
        }
      }
    }
    if (owned.empty()) break;
    Message m = To(Kind::kReplicaSync, r);
    m.values = owned;
    out->send.push_back(std::move(m));
  }
  synced_pred_ = pred_;
  synced_replicas_.assign(succ_.begin(), succ_.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

std::unique_ptr<Node> MakeChordNode(Contact self, const ChordOptions& options) {
  return std::make_unique<ChordNodeImpl>(self, options);
}

}  // namespace meshtwin::dht
