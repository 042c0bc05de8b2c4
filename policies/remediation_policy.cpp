#include "policies/remediation_policy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace meshtwin {
namespace {

// Why the detectors watch a peer ratio: diurnal load raises every node's
// latency together, so latency / median of the peers stays near 1 all day
// and needs no seasonal model (season = 0), hence no day-long warm-up. A
// gray node (speed x0.3) sits at 3x and more, far outside the ratio's noise.
//
// Why a floor on the spread (min_relative_spread = 0.02 of the ratio): in a
// noiseless simulation the ratio is exactly 1 tick after tick, the learned
// spread tends to 0 and a 1 % wobble would score as a huge z.
//
// Why the peer rule during warm-up: a node's detector learns what is normal
// for that node; a node that is slow from its first ticks (or turns slow while
// its detector is still learning) would teach it that slow is normal. Until
// the detector is ready the node is compared with its peers at this tick
// instead (robust z across the group), which needs no history at all.
constexpr double kSpreadFloor = 0.02;
constexpr double kMadToSigma = 1.4826;  // MAD -> standard deviation for normal data
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// How slow a node is: the time its requests spend being served, which a
// backlog does not inflate (a healthy node working off a queue is not
// suspect); its latency when the executor reports no service time.
double Slowness(const NodeObservation& node) {
  return node.service_time_s > 0 ? node.service_time_s : node.latency_s;
}

double Median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

double Queued(const NodeObservation& node) {
  double sum = 0;
  for (double q : node.queued) sum += q;
  return sum;
}

Action NodeAction(ActionKind kind, const NodeObservation& node, double metric, std::string reason) {
  Action action;
  action.kind = kind;
  action.node = node.id;
  action.node_type = node.type;
  action.role = node.role;
  action.count = 1;
  action.metric = metric;
  action.reason = std::move(reason);
  return action;
}

AnomalyDetectorOptions DetectorOptions(const RemediationOptions& o, Seconds interval) {
  AnomalyDetectorOptions d;
  d.step = interval;
  d.season = 0;  // a peer ratio has no daily shape
  d.threshold = o.detection.threshold > 0 ? o.detection.threshold : 0;
  // robust-z: the level starts at the first point; `warmup_points` more
  // train the spread. The debounce stays the library's (2 of 3, or one point
  // beyond twice the threshold): a 3x node is flagged on its first slow tick.
  d.spread_warmup = std::max(1, o.warmup_points);
  d.min_relative_spread = kSpreadFloor;
  // forecast-residual: a short history refitted often (the default wants two
  // days); `naive` since a ratio near 1 has neither trend nor season.
  d.forecaster = "naive";
  d.history = std::max(3, 2 * o.warmup_points);
  d.refit_every = std::max(1, o.warmup_points);
  return d;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RemediationPolicy>> RemediationPolicy::Create(
    RemediationOptions options) {
  const DetectionSpec& d = options.detection;
  if (d.max_isolations < 0) {
    return absl::InvalidArgumentError("detection.max_isolations: expected >= 0, got " +
                                      std::to_string(d.max_isolations));
  }
  if (!(d.window >= 0) || !(d.max_isolated_fraction >= 0 && d.max_isolated_fraction <= 1)) {
    return absl::InvalidArgumentError(
        "detection: window must be >= 0 and max_isolated_fraction in [0, 1]");
  }
  if (!(options.error_scale > 0) || options.max_drain_intervals < 0) {
    return absl::InvalidArgumentError(
        "remediation: error_scale must be > 0 and max_drain_intervals >= 0");
  }
  std::unique_ptr<AnomalyDetector> prototype;
  if (d.anomaly != "none") {
    // The step is the control interval, only known from the observations:
    // checked here with 15 s, rebuilt with the real one on the first tick.
    MESHTWIN_ASSIGN_OR_RETURN(prototype, MakeDetector(d.anomaly, DetectorOptions(options, 15)));
  }
  return std::unique_ptr<RemediationPolicy>(
      new RemediationPolicy(std::move(options), std::move(prototype)));
}

RemediationPolicy::RemediationPolicy(RemediationOptions options,
                                     std::unique_ptr<AnomalyDetector> prototype)
    : options_(std::move(options)), prototype_(std::move(prototype)) {}

bool RemediationPolicy::Silent(const NodeObservation& node, Seconds interval) const {
  const int misses = options_.detection.heartbeat_misses;
  if (misses <= 0 || node.state == NodeState::kStopped) return false;
  // The heartbeat age is a multiple of the interval when the node fell
  // silent on a tick: compare with a little slack for rounding.
  const Seconds limit = misses * interval;
  return node.heartbeat_age >= limit - 1e-9 * limit;
}

Plan RemediationPolicy::Decide(const Observation& obs) {
  Plan plan;
  if (prototype_ != nullptr && !step_known_) {
    // First tick: rebuild the prototype at the loop's real interval (Create
    // checked the options, so only the step differs).
    absl::StatusOr<std::unique_ptr<AnomalyDetector>> d =
        MakeDetector(options_.detection.anomaly, DetectorOptions(options_, obs.interval));
    if (d.ok()) prototype_ = std::move(*d);
    step_known_ = true;
  }

  // Forget the nodes that left; records for the new ones are made on demand.
  std::vector<int> present;
  present.reserve(obs.nodes.size());
  for (const NodeObservation& node : obs.nodes) present.push_back(node.id);
  std::sort(present.begin(), present.end());
  for (auto it = records_.begin(); it != records_.end();) {
    it = std::binary_search(present.begin(), present.end(), it->first) ? std::next(it)
                                                                       : records_.erase(it);
  }
  for (const NodeObservation& node : obs.nodes) {
    NodeRecord& record = records_[node.id];
    if (node.isolated && !record.isolated) {
      // Isolated by someone else (or before a manager restart): ours to finish.
      record.isolated = true;
      record.isolated_at = obs.now;
    }
  }

  DeclareSilent(obs, &plan);
  ReplaceIsolated(obs, &plan);
  JudgeAndIsolate(obs, &plan);
  return plan;
}

void RemediationPolicy::DeclareSilent(const Observation& obs, Plan* plan) {
  std::vector<const NodeObservation*> newly;
  for (const NodeObservation& node : obs.nodes) {
    NodeRecord& record = records_[node.id];
    if (record.replaced) continue;
    const bool silent = Silent(node, obs.interval);
    if (record.declared_failed) {
      // Only without replacement can a declared node still be here and speak
      // again (a healed partition): it may then be declared again later.
      if (!silent) record.declared_failed = false;
      continue;
    }
    if (silent) newly.push_back(&node);
  }
  if (newly.empty()) return;

  // A domain is unreachable when every node still in it (not stopped, not
  // replaced) is silent and at least two went silent on this tick: one cause
  // (a cut uplink, a power loss), reported once. Zones are tried before
  // racks so a zone is not reported as its racks.
  struct Domain {
    int members = 0, silent = 0, newly = 0;
  };
  std::map<int, Domain> zones, racks;
  for (const NodeObservation& node : obs.nodes) {
    const NodeRecord& record = records_[node.id];
    if (node.state == NodeState::kStopped || record.replaced) continue;
    const bool silent = record.declared_failed || Silent(node, obs.interval);
    for (Domain* d : {&zones[node.zone], &racks[node.rack]}) {
      ++d->members;
      d->silent += silent ? 1 : 0;
    }
  }
  for (const NodeObservation* node : newly) {
    ++zones[node->zone].newly;
    ++racks[node->rack].newly;
  }
  const auto whole = [](const Domain& d) { return d.newly >= 2 && d.silent == d.members; };

  for (const auto& [zone, d] : zones) {
    if (whole(d)) ++counters_.partitions;
  }
  for (const auto& [rack, d] : racks) {
    // A rack inside an unreachable zone is part of that partition.
    if (!whole(d)) continue;
    bool in_whole_zone = false;
    for (const NodeObservation* node : newly) {
      if (node->rack == rack && whole(zones[node->zone])) in_whole_zone = true;
    }
    if (!in_whole_zone) ++counters_.partitions;
  }

  const int misses = options_.detection.heartbeat_misses;
  for (const NodeObservation* node : newly) {
    NodeRecord& record = records_[node->id];
    record.declared_failed = true;
    record.suspect = false;
    ++counters_.failures_declared;
    char buffer[160];
    const int n = std::snprintf(buffer, sizeof(buffer), "missed %d heartbeats (%.0f s)", misses,
                                node->heartbeat_age);
    std::string reason(buffer, static_cast<std::size_t>(std::max(0, n)));
    const Domain& zone = zones[node->zone];
    const Domain& rack = racks[node->rack];
    if (whole(zone) || whole(rack)) {
      ++counters_.partitioned_nodes;
      const bool by_zone = whole(zone);
      std::snprintf(buffer, sizeof(buffer), "%s %d unreachable: partition, %d nodes; ",
                    by_zone ? "zone" : "rack", by_zone ? node->zone : node->rack,
                    by_zone ? zone.members : rack.members);
      reason = buffer + reason;
    } else {
      ++counters_.single_failures;
      reason = "node " + std::to_string(node->id) + " " + reason;
    }
    if (options_.detection.replace) {
      record.replaced = true;
      ++counters_.replacements;
      plan->actions.push_back(
          NodeAction(ActionKind::kReplace, *node, node->heartbeat_age, std::move(reason)));
    }
  }
}

void RemediationPolicy::ReplaceIsolated(const Observation& obs, Plan* plan) {
  if (!options_.detection.replace) return;
  for (const NodeObservation& node : obs.nodes) {
    NodeRecord& record = records_[node.id];
    if (!record.isolated || record.replaced || record.declared_failed) continue;
    // The tick it was isolated on, its queue is what it was before.
    if (obs.now <= record.isolated_at) continue;
    const double queued = Queued(node);
    const Seconds waited = obs.now - record.isolated_at;
    const Seconds limit = options_.max_drain_intervals * obs.interval;
    const bool drained = queued < options_.drained_requests;
    if (!drained && waited < limit - 1e-9 * limit) continue;
    record.replaced = true;
    ++counters_.replacements;
    char buffer[128];
    if (drained) {
      std::snprintf(buffer, sizeof(buffer), "isolated node %d drained after %.0f s", node.id,
                    waited);
    } else {
      std::snprintf(buffer, sizeof(buffer),
                    "isolated node %d still holds %.1f requests after %.0f s", node.id, queued,
                    waited);
    }
    plan->actions.push_back(NodeAction(ActionKind::kReplace, node, queued, buffer));
  }
}

void RemediationPolicy::JudgeAndIsolate(const Observation& obs, Plan* plan) {
  if (prototype_ == nullptr) return;

  // Peer groups: ready, not isolated nodes of one type and role with fresh
  // metrics. A node that missed even one heartbeat sent none (the mesh
  // reports zeros for it), and it is the heartbeat rule's business.
  // A node that missed even one heartbeat (silent for a whole interval) sent
  // no metrics for the last tick.
  const Seconds fresh = obs.interval * (1 - 1e-9);
  std::map<std::pair<int, int>, std::vector<const NodeObservation*>> groups;
  for (const NodeObservation& node : obs.nodes) {
    const NodeRecord& record = records_[node.id];
    if (node.state != NodeState::kReady || node.isolated || record.isolated || record.replaced ||
        record.declared_failed || node.heartbeat_age >= fresh || !(Slowness(node) > 0)) {
      continue;  // a node that served nothing last tick says nothing about its speed
    }
    groups[{node.type, node.role}].push_back(&node);
  }

  struct Candidate {
    const NodeObservation* node;
    double value, score;  // score: NaN while the detector warms up
    double latency_ratio, excess_errors;
  };
  std::vector<Candidate> candidates;
  for (const auto& [key, members] : groups) {
    std::vector<double> latency, errors;
    for (const NodeObservation* node : members) {
      latency.push_back(Slowness(*node));
      errors.push_back(node->error_rate);
    }
    const double median_latency = Median(latency);
    const double median_errors = Median(errors);
    // A node alone, or a group that served nothing, has no one to compare with.
    const bool comparable = members.size() >= 2 && median_latency > 0;
    std::vector<double> values;
    for (const NodeObservation* node : members) {
      values.push_back(comparable ? Slowness(*node) / median_latency +
                                        (node->error_rate - median_errors) / options_.error_scale
                                  : kNaN);
    }
    double peer_median = kNaN, peer_sigma = kNaN;
    if (comparable) {
      peer_median = Median(values);
      std::vector<double> deviations;
      for (double v : values) deviations.push_back(std::abs(v - peer_median));
      peer_sigma = kMadToSigma * Median(deviations) + kSpreadFloor;
    }

    for (std::size_t i = 0; i < members.size(); ++i) {
      const NodeObservation& node = *members[i];
      NodeRecord& record = records_[node.id];
      if (record.detector == nullptr) record.detector = prototype_->Clone();
      const bool ready = record.detector->Ready();  // before this point
      const double score = record.detector->Update(obs.now, values[i]);
      const double v = values[i];
      if (!std::isfinite(v)) continue;
      const bool flagged = ready ? record.detector->IsAnomaly()
                                 : (v - peer_median) / peer_sigma > options_.warmup_peer_z;
      // Once flagged, a node stays suspect while it stays bad, even when its
      // detector comes to take the new level for normal (a suspect held back
      // by the rate limits must not be forgotten that way).
      const bool bad = v >= options_.min_suspect_value;
      record.suspect = bad && (record.suspect || flagged);
      if (record.suspect && !record.flagged_once) {
        record.flagged_once = true;
        ++counters_.suspects;
      }
      if (record.suspect) {
        candidates.push_back({&node, v, ready ? score : kNaN, Slowness(node) / median_latency,
                              node.error_rate - median_errors});
      }
    }
  }
  if (candidates.empty()) return;

  // The limits: a sliding window over our own isolations, and per node type
  // a share of the pool (every node of the type that is up, isolated ones
  // included) that may be isolated at once.
  const DetectionSpec& d = options_.detection;
  while (!isolation_times_.empty() && obs.now - isolation_times_.front() >= d.window) {
    isolation_times_.pop_front();
  }
  std::map<int, int> pool, isolated;
  for (const NodeObservation& node : obs.nodes) {
    const NodeRecord& record = records_[node.id];
    if (node.state == NodeState::kStopped || record.declared_failed || Silent(node, obs.interval)) {
      continue;
    }
    ++pool[node.type];
    // A replaced isolated node is on its way out; its replacement is not
    // isolated, so the slot is free again.
    if ((record.isolated || node.isolated) && !record.replaced) ++isolated[node.type];
  }
  const auto cap = [&](int type) {
    const int n = pool[type];
    if (d.max_isolated_fraction <= 0 || n < 2) return 0;
    return std::max(1, static_cast<int>(std::floor(d.max_isolated_fraction * n + 1e-9)));
  };

  const std::string detector_name(prototype_->name());
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.value != b.value) return a.value > b.value;
    return a.node->id < b.node->id;
  });
  for (const Candidate& c : candidates) {
    const NodeObservation& node = *c.node;
    if (static_cast<int>(isolation_times_.size()) >= d.max_isolations ||
        isolated[node.type] >= cap(node.type)) {
      ++counters_.isolations_held_back;
      continue;
    }
    NodeRecord& record = records_[node.id];
    record.isolated = true;
    record.isolated_at = obs.now;
    record.suspect = false;
    isolation_times_.push_back(obs.now);
    ++isolated[node.type];
    ++counters_.isolations;
    char buffer[192];
    if (std::isfinite(c.score)) {
      std::snprintf(buffer, sizeof(buffer),
                    "suspect: latency %.2fx its peers' median, errors %.1f %% (%+.1f points), "
                    "%s score %.2f",
                    c.latency_ratio, 100 * node.error_rate, 100 * c.excess_errors,
                    detector_name.c_str(), c.score);
    } else {
      std::snprintf(buffer, sizeof(buffer),
                    "suspect: latency %.2fx its peers' median, errors %.1f %% (%+.1f points), "
                    "far out among its peers (detector still warming up)",
                    c.latency_ratio, 100 * node.error_rate, 100 * c.excess_errors);
    }
    plan->actions.push_back(NodeAction(ActionKind::kIsolate, node, c.value, buffer));
  }
}

}  // namespace meshtwin
