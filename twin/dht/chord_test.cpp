// Chord through the in-memory transport, checked against its global view of
// who is alive (MemoryNetwork::TrueOwner).
#include "twin/dht/chord.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "twin/dht/dht.h"
#include "twin/dht/memory_network.h"

namespace meshtwin::dht {

// Readable failures ("id@address" rather than the struct's bytes).
static void PrintTo(const Contact& c, std::ostream* os) { *os << c.id << "@" << c.address; }

namespace {

using Metric = MemoryNetwork::Metric;

MemoryNetwork::Factory ChordFactory(const ChordOptions& options) {
  return [options](Contact c) { return MakeChordNode(c, options); };
}

const ChordNode& Chord(MemoryNetwork& net, Address a) {
  return dynamic_cast<const ChordNode&>(*net.node(a));
}

bool Usable(MemoryNetwork& net, Address a) { return net.alive(a) && net.node(a)->joined(); }

// A random live, joined node (rejection sampling over all addresses).
Address RandomMember(MemoryNetwork& net, std::mt19937_64& rng) {
  for (;;) {
    const auto a = static_cast<Address>(rng() % net.size());
    if (Usable(net, a)) return a;
  }
}

// Adds `n` nodes with random ids, one every `spacing` seconds, each joining
// through a random node already in the ring (the first starts it).
void GrowRing(MemoryNetwork& net, int n, std::mt19937_64& rng, Seconds spacing) {
  for (int i = 0; i < n; ++i) {
    const Address a = net.AddNode(rng());
    net.Join(a, net.size() == 1 ? -1 : RandomMember(net, rng));
    net.RunUntil(net.now() + spacing);
  }
}

// Tracks the lookups a test issues and judges each one when it completes,
// against the true owner at that moment.
class LookupJudge {
 public:
  explicit LookupJudge(MemoryNetwork& net) : net_(net) {}

  void Lookup(Address from, Key key) { issued_[net_.Lookup(from, key)] = key; }
  // Judges what completed since the last call.
  void Collect() {
    const auto& done = net_.completed();
    for (; cursor_ < done.size(); ++cursor_) {
      const MemoryNetwork::Completed& c = done[cursor_];
      const std::uint64_t op =
          (static_cast<std::uint64_t>(static_cast<std::uint32_t>(c.at)) << 40) ^ c.result.op;
      auto it = issued_.find(op);
      if (it == issued_.end() || c.result.kind != OpKind::kLookup) continue;
      ++completed_;
      if (c.result.ok) ++ok_;
      if (c.result.ok && c.result.owner == net_.TrueOwner(it->second)) {
        ++correct_;
        hops_ += c.result.hops;
      } else if (c.result.ok && !net_.alive(c.result.owner.address)) {
        ++dead_owner_;
      }
    }
  }
  // Runs to `t` in small steps, judging as it goes.
  void RunUntil(Seconds t, Seconds step = 0.05) {
    while (net_.now() < t) {
      net_.RunUntil(std::min(t, net_.now() + step));
      Collect();
    }
  }

  int issued() const { return static_cast<int>(issued_.size()); }
  int completed() const { return completed_; }
  int ok() const { return ok_; }
  int correct() const { return correct_; }
  double correct_rate() const { return issued_.empty() ? 0 : double(correct_) / issued(); }
  int dead_owner() const { return dead_owner_; }  // wrong answers naming a crashed node
  double mean_hops() const { return correct_ == 0 ? 0 : double(hops_) / correct_; }

