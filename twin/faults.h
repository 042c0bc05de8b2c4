// Failures a scenario injects (its `faults:` section) and how the control
// loop notices and heals them. Pure data: scenarios/ reads it, sim/ injects
// it, twin/topology.h and policies/remediation_policy.h act on it.
//
//   faults:
//     topology: {zones: 3, racks_per_zone: 4}
//     mtbf: {medium: 12h}
//     crashes: [{at: 14h, count: 3, type: medium}]
//     domains: [{at: 15h, rack: 2, duration: 30m}]
//     gray: [{at: 13h, count: 2, speed: 0.3, error_rate: 0.05, duration: 1h}]
//     links: [{at: 16h, zone: 1, latency: 20x, duration: 10m}, {at: 17h, rack: 5, cut: true,
//     duration: 5m}] manager: [{at: 18h, duration: 2m}] detection: {heartbeat_misses: 2, anomaly:
//     robust-z, max_isolations: 2, window: 10m}
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "twin/types.h"

namespace meshtwin {

inline constexpr Seconds kForever = std::numeric_limits<double>::infinity();

// Where nodes sit: `zones` x `racks_per_zone` racks; nodes are placed on the
// racks round robin by id. Each rack's switch has two uplinks, one to each of
// its zone's two aggregation switches; every aggregation switch has one link
// to the core, where the manager sits. So one aggregation switch or uplink
// can fail without cutting anything off (traffic is rerouted over the
// other); a rack or zone is cut off only when both of its uplinks are.
struct TopologySpec {
  int zones = 1;
  int racks_per_zone = 1;
  Seconds hop_latency = 50e-6;  // per link on a path, one way
};

// A failure domain: a zone, a rack (index over all racks, zone-major), or
// one aggregation switch of a zone (0 or 1).
struct FailureDomain {
  enum class Kind { kZone, kRack, kAggregation };
  Kind kind = Kind::kRack;
  int index = 0;         // zone or rack index
  int switch_index = 0;  // kAggregation: which of the zone's two switches
};

// `count` nodes (of `node_type`, or any type when -1) crash at `at`: chosen
// by the fault injector's seeded generator among the nodes up at the time.
struct CrashSpec {
  Seconds at = 0;
  int node_type = -1;
  int count = 1;
};

// Every node of `node_type` crashes after an exponential time with this mean
// (from when it became ready).
struct MtbfSpec {
  int node_type = 0;
  Seconds mtbf = 86400;
};

// Correlated failure: every node of the domain crashes at `at` (power, a
// switch with no redundancy). A domain that comes back after `duration` gets
// no nodes back: replacements are new nodes, placed anywhere.
struct DomainFailureSpec {
  Seconds at = 0;
  FailureDomain domain;
  Seconds duration = kForever;
};

// Gray failure: `count` nodes keep running but at `speed` times their speed,
// and fail `error_rate` of the requests they complete, for `duration`.
struct GraySpec {
  Seconds at = 0;
  int node_type = -1;
  int count = 1;
  double speed = 1;       // (0, 1]
  double error_rate = 0;  // [0, 1]
  Seconds duration = kForever;
};

// Link degradation (`latency` times the links' latency, `loss` of the
// requests crossing them) or a cut (`cut`: the domain's uplinks are down —
// a network partition when it leaves part of the mesh unreachable).
struct LinkFaultSpec {
  Seconds at = 0;
  FailureDomain domain;
  double latency = 1;  // factor >= 1
  double loss = 0;     // [0, 1)
  bool cut = false;
  Seconds duration = kForever;
};

// The manager (the control loop) is down: no observations, no decisions
// until it restarts (nodes keep serving what they were told).
struct ManagerCrashSpec {
  Seconds at = 0;
  Seconds duration = 120;
};

// How failures are noticed and healed.
struct DetectionSpec {
  int heartbeat_misses = 2;            // a node silent for this many intervals is declared failed
  bool replace = true;                 // failed (and isolated) nodes are replaced by new nodes
  std::string anomaly = "robust-z";    // per-node anomaly detector (models/anomaly.h), or "none"
  double threshold = 0;                // the detector's threshold (0: its default)
  int max_isolations = 2;              // at most this many nodes isolated ...
  Seconds window = 600;                // ... per this long
  double max_isolated_fraction = 0.1;  // and never more than this share of a pool at once
};

struct FaultsSpec {
  bool enabled = false;  // a `faults:` section is present
  TopologySpec topology;
  std::vector<MtbfSpec> mtbf;
  std::vector<CrashSpec> crashes;
  std::vector<DomainFailureSpec> domains;
  std::vector<GraySpec> gray;
  std::vector<LinkFaultSpec> links;
  std::vector<ManagerCrashSpec> manager;
  DetectionSpec detection;
};

}  // namespace meshtwin
