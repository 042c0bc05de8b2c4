// The DHT experiment on SimGrid; the design and its reasons are in the header.
// SimGrid runs one actor at a time in one OS thread, so the world below is
// shared by the host actors without locking.
#include "sim/dht_simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <simgrid/s4u.hpp>

#include "twin/dht/dht.h"

namespace sg4 = simgrid::s4u;

namespace meshtwin {
namespace {

using dht::Address;
using dht::Contact;
using dht::Effects;
using dht::Key;
using dht::Message;
using dht::OpKind;
using dht::OpResult;

constexpr int kDefaultMaxHosts = 1000;
// Past this many actors the kernel's 65,530 memory mappings run out with
// guard pages (two mappings per actor).
constexpr int kMaxActorsWithGuardPages = 30000;
// A join that failed is tried again by a fresh node this much later.
constexpr Seconds kJoinRetryDelay = 1;

std::uint64_t Mix(std::uint64_t x) {  // SplitMix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A message on its way from one host actor to another. Envelopes are
// recycled (the pool owns them all), so a message in flight when the run ends
// is freed with the pool.
struct Envelope {
  Message message;
};

class EnvelopePool {
 public:
  Envelope* Take() {
    if (free_.empty()) {
      all_.push_back(std::make_unique<Envelope>());
      return all_.back().get();
    }
    Envelope* e = free_.back();
    free_.pop_back();
    return e;
  }
  void Give(Envelope* e) { free_.push_back(e); }

 private:
  std::vector<std::unique_ptr<Envelope>> all_;
  std::vector<Envelope*> free_;
};

struct NodeSlot {
  std::unique_ptr<dht::Node> node;  // null once gone
  int host = 0;
  int position = 0;  // index in its host's node list
  bool alive = false;
  bool joined = false;
  bool replacement = false;            // joined the running DHT (churn), not in the join phase
  std::int32_t live_index = -1;        // in World::live_joined_
  std::vector<std::uint64_t> lookups;  // the experiment's lookups in flight at this node
};

enum class EventKind : std::uint8_t { kTimer, kJoin, kLookup, kChurn };

struct HostEvent {
  Seconds at;
  std::uint64_t seq;  // FIFO among equal times: determinism
  EventKind kind;
  Address node;
  std::uint64_t token;
  bool operator>(const HostEvent& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

struct HostSlot {
  sg4::Host* host = nullptr;
  sg4::Mailbox* mailbox = nullptr;
  std::vector<Address> nodes;  // the node at each position (replacements take the place)
  std::priority_queue<HostEvent, std::vector<HostEvent>, std::greater<>> events;
  std::uint64_t seq = 0;
  std::mt19937_64 rng;
  // The host actor's receive, then its sends. As activities: Comm::wait_any_for
  // would copy the vector, with a dynamic cast per element, at every wait.
  std::vector<sg4::ActivityPtr>* comms = nullptr;
  // What the node being served asked for. Per host, not shared: an actor
  // yields to the others at every SimGrid call (each send), mid-way through.
  Effects fx;
};

class World {
 public:
  explicit World(const DhtExperiment& e)
      : e_(e),
        kademlia_(e.protocol == "kademlia"),
        t_measure_(e.join_spread + e.settle),
        t_end_(t_measure_ + e.duration),
        t_stop_(t_end_ + e.drain) {}

  const DhtExperiment& experiment() const { return e_; }
  Seconds t_measure() const { return t_measure_; }
  Seconds t_stop() const { return t_stop_; }
  std::vector<HostSlot>& hosts() { return hosts_; }

  absl::Status Populate(int host_count);
  void BuildPlatform();
  void RunHost(int h);
  void StartMeasuring();
  DhtReport Report() const;

 private:
  Address NewNode(int host, int position, Seconds join_at, bool replacement);
  void Push(int h, Seconds at, EventKind kind, Address node, std::uint64_t token) {
    HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
    hs.events.push(HostEvent{at, hs.seq++, kind, node, token});
  }
  Seconds NextWake(const HostSlot& hs) const;
  void FireDue(int h, Seconds now);
  void Fire(int h, const HostEvent& ev, Seconds now);
  void IssueLookup(int h, Seconds now);
  void Churn(int h, Seconds now);
  void Deliver(int h, Envelope* env, Seconds now);
  void Apply(int h, Address from, Seconds now);
  void Send(int h, Message& m, Seconds now);
  void Done(int h, Address at, OpResult& r, Seconds now);
  void Kill(Address a);
  void AddLive(Address a);
  void RemoveLive(Address a);
  Contact Bootstrap(int h);
  Key TrueOwner(Key key) const;
  Seconds Exponential(int h, double rate) {
    return std::exponential_distribution<double>(rate)(hosts_[static_cast<std::size_t>(h)].rng);
  }

  const DhtExperiment& e_;
  const bool kademlia_;
  const Seconds t_measure_, t_end_, t_stop_;
  std::mt19937_64 ids_rng_{0};
  std::vector<NodeSlot> nodes_;  // by address
  std::vector<HostSlot> hosts_;
  std::vector<Address> live_joined_;
  bool truth_ready_ = false;
  std::vector<Key> sorted_ids_;  // live joined ids, ascending, once measuring
  std::unordered_set<Key> used_ids_;
  Address first_node_ = -1;
  EnvelopePool pool_;

  // Tallies.
  int joined_at_start_ = 0;
  std::int64_t issued_ = 0, abandoned_ = 0, completed_ = 0, successful_ = 0;
  std::int64_t messages_ = 0, measured_messages_ = 0, lost_ = 0, to_dead_ = 0;
  std::int64_t joins_ = 0, leaves_ = 0, crashes_ = 0, join_failures_ = 0;
  std::vector<int> hops_;
  std::vector<double> latencies_;
};

absl::Status World::Populate(int host_count) {
  ids_rng_.seed(Mix(e_.seed));
  hosts_.resize(static_cast<std::size_t>(host_count));
  for (int h = 0; h < host_count; ++h) {
    hosts_[static_cast<std::size_t>(h)].rng.seed(
        Mix(e_.seed ^ Mix(static_cast<std::uint64_t>(h) + 1)));
  }
  nodes_.reserve(static_cast<std::size_t>(e_.nodes));
  std::uniform_real_distribution<double> join_time(0, e_.join_spread);
  for (int i = 0; i < e_.nodes; ++i) {
    const int h = i % host_count;
    const Seconds at = i == 0 ? 0 : join_time(ids_rng_);
    NewNode(h, i / host_count, at, /*replacement=*/false);
    if (!nodes_.back().node) {
      std::string what = "the ";
      what += e_.protocol;
      what += " core is not available (its factory returned no node)";
      return absl::InternalError(what);
    }
  }
  // Lookups and churn: one Poisson stream per host for all its nodes.
  for (int h = 0; h < host_count; ++h) {
    const auto n = static_cast<double>(hosts_[static_cast<std::size_t>(h)].nodes.size());
    if (e_.lookup_rate > 0)
      Push(h, t_measure_ + Exponential(h, e_.lookup_rate / 60 * n), EventKind::kLookup, -1, 0);
    if (e_.churn > 0)
      Push(h, t_measure_ + Exponential(h, e_.churn / 60 * n), EventKind::kChurn, -1, 0);
  }
  return absl::OkStatus();
}

Address World::NewNode(int host, int position, Seconds join_at, bool replacement) {
  Key id;
  do {
    id = ids_rng_();
  } while (!used_ids_.insert(id).second);
  const auto address = static_cast<Address>(nodes_.size());
  NodeSlot slot;
  const std::uint64_t seed = Mix(e_.seed ^ Mix(static_cast<std::uint64_t>(address) + 0x51ed));
  if (kademlia_) {
    dht::KademliaOptions o;
    o.seed = seed;
    slot.node = dht::MakeKademliaNode(Contact{id, address}, o);
  } else {
    dht::ChordOptions o;
    o.seed = seed;
    slot.node = dht::MakeChordNode(Contact{id, address}, o);
  }
  slot.host = host;
  slot.position = position;
  slot.alive = slot.node != nullptr;
  slot.replacement = replacement;
  nodes_.push_back(std::move(slot));
  auto& list = hosts_[static_cast<std::size_t>(host)].nodes;
  if (static_cast<std::size_t>(position) >= list.size())
    list.resize(static_cast<std::size_t>(position) + 1, -1);
  list[static_cast<std::size_t>(position)] = address;
  if (first_node_ < 0) first_node_ = address;
  Push(host, join_at, EventKind::kJoin, address, 0);
  return address;
}

void World::BuildPlatform() {
  sg4::NetZone* zone = sg4::create_star_zone("dht");
  // Nodes on one host (and a node writing to itself) see the same delay as
  // any other pair: grouping nodes on hosts is the simulator's economy, not
  // a topology. One shared, unshared-bandwidth link does it for every host.
  sg4::Link* loopback = zone->create_link("loopback", e_.bandwidth)
                            ->set_latency(2 * e_.link_latency)
                            ->set_sharing_policy(sg4::Link::SharingPolicy::FATPIPE);
  for (std::size_t h = 0; h < hosts_.size(); ++h) {
    // Built by appending: GCC 12 warns falsely (-Wrestrict) on "h" + std::to_string(h).
    std::string name = "h";
    name += std::to_string(h);
    std::string link_name = name;
    link_name += "-link";
    sg4::Host* host = zone->create_host(name, 1e9);
    sg4::Link* link = zone->create_link(link_name, e_.bandwidth)->set_latency(e_.link_latency);
    if (!e_.shared_links) link->set_sharing_policy(sg4::Link::SharingPolicy::FATPIPE);
    zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr,
                    {sg4::LinkInRoute(link, sg4::LinkInRoute::Direction::NONE)}, true);
    zone->add_route(host->get_netpoint(), host->get_netpoint(), nullptr, nullptr,
                    {sg4::LinkInRoute(loopback)}, false);
    hosts_[h].host = host;
    hosts_[h].mailbox = sg4::Mailbox::by_name(name);
  }
  zone->seal();
}

// The host's actor: a plain loop in simulated time. It waits for its mailbox
// or its own sends (reaping them keeps SimGrid's lists short), with a timeout
// to the next event of its nodes.
void World::RunHost(int h) {
  HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
  hs.mailbox->set_receiver(sg4::Actor::self());
  Envelope* incoming = nullptr;
  std::vector<sg4::ActivityPtr> comms;
  comms.emplace_back(hs.mailbox->get_async<Envelope>(&incoming));
  hs.comms = &comms;
  for (;;) {
    const Seconds now = sg4::Engine::get_clock();
    FireDue(h, now);
    if (now >= t_stop_) break;
    const Seconds wake = std::min(NextWake(hs), t_stop_);
    const ssize_t i = sg4::Activity::wait_any_for(comms, wake - now);
    if (i < 0) continue;  // time for the next event
    if (i == 0) {
      Envelope* env = incoming;
      comms[0] = hs.mailbox->get_async<Envelope>(&incoming);
      Deliver(h, env, sg4::Engine::get_clock());
    } else {
      comms[static_cast<std::size_t>(i)] = std::move(comms.back());
      comms.pop_back();
    }
  }
  for (const sg4::ActivityPtr& c : comms) c->cancel();
  hs.comms = nullptr;
  hs.mailbox->set_receiver(nullptr);
}

Seconds World::NextWake(const HostSlot& hs) const {
  if (hs.events.empty()) return t_stop_;
  const Seconds at = hs.events.top().at;
  if (!(e_.timer_slack > 0)) return at;
  const Seconds q = std::ceil(at / e_.timer_slack) * e_.timer_slack;
  return q < at ? at : q;
}

void World::FireDue(int h, Seconds now) {
  HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
  while (!hs.events.empty() && hs.events.top().at <= now) {
    const HostEvent ev = hs.events.top();
    hs.events.pop();
    Fire(h, ev, now);
  }
}

void World::Fire(int h, const HostEvent& ev, Seconds now) {
  switch (ev.kind) {
    case EventKind::kTimer: {
      NodeSlot& n = nodes_[static_cast<std::size_t>(ev.node)];
      if (!n.alive) return;
      n.node->OnTimer(now, ev.token, &hosts_[static_cast<std::size_t>(h)].fx);
      return Apply(h, ev.node, now);
    }
    case EventKind::kJoin: {
      NodeSlot& n = nodes_[static_cast<std::size_t>(ev.node)];
      if (!n.alive) return;
      n.node->Join(now, ev.node == first_node_ ? Contact{} : Bootstrap(h),
                   &hosts_[static_cast<std::size_t>(h)].fx);
      return Apply(h, ev.node, now);
    }
    case EventKind::kLookup: {
      if (now >= t_end_) return;
      IssueLookup(h, now);
      const auto n = static_cast<double>(hosts_[static_cast<std::size_t>(h)].nodes.size());
      return Push(h, now + Exponential(h, e_.lookup_rate / 60 * n), EventKind::kLookup, -1, 0);
    }
    case EventKind::kChurn: {
      if (now >= t_end_) return;
      Churn(h, now);
      const auto n = static_cast<double>(hosts_[static_cast<std::size_t>(h)].nodes.size());
      return Push(h, now + Exponential(h, e_.churn / 60 * n), EventKind::kChurn, -1, 0);
    }
  }
}

void World::IssueLookup(int h, Seconds now) {
  HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
  const Address a = hs.nodes[hs.rng() % hs.nodes.size()];
  NodeSlot& n = nodes_[static_cast<std::size_t>(a)];
  const Key key = hs.rng();
  if (!n.alive || !n.joined) return;  // a node still joining has nobody to ask for
  ++issued_;
  const std::uint64_t op = n.node->Lookup(now, key, &hs.fx);
  n.lookups.push_back(op);
  Apply(h, a, now);
}

void World::Churn(int h, Seconds now) {
  HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
  const auto position = static_cast<int>(hs.rng() % hs.nodes.size());
  const Address victim = hs.nodes[static_cast<std::size_t>(position)];
  const bool leave = std::uniform_real_distribution<double>(0, 1)(hs.rng) < e_.leave_fraction;
  NodeSlot& v = nodes_[static_cast<std::size_t>(victim)];
  if (v.alive) {
    if (leave) {
      ++leaves_;
      v.node->Leave(now, &hs.fx);
      Apply(h, victim, now);
    } else {
      ++crashes_;
    }
    Kill(victim);
  }
  NewNode(h, position, now, /*replacement=*/true);
}

void World::Deliver(int h, Envelope* env, Seconds now) {
  const Address to = env->message.to;
  NodeSlot& n = nodes_[static_cast<std::size_t>(to)];
  if (n.alive && n.host == h) {
    n.node->OnMessage(now, env->message, &hosts_[static_cast<std::size_t>(h)].fx);
    Apply(h, to, now);
  }
  pool_.Give(env);
}

void World::Apply(int h, Address from, Seconds now) {
  Effects& fx = hosts_[static_cast<std::size_t>(h)].fx;
  for (const dht::TimerRequest& t : fx.timers)
    Push(h, std::max(t.at, now), EventKind::kTimer, from, t.token);
  for (OpResult& r : fx.done) Done(h, from, r, now);
  // Sends last: each one lets the other actors run.
  for (Message& m : fx.send) Send(h, m, now);
  fx.Clear();
}

void World::Send(int h, Message& m, Seconds now) {
  ++messages_;
  if (now >= t_measure_ && now < t_end_) ++measured_messages_;
  if (m.to < 0 || static_cast<std::size_t>(m.to) >= nodes_.size() ||
      !nodes_[static_cast<std::size_t>(m.to)].alive) {
    ++to_dead_;  // the sender's request times out, as it would
    return;
  }
  HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
  if (e_.loss > 0 && std::uniform_real_distribution<double>(0, 1)(hs.rng) < e_.loss) {
    ++lost_;
    return;
  }
  Envelope* env = pool_.Take();
  env->message = std::move(m);
  const std::size_t size = env->message.WireSize();
  sg4::Mailbox* to =
      hosts_[static_cast<std::size_t>(nodes_[static_cast<std::size_t>(env->message.to)].host)]
          .mailbox;
  hs.comms->emplace_back(to->put_async(env, size));
}

void World::Done(int h, Address at, OpResult& r, Seconds now) {
  NodeSlot& n = nodes_[static_cast<std::size_t>(at)];
  if (r.kind == OpKind::kJoin) {
    if (!n.alive || n.joined) return;
    if (r.ok) {
      n.joined = true;
      AddLive(at);
      if (n.replacement && now >= t_measure_) ++joins_;
      return;
    }
    // Try again from a fresh node in the same place.
    ++join_failures_;
    const int position = n.position;
    const bool replacement = n.replacement;
    Kill(at);
    NewNode(h, position, now + kJoinRetryDelay, replacement);
    return;
  }
  if (r.kind != OpKind::kLookup) return;
  auto it = std::find(n.lookups.begin(), n.lookups.end(), r.op);
  if (it == n.lookups.end()) return;  // not one of the experiment's
  n.lookups.erase(it);
  ++completed_;
  if (r.ok && r.owner.valid() && !sorted_ids_.empty() && r.owner.id == TrueOwner(r.key)) {
    ++successful_;
    hops_.push_back(r.hops);
    latencies_.push_back(r.finished - r.started);
  }
}

void World::Kill(Address a) {
  NodeSlot& n = nodes_[static_cast<std::size_t>(a)];
  if (!n.alive) return;
  if (n.joined) RemoveLive(a);
  abandoned_ += static_cast<std::int64_t>(n.lookups.size());
  n.lookups.clear();
  n.alive = false;
  n.joined = false;
  n.node.reset();
}

void World::AddLive(Address a) {
  NodeSlot& n = nodes_[static_cast<std::size_t>(a)];
  n.live_index = static_cast<std::int32_t>(live_joined_.size());
  live_joined_.push_back(a);
  if (truth_ready_) {
    const Key id = n.node->self().id;
    sorted_ids_.insert(std::lower_bound(sorted_ids_.begin(), sorted_ids_.end(), id), id);
  }
}

void World::RemoveLive(Address a) {
  NodeSlot& n = nodes_[static_cast<std::size_t>(a)];
  const auto i = static_cast<std::size_t>(n.live_index);
  live_joined_[i] = live_joined_.back();
  nodes_[static_cast<std::size_t>(live_joined_[i])].live_index = static_cast<std::int32_t>(i);
  live_joined_.pop_back();
  n.live_index = -1;
  if (truth_ready_) {
    const Key id = n.node->self().id;
    sorted_ids_.erase(std::lower_bound(sorted_ids_.begin(), sorted_ids_.end(), id));
  }
}

Contact World::Bootstrap(int h) {
  if (live_joined_.empty()) {
    const NodeSlot& first = nodes_[static_cast<std::size_t>(first_node_)];
    return first.alive ? first.node->self() : Contact{};
  }
  HostSlot& hs = hosts_[static_cast<std::size_t>(h)];
  const Address b = live_joined_[hs.rng() % live_joined_.size()];
  return nodes_[static_cast<std::size_t>(b)].node->self();
}

void World::StartMeasuring() {
  joined_at_start_ = static_cast<int>(live_joined_.size());
  sorted_ids_.clear();
  for (Address a : live_joined_)
    sorted_ids_.push_back(nodes_[static_cast<std::size_t>(a)].node->self().id);
  std::sort(sorted_ids_.begin(), sorted_ids_.end());
  truth_ready_ = true;
}

// The live joined node responsible for `key`: O(log N) on the sorted ids.
Key World::TrueOwner(Key key) const {
  const std::vector<Key>& v = sorted_ids_;
  if (!kademlia_) {  // Chord: the first id at or after the key, round the ring
    auto it = std::lower_bound(v.begin(), v.end(), key);
    return it == v.end() ? v.front() : *it;
  }
  // Kademlia: the XOR-closest id. Ids in [lo, hi) share the bits above
  // `bit`, so within the range those with the bit clear come first; follow
  // the key's bit while some id has it.
  std::size_t lo = 0, hi = v.size();
  for (int bit = 63; bit >= 0 && hi - lo > 1; --bit) {
    const Key mask = Key{1} << bit;
    const auto mid =
        static_cast<std::size_t>(std::partition_point(v.begin() + static_cast<std::ptrdiff_t>(lo),
                                                      v.begin() + static_cast<std::ptrdiff_t>(hi),
                                                      [mask](Key x) { return (x & mask) == 0; }) -
                                 v.begin());
    if (key & mask) {
      if (mid < hi) lo = mid;
    } else if (mid > lo) {
      hi = mid;
    }
  }
  return v[lo];
}

double Percentile99(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(v.size()))) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

DhtReport World::Report() const {
  DhtReport r;
  r.protocol = e_.protocol;
  r.nodes = e_.nodes;
  r.hosts = static_cast<int>(hosts_.size());
  r.seed = e_.seed;
  r.duration = e_.duration;
  r.join_phase_s = t_measure_;
  r.joined_at_start = joined_at_start_;
  r.lookups = issued_ - abandoned_;
  r.lookups_completed = completed_;
  r.successful_lookups = successful_;
  r.success_rate =
      r.lookups > 0 ? static_cast<double>(successful_) / static_cast<double>(r.lookups) : 1;
  const std::vector<double> hops(hops_.begin(), hops_.end());
  r.hops_mean = Mean(hops);
  r.hops_p99 = Percentile99(hops);
  r.latency_mean_s = Mean(latencies_);
  r.latency_p99_s = Percentile99(latencies_);
  r.messages = messages_;
  r.messages_lost = lost_;
  r.messages_to_dead = to_dead_;
  r.messages_per_node_s = e_.duration > 0 ? static_cast<double>(measured_messages_) /
                                                (static_cast<double>(e_.nodes) * e_.duration)
                                          : 0;
  r.joins = joins_;
  r.leaves = leaves_;
  r.crashes = crashes_;
  r.join_failures = join_failures_;
  r.simulated_s = t_stop_;
  return r;
}

// Peak resident set of this process, MiB (VmHWM); 0 where /proc is missing.
double PeakRssMib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;
  }
  return 0;
}

}  // namespace