 private:
  MemoryNetwork& net_;
  std::map<std::uint64_t, Key> issued_;
  std::size_t cursor_ = 0;
  int completed_ = 0, ok_ = 0, correct_ = 0, dead_owner_ = 0;
  long long hops_ = 0;
};

// `count` lookups from random members for random keys, `gap` seconds apart,
// then `tail` seconds for the last ones to finish.
LookupJudge RandomLookups(MemoryNetwork& net, std::mt19937_64& rng, int count, Seconds gap = 0.01,
                          Seconds tail = 30) {
  LookupJudge judge(net);
  for (int i = 0; i < count; ++i) {
    judge.Lookup(RandomMember(net, rng), rng());
    judge.RunUntil(net.now() + gap);
  }
  judge.RunUntil(net.now() + tail);
  return judge;
}

// Every live node's successor and predecessor are its neighbours by id.
void ExpectRingOrderedById(MemoryNetwork& net) {
  std::vector<Contact> live = net.LiveJoined();
  std::sort(live.begin(), live.end(),
            [](const Contact& a, const Contact& b) { return a.id < b.id; });
  for (std::size_t i = 0; i < live.size(); ++i) {
    const Contact next = live[(i + 1) % live.size()];
    const Contact prev = live[(i + live.size() - 1) % live.size()];
    const ChordNode& n = Chord(net, live[i].address);
    EXPECT_EQ(n.successor(), next) << "node " << i;
    EXPECT_EQ(n.predecessor(), prev) << "node " << i;
  }
}

// "v<i>" (built by appending: GCC 12 warns falsely on "v" + std::to_string).
std::string Label(std::size_t i) {
  std::string s = "v";
  s += std::to_string(i);
  return s;
}

const OpResult& Result(MemoryNetwork& net, std::uint64_t op) {
  const MemoryNetwork::Completed* c = net.Find(op);
  EXPECT_NE(c, nullptr);
  static const OpResult kMissing;
  return c != nullptr ? c->result : kMissing;
}

std::vector<std::string> Data(const OpResult& r) {
  std::vector<std::string> out;
  for (const StoredValue& v : r.values) out.push_back(v.data);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ChordTest, SingleNodeOwnsEverything) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  const Address a = net.AddNode(HashKey("alone"));
  net.Join(a, -1);
  ASSERT_EQ(net.completed().size(), 1u);
  EXPECT_EQ(net.completed()[0].result.kind, OpKind::kJoin);
  EXPECT_TRUE(net.completed()[0].result.ok);
  net.RunUntil(60);

  const Contact self = net.node(a)->self();
  EXPECT_EQ(Chord(net, a).successor(), self);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20; ++i) {
    const OpResult& r = Result(net, net.Lookup(a, rng()));
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.owner, self);
    EXPECT_EQ(r.hops, 0);
  }
  EXPECT_TRUE(Result(net, net.Put(a, 42, "x", 100)).ok);
  EXPECT_EQ(Data(Result(net, net.Get(a, 42))), std::vector<std::string>{"x"});
}

TEST(ChordTest, TwoAndThreeNodesFormARingOrderedById) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  const Key kA = 100, kB = Key{1} << 63, kC = Key{1} << 62;  // ring order: a, c, b
  const Address a = net.AddNode(kA);
  const Address b = net.AddNode(kB);
  net.Join(a, -1);
  net.Join(b, a);
  net.RunUntil(30);
  EXPECT_EQ(Chord(net, a).successor().id, kB);
  EXPECT_EQ(Chord(net, a).predecessor().id, kB);
  EXPECT_EQ(Chord(net, b).successor().id, kA);
  EXPECT_EQ(Chord(net, b).predecessor().id, kA);

  const Address c = net.AddNode(kC);
  net.Join(c, b);
  net.RunUntil(60);
  ExpectRingOrderedById(net);
  EXPECT_EQ(Chord(net, a).successor_list(),
            (std::vector<Contact>{net.node(c)->self(), net.node(b)->self()}));
  // Keys just past each node belong to the next one; the ring wraps at 2^64.
  const std::vector<std::pair<Key, Key>> cases = {
      {50, kA}, {kA, kA}, {kA + 1, kC}, {kC, kC}, {kC + 1, kB}, {kB + 1, kA}, {~Key{0}, kA}};
  for (Address from : {a, b, c}) {
    for (const auto& [key, owner] : cases) {
      const std::uint64_t op = net.Lookup(from, key);
      net.RunUntil(net.now() + 1);
      const OpResult& r = Result(net, op);
      EXPECT_TRUE(r.ok);
      EXPECT_EQ(r.owner.id, owner) << "from " << from << " key " << key;
    }
  }
}

TEST(ChordTest, TwoHundredNodesJoiningOneByOneRouteEveryLookupToTheTrueOwner) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    const Address a = net.AddNode(rng());
    net.Join(a, i == 0 ? -1 : RandomMember(net, rng));
    net.RunUntil(net.now() + 1);
    ASSERT_TRUE(net.node(a)->joined()) << "node " << i;
    // The join reports once the node has a successor: the one it had then.
    const auto& done = net.completed();
    auto join = std::find_if(done.begin(), done.end(), [&](const MemoryNetwork::Completed& c) {
      return c.at == a && c.result.kind == OpKind::kJoin;
    });
    ASSERT_NE(join, done.end());
    EXPECT_TRUE(join->result.ok);
    EXPECT_EQ(join->result.owner, i == 0 ? net.node(a)->self() : Chord(net, a).successor());
  }
  net.RunUntil(net.now() + 120);
  ExpectRingOrderedById(net);

  LookupJudge judge = RandomLookups(net, rng, 1000);
  EXPECT_EQ(judge.completed(), 1000);
  EXPECT_EQ(judge.correct(), 1000);
}

