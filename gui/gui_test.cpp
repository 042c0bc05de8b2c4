// Unit tests of the GUI's pure logic: axis ticks and labels, snapshot
// lookup, layout stability, the simulation stream, node table filtering and
// sorting, plot decimation, frame statistics and the data-source factory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gui/app.h"
#include "gui/data_source.h"
#include "gui/event_style.h"
#include "gui/network_layout.h"
#include "gui/node_table_model.h"
#include "gui/plot_widget.h"
#include "gui/rerun.h"
#include "gui/sim_stream.h"
#include "gui/snapshot_lookup.h"
#include "gui/time_axis.h"
#include "gui/topology_layout.h"

namespace meshtwin::gui {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<double> Values(const std::vector<AxisTick>& ticks) {
  std::vector<double> v;
  for (const AxisTick& t : ticks) v.push_back(t.value);
  return v;
}
std::vector<std::string> Labels(const std::vector<AxisTick>& ticks) {
  std::vector<std::string> v;
  for (const AxisTick& t : ticks) v.push_back(t.label);
  return v;
}

TEST(TimeAxisTest, ValueTicksAreNiceNumbersWithSiLabels) {
  EXPECT_DOUBLE_EQ(NiceStep(100, 5), 20);
  EXPECT_DOUBLE_EQ(NiceStep(0.9, 3), 0.2);
  EXPECT_DOUBLE_EQ(NiceStep(0, 5), 1);
  const auto ticks = ValueTicks(0, 9000, 5);
  EXPECT_THAT(Values(ticks), ElementsAre(0, 2000, 4000, 6000, 8000));
  EXPECT_THAT(Labels(ticks), ElementsAre("0", "2k", "4k", "6k", "8k"));
  EXPECT_THAT(Labels(ValueTicks(0, 1, 4)), ElementsAre("0", "0.2", "0.4", "0.6", "0.8", "1"));
  EXPECT_TRUE(ValueTicks(5, 5, 4).empty());
}

TEST(TimeAxisTest, TimeTicksFollowTheClockLadder) {
  EXPECT_DOUBLE_EQ(TimeStep(86400, 8), 10800);  // a day in 3 h steps
  EXPECT_DOUBLE_EQ(TimeStep(2 * 86400, 8), 21600);
  EXPECT_DOUBLE_EQ(TimeStep(600, 10), 60);
  EXPECT_DOUBLE_EQ(TimeStep(40 * 86400, 2), 2592000);
  const auto ticks = TimeTicks(0, 86400, 8);
  EXPECT_EQ(ticks.size(), 9u);
  EXPECT_EQ(ticks[1].label, "03:00");
  EXPECT_EQ(ticks.back().label, "1d 00:00");
  // Ticks land on multiples of the step even when the range does not start on one.
  EXPECT_THAT(Values(TimeTicks(100, 400, 3)), ElementsAre(120, 240, 360));
}

TEST(TimeAxisTest, Labels) {
  EXPECT_EQ(FormatRunTime(144000, 3600), "1d 16:00");
  EXPECT_EQ(FormatRunTime(172800, 86400), "2d");
  EXPECT_EQ(FormatRunTime(90, 30), "00:01:30");
  EXPECT_EQ(FormatRunTimeFull(144135), "1d 16:02:15");
  EXPECT_EQ(FormatRunTimeFull(-60), "-00:01:00");
  EXPECT_EQ(FormatCalendar(1700000000, 0), "2023-11-14 22:13:20 UTC");
  EXPECT_EQ(FormatCalendar(1700000000, 3600), "2023-11-14 23:13:20 UTC");
  EXPECT_EQ(FormatValue(6500), "6.5k");
  EXPECT_EQ(FormatValue(0.42), "0.42");
  EXPECT_EQ(FormatValue(1250000), "1.25M");
  EXPECT_EQ(FormatValue(12.5), "12.5");
  EXPECT_EQ(FormatValue(std::nan("")), "-");
}

// Three snapshots at 0, 60, 120 s: nodes {0,1,2}, {0,1,2,3,4}, {0,2,3,4,5}.
ResultsData ThreeSnapshots() {
  ResultsData d;
  d.node_types = {"small", "medium"};
  d.roles = {"web", "api"};
  d.control_interval = 60;
  d.ticks.time = {0, 60, 120};
  NodeSnapshots& ns = d.nodes;
  ns.every = 1;
  ns.time = {0, 60, 120};
  const std::vector<std::vector<std::int32_t>> ids = {{0, 1, 2}, {0, 1, 2, 3, 4}, {0, 2, 3, 4, 5}};
  ns.offset = {0};
  for (const auto& snap : ids) {
    for (std::int32_t id : snap) {
      ns.id.push_back(id);
      ns.type.push_back(static_cast<std::int16_t>(id % 2));
      ns.role.push_back(static_cast<std::int16_t>(id < 3 ? 0 : 1));
      ns.state.push_back(
          static_cast<std::uint8_t>(id == 5 ? NodeState::kFailed : NodeState::kReady));
      ns.utilization.push_back(0.1f * static_cast<float>(id + 1));
      ns.queued.push_back(static_cast<float>(10 * (5 - id)));
    }
    ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
  }
  return d;
}

TEST(SnapshotLookupTest, NearestSnapshotAndTick) {
  const ResultsData d = ThreeSnapshots();
  EXPECT_EQ(SnapshotIndexAt(d.nodes, -5), 0u);
  EXPECT_EQ(SnapshotIndexAt(d.nodes, 29), 0u);
  EXPECT_EQ(SnapshotIndexAt(d.nodes, 30), 0u);  // a tie goes to the earlier one
  EXPECT_EQ(SnapshotIndexAt(d.nodes, 31), 1u);
  EXPECT_EQ(SnapshotIndexAt(d.nodes, 1e9), 2u);
  EXPECT_FALSE(SnapshotIndexAt(NodeSnapshots{}, 0).has_value());
  EXPECT_EQ(TickIndexAt(d.ticks.time, 59.9), 0u);
  EXPECT_EQ(TickIndexAt(d.ticks.time, 60), 1u);
  EXPECT_EQ(TickIndexAt(d.ticks.time, -1), 0u);
  const SnapshotRows rows = RowsOf(d.nodes, 1);
  EXPECT_EQ(rows.begin, 3u);
  EXPECT_EQ(rows.size(), 5u);
  EXPECT_DOUBLE_EQ(SpanOf(d).end, 180);
}

TEST(TopologyLayoutTest, NodesKeepTheirPositionsAndNewOnesJoinTheirRole) {
  ResultsData d = ThreeSnapshots();
  // Start with the first snapshot only, as a stream would.
  ResultsData first = d;
  first.nodes.time.resize(1);
  first.nodes.offset.resize(2);
  TopologyLayout layout;
  EXPECT_EQ(layout.Extend(first), 3u);
  EXPECT_TRUE(layout.used_force_layout());  // a small star: Boost's FR
  std::vector<Vec2> before;
  for (int id = 0; id < 3; ++id) before.push_back(*layout.PositionOf(id));
  EXPECT_EQ(layout.PositionOf(3), nullptr);

  EXPECT_EQ(layout.Extend(d), 3u);  // 3, 4, 5 appear
  EXPECT_EQ(layout.Extend(d), 0u);  // nothing new: no work
  for (int id = 0; id < 3; ++id) {
    EXPECT_EQ(layout.PositionOf(id)->x, before[id].x) << id;
    EXPECT_EQ(layout.PositionOf(id)->y, before[id].y) << id;
  }
  // New api nodes sit nearer the api hub than the web hub.
  const Vec2 web = layout.HubPosition(0), api = layout.HubPosition(1);
  for (int id = 3; id <= 5; ++id) {
    const Vec2 p = *layout.PositionOf(id);
    const float to_api = std::hypot(p.x - api.x, p.y - api.y);
    const float to_web = std::hypot(p.x - web.x, p.y - web.y);
    EXPECT_LT(to_api, to_web) << id;
  }
  // The same data gives the same layout, whatever the order of calls.
  TopologyLayout again;
  again.Extend(d);
  for (int id = 0; id <= 5; ++id) {
    EXPECT_FLOAT_EQ(again.PositionOf(id)->x, layout.PositionOf(id)->x) << id;
  }
}

TEST(TopologyLayoutTest, NodeWithOverlayLinksLandsNearItsNeighbours) {
  ResultsData d;
  d.roles = {"default"};
  d.node_types = {"n"};
  NodeSnapshots& ns = d.nodes;
  ns.links = "chord";
  ns.time = {0, 15};
  ns.offset = {0};
  ns.link_offset = {0};
  // Snapshot 0: a ring of 40 nodes; snapshot 1: node 100 links to 0 and 1.
  for (int s = 0; s < 2; ++s) {
    const int n = 40;
    for (int i = 0; i < n; ++i) {
      ns.id.push_back(i);
      ns.type.push_back(0);
      ns.role.push_back(0);
      ns.state.push_back(1);
      ns.utilization.push_back(0.5f);
      ns.queued.push_back(0);
      ns.link_from.push_back(i);
      ns.link_to.push_back((i + 1) % n);
    }
    if (s == 1) {
      ns.id.push_back(100);
      ns.type.push_back(0);
      ns.role.push_back(0);
      ns.state.push_back(0);
      ns.utilization.push_back(0);
      ns.queued.push_back(0);
      for (int to : {0, 1}) {
        ns.link_from.push_back(100);
        ns.link_to.push_back(to);
      }
    }
    ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
    ns.link_offset.push_back(static_cast<std::int64_t>(ns.link_from.size()));
  }
  TopologyLayout layout;
  layout.Extend(d);
  const Vec2 a = *layout.PositionOf(0), b = *layout.PositionOf(1), p = *layout.PositionOf(100);
  const float mid_x = 0.5f * (a.x + b.x), mid_y = 0.5f * (a.y + b.y);
  EXPECT_LT(std::hypot(p.x - mid_x, p.y - mid_y), 3.0f);
  // It does not sit on top of another node.
  for (int i = 0; i < 40; ++i) {
    const Vec2 q = *layout.PositionOf(i);
    EXPECT_GT(std::hypot(p.x - q.x, p.y - q.y), 0.2f) << i;
  }
}

// An overlay of 20 groups of 100 nodes, each a ring with fingers i + 2^k
// inside its group (like Kademlia's buckets, which cluster by prefix), whose
// links arrive only in the second snapshot (the DHT still joining at the
// first): Boost's FR on the overlay graph puts a group together, apart from
// the others; nobody piled on a border or on top of another node; the same
// positions every time.
TEST(TopologyLayoutTest, OverlayGraphLaidOutByForcesFromLaterLinks) {
  const int groups = 20, size = 100, n = groups * size;
  ResultsData d;
  d.roles = {"default"};
  d.node_types = {"n"};
  NodeSnapshots& ns = d.nodes;
  ns.links = "kademlia";
  ns.time = {0, 15};
  ns.offset = {0};
  ns.link_offset = {0};
  // Node i is member i / groups of group i % groups: ids interleave groups,
  // so the initial placement (by id) mixes them.
  for (int s = 0; s < 2; ++s) {
    for (int i = 0; i < n; ++i) {
      ns.id.push_back(i);
      ns.type.push_back(0);
      ns.role.push_back(0);
      ns.state.push_back(1);
      ns.utilization.push_back(0.5f);
      ns.queued.push_back(0);
      const int g = i % groups, m = i / groups;
      for (int k = 0; s == 1 && (1 << k) < size; ++k) {
        ns.link_from.push_back(i);
        ns.link_to.push_back(((m + (1 << k)) % size) * groups + g);
      }
    }
    ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
    ns.link_offset.push_back(static_cast<std::int64_t>(ns.link_from.size()));
  }
  TopologyLayout layout;
  EXPECT_EQ(layout.Extend(d), static_cast<std::size_t>(n));
  EXPECT_TRUE(layout.used_force_layout());
  const float extent = std::max(layout.max_corner().x - layout.min_corner().x,
                                layout.max_corner().y - layout.min_corner().y);
  EXPECT_GT(extent, std::sqrt(static_cast<float>(n)));      // not a heap
  EXPECT_LT(extent, 8 * std::sqrt(static_cast<float>(n)));  // not blown to a border
  double same = 0, other = 0;
  int same_n = 0, other_n = 0;
  for (int i = 0; i < n; i += 3) {
    for (int j = i + 1; j < n; j += 7) {
      const Vec2 a = *layout.PositionOf(i), b = *layout.PositionOf(j);
      const double dist = std::hypot(a.x - b.x, a.y - b.y);
      if (i % groups == j % groups) {
        same += dist;
        ++same_n;
      } else {
        other += dist;
        ++other_n;
      }
    }
  }
  ASSERT_GT(same_n, 0);
  EXPECT_LT(same / same_n, 0.5 * other / other_n);
  int overlapping = 0;
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      const Vec2 a = *layout.PositionOf(i), b = *layout.PositionOf(j);
      if (std::hypot(a.x - b.x, a.y - b.y) < 0.05f) ++overlapping;
    }
  }
  EXPECT_EQ(overlapping, 0);
  TopologyLayout again;
  again.Extend(d);
  for (int i = 0; i < n; i += 97) {
    EXPECT_EQ(again.PositionOf(i)->x, layout.PositionOf(i)->x) << i;
    EXPECT_EQ(again.PositionOf(i)->y, layout.PositionOf(i)->y) << i;
  }
}

