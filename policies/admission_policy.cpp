#include "policies/admission_policy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

namespace meshtwin {
namespace {

constexpr double kUnlimited = std::numeric_limits<double>::infinity();

// The order in which classes get the budget. Critical is not in it: it is
// never limited, only charged against the budget first.
constexpr RequestClass kThrottleOrder[] = {RequestClass::kStandard, RequestClass::kBestEffort};

std::size_t Index(RequestClass c) { return static_cast<std::size_t>(c); }

// Meaningful change: limited <-> unlimited, or more than `fraction` of the
// larger of the two rates. Relative to the larger one so the test is
// symmetric and 0 -> anything positive always counts.
bool Changed(double before, double after, double fraction) {
  if (std::isinf(before) || std::isinf(after)) return std::isinf(before) != std::isinf(after);
  const double scale = std::max(std::abs(before), std::abs(after));
  return std::abs(after - before) > fraction * scale;
}

std::string Describe(const PerClass& limit, const PerClass& demand, double budget,
                     double capacity) {
  char buffer[128];
  std::string text;
  for (RequestClass c : kThrottleOrder) {
    const std::size_t i = Index(c);
    if (std::isinf(limit[i])) continue;
    std::snprintf(buffer, sizeof(buffer), "%s%s to %.1f of %.1f rps",
                  text.empty() ? "throttle " : ", ", ToString(c), limit[i], demand[i]);
    text += buffer;
  }
  if (text.empty()) {
    double total = 0;
    for (double d : demand) total += d;
    std::snprintf(buffer, sizeof(buffer), "admit all: demand %.1f rps fits budget %.1f of %.1f",
                  total, budget, capacity);
    return buffer;
  }
  std::snprintf(buffer, sizeof(buffer), " (budget %.1f of %.1f rps capacity)", budget, capacity);
  return text + buffer;
}

}  // namespace

AdmissionPolicy::AdmissionPolicy(AdmissionOptions options) : options_(std::move(options)) {}

Plan AdmissionPolicy::Decide(const Observation& obs) {
  // demand_by_class is what was offered, before admission: throttling does
  // not lower it, so the limits do not feed back into their own input.
  const PerClass& demand = obs.demand_by_class;
  double total_demand = 0;
  for (double d : demand) total_demand += std::max(0.0, d);
  double backlog = 0;
  for (double q : obs.queued_by_class) backlog += std::max(0.0, q);

  // What new arrivals may use: a fraction of the ready capacity, less the rate
  // that works the backlog off in backlog_drain_time. Critical backlog counts
  // too: it is served first, so it takes capacity from the lower classes.
  const double drain_rps =
      options_.backlog_drain_time > 0 ? backlog / options_.backlog_drain_time : 0;
  const double budget = options_.target_utilization * obs.capacity_rps - drain_rps;

  PerClass limit = {kUnlimited, kUnlimited, kUnlimited};
  if (total_demand > budget) {
    // Critical is charged first and never limited, even when it alone exceeds
    // the budget: then every lower class gets 0 and critical still gets in.
    double remaining = budget - std::max(0.0, demand[Index(RequestClass::kCritical)]);
    for (RequestClass c : kThrottleOrder) {
      const double d = std::max(0.0, demand[Index(c)]);
      // A class that fits stays unlimited rather than pinned at its current
      // rate, so a small rise next tick is not refused before we see it.
      if (d <= remaining) {
        remaining -= d;
        continue;
      }
      limit[Index(c)] = std::max(0.0, remaining);
      remaining = 0;
    }
  }

  bool changed = !started_;
  for (std::size_t i = 0; i < limit.size() && !changed; ++i) {
    changed = Changed(last_limit_[i], limit[i], options_.min_relative_change);
  }
  if (!changed) return {};
  started_ = true;
  last_limit_ = limit;

  Action action;
  action.kind = ActionKind::kSetAdmission;
  action.rate_limit = limit;
  action.burst = options_.burst;
  action.metric = obs.capacity_rps > 0 ? total_demand / obs.capacity_rps : 0;
  action.reason = Describe(limit, demand, budget, obs.capacity_rps);
  Plan plan;
  plan.actions.push_back(std::move(action));
  return plan;
}

}  // namespace meshtwin
