// Predictive scaling: pre-provision so that the capacity ready at now + boot
// time covers a forecast quantile plus headroom. Scale-out follows the forecast
// (or the observed load, whichever asks for more); scale-in needs the observed
// load and the forecast to agree for a while, with a hysteresis band, so a
// forecast dip alone never removes capacity.
//
//   PredictiveOptions o;  o.quantile = 0.9;  o.headroom = 0.1;
//   PredictivePolicy p(sizing, o);
//   Plan plan = p.Decide(obs);   // obs.forecast filled by a ForecastSource
#pragma once

#include <deque>
#include <string_view>

#include "policies/capacity.h"
#include "twin/policy.h"

namespace meshtwin {

struct PredictiveOptions {
  int min_replicas = 1;
  int max_replicas = 10;
  double quantile = 0.9;            // 0.1, 0.5 or 0.9: which forecast quantile to cover
                                    // (in between: interpolated; outside: clamped)
  double headroom = 0.05;           // extra fraction on top of the forecast
  double target_utilization = 0.9;  // utilisation the sizing aims at (see PoolSizing)
  // How far ahead capacity must already cover the forecast. <= 0: the pool's
  // boot time plus one control interval. The forecast is read at every horizon
  // up to the first one >= lookahead, and the largest value counts.
  Seconds lookahead = 0;
  Seconds scale_in_delay = 300;     // observed and forecast must allow scale-in this long; the
                                    // pool then shrinks to the largest size asked for meanwhile
  double hysteresis = 0.1;          // scale in only below (1 - hysteresis) x current
  Seconds scale_in_cooldown = 120;  // after any scale action, no scale-in for this long
  int max_scale_in_step = 0;        // nodes removed per decision at most (0: no limit)
};

// Sizes one pool (sizing.pool). Replicas are its ready, booting and switching
// nodes. Above max_replicas it scales in to max at once, whatever the delay.
// With an empty forecast it sizes for the observed demand only (reactive).
// Deterministic; not thread-safe.
class PredictivePolicy : public Policy {
 public:
  PredictivePolicy(PoolSizing sizing, PredictiveOptions options);
  std::string_view name() const override { return "predictive"; }
  Plan Decide(const Observation& obs) override;

 private:
  struct Recommendation {
    Seconds time;
    int replicas;
  };
  void ForgetScaleIn();

  PoolSizing sizing_;
  PredictiveOptions options_;
  Seconds scale_in_allowed_since_ = -1;  // since when every tick allowed scale-in (-1: not now)
  // The desired sizes of the decisions within the last scale_in_delay while
  // scale-in was allowed: a scale-in goes to the largest of them.
  std::deque<Recommendation> scale_in_window_;
  Seconds last_action_ = -1e300;
};

}  // namespace meshtwin
