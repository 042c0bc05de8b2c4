#include "live_bridge/test_support/synthetic_shadow.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "scenarios/scenario.h"

namespace meshtwin::live {
namespace {

// Production demand, requests/s: 1,500 to 3,500 over a day-like cycle, and
// 2.2 times that for 40 minutes from the spike (a 5-minute ramp).
double Demand(double since_start, const SyntheticShadowOptions& o) {
  const double hour = since_start / 3600;
  double d = 2500 - 1000 * std::cos(2 * std::numbers::pi * (hour - 2) / 24);
  const double into_spike = since_start - o.spike_at_hours * 3600;
  if (into_spike >= 0 && into_spike < 40 * 60) d *= 1 + 1.2 * std::min(1.0, into_spike / 300);
  return d;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Shadow>> RunSyntheticShadow(const SyntheticShadowOptions& o) {
  // A naive forecaster: the shadow records its median, and the file's
  // forecast_p50 then holds numbers (the default GRU would need its model file).
  MESHTWIN_ASSIGN_OR_RETURN(Scenario scenario,
                            ParseScenario(DefaultScenarioText(), "<default>",
                                          {"forecast.model=naive", "forecast.warmup=5m"}));
  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Shadow> shadow,
                            Shadow::Create(scenario, o.interval, o.start_unix - 3600));
  // An hour of history for the forecaster, as `meshtwin shadow`'s lookback.
  for (double t = o.start_unix - 3600 + o.interval; t <= o.start_unix; t += o.interval) {
    shadow->Warm(t, Demand(0, o));
  }
  const double rps = shadow->node_rps();
  const auto steps = static_cast<int>(std::llround(o.hours * 3600 / o.interval));
  const auto lag = static_cast<int>(std::llround(600 / o.interval));
  for (int i = 0; i < steps; ++i) {
    const double end = o.start_unix + (i + 1) * o.interval;
    const double since = (i + 1) * o.interval;
    // Production sizes for the demand of ten minutes ago at the HPA's 60 % target
    // (so the policy mostly agrees, and differs on the spike).
    const double lagged = Demand(std::max(0.0, since - lag * o.interval), o);
    const double nodes = std::max(8.0, std::ceil(lagged / (rps * 0.6)));
    // Prometheus had nothing for three intervals two hours in.
    const bool missing = i >= steps / 6 && i < steps / 6 + 3;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    shadow->Step(end, missing ? nan : Demand(since, o), missing ? nan : nodes);
  }
  return shadow;
}

std::vector<std::pair<std::string, std::string>> SyntheticShadowAbout() {
  return {{"prometheus", "synthetic (live_bridge/test_support/synthetic_shadow.cpp)"},
          {"demand_query", "synthetic demand"},
          {"capacity_query", "synthetic production nodes"}};
}

}  // namespace meshtwin::live
