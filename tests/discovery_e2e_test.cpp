// End-to-end: with `dht: chord` or `dht: kademlia` the simulated manager finds
// capacity through the DHT (nodes publish capability records, the manager
// reads them) instead of reading the mesh's global list. Checked through the
// JSON summary and the node snapshots of the results file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::meshtwin::testing::SimRun;
using ::meshtwin::testing::SimulateJson;
using ::testing::HasSubstr;

// The default scenario over its morning ramp: the HPA adds nodes, so some
// come up during the run and must be discovered.
std::vector<std::string> MorningRamp(const std::string& dht) {
  return {"--set", "duration=4h", "--set", "trace.synthetic.peak_hour=4", "--set", "dht=" + dht};
}

SimRun Simulate(std::vector<std::string> args) { return SimulateJson(std::move(args)); }

// For each node that became ready after time 0: its utilisation in the
// first snapshot (tick) where it is ready.
std::vector<float> FirstReadyTickUtilization(const NodeSnapshots& n) {
  std::vector<float> out;
  std::set<std::int32_t> seen_at_start;
  std::set<std::int32_t> done;
  constexpr auto kReady = static_cast<std::uint8_t>(NodeState::kReady);
  for (std::size_t s = 0; s < n.size(); ++s) {
    for (auto i = n.offset[s]; i < n.offset[s + 1]; ++i) {
      const auto row = static_cast<std::size_t>(i);
      const std::int32_t id = n.id[row];
      if (s == 0) {
        seen_at_start.insert(id);
        continue;
      }
      if (n.state[row] != kReady || seen_at_start.contains(id) || done.contains(id)) continue;
      done.insert(id);
      out.push_back(n.utilization[row]);
    }
  }
  return out;
}

void ExpectDiscoveryThroughTheDht(const std::string& protocol) {
  const SimRun direct = Simulate(MorningRamp("none"));
  const SimRun dht = Simulate(MorningRamp(protocol));
  ASSERT_FALSE(dht.summary.empty());
  const nlohmann::json& s = dht.summary;
  EXPECT_EQ(s["dht"], protocol);
  EXPECT_EQ(direct.summary["dht"], "none");
  EXPECT_EQ(direct.summary["dht_messages"], 0);
  // The manager read every role's records every tick, and no read failed.
  EXPECT_EQ(s["dht_queries"].get<int>(), s["ticks"].get<int>());
  EXPECT_EQ(s["dht_queries_failed"], 0);
  EXPECT_GT(s["dht_messages"].get<long long>(), 0);

  // Nodes came up during the run, and every one was found, within a tick of
  // becoming ready (records are published at once; the manager reads just
  // before each tick).
  const std::vector<float> dht_first = FirstReadyTickUtilization(dht.results.nodes);
  ASSERT_GE(dht_first.size(), 3u) << "the ramp should add nodes";
  EXPECT_EQ(s["nodes_discovered"].get<std::size_t>(), dht_first.size());
  EXPECT_GT(s["discovery_delay_mean_s"].get<double>(), 0);
  EXPECT_LE(s["discovery_delay_max_s"].get<double>(), dht.results.control_interval);

  // Through the DHT a node serves nothing in its first ready tick (the
  // manager has not read its record yet); read from the global list, it
  // serves at once. That is the difference discovery makes.
  for (float u : dht_first) EXPECT_EQ(u, 0.0f);
  const std::vector<float> direct_first = FirstReadyTickUtilization(direct.results.nodes);
  ASSERT_FALSE(direct_first.empty());
  EXPECT_GT(*std::max_element(direct_first.begin(), direct_first.end()), 0.1f);

  // A tick's delay to new capacity costs little: requests are still served.
  EXPECT_LE(
      s["requests_dropped"].get<double>(),
      0.001 * s["requests_total"].get<double>() + direct.summary["requests_dropped"].get<double>());

  // The snapshots carry the overlay: every link joins two nodes of its snapshot.
  const NodeSnapshots& n = dht.results.nodes;
  EXPECT_EQ(n.links, protocol);
  ASSERT_EQ(n.link_offset.size(), n.size() + 1);
  EXPECT_GT(n.link_from.size(), n.size());
  for (std::size_t snap = 0; snap < n.size(); snap += 97) {
    std::set<std::int32_t> ids(n.id.begin() + n.offset[snap], n.id.begin() + n.offset[snap + 1]);
    for (auto i = n.link_offset[snap]; i < n.link_offset[snap + 1]; ++i) {
      const auto row = static_cast<std::size_t>(i);
      EXPECT_TRUE(ids.contains(n.link_from[row])) << "snapshot " << snap;
      EXPECT_NE(n.link_from[row], n.link_to[row]);
    }
  }
  EXPECT_TRUE(direct.results.nodes.links.empty());
  EXPECT_TRUE(direct.results.nodes.link_from.empty());
}

TEST(DiscoveryE2E, ChordFindsEveryNewNodeWithinATick) { ExpectDiscoveryThroughTheDht("chord"); }

TEST(DiscoveryE2E, KademliaFindsEveryNewNodeWithinATick) {
  ExpectDiscoveryThroughTheDht("kademlia");
}

// A scale-in of most of the fleet at once leaves the survivors' Chord
// successor lists and fingers pointing at departed nodes: they must find
// their way back (a lookup of the manager's id, then a new join), or their
// records are never found again and their capacity is lost.
TEST(DiscoveryE2E, TheOverlaySurvivesAScaleInOfMostOfTheFleet) {
  for (const std::string protocol : {"chord", "kademlia"}) {
    const SimRun run =
        Simulate({"--set", "node_types.medium.initial=600", "--set", "node_types.medium.max=600",
                  "--set", "duration=1h", "--set", "dht=" + protocol});
    ASSERT_FALSE(run.summary.empty());
    EXPECT_GT(run.summary["scale_down_events"].get<int>(), 0) << protocol;
    EXPECT_GE(run.results.ticks.nodes_ready.front(), 600) << protocol;
    EXPECT_LT(run.results.ticks.nodes_ready.back(), 100) << protocol << ": most nodes left";
    EXPECT_EQ(run.summary["requests_dropped"], 0) << protocol;
    EXPECT_EQ(run.summary["dht_queries_failed"], 0) << protocol;
  }
}

TEST(DiscoveryE2E, SameSeedSameResults) {
  const SimRun a = Simulate(MorningRamp("chord"));
  const SimRun b = Simulate(MorningRamp("chord"));
  nlohmann::json ja = a.summary, jb = b.summary;
  for (nlohmann::json* j : {&ja, &jb}) {
    j->erase("wall_seconds");
    j->erase("results_file");
  }
  EXPECT_EQ(ja, jb);
  EXPECT_EQ(a.results.nodes.link_to, b.results.nodes.link_to);
  EXPECT_EQ(a.results.ticks.served, b.results.ticks.served);
}

TEST(DiscoveryE2E, BadDhtSettingsAreRefusedAtTheKey) {
  CommandResult r =
      RunMeshtwin({"simulate", "--set", "dht=pastry", "--out", ScratchDir() + "/r.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("dht: expected none, chord or kademlia, got pastry"));
  r = RunMeshtwin({"simulate", "--set", "dht={protocol: chord, refresh: 60s, ttl: 30s}", "--out",
                   ScratchDir() + "/r.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("dht.ttl: expected a duration above refresh (1m)"));
  r = RunMeshtwin({"simulate", "--set", "dht={refresh: 60s}", "--out", ScratchDir() + "/r.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("dht.protocol"));
}

}  // namespace
}  // namespace meshtwin
