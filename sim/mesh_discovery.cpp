// The SimGrid side of capacity discovery: one actor per DHT node, messages as
// mailbox communications, the manager's record cache. See mesh_discovery.h.

#include "sim/mesh_discovery.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <simgrid/s4u.hpp>
#include <utility>

#include "twin/dht/capability.h"
#include "twin/dht/dht.h"

namespace sg4 = simgrid::s4u;

namespace meshtwin {
namespace {

using dht::Address;
using dht::Contact;
using dht::Effects;
using dht::Message;
using dht::OpKind;
using dht::OpResult;

// The manager's DHT node; a mesh node's address is its id + 1.
constexpr Address kManagerAddress = 0;
// A node that left keeps receiving (and discarding) this long, so that
// messages already on their way to it are never left unreceived.
constexpr Seconds kDrainAfterLeave = 10;
// A failed join is tried again this much later.
constexpr Seconds kJoinRetryDelay = 1;
// Timers of one node within this are served by one wake-up.
constexpr Seconds kTimerSlack = 0.01;

// What travels through a mailbox: a protocol message, or an instruction from
// the manager actor to a node's actor.
enum class Control : std::uint8_t { kNone, kLeave, kCrash, kRepublish };
struct Envelope {
  Message message;
  Control control = Control::kNone;
};

enum class TimerKind : std::uint8_t { kDht, kRefresh, kQuery, kJoin, kExit };
struct Timer {
  Seconds at;
  std::uint64_t seq;  // FIFO among equal times: determinism
  TimerKind kind;
  std::uint64_t token;
  bool operator>(const Timer& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

// What the manager last read about a node.
struct CachedRecord {
  int role = -1;
  Seconds expires = 0;
};

// One DHT node and its actor's state.
struct Peer {
  Address address = 0;
  int node_id = -1;  // -1: the manager
  Contact self;
  std::unique_ptr<dht::Node> node;
  std::optional<dht::CapabilityPublisher> publisher;
  sg4::Host* host = nullptr;
  sg4::Mailbox* mailbox = nullptr;
  bool accepting = true;    // false once it left: nobody sends to it any more
  bool leave_sent = false;  // the manager told it to leave
  bool exit = false;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::uint64_t seq = 0;
  std::uint64_t refresh_generation = 0;
  std::deque<Message> local;  // messages to itself
  Effects fx;
  std::vector<sg4::ActivityPtr> comms;  // [0] its receive, then its sends
  int published_role = -1;
  Seconds ready_at = 0;
  bool counted_delay = false;
  bool initial = false;
  std::uint64_t ring_check = 0;  // the pending lookup of the manager (CheckRing)
};

}  // namespace

struct MeshDiscovery::Impl {
  MeshDiscovery* owner = nullptr;
  std::vector<std::unique_ptr<Peer>> peers;   // by address
  std::vector<sg4::CommPtr> control_sends;    // the manager actor's, reaped each Sync
  std::map<std::uint64_t, int> pending_gets;  // manager's Get op -> role
  std::vector<CachedRecord> cache;            // by node id
  std::vector<std::unique_ptr<Envelope>> envelopes;
  std::vector<Envelope*> free_envelopes;

  const DiscoveryOptions& options() const { return owner->options_; }
  DiscoveryStats& stats() { return owner->stats_; }

  Envelope* TakeEnvelope() {
    if (free_envelopes.empty()) {
      envelopes.push_back(std::make_unique<Envelope>());
      return envelopes.back().get();
    }
    Envelope* e = free_envelopes.back();
    free_envelopes.pop_back();
    return e;
  }
  void GiveEnvelope(Envelope* e) {
    e->message = Message{};
    e->control = Control::kNone;
    free_envelopes.push_back(e);
  }

  Peer* PeerAt(Address a) {
    if (a < 0 || static_cast<std::size_t>(a) >= peers.size()) return nullptr;
    return peers[static_cast<std::size_t>(a)].get();
  }

  std::unique_ptr<dht::Node> MakeNode(const Contact& self) const {
    if (options().protocol == "kademlia") {
      dht::KademliaOptions o;
      o.seed = options().seed;
      return dht::MakeKademliaNode(self, o);
    }
    dht::ChordOptions o;
    o.seed = options().seed;
    return dht::MakeChordNode(self, o);
  }