TEST(TopologyLayoutTest, TenThousandNodesArePlacedWithoutForces) {
  ResultsData d;
  d.roles = {"default"};
  d.node_types = {"n"};
  d.nodes.time = {0};
  d.nodes.offset = {0, 10000};
  for (int i = 0; i < 10000; ++i) {
    d.nodes.id.push_back(i);
    d.nodes.type.push_back(0);
    d.nodes.role.push_back(0);
    d.nodes.state.push_back(1);
    d.nodes.utilization.push_back(0.5f);
    d.nodes.queued.push_back(0);
  }
  TopologyLayout layout;
  EXPECT_EQ(layout.Extend(d), 10000u);
  EXPECT_FALSE(layout.used_force_layout());  // a 10,000-leaf star: the sunflower disc
  const float extent = layout.max_corner().x - layout.min_corner().x;
  EXPECT_GT(extent, 150);  // about 2 sqrt(n) spacings across, not a heap
  EXPECT_LT(extent, 250);
}

// A faults topology of `zones` x `racks_per_zone` racks and one snapshot per
// entry of `snapshots` (node ids; a node sits on rack id % racks, as the twin
// places them); racks in `cut` are unreachable in the last snapshot.
ResultsData WithTopology(int zones, int racks_per_zone,
                         const std::vector<std::vector<std::int32_t>>& snapshots,
                         const std::vector<int>& cut = {}) {
  ResultsData d;
  d.roles = {"default"};
  d.node_types = {"n"};
  NodeSnapshots& ns = d.nodes;
  ns.every = 1;
  ns.zones = zones;
  ns.racks_per_zone = racks_per_zone;
  const int racks = zones * racks_per_zone;
  ns.offset = {0};
  for (std::size_t s = 0; s < snapshots.size(); ++s) {
    ns.time.push_back(15.0 * static_cast<double>(s));
    for (std::int32_t id : snapshots[s]) {
      const int rack = id % racks;
      ns.id.push_back(id);
      ns.type.push_back(0);
      ns.role.push_back(0);
      ns.state.push_back(
          static_cast<std::uint8_t>(id == 7 ? NodeState::kFailed : NodeState::kReady));
      ns.utilization.push_back(0.5f);
      ns.queued.push_back(0);
      ns.rack.push_back(static_cast<std::int16_t>(rack));
      ns.zone.push_back(static_cast<std::int16_t>(rack / racks_per_zone));
      const bool is_cut =
          s + 1 == snapshots.size() && std::find(cut.begin(), cut.end(), rack) != cut.end();
      ns.reachable.push_back(is_cut ? 0 : 1);
    }
    ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
  }
  return d;
}

