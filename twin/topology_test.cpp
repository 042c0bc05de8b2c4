#include "twin/topology.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = FailureDomain::Kind;

constexpr Seconds kHop = 50e-6;

MeshTopology ThreeByFour() {
  absl::StatusOr<MeshTopology> topo = MeshTopology::Create({3, 4, kHop});
  EXPECT_TRUE(topo.ok()) << topo.status();
  return *std::move(topo);
}

FailureDomain Zone(int z) { return {Kind::kZone, z, 0}; }
FailureDomain Rack(int r) { return {Kind::kRack, r, 0}; }
FailureDomain Aggregation(int z, int s) { return {Kind::kAggregation, z, s}; }

void ExpectAllHealthy(const MeshTopology& topo) {
  for (int r = 0; r < topo.racks(); ++r) {
    EXPECT_TRUE(topo.RackReachable(r)) << "rack " << r;
    EXPECT_EQ(topo.RackHops(r), 2) << "rack " << r;
    EXPECT_DOUBLE_EQ(topo.RackLatency(r), 2 * kHop) << "rack " << r;
    EXPECT_DOUBLE_EQ(topo.RackLoss(r), 0) << "rack " << r;
  }
  EXPECT_TRUE(topo.Partitions().empty());
  EXPECT_EQ(topo.UnreachableRacks(), 0);
}

TEST(MeshTopologyTest, ShapeIsCoreAggregationPairsAndRacks) {
  MeshTopology topo = ThreeByFour();
  EXPECT_EQ(topo.zones(), 3);
  EXPECT_EQ(topo.racks(), 12);
  std::vector<MeshTopology::Vertex> vertices = topo.vertices();
  int core = 0, aggregation = 0, racks = 0;
  for (const MeshTopology::Vertex& v : vertices) {
    core += v.kind == MeshTopology::Vertex::Kind::kCore;
    aggregation += v.kind == MeshTopology::Vertex::Kind::kAggregation;
    racks += v.kind == MeshTopology::Vertex::Kind::kRack;
  }
  EXPECT_EQ(core, 1);
  EXPECT_EQ(aggregation, 6);
  EXPECT_EQ(racks, 12);
  // One core link per aggregation switch, two uplinks per rack.
  EXPECT_EQ(topo.edges().size(), 6u + 24u);
  // Each rack's two uplinks go to the two switches of its own zone.
  for (int r = 0; r < topo.racks(); ++r) {
    std::vector<int> zones_of_uplinks;
    for (const MeshTopology::Edge& e : topo.edges()) {
      const MeshTopology::Vertex& to = vertices[e.to];
      if (to.kind == MeshTopology::Vertex::Kind::kRack && to.index == r) {
        ASSERT_EQ(vertices[e.from].kind, MeshTopology::Vertex::Kind::kAggregation);
        zones_of_uplinks.push_back(vertices[e.from].zone);
      }
    }
    EXPECT_THAT(zones_of_uplinks, ElementsAre(topo.ZoneOfRack(r), topo.ZoneOfRack(r)));
  }
  ExpectAllHealthy(topo);
}

TEST(MeshTopologyTest, NodesAreOnRacksRoundRobinAndRacksInZonesZoneMajor) {
  MeshTopology topo = ThreeByFour();
  EXPECT_EQ(topo.RackOfNode(0), 0);
  EXPECT_EQ(topo.RackOfNode(11), 11);
  EXPECT_EQ(topo.RackOfNode(12), 0);
  EXPECT_EQ(topo.RackOfNode(29), 5);
  EXPECT_EQ(topo.ZoneOfRack(0), 0);
  EXPECT_EQ(topo.ZoneOfRack(3), 0);
  EXPECT_EQ(topo.ZoneOfRack(4), 1);
  EXPECT_EQ(topo.ZoneOfRack(11), 2);
  EXPECT_EQ(topo.ZoneOfRack(12), -1);
}