  Peer* NewPeer(Address address, int node_id, sg4::Host* host) {
    if (peers.size() <= static_cast<std::size_t>(address)) peers.resize(address + 1);
    auto p = std::make_unique<Peer>();
    p->address = address;
    p->node_id = node_id;
    const std::string name = node_id < 0 ? "manager" : "node-" + std::to_string(node_id);
    p->self = Contact{dht::HashKey(name + "@" + std::to_string(options().seed)), address};
    p->node = MakeNode(p->self);
    p->host = host;
    p->mailbox = sg4::Mailbox::by_name("dht-" + name);
    if (node_id >= 0) {
      // The manager reads role classes only: the others would cost Puts that
      // nobody reads.
      p->publisher =
          *dht::CapabilityPublisher::Create({options().refresh, options().ttl, {"role:"}});
    }
    Peer* raw = p.get();
    peers[static_cast<std::size_t>(address)] = std::move(p);
    sg4::Actor::create("dht-" + name, host, [this, raw] { Run(raw); })->daemonize();
    return raw;
  }

  void Push(Peer* p, Seconds at, TimerKind kind, std::uint64_t token) {
    p->timers.push(Timer{at, p->seq++, kind, token});
  }

  // The actor: waits for its mailbox or its own sends, with a timeout to its
  // next timer.
  void Run(Peer* p) {
    p->mailbox->set_receiver(sg4::Actor::self());
    Envelope* incoming = nullptr;
    p->comms.emplace_back(p->mailbox->get_async<Envelope>(&incoming));
    Push(p, sg4::Engine::get_clock(), TimerKind::kJoin, 0);
    for (;;) {
      const Seconds now = sg4::Engine::get_clock();
      FireDue(p, now);
      DeliverLocal(p, now);
      if (p->exit) break;
      double timeout = 1e9;
      if (!p->timers.empty()) {
        const Seconds at = std::ceil(p->timers.top().at / kTimerSlack) * kTimerSlack;
        timeout = std::max(0.0, std::max(at, p->timers.top().at) - now);
      }
      const ssize_t i = sg4::Activity::wait_any_for(p->comms, timeout);
      if (i < 0) continue;
      if (i == 0) {
        Envelope* env = incoming;
        p->comms[0] = p->mailbox->get_async<Envelope>(&incoming);
        Deliver(p, env, sg4::Engine::get_clock());
      } else {
        p->comms[static_cast<std::size_t>(i)] = std::move(p->comms.back());
        p->comms.pop_back();
      }
    }
    // Its last sends finished long ago (it drained for kDrainAfterLeave).
    for (std::size_t i = 1; i < p->comms.size(); ++i) p->comms[i]->wait_for(1);
    p->comms[0]->cancel();
    p->comms.clear();
    p->mailbox->set_receiver(nullptr);
  }

  void FireDue(Peer* p, Seconds now) {
    while (!p->timers.empty() && p->timers.top().at <= now) {
      const Timer t = p->timers.top();
      p->timers.pop();
      Fire(p, t, now);
    }
  }

  void Fire(Peer* p, const Timer& t, Seconds now) {
    switch (t.kind) {
      case TimerKind::kDht:
        if (!p->accepting) return;
        p->node->OnTimer(now, t.token, &p->fx);
        return Apply(p, now);
      case TimerKind::kJoin:
        if (!p->accepting) return;
        p->node->Join(now, p->address == kManagerAddress ? Contact{} : peers[0]->self, &p->fx);
        return Apply(p, now);
      case TimerKind::kRefresh:
        if (!p->accepting || t.token != p->refresh_generation || !p->node->joined()) return;
        CheckRing(p, now);
        return Refresh(p, now);
      case TimerKind::kQuery:
        Query(p, now);
        Push(p, now + options().query_every, TimerKind::kQuery, 0);
        return;
      case TimerKind::kExit:
        p->exit = true;
        return;
    }
  }

  void Refresh(Peer* p, Seconds now) {
    p->published_role = -1;
    for (std::size_t r = 0; r < options().roles.size(); ++r) {
      if (p->publisher->record().role == options().roles[r])
        p->published_role = static_cast<int>(r);
    }
    p->publisher->Refresh(now, *p->node, &p->fx);
    const std::uint64_t generation = ++p->refresh_generation;
    Push(p, p->publisher->NextRefresh(), TimerKind::kRefresh, generation);
    Apply(p, now);
  }

  // Is the node still in the manager's overlay? A lookup of the manager's id
  // must find the manager. After mass departures (a scale-in of most of the
  // fleet at once) a node can be left alone, or in a fragment of a ring, with
  // none of its routing entries alive: it joins again through the manager.
  // Chord needs this (its successor lists last only so many failures in a
  // row); Kademlia's buckets rarely do.
  void CheckRing(Peer* p, Seconds now) {
    p->ring_check = p->node->Lookup(now, peers[0]->self.id, &p->fx);
  }

  void Rejoin(Peer* p, Seconds now) {
    ++stats().rejoins;
    p->node = MakeNode(p->self);
    p->ring_check = 0;
    ++p->refresh_generation;  // the old node's refresh timer is void
    Push(p, now, TimerKind::kJoin, 0);
  }