std::vector<std::int32_t> Ids(std::int32_t from, std::int32_t to) {
  std::vector<std::int32_t> v;
  for (std::int32_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

// The failure-storm shape (3 zones x 4 racks): the switch graph of
// MeshTopology laid out by Kamada-Kawai, every node round its own rack, no
// two racks' node discs touching.
TEST(NetworkLayoutTest, SwitchGraphAndNodesRoundTheirRacks) {
  const ResultsData d = WithTopology(3, 4, {Ids(0, 48), Ids(0, 96)});
  NetworkLayout net;
  EXPECT_EQ(net.Extend(d), 96u);
  ASSERT_TRUE(net.built());
  EXPECT_TRUE(net.used_force_layout());
  ASSERT_EQ(net.switches().size(), 1u + 6u + 12u);
  EXPECT_EQ(net.links().size(), 6u + 24u);  // core to each aggregation, each rack dual-homed
  EXPECT_EQ(net.switches()[0].label, "core");
  EXPECT_EQ(net.switches()[static_cast<std::size_t>(net.AggregationVertex(1, 1))].label, "z1b");
  EXPECT_EQ(net.switches()[static_cast<std::size_t>(net.RackVertex(5))].label, "r5");
  for (const NetworkLayout::Link& l : net.links()) {
    const auto& to = net.switches()[static_cast<std::size_t>(l.to)];
    if (to.kind == NetworkLayout::Kind::kRack) {
      EXPECT_EQ(net.switches()[static_cast<std::size_t>(l.from)].zone, to.zone);
    }
  }
  EXPECT_GE(net.min_rack_distance(), 2 * net.rack_radius());
  for (std::int32_t id = 0; id < 96; ++id) {
    const Vec2* p = net.PositionOf(id);
    ASSERT_NE(p, nullptr) << id;
    EXPECT_EQ(net.RackOf(id), id % 12);
    const Vec2 own = net.RackPosition(id % 12);
    const float to_own = std::hypot(p->x - own.x, p->y - own.y);
    EXPECT_LE(to_own, net.rack_radius()) << id;
    EXPECT_GT(to_own, 1.0f) << id;  // the hole round the switch, for its square and label
    for (int r = 0; r < 12; ++r) {
      const Vec2 q = net.RackPosition(r);
      if (r != id % 12) {
        EXPECT_GT(std::hypot(p->x - q.x, p->y - q.y), to_own) << id;
      }
    }
  }
  EXPECT_EQ(net.PositionOf(96), nullptr);
  // The same data, the same picture.
  NetworkLayout again;
  again.Extend(d);
  for (std::int32_t id = 0; id < 96; id += 5) {
    EXPECT_EQ(again.PositionOf(id)->x, net.PositionOf(id)->x);
    EXPECT_EQ(again.PositionOf(id)->y, net.PositionOf(id)->y);
  }
}

// Streamed snapshot by snapshot: a node keeps its position for its life (and
// after), and a node that appears after another left its rack takes the
// slot that was freed, so churn does not grow the discs.
TEST(NetworkLayoutTest, PositionsAreStableAndFreedSlotsReused) {
  // 2 x 2 racks. Snapshot 1: node 4 (rack 0) leaves; snapshot 2: node 8
  // (rack 0) arrives, node 4 is still gone.
  std::vector<std::int32_t> s0 = Ids(0, 8), s1 = Ids(0, 8), s2 = Ids(0, 9);
  s1.erase(std::find(s1.begin(), s1.end(), 4));
  s2.erase(std::find(s2.begin(), s2.end(), 4));
  const ResultsData d = WithTopology(2, 2, {s0, s1, s2});
  ResultsData first = d;
  first.nodes.time.resize(1);
  first.nodes.offset.resize(2);
  NetworkLayout net;
  EXPECT_EQ(net.Extend(first), 8u);
  std::vector<Vec2> before;
  for (std::int32_t id = 0; id < 8; ++id) before.push_back(*net.PositionOf(id));
  std::vector<Vec2> switches;
  for (const auto& sw : net.switches()) switches.push_back(sw.pos);
  EXPECT_EQ(net.Extend(d), 1u);
  EXPECT_EQ(net.Extend(d), 0u);
  for (std::int32_t id = 0; id < 8; ++id) {  // node 4 too: scrubbing back shows it there
    EXPECT_EQ(net.PositionOf(id)->x, before[static_cast<std::size_t>(id)].x) << id;
    EXPECT_EQ(net.PositionOf(id)->y, before[static_cast<std::size_t>(id)].y) << id;
  }
  for (std::size_t i = 0; i < switches.size(); ++i) {
    EXPECT_EQ(net.switches()[i].pos.x, switches[i].x) << i;
  }
  EXPECT_EQ(net.PositionOf(8)->x, before[4].x);
  EXPECT_EQ(net.PositionOf(8)->y, before[4].y);
  // Sized for twice the first snapshot's fullest rack: room to grow.
  EXPECT_GE(net.min_rack_distance(), 2 * net.rack_radius());
}

TEST(NetworkLayoutTest, NoTopologyNoNetwork) {
  const ResultsData d = ThreeSnapshots();
  NetworkLayout net;
  EXPECT_EQ(net.Extend(d), 0u);
  EXPECT_FALSE(net.built());
  EXPECT_TRUE(RackStatuses(d.nodes, 0).empty());
}

// A large topology (10,000 racks, the most MeshTopology takes) skips the
// forces and is laid out radially, discs still apart.
TEST(NetworkLayoutTest, TenThousandRacksLaidOutRadially) {
  const ResultsData d = WithTopology(100, 100, {Ids(0, 20000)});
  NetworkLayout net;
  EXPECT_EQ(net.Extend(d), 20000u);
  EXPECT_FALSE(net.used_force_layout());
  EXPECT_EQ(net.switches().size(), 1u + 200u + 10000u);
  EXPECT_GE(net.min_rack_distance(), 2 * net.rack_radius() * 0.99f);
}

// Zone 2 (racks 8 to 11) partitioned: its racks, and the zone, are cut off;
// a rack with some nodes reachable or no nodes at all is not.
TEST(RackStatusTest, CutRacksAndZonesFromASnapshot) {
  ResultsData d = WithTopology(3, 4, {Ids(0, 30), Ids(0, 30)}, {8, 9, 10, 11});
  // Rack 6 holds nodes 6 and 18: one of them unreachable leaves the rack
  // partly reachable, not cut off.
  const SnapshotRows last = RowsOf(d.nodes, 1);
  for (std::size_t r = last.begin; r < last.end; ++r) {
    if (d.nodes.id[r] == 18) d.nodes.reachable[r] = 0;
  }
  std::vector<RackStatus> racks = RackStatuses(d.nodes, 1);
  ASSERT_EQ(racks.size(), 12u);
  for (int r = 0; r < 12; ++r) EXPECT_EQ(racks[static_cast<std::size_t>(r)].cut_off(), r >= 8) << r;
  EXPECT_EQ(racks[6].nodes, 2);
  EXPECT_EQ(racks[6].reachable, 1);
  EXPECT_EQ(racks[11].reachable, 0);
  EXPECT_EQ(racks[7].failed, 1);  // node 7
  EXPECT_THAT(ZonesCutOff(racks, 3, 4), ::testing::ElementsAre(false, false, true));
  // The earlier snapshot had everything reachable.
  for (const RackStatus& r : RackStatuses(d.nodes, 0)) EXPECT_FALSE(r.cut_off());
  // Only some racks of a zone cut (rack 8 alone): the racks, not the zone.
  d = WithTopology(3, 4, {Ids(0, 24)}, {8});
  racks = RackStatuses(d.nodes, 0);
  EXPECT_TRUE(racks[8].cut_off());
  EXPECT_FALSE(racks[9].cut_off());
  EXPECT_THAT(ZonesCutOff(racks, 3, 4), ::testing::ElementsAre(false, false, false));
  // A rack without nodes says nothing.
  d = WithTopology(3, 4, {{0, 1, 2, 3}}, {});
  racks = RackStatuses(d.nodes, 0);
  EXPECT_EQ(racks[5].nodes, 0);
  EXPECT_FALSE(racks[5].cut_off());
}

// The fault events say what a partition cut while it lasts, even once the
// manager has replaced every node it cut off (the racks are then empty).
TEST(RackStatusTest, CutsFromFaultEventsAndSnapshot) {
  auto event = [](double start, double end, std::string text) {
    Event e;
    e.start = start;
    e.end = end;
    e.source = "faults";
    e.category = "fault";
    e.text = std::move(text);
    return e;
  };
  const double nan = std::nan("");
  const std::vector<Event> events = {
      event(100, 200, "zone 2 cut off (partition)"),
      event(150, nan, "rack 1 cut off (partition), 5 % loss"),
      event(100, 400, "aggregation switch 1 of zone 0 cut off (partition)"),
      event(100, 400, "zone 1 links degraded: latency x3"),
      event(100, nan, "rack 5 lost (every node on it crashes)"),
      event(100, 400, "zone 2x cut off (partition)"),  // not a domain: ignored
  };
  EXPECT_EQ(ActiveCuts(events, 99).size(), 0u);
  const std::vector<FailureDomain> at150 = ActiveCuts(events, 150);
  ASSERT_EQ(at150.size(), 3u);
  EXPECT_EQ(at150[0].kind, FailureDomain::Kind::kZone);
  EXPECT_EQ(at150[0].index, 2);
  EXPECT_EQ(at150[1].kind, FailureDomain::Kind::kRack);
  EXPECT_EQ(at150[1].index, 1);
  EXPECT_EQ(at150[2].kind, FailureDomain::Kind::kAggregation);
  EXPECT_EQ(at150[2].index, 0);
  EXPECT_EQ(at150[2].switch_index, 1);
  EXPECT_EQ(ActiveCuts(events, 200).size(), 2u);  // the zone healed; [start, end)
  EXPECT_EQ(ActiveCuts(events, 1e9).size(), 1u);  // no end: for good

  // 3 x 4 racks; zone 2's nodes all replaced (its racks empty), rack 1 cut.
  std::vector<std::int32_t> ids;
  for (std::int32_t id = 0; id < 24; ++id) {
    if (id % 12 < 8) ids.push_back(id);
  }
  const ResultsData d = WithTopology(3, 4, {ids});
  NetworkLayout net;
  net.Extend(d);
  const std::vector<RackStatus> racks = RackStatuses(d.nodes, 0);
  EXPECT_EQ(racks[9].nodes, 0);
  NetworkLayout::State st = net.StateAt(racks, {at150[0], at150[1]});
  for (int r = 0; r < 12; ++r) {
    EXPECT_EQ(st.switch_cut[static_cast<std::size_t>(net.RackVertex(r))], r == 1 || r >= 8) << r;
  }
  EXPECT_EQ(st.cut_racks, 5);
  EXPECT_TRUE(st.switch_cut[static_cast<std::size_t>(net.AggregationVertex(2, 0))]);
  EXPECT_FALSE(st.switch_cut[static_cast<std::size_t>(net.AggregationVertex(1, 0))]);
  int cut_links = 0;
  for (std::size_t i = 0; i < net.links().size(); ++i) {
    if (!st.link_cut[i]) continue;
    ++cut_links;
    const NetworkLayout::Link& l = net.links()[i];
    const bool zone2_core =
        l.from == NetworkLayout::CoreVertex() &&
        (l.to == net.AggregationVertex(2, 0) || l.to == net.AggregationVertex(2, 1));
    const bool rack1_uplink = l.to == net.RackVertex(1);
    EXPECT_TRUE(zone2_core || rack1_uplink) << l.from << "-" << l.to;
  }
  EXPECT_EQ(cut_links, 4);  // zone 2's two core links, rack 1's two uplinks
  // One aggregation switch down: its links, but every rack still reachable.
  st = net.StateAt(racks, {at150[2]});
  EXPECT_EQ(st.cut_racks, 0);
  EXPECT_TRUE(st.switch_cut[static_cast<std::size_t>(net.AggregationVertex(0, 1))]);
  // No events: the snapshot alone. Rack 3's nodes unreachable: its uplinks.
  ResultsData cut3 = WithTopology(3, 4, {Ids(0, 24)}, {3});
  NetworkLayout net3;
  net3.Extend(cut3);
  st = net3.StateAt(RackStatuses(cut3.nodes, 0), {});
  EXPECT_EQ(st.cut_racks, 1);
  cut_links = 0;
  for (std::size_t i = 0; i < net3.links().size(); ++i) {
    if (st.link_cut[i]) {
      ++cut_links;
      EXPECT_EQ(net3.links()[i].to, net3.RackVertex(3));
    }
  }
  EXPECT_EQ(cut_links, 2);
  // A whole zone's racks unreachable in the snapshot: the zone's core links.
  ResultsData zone1 = WithTopology(3, 4, {Ids(0, 24)}, {4, 5, 6, 7});
  NetworkLayout net1;
  net1.Extend(zone1);
  st = net1.StateAt(RackStatuses(zone1.nodes, 0), {});
  EXPECT_EQ(st.cut_racks, 4);
  for (std::size_t i = 0; i < net1.links().size(); ++i) {
    const bool core_link_of_zone1 =
        net1.links()[i].from == NetworkLayout::CoreVertex() &&
        net1.switches()[static_cast<std::size_t>(net1.links()[i].to)].zone == 1;
    EXPECT_EQ(st.link_cut[i] != 0, core_link_of_zone1) << i;
  }
}

TEST(EventStyleTest, FaultsHaveTheirOwnColourAndTooltips) {
  Event fault;
  fault.start = 15 * 3600 + 15 * 60;
  fault.end = fault.start + 600;
  fault.source = "faults";
  fault.category = "fault";
  fault.text = "zone 2 cut off (partition)";
  Event launch;
  launch.start = 3600;
  launch.announced = 0;
  launch.source = "scenario";
  launch.category = "launch";
  launch.magnitude = 2.5;
  launch.text = "product launch";
  EXPECT_TRUE(IsFaultEvent(fault));
  EXPECT_FALSE(IsFaultEvent(launch));
  EXPECT_EQ(EventColor(fault), kFaultEventColor);
  EXPECT_EQ(EventColor(launch), kEventColor);
  EXPECT_NE(kFaultEventColor, kEventColor);
  EXPECT_EQ(EventTooltip(fault),
            "fault (faults)\nzone 2 cut off (partition)\nstarts 15:15:00, ends 15:25:00 (10m)");
  const std::string t = EventTooltip(launch);
  EXPECT_THAT(t, ::testing::HasSubstr("launch (scenario), magnitude 2.50"));
  EXPECT_THAT(t, ::testing::HasSubstr("product launch\nstarts 01:00:00, instant"));
  EXPECT_THAT(t, ::testing::HasSubstr("announced at 00:00:00"));
}

// A run of 3 ticks, 2 decisions and a snapshot at tick 0 and 2, through the
// stream writer and reader.
TEST(SimStreamTest, RoundTrip) {
  ResultsData full = ThreeSnapshots();
  full.scenario_name = "t";
  full.policy = "hpa";
  full.trace_epoch = 1700000000;
  full.events.push_back({60, std::nan(""), 30, "scenario", "launch", 2.5, "launch at 1 min"});
  TickSeries& t = full.ticks;
  t.time = {0, 60, 120};
  t.demand = {100, 200, std::nan("")};
  t.arrived = t.capacity = t.served = t.dropped = t.queued = t.utilization = t.latency =
      t.migrating = {1, 2, 3};
  t.slo_violated = {0, 1, 0};
  t.nodes_ready = t.nodes_booting = t.nodes_draining = t.nodes_switching = {3, 5, 5};
  t.nodes_by_type = {1, 2, 3, 2, 3, 2};
  t.nodes_by_role = {3, 0, 3, 2, 2, 3};
  for (auto* m :
       {&t.served_by_class, &t.dropped_by_class, &t.throttled_by_class, &t.queued_by_class}) {
    *m = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  }
  t.demand_by_role = t.utilization_by_role = {1, 2, 3, 4, 5, 6};
  full.decisions.push_back({60, "hpa", "medium", "scale_out", 2, 3, 5, 0.9, "cpu high"});
  full.decisions.push_back({120, "hpa", "medium", "scale_in", 1, 5, 4, 0.2, "cpu low"});
  // Drop the middle snapshot: snapshots at ticks 0 and 2.
  NodeSnapshots& ns = full.nodes;
  ns.time = {0, 120};
  ns.id = {0, 1, 2, 0, 2, 3, 4, 5};
  ns.type = {0, 1, 0, 0, 0, 1, 0, 1};
  ns.role = {0, 0, 0, 0, 0, 1, 1, 1};
  ns.state = {1, 1, 1, 1, 1, 1, 1, 5};
  ns.utilization = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  ns.queued = {0, 1, 2, 3, 4, 5, 6, 7};
  ns.offset = {0, 3, 8};

  std::string stream = StreamHeaderLine(full, 180) + "\n";
  std::size_t sent = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    // What on_tick sees: everything up to tick k.
    ResultsData so_far = full;
    TickSeries& st = so_far.ticks;
    for (auto* v : {&st.time, &st.demand, &st.arrived, &st.capacity, &st.served, &st.dropped,
                    &st.queued, &st.utilization, &st.latency, &st.migrating}) {
      v->resize(k + 1);
    }
    for (auto* v : {&st.nodes_ready, &st.nodes_booting, &st.nodes_draining, &st.nodes_switching}) {
      v->resize(k + 1);
    }
    st.slo_violated.resize(k + 1);
    st.nodes_by_type.resize(2 * (k + 1));
    st.nodes_by_role.resize(2 * (k + 1));
    for (auto* v :
         {&st.served_by_class, &st.dropped_by_class, &st.throttled_by_class, &st.queued_by_class}) {
      v->resize(3 * (k + 1));
    }
    st.demand_by_role.resize(2 * (k + 1));
    st.utilization_by_role.resize(2 * (k + 1));
    so_far.decisions.resize(k == 0 ? 0 : k);
    so_far.nodes.time.resize(k < 2 ? 1 : 2);
    so_far.nodes.offset.resize(so_far.nodes.time.size() + 1);
    stream += StreamTickLine(so_far, k, &sent, (k + 1) / 3.0) + "\n";
  }
  stream += StreamDoneLine("/tmp/x.h5") + "\n";

  StreamDecoder decoder("sim t");
  // Fed in awkward pieces, as a pipe delivers them.
  for (std::size_t i = 0; i < stream.size(); i += 37) {
    const absl::Status st = decoder.Feed(std::string_view(stream).substr(i, 37));
    ASSERT_TRUE(st.ok()) << st;
  }
  const ResultsData& got = decoder.data();
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(decoder.results_path(), "/tmp/x.h5");
  EXPECT_DOUBLE_EQ(decoder.duration(), 180);
  EXPECT_EQ(got.scenario_name, "t");
  EXPECT_THAT(got.roles, ElementsAre("web", "api"));
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_TRUE(std::isnan(got.events[0].end));
  EXPECT_EQ(got.events[0].text, "launch at 1 min");
  EXPECT_THAT(got.ticks.time, ElementsAre(0, 60, 120));
  EXPECT_DOUBLE_EQ(got.ticks.demand[1], 200);
  EXPECT_TRUE(std::isnan(got.ticks.demand[2]));
  EXPECT_THAT(got.ticks.queued_by_class, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(got.ticks.nodes_by_role, ElementsAre(3, 0, 3, 2, 2, 3));
  ASSERT_EQ(got.decisions.size(), 2u);
  EXPECT_EQ(got.decisions[1].action, "scale_in");
  EXPECT_THAT(got.nodes.time, ElementsAre(0, 120));
  EXPECT_THAT(got.nodes.offset, ElementsAre(0, 3, 8));
  EXPECT_THAT(got.nodes.id, ElementsAre(0, 1, 2, 0, 2, 3, 4, 5));
  EXPECT_EQ(got.nodes.state.back(), 5);
  EXPECT_FLOAT_EQ(got.nodes.utilization[7], 0.8f);
}

TEST(SimStreamTest, MalformedLinesAreErrorsNamingSourceAndLine) {
  ResultsData meta = ThreeSnapshots();
  const std::string header = StreamHeaderLine(meta, 180) + "\n";
  {
    StreamDecoder d("sim broken");
    const absl::Status st = d.Feed(header + "\n{\"tick\": 0, oops\n");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(st.message(), HasSubstr("sim broken: stream line 3: not valid JSON"));
    EXPECT_FALSE(d.Feed("{}\n").ok());  // sticky
  }
  {
    StreamDecoder d("s");
    const absl::Status st = d.Feed("{\"tick\": 0}\n");
    EXPECT_THAT(st.message(), HasSubstr("s: stream line 1: expected the header line first"));
  }
  {
    StreamDecoder d("s");
    const absl::Status st =
        d.Feed(header + "{\"tick\": 4, \"progress\": 0.1, \"series\": {}, \"decisions\": []}\n");
    EXPECT_THAT(st.message(), HasSubstr("stream line 2: tick: expected tick 0, got 4"));
  }
  {
    StreamDecoder d("s");
    const absl::Status st =
        d.Feed(header + "{\"tick\": 0, \"progress\": 0.1, \"series\": {\"time\": \"x\"}}\n");
    EXPECT_THAT(st.message(), HasSubstr("stream line 2: series.time: expected a number"));
    EXPECT_EQ(d.data().ticks.size(), 0u);  // nothing half-applied
  }
}

TEST(NodeTableModelTest, FiltersAndSorts) {
  const ResultsData d = ThreeSnapshots();
  // Snapshot 2: ids 0, 2, 3, 4, 5; 5 failed; util 0.1 (id+1); queued 10 (5-id).
  auto ids = [&](const std::vector<std::size_t>& rows) {
    std::vector<int> out;
    for (std::size_t r : rows) out.push_back(d.nodes.id[r]);
    return out;
  };
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "", {})), ElementsAre(0, 2, 3, 4, 5));
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "failed", {})), ElementsAre(5));
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "API", {})), ElementsAre(3, 4, 5));
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "util>35%", {})), ElementsAre(3, 4, 5));
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "api util<0.55", {})), ElementsAre(3, 4));
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "queued>=20 medium", {})), ElementsAre(3));
  EXPECT_THAT(ids(FilterAndSortNodes(d, 2, "", {{NodeColumn::kUtilization, true}})),
              ElementsAre(5, 4, 3, 2, 0));
  // By type name (medium before small), then by queued descending.
  EXPECT_THAT(
      ids(FilterAndSortNodes(d, 2, "", {{NodeColumn::kType, false}, {NodeColumn::kQueued, true}})),
      ElementsAre(3, 5, 0, 2, 4));
  EXPECT_TRUE(FilterAndSortNodes(d, 9, "", {}).empty());
}

