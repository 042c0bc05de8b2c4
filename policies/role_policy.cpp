#include "policies/role_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace meshtwin {
namespace {

// The rule, once per decision:
//   L           = the largest switch_time + one interval: a node ordered now
//                 serves its new role by then, so that is the demand to meet.
//   predicted_r = demand_r now x hist_r(now - 1 d + L) / hist_r(now - 1 d),
//                 each taken from the sample nearest that time within one
//                 interval, the ratio clamped to [0.25, 4] so one odd sample a
//                 day ago cannot swing the fleet; the current demand when
//                 either sample is missing or yesterday's base was 0 (a ratio
//                 of 0 says nothing).
//   needed_r    = predicted_r / target_utilization (requests/s of capacity).
//   have_r      = speed_rps of the role's nodes that are ready, booting or
//                 switching into it (NodeObservation::role of a switching
//                 node names the role it is switching into): what will serve
//                 the role by then, without counting draining nodes.
// Then, up to max_switches times: the role with the largest deficit
// (needed - have > 0, ties by role index) receives one node from the role with
// the largest surplus (ties by index; if it has no node that may go, the next
// largest). The node is a ready node of the donor, not moved by this policy in
// the last min_dwell, with the shortest queue (it has least work to finish
// before it serves the new role), ties by id; it goes only if
//   - the deficit exceeds hysteresis x its speed_rps (no switch for noise),
//   - the donor keeps at least one ready node, and
//   - the donor's have - speed still covers its own need,
// so a move never creates a deficit that would call the node back next tick;
// a node failing the speed-dependent tests gives way to the next candidate
// (a slower node may still fit). When the largest deficit finds no node, no
// smaller one can (same donors, a smaller deficit), and the decision ends.

constexpr Seconds kDay = 86400;

std::string RoleName(const std::vector<RoleSpec>& roles, std::size_t role) {
  if (role < roles.size()) return roles[role].name;
  return "role " + std::to_string(role);
}

}  // namespace

RoleAssignmentPolicy::RoleAssignmentPolicy(RoleAssignmentOptions options)
    : options_(std::move(options)) {}

bool RoleAssignmentPolicy::Recorded(std::size_t role, Seconds time, Seconds tolerance,
                                    double* demand) const {
  const auto& samples = history_[role];
  auto after = std::lower_bound(
      samples.begin(), samples.end(), time,
      [](const std::pair<Seconds, double>& sample, Seconds t) { return sample.first < t; });
  // The nearer of the neighbours either side of `time`; the earlier on a tie.
  auto best = samples.end();
  if (after != samples.end()) best = after;
  if (after != samples.begin()) {
    auto before = std::prev(after);
    if (best == samples.end() || time - before->first <= best->first - time) best = before;
  }
  if (best == samples.end() || std::abs(best->first - time) > tolerance) return false;
  *demand = best->second;
  return true;
}