TEST(MeshTopologyTest, OneAggregationSwitchDownReroutesOverTheOther) {
  MeshTopology topo = ThreeByFour();
  topo.SetCut(Aggregation(1, 0), true);
  ExpectAllHealthy(topo);
  // The switch itself is down, and so are all its links.
  for (const MeshTopology::Vertex& v : topo.vertices()) {
    const bool is_cut_switch =
        v.kind == MeshTopology::Vertex::Kind::kAggregation && v.zone == 1 && v.index == 0;
    EXPECT_EQ(v.reachable, !is_cut_switch);
  }
  int down = 0;
  for (const MeshTopology::Edge& e : topo.edges()) down += !e.up;
  EXPECT_EQ(down, 1 + 4);  // its core link and its four downlinks
}

TEST(MeshTopologyTest, BothSwitchesOfAZoneDownIsOnePartitionOfTheZone) {
  MeshTopology topo = ThreeByFour();
  topo.SetCut(Aggregation(1, 0), true);
  topo.SetCut(Aggregation(1, 1), true);
  EXPECT_THAT(topo.Partitions(), ElementsAre(ElementsAre(4, 5, 6, 7)));
  for (int r = 0; r < topo.racks(); ++r) {
    const bool in_zone = topo.ZoneOfRack(r) == 1;
    EXPECT_EQ(topo.RackReachable(r), !in_zone) << "rack " << r;
    EXPECT_EQ(topo.RackHops(r), in_zone ? -1 : 2) << "rack " << r;
    EXPECT_EQ(std::isinf(topo.RackLatency(r)), in_zone) << "rack " << r;
  }
  EXPECT_EQ(topo.UnreachableRacks(), 4);
}

TEST(MeshTopologyTest, ZoneCutIsOnePartitionOfTheZone) {
  MeshTopology topo = ThreeByFour();
  topo.SetCut(Zone(2), true);
  EXPECT_THAT(topo.Partitions(), ElementsAre(ElementsAre(8, 9, 10, 11)));
  for (int r = 0; r < 8; ++r) EXPECT_TRUE(topo.RackReachable(r)) << "rack " << r;
  for (int r = 8; r < 12; ++r) {
    EXPECT_FALSE(topo.RackReachable(r)) << "rack " << r;
    EXPECT_DOUBLE_EQ(topo.RackLoss(r), 1);
  }
}

TEST(MeshTopologyTest, RackCutIsAPartitionOfOneRack) {
  MeshTopology topo = ThreeByFour();
  topo.SetCut(Rack(5), true);
  EXPECT_THAT(topo.Partitions(), ElementsAre(ElementsAre(5)));
  EXPECT_FALSE(topo.RackReachable(5));
  EXPECT_TRUE(topo.RackReachable(4));
  EXPECT_TRUE(topo.RackReachable(6));
  EXPECT_EQ(topo.UnreachableRacks(), 1);
}

TEST(MeshTopologyTest, SeparateFailuresAreSeparatePartitionsInADeterministicOrder) {
  MeshTopology a = ThreeByFour();
  a.SetCut(Rack(9), true);
  a.SetCut(Zone(1), true);
  a.SetCut(Rack(2), true);
  a.SetCut(Rack(3), true);
  MeshTopology b = ThreeByFour();
  b.SetCut(Rack(3), true);
  b.SetCut(Rack(2), true);
  b.SetCut(Rack(9), true);
  b.SetCut(Zone(1), true);
  // Two cut racks of one zone are two failures, not one.
  const std::vector<std::vector<int>> expected = {{2}, {3}, {4, 5, 6, 7}, {9}};
  EXPECT_EQ(a.Partitions(), expected);
  EXPECT_EQ(b.Partitions(), expected);
  EXPECT_EQ(a.Partitions(), a.Partitions());
}

TEST(MeshTopologyTest, RestoringBringsEverythingBack) {
  MeshTopology topo = ThreeByFour();
  topo.SetCut(Zone(0), true);
  topo.SetCut(Rack(7), true);
  topo.SetCut(Aggregation(2, 1), true);
  topo.SetLatency(Zone(1), 20);
  topo.SetLoss(Rack(10), 0.3);
  ASSERT_EQ(topo.Partitions().size(), 2u);
  topo.SetCut(Zone(0), false);
  topo.SetCut(Rack(7), false);
  topo.SetCut(Aggregation(2, 1), false);
  topo.SetLatency(Zone(1), 1);
  topo.SetLoss(Rack(10), 0);
  ExpectAllHealthy(topo);
  for (const MeshTopology::Edge& e : topo.edges()) {
    EXPECT_TRUE(e.up);
    EXPECT_EQ(e.latency_factor, 1);
    EXPECT_EQ(e.loss, 0);
  }

  topo.SetCut(Zone(1), true);
  topo.SetLatency(Aggregation(0, 0), 5);
  topo.ClearFaults();
  ExpectAllHealthy(topo);
}