TEST(PlotMathTest, DecimationKeepsSpikesAndBoundsThePointCount) {
  std::vector<double> x(100000), y(100000, 1.0);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  y[54321] = 50;
  y[77777] = -20;
  const std::vector<XY> out = DecimateMinMax(x, y, 0, 99999, 500);
  EXPECT_LE(out.size(), 4u * 501);
  double hi = -1e9, lo = 1e9;
  for (const XY& p : out) {
    hi = std::max(hi, p.y);
    lo = std::min(lo, p.y);
  }
  EXPECT_EQ(hi, 50);
  EXPECT_EQ(lo, -20);
  // Few points: all of them, plus one either side of the range.
  EXPECT_EQ(DecimateMinMax(x, y, 10, 20, 500).size(), 13u);
  EXPECT_DOUBLE_EQ(NiceCeil(9000), 10000);
  EXPECT_DOUBLE_EQ(NiceCeil(0), 1);
  EXPECT_DOUBLE_EQ(PeakIn(x, y, 0, 50000), 1);
}

TEST(AppTest, FrameStatsAndWindowSize) {
  const FrameStats s = ComputeFrameStats({10, 20, 30, 40});
  EXPECT_DOUBLE_EQ(s.mean_ms, 25);
  EXPECT_DOUBLE_EQ(s.p50_ms, 20);
  EXPECT_DOUBLE_EQ(s.p99_ms, 40);
  EXPECT_DOUBLE_EQ(s.fps, 40);
  auto size = ParseWindowSize("--size", "1920x1080");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->first, 1920);
  for (const char* bad : {"1920", "1920x", "x1080", "10x10", "1920x1080x3", "axb"}) {
    const auto st = ParseWindowSize("--size", bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_THAT(st.status().message(), HasSubstr("--size")) << bad;
  }
}