Plan RoleAssignmentPolicy::Decide(const Observation& obs) {
  const Seconds now = obs.now;
  std::size_t role_count = options_.roles.size();
  for (const RoleObservation& role : obs.roles) {
    if (role.role >= 0) role_count = std::max(role_count, static_cast<std::size_t>(role.role) + 1);
  }
  for (const NodeObservation& node : obs.nodes) {
    if (node.role >= 0) role_count = std::max(role_count, static_cast<std::size_t>(node.role) + 1);
  }
  history_.resize(role_count);

  // Record this tick's demand. Only samples near now - 1 d are ever read
  // back (now - 1 d + L is later), so a day and one interval is enough.
  std::vector<double> current(role_count, 0.0);
  for (const RoleObservation& role : obs.roles) {
    if (role.role >= 0) current[static_cast<std::size_t>(role.role)] = role.demand_rps;
  }
  for (std::size_t r = 0; r < role_count; ++r) {
    auto& samples = history_[r];
    // A repeated time (a second decision in the same tick) replaces, keeping
    // the samples strictly ordered for the binary search.
    if (!samples.empty() && samples.back().first >= now) {
      samples.back() = {now, current[r]};
    } else {
      samples.emplace_back(now, current[r]);
    }
    while (!samples.empty() && samples.front().first < now - kDay - obs.interval) {
      samples.pop_front();
    }
  }

  Seconds longest_switch = options_.roles.empty() ? RoleSpec{}.switch_time : 0;
  for (const RoleSpec& role : options_.roles) {
    longest_switch = std::max(longest_switch, role.switch_time);
  }
  const Seconds lookahead = longest_switch + obs.interval;

  std::vector<double> predicted(current);
  std::vector<double> needed(role_count, 0.0), have(role_count, 0.0);
  std::vector<int> ready(role_count, 0);
  const double target = options_.target_utilization > 0 ? options_.target_utilization : 1;
  for (std::size_t r = 0; r < role_count; ++r) {
    double base = 0, ahead = 0;
    if (Recorded(r, now - kDay, obs.interval, &base) &&
        Recorded(r, now - kDay + lookahead, obs.interval, &ahead) && base > 0) {
      predicted[r] = current[r] * std::clamp(ahead / base, 0.25, 4.0);
    }
    needed[r] = predicted[r] / target;
  }

  auto speed_of = [&](const NodeObservation& node) {
    if (node.speed_rps > 0) return node.speed_rps;
    const auto type = static_cast<std::size_t>(node.type);
    if (node.type >= 0 && type < options_.types.size() && options_.request_work > 0) {
      return options_.types[type].NodeSpeed() / options_.request_work;
    }
    return 0.0;
  };
  int max_id = -1;
  for (const NodeObservation& node : obs.nodes) {
    max_id = std::max(max_id, node.id);
    if (node.role < 0) continue;
    const auto r = static_cast<std::size_t>(node.role);
    if (node.state == NodeState::kReady || node.state == NodeState::kBooting ||
        node.state == NodeState::kSwitching) {
      have[r] += speed_of(node);
    }
    if (node.state == NodeState::kReady) ++ready[r];
  }
  if (max_id >= 0 && last_switch_.size() < static_cast<std::size_t>(max_id) + 1) {
    last_switch_.resize(static_cast<std::size_t>(max_id) + 1,
                        std::numeric_limits<double>::quiet_NaN());
  }

  // Nodes that may leave their role, in the order they would be picked.
  std::vector<const NodeObservation*> candidates;
  for (const NodeObservation& node : obs.nodes) {
    if (node.state != NodeState::kReady || node.role < 0 || node.id < 0) continue;
    const Seconds last = last_switch_[static_cast<std::size_t>(node.id)];
    if (!std::isnan(last) && now - last < options_.min_dwell) continue;
    candidates.push_back(&node);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const NodeObservation* a, const NodeObservation* b) {
              if (a->queue_seconds != b->queue_seconds) return a->queue_seconds < b->queue_seconds;
              return a->id < b->id;
            });

  Plan plan;
  for (int switches = 0; switches < options_.max_switches; ++switches) {
    std::size_t recipient = role_count;
    for (std::size_t r = 0; r < role_count; ++r) {
      const double deficit = needed[r] - have[r];
      if (deficit > 0 &&
          (recipient == role_count || deficit > needed[recipient] - have[recipient])) {
        recipient = r;
      }
    }
    if (recipient == role_count) break;
    const double deficit = needed[recipient] - have[recipient];

    std::vector<std::size_t> donors;
    for (std::size_t r = 0; r < role_count; ++r) {
      if (r != recipient && have[r] - needed[r] > 0 && ready[r] > 1) donors.push_back(r);
    }
    std::stable_sort(donors.begin(), donors.end(), [&](std::size_t a, std::size_t b) {
      return have[a] - needed[a] > have[b] - needed[b];
    });

    auto chosen = candidates.end();
    std::size_t donor = role_count;
    for (std::size_t d : donors) {
      chosen = std::find_if(candidates.begin(), candidates.end(), [&](const NodeObservation* node) {
        const double speed = speed_of(*node);
        return static_cast<std::size_t>(node->role) == d && speed > 0 &&
               deficit > options_.hysteresis * speed && have[d] - speed >= needed[d];
      });
      if (chosen != candidates.end()) {
        donor = d;
        break;
      }
    }
    if (donor == role_count) break;

    const NodeObservation& node = **chosen;
    const double speed = speed_of(node);
    char buffer[224];
    std::snprintf(buffer, sizeof(buffer),
                  "%s predicted %.1f rps in %.0f s: needs %.1f, has %.1f; node %d from %s "
                  "(has %.1f, needs %.1f)",
                  RoleName(options_.roles, recipient).c_str(), predicted[recipient], lookahead,
                  needed[recipient], have[recipient], node.id,
                  RoleName(options_.roles, donor).c_str(), have[donor], needed[donor]);

    Action action;
    action.kind = ActionKind::kChangeRole;
    action.node_type = node.type;
    action.node = node.id;
    action.role = static_cast<int>(recipient);
    action.metric = predicted[recipient];
    action.reason = buffer;
    plan.actions.push_back(std::move(action));

    have[donor] -= speed;
    have[recipient] += speed;
    --ready[donor];
    last_switch_[static_cast<std::size_t>(node.id)] = now;
    candidates.erase(chosen);
  }
  return plan;
}

}  // namespace meshtwin