TEST(MeshTopologyTest, FaultsAreIdempotentAndOverlappingFaultsCompose) {
  MeshTopology topo = ThreeByFour();
  topo.SetCut(Rack(1), true);
  topo.SetCut(Rack(1), true);
  topo.SetCut(Rack(1), false);  // once is enough to restore
  EXPECT_TRUE(topo.RackReachable(1));

  // A zone cut and a cut of one of its switches: lifting the zone cut leaves
  // the switch down, and the zone served over the other switch.
  topo.SetCut(Zone(0), true);
  topo.SetCut(Aggregation(0, 0), true);
  topo.SetCut(Zone(0), false);
  EXPECT_TRUE(topo.Partitions().empty());
  for (int r = 0; r < 4; ++r) EXPECT_EQ(topo.RackHops(r), 2);
  topo.SetCut(Aggregation(0, 1), true);
  EXPECT_THAT(topo.Partitions(), ElementsAre(ElementsAre(0, 1, 2, 3)));
}

TEST(MeshTopologyTest, ZoneLatencyFactorSlowsOnlyThatZonesCoreHop) {
  MeshTopology topo = ThreeByFour();
  topo.SetLatency(Zone(1), 20);
  for (int r = 0; r < topo.racks(); ++r) {
    // The zone's core links are 20x slower; the rack uplinks are not.
    const Seconds expected = topo.ZoneOfRack(r) == 1 ? 20 * kHop + kHop : 2 * kHop;
    EXPECT_DOUBLE_EQ(topo.RackLatency(r), expected) << "rack " << r;
    EXPECT_TRUE(topo.RackReachable(r));
    EXPECT_EQ(topo.RackHops(r), 2);
  }
  EXPECT_TRUE(topo.Partitions().empty());
}

TEST(MeshTopologyTest, SlowOrLossyAggregationSwitchIsAvoided) {
  MeshTopology topo = ThreeByFour();
  topo.SetLatency(Aggregation(0, 0), 10);
  topo.SetLoss(Aggregation(0, 1), 0.5);
  // Zone 0: the fast switch is the lossy one, so that is the route.
  for (int r = 0; r < 4; ++r) {
    EXPECT_DOUBLE_EQ(topo.RackLatency(r), 2 * kHop);
    EXPECT_DOUBLE_EQ(topo.RackLoss(r), 1 - 0.5 * 0.5);  // two of its links
  }
  topo.SetLatency(Aggregation(0, 0), 1);
  // Equally fast now: the route goes round the lossy switch.
  for (int r = 0; r < 4; ++r) EXPECT_DOUBLE_EQ(topo.RackLoss(r), 0);

  topo.SetLatency(Aggregation(1, 1), 3);
  for (int r = 4; r < 8; ++r) EXPECT_DOUBLE_EQ(topo.RackLatency(r), 2 * kHop);
  // Both switches slow: the route crosses two links of the faster one.
  topo.SetLatency(Aggregation(1, 0), 4);
  for (int r = 4; r < 8; ++r) EXPECT_DOUBLE_EQ(topo.RackLatency(r), 3 * kHop + 3 * kHop);
}

