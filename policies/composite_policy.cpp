#include "policies/composite_policy.h"

#include <algorithm>
#include <utility>

namespace meshtwin {

CompositePolicy::CompositePolicy(std::vector<std::unique_ptr<Policy>> parts)
    : parts_(std::move(parts)) {
  // Built once: name() hands out a view, so the string must outlive the call.
  for (const std::unique_ptr<Policy>& part : parts_) {
    if (!name_.empty()) name_ += '+';
    name_ += part->name();
  }
  if (name_.empty()) name_ = "none";
}

bool CompositePolicy::wants_node_view() const {
  // One part that needs per-node metrics makes the loop collect them; the
  // others simply ignore Observation::nodes.
  return std::any_of(parts_.begin(), parts_.end(),
                     [](const std::unique_ptr<Policy>& part) { return part->wants_node_view(); });
}

Plan CompositePolicy::Decide(const Observation& obs) {
  // Every part decides on the same observation, none sees the others' plans:
  // each stays as simple (and as testable) as it is alone. Every part is asked
  // on every tick, even after another one acted, because parts keep history
  // (stabilisation windows, demand samples) that must not skip ticks.
  Plan plan;
  for (const std::unique_ptr<Policy>& part : parts_) {
    Plan part_plan = part->Decide(obs);
    for (Action& action : part_plan.actions) plan.actions.push_back(std::move(action));
  }
  return plan;
}

}  // namespace meshtwin
