#include "policies/shifting_policy.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace meshtwin {
namespace {

// The rule, per role:
//   level   = (queued work of the ready nodes + movable work of the draining
//              ones) / speed of the ready nodes, in seconds. It is the queue
//              every ready node would have if all the role's movable work were
//              spread over them in proportion to speed, and it does not change
//              as work moves within the role, so every move aims at one fixed
//              mark.
//   sources = ready nodes with queue_seconds > hot_queue, and draining nodes
//             with standard or best-effort work queued; hottest first (by
//             queue_seconds, ties by id).
//   targets = ready nodes with queue_seconds < cool_queue.
// Best-effort moves first over all sources, then standard: the least critical
// work is the one that can best afford the transfer. Each move takes from one
// source as much as brings it down to the level (a draining source: all its
// movable work) and gives the coolest target as much as brings it up to the
// level, in requests = seconds x that node's speed_rps.
//
// Booting and switching nodes are neither: a booting node serves nothing yet,
// and a switching node's queue belongs to the role it is leaving while its
// NodeObservation::role may already name the new one.

constexpr RequestClass kMoveOrder[] = {RequestClass::kBestEffort, RequestClass::kStandard};

// A node's load as the plan has left it so far.
struct Load {
  const NodeObservation* node = nullptr;
  double queue_seconds = 0;
  PerClass queued = {0, 0, 0};
  bool draining = false;
  bool target = false;
};

struct RoleLevel {
  double work = 0;   // requests (ready: all queued; draining: movable only)
  double speed = 0;  // requests/s of the ready nodes
  double LevelSeconds() const { return speed > 0 ? work / speed : 0; }
};

double Movable(const PerClass& queued) {
  return queued[static_cast<std::size_t>(RequestClass::kStandard)] +
         queued[static_cast<std::size_t>(RequestClass::kBestEffort)];
}

std::string Describe(RequestClass c, double requests, const Load& source, double source_seconds,
                     const Load& target, double target_seconds, double level, Seconds hot_queue) {
  char buffer[192];
  if (source.draining) {
    std::snprintf(buffer, sizeof(buffer),
                  "%s %.1f req: draining node %d -> node %d (queue %.2f s, role level %.2f s)",
                  ToString(c), requests, source.node->id, target.node->id, target_seconds, level);
  } else {
    std::snprintf(buffer, sizeof(buffer),
                  "%s %.1f req: hot node %d (queue %.2f s > %.2f s) -> node %d (queue %.2f s), "
                  "toward role level %.2f s",
                  ToString(c), requests, source.node->id, source_seconds, hot_queue,
                  target.node->id, target_seconds, level);
  }
  return buffer;
}

}  // namespace

ShiftingPolicy::ShiftingPolicy(ShiftingOptions options) : options_(std::move(options)) {}

Plan ShiftingPolicy::Decide(const Observation& obs) {
  Plan plan;
  if (options_.max_moves <= 0) return plan;

  std::vector<Load> loads;
  int role_count = 0;
  for (const NodeObservation& node : obs.nodes) {
    const bool ready = node.state == NodeState::kReady;
    const bool draining = node.state == NodeState::kDraining;
    // Without a speed, seconds cannot be turned into requests.
    if ((!ready && !draining) || node.speed_rps <= 0 || node.role < 0) continue;
    loads.push_back(Load{&node, node.queue_seconds, node.queued, draining,
                         ready && node.queue_seconds < options_.cool_queue});
    role_count = std::max(role_count, node.role + 1);
  }

  std::vector<RoleLevel> levels(static_cast<std::size_t>(role_count));
  for (const Load& load : loads) {
    RoleLevel& level = levels[static_cast<std::size_t>(load.node->role)];
    if (load.draining) {
      level.work += Movable(load.queued);
    } else {
      // queue_seconds, not the per-class counts: it is the node's whole
      // queue as the mesh measures it, and what hot/cool are judged on.
      level.work += load.queue_seconds * load.node->speed_rps;
      level.speed += load.node->speed_rps;
    }
  }

  std::vector<std::size_t> sources;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    const Load& load = loads[i];
    if (load.draining ? Movable(load.queued) > 0 : load.queue_seconds > options_.hot_queue) {
      sources.push_back(i);
    }
  }
  std::sort(sources.begin(), sources.end(), [&](std::size_t a, std::size_t b) {
    if (loads[a].queue_seconds != loads[b].queue_seconds) {
      return loads[a].queue_seconds > loads[b].queue_seconds;
    }
    return loads[a].node->id < loads[b].node->id;
  });

  // A zero-request move would be an action that does nothing.
  const double min_requests = std::max(options_.min_requests, 1e-9);
  int moves = 0;
  for (RequestClass c : kMoveOrder) {
    const std::size_t ci = static_cast<std::size_t>(c);
    for (std::size_t s : sources) {
      Load& source = loads[s];
      const int role = source.node->role;
      const double level = levels[static_cast<std::size_t>(role)].LevelSeconds();
      while (moves < options_.max_moves) {
        const double excess = source.draining
                                  ? std::numeric_limits<double>::infinity()
                                  : (source.queue_seconds - level) * source.node->speed_rps;
        const double offer = std::min(excess, source.queued[ci]);
        if (offer < min_requests) break;

        // The coolest target that can take a worthwhile amount; a cooler one
        // too full to do so does not block a warmer one with room.
        Load* target = nullptr;
        double amount = 0;
        for (Load& candidate : loads) {
          if (!candidate.target || candidate.node->role != role ||
              candidate.node->id == source.node->id) {
            continue;
          }
          const double room = (level - candidate.queue_seconds) * candidate.node->speed_rps;
          const double take = std::min(offer, room);
          if (take < min_requests) continue;
          if (target == nullptr || candidate.queue_seconds < target->queue_seconds ||
              (candidate.queue_seconds == target->queue_seconds &&
               candidate.node->id < target->node->id)) {
            target = &candidate;
            amount = take;
          }
        }
        if (target == nullptr) break;

        const double source_before = source.queue_seconds;
        const double target_before = target->queue_seconds;
        source.queued[ci] -= amount;
        source.queue_seconds -= amount / source.node->speed_rps;
        target->queued[ci] += amount;
        target->queue_seconds += amount / target->node->speed_rps;

        Action action;
        action.kind = ActionKind::kMigrate;
        action.node_type = source.node->type;
        action.role = role;
        action.node = source.node->id;
        action.target_node = target->node->id;
        action.request_class = static_cast<int>(c);
        action.requests = amount;
        action.metric = source_before;
        action.reason = Describe(c, amount, source, source_before, *target, target_before, level,
                                 options_.hot_queue);
        plan.actions.push_back(std::move(action));
        ++moves;
      }
    }
  }
  return plan;
}

}  // namespace meshtwin
