// Admission control: priority classes (critical, standard, best-effort),
// per-class token buckets and priority scheduling. While demand fits, every
// class is admitted in full; when it would not, the policy throttles from the
// bottom: best-effort first, then standard, critical never. The mesh then
// queues and serves in strict priority with per-class deadlines (see
// MeshModel::SetAdmission), so critical is never dropped while a lower class
// of its role is still admitted.
//
//   AdmissionPolicy admission({.target_utilization = 0.9});
//   Plan p = admission.Decide(observation);  // kSetAdmission on the first tick and on change
#pragma once

#include <string_view>

#include "twin/policy.h"

namespace meshtwin {

struct AdmissionOptions {
  // Admit at most this fraction of the ready capacity in total (the rest
  // is throttled, lowest class first).
  double target_utilization = 0.95;
  Seconds burst = 2;  // token-bucket depth, in seconds of each class's rate
  // The backlog (all classes) should be worked off within this long: the
  // budget for new arrivals is reduced by queued requests / this. 30 s is the
  // default per-node queue bound, so queues at their bound leave nothing for
  // standard and best-effort arrivals until they have shrunk.
  Seconds backlog_drain_time = 30;
  // A limit is re-sent only when it moves by more than this fraction (or
  // between limited and unlimited), so measurement noise does not turn into
  // a stream of actions.
  double min_relative_change = 0.02;
};

// Fleet-wide limits: one rate per class, not per role (kSetAdmission has no
// role), against the fleet's ready capacity. Deterministic; not thread-safe.
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
  PerClass last_limit_{};  // the limits last emitted (not the last computed)
};

}  // namespace meshtwin