// A ring of `n` nodes, one joining every `spacing` seconds, then `settle`
// seconds of maintenance; returns the mean hops of 2,000 lookups (all must
// be right).
double MeanHopsAt(int n, Seconds spacing, Seconds settle) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(static_cast<std::uint64_t>(n));
  GrowRing(net, n, rng, spacing);
  net.RunUntil(net.now() + settle);
  ExpectRingOrderedById(net);
  LookupJudge judge = RandomLookups(net, rng, 2000);
  EXPECT_EQ(judge.correct(), 2000);
  std::printf("[ chord    ] N = %d: mean hops %.3f, 1/2 log2 N = %.3f, %llu messages\n", n,
              judge.mean_hops(), 0.5 * std::log2(n),
              static_cast<unsigned long long>(net.messages_sent()));
  return judge.mean_hops();
}

TEST(ChordTest, ThousandsOfConcurrentJoinsConvergeToOneRing) {
  // 5,000 nodes in 5 s, each through a random node already in: most join a
  // ring that is not yet right, and the ring grows around them.
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(4);
  GrowRing(net, 5000, rng, 0.001);
  net.RunUntil(net.now() + 30);
  EXPECT_EQ(net.LiveJoined().size(), 5000u);
  ExpectRingOrderedById(net);
  LookupJudge judge = RandomLookups(net, rng, 1000);
  EXPECT_EQ(judge.correct(), 1000);
}

TEST(ChordTest, MeanHopsAtOneThousandNodesIsHalfLog2N) {
  const double half_log = 0.5 * std::log2(1000.0);
  EXPECT_NEAR(MeanHopsAt(1000, 0.05, 200), half_log, 0.2 * half_log);
}

TEST(ChordTest, MeanHopsAtTenThousandNodesIsHalfLog2N) {
  const double half_log = 0.5 * std::log2(10000.0);
  EXPECT_NEAR(MeanHopsAt(10000, 0.01, 150), half_log, 0.2 * half_log);
}

TEST(ChordTest, CrashingTenPercentOfNodesKeepsLookupsAndValues) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(5);
  GrowRing(net, 300, rng, 0.2);
  net.RunUntil(net.now() + 100);

  // 200 values from random publishers; remember who held each (owner and
  // its two successors, by the global view).
  std::vector<Contact> ring = net.LiveJoined();
  std::sort(ring.begin(), ring.end(),
            [](const Contact& a, const Contact& b) { return a.id < b.id; });
  auto holders = [&](Key key) {
    auto it = std::lower_bound(ring.begin(), ring.end(), key,
                               [](const Contact& c, Key k) { return c.id < k; });
    std::size_t i = static_cast<std::size_t>(it - ring.begin()) % ring.size();
    std::vector<Address> out;
    for (int r = 0; r < 3; ++r)
      out.push_back(ring[(i + static_cast<std::size_t>(r)) % ring.size()].address);
    return out;
  };
  std::vector<std::pair<Key, std::vector<Address>>> keys;
  for (int i = 0; i < 200; ++i) {
    const Key key = rng();
    const std::uint64_t op = net.Put(RandomMember(net, rng), key, Label(i), 3600);
    net.RunUntil(net.now() + 0.5);
    EXPECT_TRUE(Result(net, op).ok);
    keys.emplace_back(key, holders(key));
  }
  for (const auto& [key, held] : keys) EXPECT_EQ(net.TrueOwner(key).address, held[0]);

  std::set<Address> crashed;
  while (crashed.size() < 30) {
    const Address a = RandomMember(net, rng);
    crashed.insert(a);
    net.Crash(a);
  }
  net.RunUntil(net.now() + 60);  // a few stabilisation rounds

  LookupJudge judge = RandomLookups(net, rng, 1000);
  EXPECT_EQ(judge.correct(), 1000) << judge.ok() << " ok of " << judge.completed();

  int owner_crashed = 0, checked = 0, found = 0;
  std::vector<std::uint64_t> gets;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& held = keys[i].second;
    const auto dead =
        std::count_if(held.begin(), held.end(), [&](Address a) { return crashed.count(a); });
    if (dead == 3) continue;  // every copy gone: nothing could keep it
    if (crashed.count(held[0])) ++owner_crashed;
    ++checked;
    const std::uint64_t op = net.Get(RandomMember(net, rng), keys[i].first);
    net.RunUntil(net.now() + 10);
    const OpResult& r = Result(net, op);
    if (r.ok && Data(r) == std::vector<std::string>{Label(i)}) ++found;
  }
  EXPECT_GT(owner_crashed, 5);  // the replicas had something to do
  EXPECT_EQ(found, checked);

  // And the ring has re-replicated: every surviving value is on at least
  // `replicas` live nodes again.
  std::map<std::string, int> copies;
  for (std::size_t a = 0; a < net.size(); ++a) {
    if (!net.alive(static_cast<Address>(a))) continue;
    for (const StoredValue& v : net.node(static_cast<Address>(a))->StoredValues(net.now())) {
      ++copies[v.data];
    }
  }
  EXPECT_EQ(static_cast<int>(copies.size()), checked);
  for (const auto& [data, n] : copies) EXPECT_GE(n, 3) << data;
}

