// Dynamic role assignment: nodes move between roles (web, api, batch, ...)
// when the demand predicted per role, one switch time ahead, calls for it.
// The per-role prediction is the policy's own: the current per-role demand
// scaled by how the same role's demand moved a day earlier over the same
// lookahead (seasonal naive on the ratio), or the current demand while less
// than a day of history exists.
//
//   RoleAssignmentPolicy roles({.roles = scenario.roles, .types = scenario.types});
//   Plan p = roles.Decide(observation);  // kChangeRole actions; needs Observation::nodes
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

#include "twin/policy.h"

namespace meshtwin {

struct RoleAssignmentOptions {
  std::vector<RoleSpec> roles;       // the scenario's roles (names, switch times)
  std::vector<NodeTypeSpec> types;   // node speeds, for nodes observed without speed_rps
  double request_work = 5e7;         // flop per request (with `types`: requests/s per node)
  double target_utilization = 0.75;  // a role wants capacity for predicted demand / this
  // A node moves only while the receiving role's deficit exceeds this
  // fraction of that node's speed: a deficit of a few percent of one node is
  // noise, not a reason to pay a switch.
  double hysteresis = 0.15;
  Seconds min_dwell = 600;  // a node keeps a role at least this long
  int max_switches = 4;     // kChangeRole actions per decision at most
};

// Keeps a day of per-role demand and, per node, when this policy last moved
// it. Deterministic (ties by role index, then node id); not thread-safe.
class RoleAssignmentPolicy : public Policy {
 public:
  explicit RoleAssignmentPolicy(RoleAssignmentOptions options);
  std::string_view name() const override { return "roles"; }
  bool wants_node_view() const override { return true; }
  // Records the tick's per-role demand, predicts each role's demand one
  // lookahead ahead and moves nodes from surplus to deficit roles (rule in
  // the .cpp).
  Plan Decide(const Observation& obs) override;

 private:
  // Demand of `role` recorded nearest to `time`, if one lies within `tolerance`.
  bool Recorded(std::size_t role, Seconds time, Seconds tolerance, double* demand) const;

  RoleAssignmentOptions options_;
  // Per role, (time, demand) samples of the last day and one interval, oldest first.
  std::vector<std::deque<std::pair<Seconds, double>>> history_;
  std::vector<Seconds> last_switch_;  // by node id: when it last changed role (NaN: never)
};

}  // namespace meshtwin
