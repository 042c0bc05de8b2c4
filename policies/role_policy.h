// Dynamic role assignment: nodes move between roles (web, api, batch, ...)
// when the demand predicted per role, one switch time ahead, calls for it.
// The per-role prediction is the policy's own: the current per-role demand
// scaled by how the same role's demand moved a day earlier over the same
// lookahead (seasonal naive on the ratio), or the current demand while less
// than a day of history exists.
#pragma once

#include <deque>
#include <string_view>
#include <vector>

#include "twin/policy.h"

namespace meshtwin {

struct RoleAssignmentOptions {
  std::vector<RoleSpec> roles;         // the scenario's roles (switch times)
  std::vector<NodeTypeSpec> types;     // node speeds
  double request_work = 5e7;           // flop per request
  double target_utilization = 0.75;    // a role wants capacity for predicted demand / this
  double hysteresis = 0.15;            // move only when the deficit exceeds this fraction of a node... (see .cpp)
  Seconds min_dwell = 600;             // a node keeps a role at least this long
  int max_switches = 4;                // kChangeRole actions per decision at most
};

class RoleAssignmentPolicy : public Policy {
 public:
  explicit RoleAssignmentPolicy(RoleAssignmentOptions options);
  std::string_view name() const override { return "roles"; }
  bool wants_node_view() const override { return true; }
  Plan Decide(const Observation& obs) override;

 private:
  RoleAssignmentOptions options_;
  // Per role, (time, demand) samples of the last day and a bit.
  std::vector<std::deque<std::pair<Seconds, double>>> history_;
  std::vector<Seconds> last_switch_;  // by node id: when it last changed role
};

}  // namespace meshtwin
