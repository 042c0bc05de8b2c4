// Policies compose: a scaling policy (hpa, predictive, oracle, or none) plus
// any of admission control, workload shifting, role assignment and
// remediation. Each decides on the same observation; their plans are
// concatenated in the order scaling, roles, shifting, admission, remediation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twin/policy.h"

namespace meshtwin {

// Deterministic when its parts are; not thread-safe.
class CompositePolicy : public Policy {
 public:
  // `parts` holds no null pointers and is listed in the order the plans are
  // concatenated; the name joins the parts' names with '+' in that order
  // (an empty composition is named "none" and never acts).
  explicit CompositePolicy(std::vector<std::unique_ptr<Policy>> parts);
  std::string_view name() const override { return name_; }  // e.g. "predictive+shifting"
  bool wants_node_view() const override;                    // true if any part wants it
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
