// Workload shifting: queued requests of the less critical classes move off
// nodes heading for overload (a long queue) onto nodes of the same role with
// spare capacity (a short queue), and off draining nodes so a scale-in
// completes sooner (consolidation). Critical work never moves: in flight it
// would be served by nobody. Moves cost network time (the simulator sends the
// requests' state between the hosts).
//
//   ShiftingPolicy shifting({.hot_queue = 2, .cool_queue = 0.5});
//   Plan p = shifting.Decide(observation);  // needs Observation::nodes
#pragma once

#include <string_view>

#include "twin/policy.h"

namespace meshtwin {

struct ShiftingOptions {
  Seconds hot_queue = 2;     // a node with more queued work than this (s of its speed) is hot
  Seconds cool_queue = 0.5;  // a node below this may receive work
  int max_moves = 16;        // kMigrate actions per decision at most
  double min_requests = 1;   // smaller moves are not worth the transfer
};

// Stateless between decisions: each plan depends on the observation alone.
// Deterministic (ties broken by node id); not thread-safe.
class ShiftingPolicy : public Policy {
 public:
  explicit ShiftingPolicy(ShiftingOptions options);
  std::string_view name() const override { return "shifting"; }
  bool wants_node_view() const override { return true; }
  // Per role, moves best-effort, then standard requests from the hottest
  // source to the coolest target until sources are down to the role's level
  // (draining sources: empty of movable work) or targets are up to it. See
  // the .cpp for the exact rule.
  Plan Decide(const Observation& obs) override;

 private:
  ShiftingOptions options_;
};

}  // namespace meshtwin
