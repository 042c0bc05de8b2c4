// The interfaces a control loop is wired from. The simulator and the live
// bridge implement MetricSource and Actuator; models/ implements
// ForecastSource; policies/ implements Policy.
#pragma once

#include <string_view>

#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

// Decides what to do from what is observed. Deterministic: the same sequence
// of observations gives the same sequence of plans. Stateful (a policy may keep
// history, like the HPA's stabilisation window). Not thread-safe.
class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;
  virtual Plan Decide(const Observation& obs) = 0;
  // True if Decide needs Observation::nodes (per-node metrics).
  virtual bool wants_node_view() const { return false; }
};

// Produces the observation for the current tick.
class MetricSource {
 public:
  virtual ~MetricSource() = default;
  virtual absl::StatusOr<Observation> Observe() = 0;
};

// Fills in the forecast of an observation.
class ForecastSource {
 public:
  virtual ~ForecastSource() = default;
  virtual Forecast Predict(const Observation& obs) = 0;
};

// Carries a plan out (simulator: node actors and hosts; live: the cluster).
class Actuator {
 public:
  virtual ~Actuator() = default;
  virtual absl::Status Apply(const Plan& plan, const Observation& obs) = 0;
};

// Where "now" comes from: SimGrid's clock in simulation, the wall clock live.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Seconds Now() const = 0;
};

}  // namespace meshtwin
