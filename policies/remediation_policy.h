// Self-healing: declares silent nodes failed (missed heartbeats; a whole rack
// or zone going silent at once is one partition, not many failures) and
// replaces them; isolates gray failures (a node much slower or more
// error-prone than its peers) found by a per-node anomaly detector, at a
// bounded rate, and replaces them once drained.
//
//   absl::StatusOr<std::unique_ptr<RemediationPolicy>> p =
//       RemediationPolicy::Create({.detection = scenario.faults.detection});
//   Plan plan = (*p)->Decide(observation);  // needs Observation::nodes
//   RemediationCounters c = (*p)->counters();  // for the run summary
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string_view>

#include "models/anomaly.h"
#include "twin/faults.h"
#include "twin/policy.h"
#include "twin/status.h"

namespace meshtwin {

struct RemediationOptions {
  DetectionSpec detection;  // the scenario's faults.detection
  // The value each node's detector watches is its service time (its latency
  // when the observation has none) over the median of its peers' (same type
  // and role, ready, not isolated, heard from last tick) plus its error rate
  // above theirs divided by error_scale: 1 percentage point of extra errors
  // weighs as much as twice the peers' latency.
  double error_scale = 0.01;
  // A node is suspect only while its value is at least this (half again
  // slower than its peers): whatever a detector says, a node about as good as
  // its peers is not worth a node replacement, and a faster one never is.
  double min_suspect_value = 1.5;
  // Points a new node's detector trains on before it judges (robust-z: on
  // its spread; forecast-residual: the history before its first fit is
  // twice this). Meanwhile the node is judged against its peers only.
  int warmup_points = 10;
  // Meanwhile: suspect when the value's robust z across the peer group
  // (median / MAD, MAD floored at 0.02) exceeds this.
  double warmup_peer_z = 6;
  // An isolated node is replaced once its queue holds fewer requests than
  // this, or this many control intervals after its isolation.
  double drained_requests = 0.5;
  int max_drain_intervals = 4;
};

// Totals since the policy was created, for the run summary.
struct RemediationCounters {
  int failures_declared = 0;     // nodes declared failed by missed heartbeats
  int single_failures = 0;       // ... of which alone (the rest were in a partition)
  int partitions = 0;            // racks or zones that went silent as a whole
  int partitioned_nodes = 0;     // nodes declared failed as part of a partition
  int suspects = 0;              // nodes the anomaly detection flagged (each once)
  int isolations = 0;            // kIsolate emitted
  int isolations_held_back = 0;  // suspect-ticks deferred by the rate limits
  int replacements = 0;          // kReplace emitted (silent and isolated nodes)
};

// Deterministic (nodes visited by id; the detectors are deterministic); not
// thread-safe. Keeps one record per node it has seen, dropped when the node
// leaves the observation. Acts on a node at most once per kind: one kIsolate,
// one kReplace.
class RemediationPolicy : public Policy {
 public:
  // InvalidArgument for an unknown detector name or options it rejects.
  static absl::StatusOr<std::unique_ptr<RemediationPolicy>> Create(RemediationOptions options);

  std::string_view name() const override { return "remediation"; }
  bool wants_node_view() const override { return true; }
  // In order: kReplace for nodes newly silent for heartbeat_misses intervals
  // (never rate-limited); kReplace for isolated nodes that are drained or
  // have had max_drain_intervals; kIsolate for suspects within the limits
  // (max_isolations per window; per node type at once at most
  // floor(max_isolated_fraction x pool), but 1 in a pool of >= 2 nodes when
  // that rounds down to 0 and the fraction is > 0), most suspect first.
  Plan Decide(const Observation& obs) override;

  const RemediationCounters& counters() const { return counters_; }

 private:
  struct NodeRecord {
    std::unique_ptr<AnomalyDetector> detector;  // null until the node is first judged
    bool flagged_once = false;                  // counted in `suspects`
    bool suspect = false;                       // isolate when the limits allow
    bool isolated = false;                      // by us, or seen isolated in the observation
    Seconds isolated_at = 0;
    bool declared_failed = false;
    bool replaced = false;  // kReplace emitted: nothing more is ever done to it
  };

  RemediationPolicy(RemediationOptions options, std::unique_ptr<AnomalyDetector> prototype);

  void DeclareSilent(const Observation& obs, Plan* plan);
  void ReplaceIsolated(const Observation& obs, Plan* plan);
  void JudgeAndIsolate(const Observation& obs, Plan* plan);
  bool Silent(const NodeObservation& node, Seconds interval) const;

  RemediationOptions options_;
  std::unique_ptr<AnomalyDetector> prototype_;  // null with anomaly: none
  bool step_known_ = false;                     // prototype_ built at the loop's interval
  std::map<int, NodeRecord> records_;           // by node id
  std::deque<Seconds> isolation_times_;         // within the last window
  RemediationCounters counters_;
};

}  // namespace meshtwin
