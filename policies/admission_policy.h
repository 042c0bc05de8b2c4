// Admission control: priority classes (critical, standard, best-effort),
// per-class token buckets and priority scheduling. While demand fits, every
// class is admitted in full; when it would not, the policy throttles from the
// bottom: best-effort first, then standard, critical never. The mesh then
// queues and serves in strict priority with per-class deadlines (see
// MeshModel::SetAdmission), so critical is never dropped while a lower class
// of its role is still admitted.
#pragma once

#include <string_view>

#include "twin/policy.h"

namespace meshtwin {

struct AdmissionOptions {
  // Admit at most this fraction of the ready capacity in total (the rest
  // is throttled, lowest class first).
  double target_utilization = 0.95;
  Seconds burst = 2;  // token-bucket depth, in seconds of each class's rate
};

class AdmissionPolicy : public Policy {
 public:
  explicit AdmissionPolicy(AdmissionOptions options);
  std::string_view name() const override { return "admission"; }
  // The first decision always emits kSetAdmission (turning priority
  // scheduling on); later ones only when the limits change.
  Plan Decide(const Observation& obs) override;

 private:
  AdmissionOptions options_;
  bool started_ = false;
  PerClass last_limit_{};
};

}  // namespace meshtwin