TEST(ChordTest, GetFallsBackToAReplicaWhenTheOwnerHasJustCrashed) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(8);
  GrowRing(net, 50, rng, 0.2);
  net.RunUntil(net.now() + 60);
  const Key key = HashKey("gpu:h100");
  const std::uint64_t put = net.Put(RandomMember(net, rng), key, "record", 600);
  net.RunUntil(net.now() + 1);
  ASSERT_TRUE(Result(net, put).ok);

  net.Crash(net.TrueOwner(key).address);  // no time for anyone to notice
  const std::uint64_t get = net.Get(RandomMember(net, rng), key);
  net.RunUntil(net.now() + 10);
  const OpResult& r = Result(net, get);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(Data(r), std::vector<std::string>{"record"});
  EXPECT_EQ(r.owner, net.TrueOwner(key));  // the answer came from the new owner ...
  EXPECT_GE(r.finished - r.started, ChordOptions{}.rpc_timeout);  // ... after the old one timed out
}

TEST(ChordTest, GracefulLeaveHandsValuesToTheSuccessor) {
  // One copy per value: only the hand-over can keep a leaver's values.
  ChordOptions options;
  options.replicas = 1;
  MemoryNetwork net(ChordFactory(options), {}, Metric::kRing);
  std::mt19937_64 rng(9);
  GrowRing(net, 50, rng, 0.2);
  net.RunUntil(net.now() + 60);

  std::vector<Key> keys;
  for (int i = 0; i < 100; ++i) {
    keys.push_back(rng());
    net.Put(RandomMember(net, rng), keys.back(), Label(i), 3600);
    net.RunUntil(net.now() + 0.2);
  }
  std::set<Address> leavers;
  for (Key k : keys) {
    if (leavers.size() < 10) leavers.insert(net.TrueOwner(k).address);
  }
  // One at a time: each leaver's values go straight to its successor.
  std::size_t handed = 0;
  for (Address a : leavers) {
    const std::vector<StoredValue> held = net.node(a)->StoredValues(net.now());
    const Address heir = Chord(net, a).successor().address;
    net.Leave(a);
    net.RunUntil(net.now() + 1);  // less than an RPC timeout: no failure detection
    const std::vector<StoredValue> now_held = net.node(heir)->StoredValues(net.now());
    for (const StoredValue& v : held) {
      EXPECT_NE(std::find(now_held.begin(), now_held.end(), v), now_held.end()) << v.data;
    }
    handed += held.size();
  }
  ASSERT_GT(handed, 10u);

  // Every value is still found, and lookups know who left: routes through
  // a leaver's old fingers time out and go round.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ops;
  for (Key k : keys)
    ops.emplace_back(net.Get(RandomMember(net, rng), k), net.Lookup(RandomMember(net, rng), k));
  net.RunUntil(net.now() + 30);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(Data(Result(net, ops[i].first)), std::vector<std::string>{Label(i)});
    EXPECT_EQ(Result(net, ops[i].second).owner, net.TrueOwner(keys[i]));
  }
}

TEST(ChordTest, OnePercentChurnPerMinuteKeepsLookupsRight) {
  // 1,000 nodes; every 6 s one crashes and a new one joins (1 % a minute),
  // for 10 simulated minutes, with 5 lookups a second throughout.
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(21);
  GrowRing(net, 1000, rng, 0.05);
  net.RunUntil(net.now() + 100);

  LookupJudge judge(net);
  int replaced = 0;
  for (int tick = 1; tick <= 3000; ++tick) {  // 0.2 s each
    if (tick % 30 == 0) {
      net.Crash(RandomMember(net, rng));
      net.Join(net.AddNode(rng()), RandomMember(net, rng));
      ++replaced;
    }
    judge.Lookup(RandomMember(net, rng), rng());
    judge.RunUntil(net.now() + 0.2);
  }
  judge.RunUntil(net.now() + 60);
  std::printf(
      "[ chord    ] churn 1 %%/min: %d replaced, %d lookups, %d completed, %d ok, %d right "
      "(%.2f %%; %d named a crashed node), mean hops %.2f, %llu messages\n",
      replaced, judge.issued(), judge.completed(), judge.ok(), judge.correct(),
      100 * judge.correct_rate(), judge.dead_owner(), judge.mean_hops(),
      static_cast<unsigned long long>(net.messages_sent()));
  EXPECT_EQ(replaced, 100);
  EXPECT_GE(judge.correct_rate(), 0.99);
}