  // The manager reads every role's records.
  void Query(Peer* p, Seconds now) {
    if (!p->node->joined()) return;
    for (std::size_t r = 0; r < options().roles.size(); ++r) {
      const std::uint64_t op =
          p->node->Get(now, dht::ClassKey("role:" + options().roles[r]), &p->fx);
      pending_gets[op] = static_cast<int>(r);
      ++stats().queries;
    }
    Apply(p, now);
  }

  void Deliver(Peer* p, Envelope* env, Seconds now) {
    switch (env->control) {
      case Control::kNone:
        if (p->accepting) {
          p->node->OnMessage(now, env->message, &p->fx);
          Apply(p, now);
        }
        break;
      case Control::kRepublish:
        if (p->accepting && p->node->joined()) Refresh(p, now);
        break;
      case Control::kLeave:
      case Control::kCrash:
        if (p->accepting) {
          // A crashed node says nothing: its neighbours find out by timeouts
          // and its records expire.
          if (env->control == Control::kLeave) {
            p->node->Leave(now, &p->fx);
            Apply(p, now);
          }
          p->accepting = false;
          Push(p, now + kDrainAfterLeave, TimerKind::kExit, 0);
        }
        break;
    }
    GiveEnvelope(env);
  }

  void DeliverLocal(Peer* p, Seconds now) {
    while (!p->local.empty() && p->accepting) {
      const Message m = std::move(p->local.front());
      p->local.pop_front();
      p->node->OnMessage(now, m, &p->fx);
      Apply(p, now);
    }
    p->local.clear();
  }

  void Apply(Peer* p, Seconds now) {
    for (const dht::TimerRequest& t : p->fx.timers) {
      Push(p, std::max(t.at, now), TimerKind::kDht, t.token);
    }
    std::vector<OpResult> done = std::move(p->fx.done);
    std::vector<Message> send = std::move(p->fx.send);
    p->fx.Clear();
    for (OpResult& r : done) Done(p, r, now);
    // Sends last: each one lets the other actors run.
    for (Message& m : send) Send(p, m);
  }

  void Send(Peer* p, Message& m) {
    Peer* to = PeerAt(m.to);
    if (to == nullptr || !to->accepting) return;  // the request times out, as it would
    const std::size_t size = m.WireSize();
    ++stats().messages;
    stats().bytes += static_cast<std::int64_t>(size);
    if (to == p) {
      p->local.push_back(std::move(m));
      return;
    }
    Envelope* env = TakeEnvelope();
    env->message = std::move(m);
    p->comms.emplace_back(to->mailbox->put_async(env, static_cast<std::uint64_t>(size)));
  }

  void Done(Peer* p, OpResult& r, Seconds now) {
    if (r.kind == OpKind::kLookup && r.op == p->ring_check && p->ring_check != 0) {
      p->ring_check = 0;
      if (!r.ok || r.owner.id != peers[0]->self.id) Rejoin(p, now);
      return;
    }
    if (r.kind == OpKind::kJoin) {
      if (r.ok) {
        ++stats().joins;
        if (p->address == kManagerAddress) {
          // Reads land just before a tick starts, so that a record found is
          // routable at once.
          const Seconds q = options().query_every;
          Push(p, (std::floor(now / q) + 1) * q - 0.05 * q, TimerKind::kQuery, 0);
        } else {
          Refresh(p, now);
        }
        return;
      }
      ++stats().join_failures;
      p->node = MakeNode(p->self);
      Push(p, now + kJoinRetryDelay, TimerKind::kJoin, 0);
      return;
    }
    if (r.kind != OpKind::kGet || p->address != kManagerAddress) return;
    auto it = pending_gets.find(r.op);
    if (it == pending_gets.end()) return;
    const int role = it->second;
    pending_gets.erase(it);
    if (!r.ok) {
      ++stats().queries_failed;
      return;
    }
    for (const dht::StoredValue& v : r.values) {
      absl::StatusOr<dht::CapabilityRecord> rec = dht::DecodeCapabilityRecord(v.data);
      if (!rec.ok()) {
        ++stats().bad_records;
        continue;
      }
      if (rec->role != options().roles[static_cast<std::size_t>(role)]) continue;
      const int id = static_cast<int>(rec->address) - 1;
      if (id < 0) continue;
      if (cache.size() <= static_cast<std::size_t>(id)) cache.resize(id + 1);
      CachedRecord& c = cache[static_cast<std::size_t>(id)];
      if (v.expires >= c.expires || c.role != role) c = CachedRecord{role, v.expires};
      Peer* node = PeerAt(id + 1);
      if (node != nullptr && !node->initial && !node->counted_delay) {
        node->counted_delay = true;
        stats().discovery_delays.push_back(now - node->ready_at);
      }
    }
  }

  void SendControl(Peer* p, Control c) {
    Envelope* env = TakeEnvelope();
    env->control = c;
    control_sends.push_back(p->mailbox->put_async(env, 16));
  }

