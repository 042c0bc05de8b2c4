#include "policies/capacity.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "twin/mesh.h"

namespace meshtwin {
namespace {

const NodeTypeSpec* TypeAt(const std::vector<NodeTypeSpec>& types, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= types.size()) return nullptr;
  return &types[static_cast<std::size_t>(index)];
}

double ServiceTime(const NodeTypeSpec& spec, double request_work) {
  return request_work / spec.core_speed;
}

// A type can meet the target at some size only if its service time alone is
// below it: with any arrivals at all the M/M/c wait is positive.
bool CanMeetLatency(const NodeTypeSpec& spec, double request_work, Seconds target) {
  return spec.cores > 0 && spec.core_speed > 0 && ServiceTime(spec, request_work) < target;
}

// The utilisation a sizing may aim at: the caller's target and the SLO's
// ceiling, whichever is lower (see the header for the out-of-range cases).
double UtilizationLimit(double target_utilization, const SloSpec& slo) {
  double limit = target_utilization > 0 && target_utilization <= 1 ? target_utilization : 1.0;
  if (slo.utilization_ceiling > 0 && slo.utilization_ceiling < 1) {
    limit = std::min(limit, slo.utilization_ceiling);
  }
  return limit;
}

// NodesFor for both overloads: `fixed_types` lists the types of the fixed
// pools whose nodes must meet the latency target too (may be empty).
int Size(const PoolSizing& sizing, double demand_rps, double fixed_speed, double target_utilization,
         const std::vector<int>& fixed_types) {
  const NodeTypeSpec* spec = TypeAt(sizing.types, sizing.pool);
  const double w = sizing.workload.request_work;
  // No demand, or requests that cost nothing: nothing to size for. A pool
  // whose nodes have no speed cannot help, however many of them there are.
  if (!(demand_rps > 0) || !(w > 0) || spec == nullptr || !(spec->NodeSpeed() > 0)) return 0;
  fixed_speed = std::max(fixed_speed, 0.0);
  const double speed = spec->NodeSpeed();
  const double work = demand_rps * w;  // flop/s to serve
  const double limit = UtilizationLimit(target_utilization, sizing.slo);

  // Utilisation bound: ceil() gives the answer up to rounding; the two loops
  // settle it on the very inequality the header states, so that n passes and
  // n - 1 fails as evaluated in floating point.
  auto utilisation_ok = [&](int n) { return work <= limit * (fixed_speed + n * speed); };
  const double estimate = std::ceil((work / limit - fixed_speed) / speed);
  int n = static_cast<int>(std::clamp(estimate, 0.0, static_cast<double>(PoolSizing::kMaxNodes)));
  while (n > 0 && utilisation_ok(n - 1)) --n;
  while (n < PoolSizing::kMaxNodes && !utilisation_ok(n)) ++n;

  const Seconds target = sizing.slo.latency_target;
  if (!(target > 0) || !CanMeetLatency(*spec, w, target)) return n;

  // Every ready node gets demand x its speed / total speed, so each type's
  // latency depends on the total only, and falls as n grows: monotone in n.
  std::vector<const NodeTypeSpec*> checked;
  for (int t : fixed_types) {
    const NodeTypeSpec* fixed = TypeAt(sizing.types, t);
    if (t != sizing.pool && fixed != nullptr && CanMeetLatency(*fixed, w, target)) {
      checked.push_back(fixed);
    }
  }
  auto type_ok = [&](const NodeTypeSpec& type, double total_speed) {
    const double rate = demand_rps * type.NodeSpeed() / total_speed;
    return MmcMeanLatency(rate, ServiceTime(type, w), type.cores) <= target;
  };
  auto latency_ok = [&](int count) {
    const double total = fixed_speed + count * speed;
    if (!(total > 0)) return false;
    if (count > 0 && !type_ok(*spec, total)) return false;
    for (const NodeTypeSpec* type : checked) {
      if (!type_ok(*type, total)) return false;
    }
    return true;
  };
  if (latency_ok(n)) return n;

  // Gallop up from the utilisation bound, then bisect: O(log n) latency
  // evaluations even when the target sits just above the service time.
  int bad = n;
  int good = -1;
  for (int step = 1; good < 0; step *= 2) {
    const int candidate = static_cast<int>(
        std::min<long long>(static_cast<long long>(bad) + step, PoolSizing::kMaxNodes));
    if (latency_ok(candidate)) {
      good = candidate;
    } else if (candidate == PoolSizing::kMaxNodes) {
      return PoolSizing::kMaxNodes;
    } else {
      bad = candidate;
    }
  }
  while (good - bad > 1) {
    const int mid = bad + (good - bad) / 2;
    if (latency_ok(mid)) {
      good = mid;
    } else {
      bad = mid;
    }
  }
  return good;
}

}  // namespace

double PoolSizing::FixedSpeed(const Observation& obs) const {
  double total = 0;
  for (const PoolObservation& p : obs.pools) {
    const NodeTypeSpec* spec = TypeAt(types, p.node_type);
    if (p.node_type == pool || spec == nullptr || p.ready <= 0) continue;
    total += p.ready * spec->NodeSpeed();
  }
  return total;
}

int PoolSizing::NodesFor(double demand_rps, double fixed_speed, double target_utilization) const {
  return Size(*this, demand_rps, fixed_speed, target_utilization, {});
}

int PoolSizing::NodesFor(double demand_rps, const Observation& obs,
                         double target_utilization) const {
  std::vector<int> fixed_types;
  for (const PoolObservation& p : obs.pools) {
    if (p.node_type != pool && p.ready > 0) fixed_types.push_back(p.node_type);
  }
  return Size(*this, demand_rps, FixedSpeed(obs), target_utilization, fixed_types);
}

}  // namespace meshtwin