TEST(ChordTest, LookupsCompleteUnderOnePercentMessageLoss) {
  MemoryNetworkOptions lossy;
  lossy.loss = 0.01;
  MemoryNetwork net(ChordFactory({}), lossy, Metric::kRing);
  std::mt19937_64 rng(13);
  GrowRing(net, 200, rng, 0.5);
  net.RunUntil(net.now() + 120);
  LookupJudge judge = RandomLookups(net, rng, 1000);
  std::printf(
      "[ chord    ] loss 1 %%: %d of %d lookups right (%.1f %%), %llu of %llu messages lost\n",
      judge.correct(), judge.issued(), 100 * judge.correct_rate(),
      static_cast<unsigned long long>(net.messages_lost()),
      static_cast<unsigned long long>(net.messages_sent()));
  EXPECT_EQ(judge.completed(), 1000);
  EXPECT_GE(judge.correct_rate(), 0.99);
}

TEST(ChordTest, ValuesExpireAndAPublishersNewValueReplacesItsOld) {
  MemoryNetwork net(ChordFactory({}), {}, Metric::kRing);
  std::mt19937_64 rng(17);
  GrowRing(net, 20, rng, 0.2);
  net.RunUntil(net.now() + 60);
  const Key key = HashKey("role:web");
  const Address a = 3, b = 7, c = 11;
  const Seconds t0 = net.now();
  net.Put(a, key, "a-old", 100);
  net.RunUntil(t0 + 1);
  net.Put(a, key, "a-new", 100);
  net.Put(b, key, "b", 30);
  net.RunUntil(t0 + 2);

  auto get = [&] {
    const std::uint64_t op = net.Get(c, key);
    net.RunUntil(net.now() + 1);
    return Result(net, op);
  };
  OpResult r = get();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(Data(r), (std::vector<std::string>{"a-new", "b"}));

  net.RunUntil(t0 + 40);  // b's value is past its TTL
  r = get();
  EXPECT_EQ(Data(r), std::vector<std::string>{"a-new"});

  net.RunUntil(t0 + 110);  // so is a's
  r = get();
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.values.empty());
  for (std::size_t i = 0; i < net.size(); ++i) {
    for (const StoredValue& v : net.node(static_cast<Address>(i))->StoredValues(net.now())) {
      EXPECT_NE(v.key, key) << "node " << i << " still holds " << v.data;
    }
  }
}

TEST(ChordTest, SameSeedGivesTheSameRun) {
  auto run = [](std::uint64_t seed) {
    ChordOptions options;
    options.seed = seed;
    MemoryNetworkOptions network;
    network.seed = seed;
    network.jitter = 0.02;
    network.loss = 0.01;
    MemoryNetwork net(ChordFactory(options), network, Metric::kRing);
    std::mt19937_64 rng(seed);
    GrowRing(net, 60, rng, 0.3);
    for (int i = 0; i < 200; ++i) {
      const Address from = RandomMember(net, rng);
      switch (i % 3) {
        case 0:
          net.Lookup(from, rng());
          break;
        case 1:
          net.Put(from, rng() % 16, Label(i), 50);
          break;
        default:
          net.Get(from, rng() % 16);
          break;
      }
      if (i % 40 == 39) net.Crash(RandomMember(net, rng));
      net.RunUntil(net.now() + 0.5);
    }
    net.RunUntil(net.now() + 60);
    std::vector<std::tuple<Address, std::uint64_t, int, bool, Key, int, Seconds, std::size_t>> out;
    for (const auto& c : net.completed()) {
      out.emplace_back(c.at, c.result.op, static_cast<int>(c.result.kind), c.result.ok,
                       c.result.owner.id, c.result.hops, c.result.finished, c.result.values.size());
    }
    return std::make_pair(out, net.messages_sent());
  };
  const auto first = run(7);
  EXPECT_GT(first.first.size(), 250u);
  EXPECT_EQ(first, run(7));
  EXPECT_NE(first, run(8));
}

}  // namespace
}  // namespace meshtwin::dht