TEST(DataSourceTest, KindsAndErrors) {
  DataSourceSpec live;
  live.kind = SourceKind::kLiveManager;
  live.address = "localhost:7070";
  const auto st = OpenDataSource(live);  // no TLS directory: refused before dialling
  EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.status().message(), HasSubstr("--tls-dir"));

  DataSourceSpec missing;
  missing.path = "/nonexistent/run.h5";
  const auto m = OpenDataSource(missing);
  EXPECT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("/nonexistent/run.h5"));

  // A results file written and opened again.
  ResultsData d = ThreeSnapshots();
  d.scenario_name = "roundtrip";
  d.ticks = TickSeries{};
  d.nodes = NodeSnapshots{};
  const std::string path =
      (std::filesystem::temp_directory_path() / "meshtwin_gui_test.h5").string();
  ASSERT_TRUE(WriteResultsFile(path, d).ok());
  DataSourceSpec file;
  file.path = path;
  auto src = OpenDataSource(file);
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_EQ((*src)->name(), "meshtwin_gui_test.h5");
  EXPECT_EQ((*src)->kind(), SourceKind::kResultsFile);
  EXPECT_FALSE((*src)->live());
  EXPECT_EQ((*src)->data().scenario_name, "roundtrip");
  std::filesystem::remove(path);
}