absl::Status ValidateDhtExperiment(const DhtExperiment& e) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (e.protocol != "chord" && e.protocol != "kademlia") {
    return bad("protocol '" + e.protocol + "' is not one of chord, kademlia");
  }
  if (e.nodes < 1 || e.nodes > 10'000'000) return bad("nodes must be between 1 and 10,000,000");
  if (!(e.duration > 0) || !std::isfinite(e.duration)) return bad("duration must be positive");
  if (!(e.lookup_rate >= 0) || !std::isfinite(e.lookup_rate))
    return bad("lookup rate must be 0 or more");
  if (!(e.churn >= 0 && e.churn <= 1))
    return bad("churn must be between 0 and 1 (a fraction of the nodes per minute)");
  if (!(e.leave_fraction >= 0 && e.leave_fraction <= 1))
    return bad("leave fraction must be between 0 and 1");
  if (!(e.loss >= 0 && e.loss < 1)) return bad("loss must be at least 0 and below 1");
  if (!(e.link_latency >= 0) || !std::isfinite(e.link_latency))
    return bad("link latency must be 0 or more");
  if (!(e.bandwidth > 0) || !std::isfinite(e.bandwidth)) return bad("bandwidth must be positive");
  if (!(e.join_spread >= 0) || !std::isfinite(e.join_spread))
    return bad("join spread must be 0 or more");
  if (!(e.settle >= 0) || !std::isfinite(e.settle)) return bad("settle time must be 0 or more");
  if (!(e.drain >= 0) || !std::isfinite(e.drain)) return bad("drain time must be 0 or more");
  if (e.hosts < 0) return bad("hosts must be 0 (automatic) or more");
  if (!(e.timer_slack >= 0) || !std::isfinite(e.timer_slack))
    return bad("timer slack must be 0 or more");
  return absl::OkStatus();
}

