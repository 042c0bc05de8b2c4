// The control loop: observe -> forecast -> decide -> act, one step per tick.
// It owns nothing; the adapters (sim/, live_bridge/) wire their MetricSource and
// Actuator to a Policy and, optionally, a ForecastSource.
//
//   ControlLoop loop(metrics, /*forecaster=*/nullptr, hpa, actuator);
//   absl::StatusOr<Plan> plan = loop.Step();   // once per control interval
#pragma once

#include "twin/policy.h"

namespace meshtwin {

class ControlLoop {
 public:
  ControlLoop(MetricSource& metrics, ForecastSource* forecaster, Policy& policy,
              Actuator& actuator)
      : metrics_(metrics), forecaster_(forecaster), policy_(policy), actuator_(actuator) {}

  // Runs one observe -> forecast -> decide -> act step and returns the plan
  // that was carried out.
  absl::StatusOr<Plan> Step();

 private:
  MetricSource& metrics_;
  ForecastSource* forecaster_;
  Policy& policy_;
  Actuator& actuator_;
};

}  // namespace meshtwin