TEST(RerunTest, ButtonCommandAndScriptedSettings) {
  // The button: the combo's policy first, then the text's lines (trimmed,
  // comments and blanks skipped), so a policy.name line wins as a later --set.
  RerunCommand cmd = BuildRerunCommand("  duration=2h \n\n# note\nseed=3\n", "predictive");
  EXPECT_THAT(cmd.overrides,
              testing::ElementsAre("policy.name=predictive", "duration=2h", "seed=3"));
  EXPECT_EQ(cmd.label, "rerun predictive");

  // --rerun typed into the fields: a known policy picks the combo, a key
  // already there is replaced, a new one appended.
  std::string text = "duration=2h\nseed=1\n";
  int policy = 0;
  ApplyScriptedRerun({"policy.name=oracle", "seed=7", "dht=chord"}, &text, &policy);
  EXPECT_EQ(std::string(kRerunPolicies[policy]), "oracle");
  EXPECT_EQ(text, "duration=2h\nseed=7\ndht=chord\n");
  // An unknown policy stays in the text, where it wins over the combo (and
  // the child names the key in its error).
  ApplyScriptedRerun({"policy.name=bogus"}, &text, &policy);
  cmd = BuildRerunCommand(text, kRerunPolicies[policy]);
  EXPECT_EQ(cmd.overrides.back(), "policy.name=bogus");
  EXPECT_EQ(cmd.label, "rerun bogus");
}

