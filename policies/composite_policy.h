// Policies compose: a scaling policy (hpa, predictive, oracle, or none) plus
// any of admission control, workload shifting and role assignment. Each
// decides on the same observation; their plans are concatenated in the order
// scaling, roles, shifting, admission.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twin/policy.h"

namespace meshtwin {

class CompositePolicy : public Policy {
 public:
  // `parts` must not be empty; its first element names the composition.
  explicit CompositePolicy(std::vector<std::unique_ptr<Policy>> parts);
  std::string_view name() const override { return name_; }  // e.g. "predictive+shifting"
  bool wants_node_view() const override;
  Plan Decide(const Observation& obs) override;

 private:
  std::vector<std::unique_ptr<Policy>> parts_;
  std::string name_;
};

// A scaling policy that never acts (policy.name: none).
class StaticPolicy : public Policy {
 public:
  std::string_view name() const override { return "none"; }
  Plan Decide(const Observation&) override { return {}; }
};

}  // namespace meshtwin