absl::StatusOr<DhtReport> RunDhtExperiment(const DhtExperiment& e,
                                           const std::function<void(double)>& on_progress) {
  MESHTWIN_RETURN_IF_ERROR(ValidateDhtExperiment(e));
  const auto wall_start = std::chrono::steady_clock::now();
  const int host_count = std::min(e.nodes, e.hosts > 0 ? e.hosts : kDefaultMaxHosts);

  std::vector<std::string> args = {"meshtwin", "--log=root.thres:warning",
                                   // Latency is the sum of the route's link latencies, with
                                   // no TCP correction factors; no reverse (ACK) flows.
                                   "--cfg=network/model:CM02", "--cfg=network/crosstraffic:0"};
  if (host_count > kMaxActorsWithGuardPages) {
    args.emplace_back("--cfg=contexts/stack-size:64");
    args.emplace_back("--cfg=contexts/guard-size:0");
  } else {
    args.emplace_back("--cfg=contexts/stack-size:256");
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);

  World world(e);
  MESHTWIN_RETURN_IF_ERROR(world.Populate(host_count));
  try {
    sg4::Engine engine(&argc, argv.data());
    world.BuildPlatform();
    for (int h = 0; h < host_count; ++h) {
      sg4::Host* host = world.hosts()[static_cast<std::size_t>(h)].host;
      sg4::Actor::create(host->get_name(), host, [&world, h] { world.RunHost(h); });
    }
    // The referee: starts the judging when the join phase ends, and reports progress.
    sg4::Actor::create("referee", world.hosts()[0].host, [&world, &on_progress] {
      constexpr int kSteps = 200;
      bool measuring = false;
      for (int k = 1; k <= kSteps; ++k) {
        const Seconds next = world.t_stop() * k / kSteps;
        if (!measuring && next >= world.t_measure()) {
          sg4::this_actor::sleep_until(world.t_measure());
          world.StartMeasuring();
          measuring = true;
        }
        sg4::this_actor::sleep_until(next);
        if (on_progress) on_progress(static_cast<double>(k) / kSteps);
      }
    });
    engine.run();
  } catch (const std::exception& ex) {
    return absl::InternalError(std::string("DHT simulation failed: ") + ex.what());
  }
  DhtReport report = world.Report();
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  report.peak_rss_mib = PeakRssMib();
  return report;
}

}  // namespace meshtwin