TEST(MeshTopologyTest, LossComposesAlongTheRoute) {
  MeshTopology topo = ThreeByFour();
  topo.SetLoss(Zone(0), 0.1);
  topo.SetLoss(Rack(2), 0.2);
  EXPECT_NEAR(topo.RackLoss(2), 1 - 0.9 * 0.8, 1e-12);
  EXPECT_NEAR(topo.RackLoss(1), 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(topo.RackLoss(5), 0);
  // Two faults on the same link compound too.
  topo.SetLoss(Aggregation(0, 0), 0.5);
  topo.SetLoss(Aggregation(0, 1), 0.5);
  EXPECT_NEAR(topo.RackLoss(2), 1 - (0.9 * 0.5) * (0.8 * 0.5), 1e-12);
  for (const MeshTopology::Edge& e : topo.edges()) {
    EXPECT_GE(e.loss, 0);
    EXPECT_LE(e.loss, 1);
  }
}

TEST(MeshTopologyTest, OutOfRangeFaultValuesAreClampedAndBadDomainsIgnored) {
  MeshTopology topo = ThreeByFour();
  topo.SetLatency(Zone(0), 0.5);
  topo.SetLoss(Zone(0), -1);
  topo.SetLatency(Zone(1), std::nan(""));
  ExpectAllHealthy(topo);
  topo.SetCut(Zone(3), true);
  topo.SetCut(Rack(-1), true);
  topo.SetCut(Aggregation(0, 2), true);
  ExpectAllHealthy(topo);
  EXPECT_FALSE(topo.RackReachable(12));
  EXPECT_EQ(topo.RackHops(-1), -1);

  EXPECT_TRUE(topo.CheckDomain(Rack(11)).ok());
  EXPECT_THAT(std::string(topo.CheckDomain(Rack(12)).message()), HasSubstr("domain.rack"));
  EXPECT_THAT(std::string(topo.CheckDomain(Zone(3)).message()), HasSubstr("domain.zone"));
  EXPECT_THAT(std::string(topo.CheckDomain(Aggregation(0, 2)).message()),
              HasSubstr("domain.switch"));
}

TEST(MeshTopologyTest, BadSpecsAreRejectedNamingTheField) {
  struct Case {
    TopologySpec spec;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{0, 4, kHop}, "faults.topology.zones"},
      {{-2, 4, kHop}, "faults.topology.zones"},
      {{3, 0, kHop}, "faults.topology.racks_per_zone"},
      {{101, 100, kHop}, "faults.topology.racks_per_zone"},
      {{1 << 20, 1 << 20, kHop}, "faults.topology.racks_per_zone"},  // no int overflow
      {{3, 4, -1}, "faults.topology.hop_latency"},
      {{3, 4, std::nan("")}, "faults.topology.hop_latency"},
      {{3, 4, kForever}, "faults.topology.hop_latency"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<MeshTopology> topo = MeshTopology::Create(c.spec);
    ASSERT_FALSE(topo.ok()) << c.field;
    EXPECT_EQ(topo.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(topo.status().message()), HasSubstr(c.field + ": "));
  }
  EXPECT_TRUE(MeshTopology::Create({1, 1, 0}).ok());
}

TEST(MeshTopologyTest, CopiesAreIndependent) {
  MeshTopology a = ThreeByFour();
  MeshTopology b = a;
  b.SetCut(Zone(0), true);
  EXPECT_TRUE(a.Partitions().empty());
  EXPECT_EQ(b.Partitions().size(), 1u);
  a = b;
  EXPECT_EQ(a.Partitions(), b.Partitions());
}

TEST(MeshTopologyTest, HundredByHundredBuildsAndAnswers) {
  absl::StatusOr<MeshTopology> created = MeshTopology::Create({100, 100, kHop});
  ASSERT_TRUE(created.ok()) << created.status();
  MeshTopology& topo = *created;
  EXPECT_EQ(topo.racks(), 10000);
  EXPECT_EQ(topo.vertices().size(), 1u + 200u + 10000u);
  EXPECT_EQ(topo.edges().size(), 200u + 20000u);
  EXPECT_EQ(topo.RackHops(9999), 2);
  topo.SetCut(Zone(42), true);
  topo.SetCut(Rack(0), true);
  topo.SetCut(Aggregation(7, 1), true);
  std::vector<std::vector<int>> partitions = topo.Partitions();
  ASSERT_EQ(partitions.size(), 2u);
  EXPECT_THAT(partitions[0], ElementsAre(0));
  EXPECT_EQ(partitions[1].size(), 100u);
  EXPECT_EQ(partitions[1].front(), 4200);
  EXPECT_EQ(partitions[1].back(), 4299);
  EXPECT_EQ(topo.UnreachableRacks(), 101);
  EXPECT_TRUE(topo.RackReachable(750));
  EXPECT_EQ(topo.RackHops(750), 2);
}

}  // namespace
}  // namespace meshtwin