  dht::CapabilityRecord RecordOf(const Peer& p, const Node& n, double load) const {
    const NodeTypeSpec& t = options().node_types[static_cast<std::size_t>(n.type)];
    dht::CapabilityRecord rec;
    rec.node = p.self.id;
    rec.address = p.address;
    rec.name = "node-" + std::to_string(n.id);
    rec.cores = t.cores;
    rec.memory_gb = t.memory_gb;
    rec.roles = options().roles;
    const int role = n.state == NodeState::kSwitching ? n.next_role : n.role;
    rec.role = options().roles[static_cast<std::size_t>(role)];
    rec.load = std::clamp(load, 0.0, 1.0);
    rec.spare_cores = t.cores * (1 - rec.load);
    rec.spare_memory_gb = t.memory_gb * (1 - rec.load);
    return rec;
  }
};

MeshDiscovery::MeshDiscovery(DiscoveryOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
}

MeshDiscovery::~MeshDiscovery() = default;

void MeshDiscovery::Start(sg4::Host* manager_host, const MeshModel& mesh,
                          const std::function<sg4::Host*(int)>& host_of) {
  impl_->NewPeer(kManagerAddress, -1, manager_host);
  // The initial nodes were there before the run: on the manager's seed list.
  for (const Node& n : mesh.nodes()) {
    if (n.state == NodeState::kStopped) continue;
    Peer* p = impl_->NewPeer(n.id + 1, n.id, host_of(n.id));
    p->initial = true;
    p->ready_at = n.ready_at;
    (void)p->publisher->Update(impl_->RecordOf(*p, n, 0));
    if (impl_->cache.size() <= static_cast<std::size_t>(n.id)) impl_->cache.resize(n.id + 1);
    impl_->cache[static_cast<std::size_t>(n.id)] = CachedRecord{n.role, options_.ttl};
  }
  Sync(mesh, host_of, 0);
}

void MeshDiscovery::Sync(const MeshModel& mesh, const std::function<sg4::Host*(int)>& host_of,
                         Seconds now) {
  Impl& im = *impl_;
  std::erase_if(im.control_sends, [](const sg4::CommPtr& c) { return c->test(); });
  const std::vector<Node>& nodes = mesh.nodes();
  discovered_.assign(nodes.size(), 0);
  for (const Node& n : nodes) {
    Peer* p = im.PeerAt(n.id + 1);
    const bool up = n.state == NodeState::kReady || n.state == NodeState::kSwitching ||
                    n.state == NodeState::kDraining;
    if (p == nullptr) {
      if (!up) continue;
      p = im.NewPeer(n.id + 1, n.id, host_of(n.id));
      p->ready_at = n.ready_at;
    } else if (!up) {
      if (!p->leave_sent) {
        im.SendControl(p, n.state == NodeState::kFailed ? Control::kCrash : Control::kLeave);
        p->leave_sent = true;
      }
      // The manager cannot tell a crashed node from a live one until its
      // record expires: it stays routable (and what it is sent is lost).
      if (n.state == NodeState::kFailed)
        discovered_[static_cast<std::size_t>(n.id)] = Known(n, now);
      continue;
    }
    const double dt = options_.control_interval;
    const double load = now > 0 && n.speed > 0 ? n.served / (n.speed * dt) : 0;
    const dht::CapabilityRecord rec = im.RecordOf(*p, n, load);
    const bool role_changed = p->publisher->record().role != rec.role;
    (void)p->publisher->Update(rec);
    if (role_changed && p->published_role >= 0) im.SendControl(p, Control::kRepublish);
    discovered_[static_cast<std::size_t>(n.id)] = Known(n, now);
  }
}

char MeshDiscovery::Known(const Node& n, Seconds now) const {
  // The manager's cached record is unexpired and names the node's current role.
  if (static_cast<std::size_t>(n.id) >= impl_->cache.size()) return 0;
  const CachedRecord& c = impl_->cache[static_cast<std::size_t>(n.id)];
  const int role = n.state == NodeState::kSwitching ? n.next_role : n.role;
  return c.role == role && c.expires > now ? 1 : 0;
}

void MeshDiscovery::AppendLinks(const std::vector<std::int32_t>& node_ids,
                                NodeSnapshots* out) const {
  for (std::int32_t id : node_ids) {
    const Peer* p = impl_->PeerAt(id + 1);
    if (p == nullptr || !p->accepting || !p->node->joined()) continue;
    int kept = 0;
    for (const Contact& c :
         p->node->RoutingContacts(static_cast<std::size_t>(options_.max_links_per_node) + 1)) {
      if (c.address == kManagerAddress) continue;
      out->link_from.push_back(id);
      out->link_to.push_back(c.address - 1);
      if (++kept == options_.max_links_per_node) break;
    }
  }
}

}  // namespace meshtwin
