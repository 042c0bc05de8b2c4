#include "policies/predictive_policy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

namespace meshtwin {
namespace {

// Quantiles within this of 0.1, 0.5 or 0.9 read that series as it is, so the
// common choices never pick up interpolation rounding.
constexpr double kQuantileSnap = 1e-9;
// Slack on the hysteresis comparison: 10 x (1 - 0.1) must count as 9, not as
// 9.000000000000002 or 8.999999999999998.
constexpr double kBandSlack = 1e-9;

double At(const std::vector<double>& series, std::size_t i) {
  return i < series.size() ? series[i] : std::numeric_limits<double>::quiet_NaN();
}

// The forecast's value at horizon i for `quantile`: p10, p50 and p90 as they
// are, linear in between, clamped outside. NaN when a series it needs is short.
double QuantileAt(const Forecast& f, std::size_t i, double quantile) {
  if (quantile <= 0.1 + kQuantileSnap) return At(f.p10, i);
  if (quantile >= 0.9 - kQuantileSnap) return At(f.p90, i);
  if (std::abs(quantile - 0.5) <= kQuantileSnap) return At(f.p50, i);
  if (quantile < 0.5) {
    const double t = (quantile - 0.1) / 0.4;
    return At(f.p10, i) + t * (At(f.p50, i) - At(f.p10, i));
  }
  const double t = (quantile - 0.5) / 0.4;
  return At(f.p50, i) + t * (At(f.p90, i) - At(f.p50, i));
}

struct ForecastPeak {
  bool valid = false;
  double rps = 0;
  Seconds horizon = 0;
};

// The largest forecast value at the horizons up to the first one at or beyond
// the lookahead. Demand that peaks before the lookahead still counts: nodes
// started now will be serving then if the peak is still going on, and a scale
// decision one tick later would be too late for the lookahead itself. Horizons
// further out are someone else's problem: the next decisions will see them.
// Taken by value rather than by position so an unsorted forecast means the same.
// A forecast made at the model's last step boundary reaches less far from the
// observation time by its age (a 30 min horizon reads 1785 s three ticks in
// four with a 60 s model and 15 s ticks): `slack` (the age) keeps such a
// horizon counting as the one that reaches the lookahead, so the cutoff does
// not jump to the next, much longer horizon on those ticks.
ForecastPeak PeakWithinLookahead(const Forecast& f, double quantile, Seconds lookahead,
                                 Seconds slack) {
  Seconds cutoff = std::numeric_limits<double>::infinity();
  for (Seconds h : f.horizons) {
    if (h >= lookahead - slack) cutoff = std::min(cutoff, h);
  }
  ForecastPeak peak;
  for (std::size_t i = 0; i < f.horizons.size(); ++i) {
    if (f.horizons[i] > cutoff) continue;
    const double v = QuantileAt(f, i, quantile);
    if (!std::isfinite(v)) continue;  // a half-filled forecast is read where it is filled
    if (!peak.valid || v > peak.rps) peak = {true, v, f.horizons[i]};
  }
  return peak;
}

// "+5m" for whole minutes, "+90s" otherwise: horizons are read by people.
std::string HorizonLabel(Seconds h) {
  char buffer[32];
  if (h >= 60 && std::fmod(h, 60.0) == 0) {
    std::snprintf(buffer, sizeof(buffer), "+%.0fm", h / 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "+%.0fs", h);
  }
  return buffer;
}

// The reasons are built with snprintf, as in hpa_policy.cpp (and because
// g++ 12 at -O3 misreads `"literal" + std::string` as an overlapping memcpy).
std::string ForecastReason(double quantile, double rps, Seconds horizon) {
  char buffer[96];
  std::snprintf(buffer, sizeof(buffer), "forecast p%ld %.0f req/s at %s",
                std::lround(std::clamp(quantile, 0.1, 0.9) * 100), rps,
                HorizonLabel(horizon).c_str());
  return buffer;
}

std::string ObservedReason(double rps, bool with_backlog, bool without_forecast) {
  char buffer[96];
  std::snprintf(buffer, sizeof(buffer), "%sobserved %.0f req/s%s",
                without_forecast ? "no forecast, " : "", rps, with_backlog ? " incl. backlog" : "");
  return buffer;
}

std::string FormatBound(const char* what, int value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s %d", what, value);
  return buffer;
}

// What drove a decision: the demand that asked for the most nodes.
struct Driver {
  double rps = 0;  // before headroom
  std::string reason;
};

}  // namespace

PredictivePolicy::PredictivePolicy(PoolSizing sizing, PredictiveOptions options)
    : sizing_(std::move(sizing)), options_(options) {}

void PredictivePolicy::ForgetScaleIn() {
  scale_in_allowed_since_ = -1;
  scale_in_window_.clear();
}

Plan PredictivePolicy::Decide(const Observation& obs) {
  const PoolObservation* pool = nullptr;
  for (const PoolObservation& candidate : obs.pools) {
    if (candidate.node_type == sizing_.pool) {
      pool = &candidate;
      break;
    }
  }
  if (pool == nullptr || sizing_.pool < 0 ||
      static_cast<std::size_t>(sizing_.pool) >= sizing_.types.size()) {
    return {};
  }
  const NodeTypeSpec& spec = sizing_.types[static_cast<std::size_t>(sizing_.pool)];
  const Seconds now = obs.now;
  // Draining nodes are on their way out; switching ones will serve again, so
  // removing them is as much a scale-in as removing a ready one.
  const int current = pool->ready + pool->booting + pool->switching;
  const Seconds lookahead =
      options_.lookahead > 0 ? options_.lookahead : spec.boot_time + obs.interval;

  // The observed term: this tick's demand, plus the backlog cleared over the
  // lookahead (at least one tick), since a queue left standing is latency.
  // Being inside the max below, it keeps a low forecast alone from shrinking
  // the pool under load it is carrying right now.
  const Seconds drain_time = std::max(lookahead, obs.interval);
  const double backlog_rps = drain_time > 0 ? std::max(obs.queued_requests, 0.0) / drain_time : 0;
  const double observed = obs.demand_rps + backlog_rps;
  const double grow = 1 + options_.headroom;
  const int observed_need = sizing_.NodesFor(observed * grow, obs, options_.target_utilization);

  const ForecastPeak peak = PeakWithinLookahead(obs.forecast, options_.quantile, lookahead,
                                                std::max(obs.forecast.age, 0.0));
  // No forecast yet (warming up) or none at all: a reactive policy, and the
  // actions say so.
  Driver driver{observed, ObservedReason(observed, backlog_rps > 0, !peak.valid)};
  int need = observed_need;
  if (peak.valid) {
    const int forecast_need = sizing_.NodesFor(peak.rps * grow, obs, options_.target_utilization);
    if (forecast_need > observed_need || (forecast_need == observed_need && peak.rps >= observed)) {
      need = forecast_need;
      driver = {peak.rps, ForecastReason(options_.quantile, peak.rps, peak.horizon)};
    }
  }
  // max wins over min if they cross: it is the harder limit (hosts built).
  const int desired = std::min(std::max(need, options_.min_replicas), options_.max_replicas);
  if (desired != need) {
    driver.reason += desired == options_.max_replicas
                         ? FormatBound(", capped at max", options_.max_replicas)
                         : FormatBound(", held at min", options_.min_replicas);
  }

  auto act = [&](int target, std::string reason) {
    last_action_ = now;
    Action action;
    action.kind = target > current ? ActionKind::kScaleOut : ActionKind::kScaleIn;
    action.node_type = sizing_.pool;
    action.count = target > current ? target - current : current - target;
    action.replicas_before = current;
    action.replicas_after = target;
    action.metric = driver.rps;
    action.reason = std::move(reason);
    Plan plan;
    plan.actions.push_back(std::move(action));
    return plan;
  };

  // max_replicas is a bound, not a preference: no delay holds the pool above it.
  if (current > options_.max_replicas) {
    ForgetScaleIn();
    return act(options_.max_replicas, FormatBound("replicas above max", options_.max_replicas));
  }
  // Scale-out is never delayed: a node started late is capacity missing for a
  // whole boot time, and the forecast already looks one boot time ahead.
  if (desired > current) {
    ForgetScaleIn();
    return act(desired, driver.reason);
  }

  // Scale-in needs the desired size below the hysteresis band at every
  // decision for scale_in_delay, so one low forecast or one quiet tick does
  // not remove nodes the next tick wants back.
  if (!(desired < current * (1 - options_.hysteresis) - kBandSlack)) {
    ForgetScaleIn();
    return {};
  }
  if (scale_in_allowed_since_ < 0) scale_in_allowed_since_ = now;
  scale_in_window_.push_back({now, desired});
  while (!scale_in_window_.empty() &&
         scale_in_window_.front().time < now - options_.scale_in_delay) {
    scale_in_window_.pop_front();
  }
  if (now - scale_in_allowed_since_ < options_.scale_in_delay) return {};
  if (now - last_action_ < options_.scale_in_cooldown) return {};

  // Shrink to the largest size the delay window asked for, like the HPA's
  // scale-down stabilisation: the window just showed that much is needed.
  int target = desired;
  for (const Recommendation& r : scale_in_window_) target = std::max(target, r.replicas);
  char low_for[48];
  std::snprintf(low_for, sizeof(low_for), ", low for %.0fs", now - scale_in_allowed_since_);
  std::string reason = driver.reason + low_for;
  if (options_.max_scale_in_step > 0 && current - target > options_.max_scale_in_step) {
    target = current - options_.max_scale_in_step;
    reason += ", step limited";
  }
  if (target >= current) return {};
  // The window is kept: while the condition goes on holding, a step-limited
  // scale-in continues after the cooldown rather than after another full delay.
  return act(target, std::move(reason));
}

}  // namespace meshtwin
