#include "twin/control_loop.h"

namespace meshtwin {

absl::StatusOr<Plan> ControlLoop::Step() {
  MESHTWIN_ASSIGN_OR_RETURN(Observation obs, metrics_.Observe());
  if (forecaster_ != nullptr) obs.forecast = forecaster_->Predict(obs);
  Plan plan = policy_.Decide(obs);
  MESHTWIN_RETURN_IF_ERROR(actuator_.Apply(plan, obs));
  return plan;
}

}  // namespace meshtwin