TEST(RerunTest, RelativePathsAreFoundAndPassedAbsolute) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "meshtwin_gui_rerun_test";
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  { std::ofstream(dir / "data" / "demand.csv") << "time,value\n"; }
  const std::string yaml =
      "name: t\ntrace:\n  file: data/demand.csv\n  events_file: /abs/events.csv\n"
      "forecast:\n  model: gru\n";
  auto paths = RelativePathOverrides(yaml, {}, {"/nonexistent", dir.string()});
  ASSERT_TRUE(paths.ok()) << paths.status();
  EXPECT_THAT(*paths, testing::ElementsAre("trace.file=" + (dir / "data" / "demand.csv").string()));
  // Overridden by the user: left alone.
  paths = RelativePathOverrides(yaml, {"trace.file=x.csv"}, {dir.string()});
  ASSERT_TRUE(paths.ok());
  EXPECT_TRUE(paths->empty());
  // Nowhere to be found: an error naming the key, the path and the folders.
  paths = RelativePathOverrides(yaml, {}, {"/nonexistent"});
  ASSERT_FALSE(paths.ok());
  EXPECT_THAT(paths.status().message(), HasSubstr("trace.file data/demand.csv"));
  EXPECT_THAT(paths.status().message(), HasSubstr("/nonexistent"));
  // A model file, relative.
  paths =
      RelativePathOverrides("name: t\nforecast:\n  model: data/demand.csv\n", {}, {dir.string()});
  ASSERT_TRUE(paths.ok());
  EXPECT_THAT(*paths,
              testing::ElementsAre("forecast.model=" + (dir / "data" / "demand.csv").string()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace meshtwin::gui
