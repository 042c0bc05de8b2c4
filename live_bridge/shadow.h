// Shadow mode: a policy decides on production's metrics, its decisions are
// recorded next to what production did, and nothing is ever carried out.
//
// Acting is impossible by construction, not by a flag: Shadow holds a Policy
// and optionally a ForecastSource, and runs its own observe -> forecast ->
// decide -> record step. It has no Actuator member, takes none, and is not
// built on ControlLoop (whose constructor requires one); shadow_test checks
// this with static_asserts. The only "replica count" it changes is its own
// bookkeeping of what the policy would have run.
//
//   absl::StatusOr<ShadowConfig> c = LoadShadowConfig("shadow.yaml");
//   absl::StatusOr<ShadowReport> r = RunShadow(*c, {});   // live, until *stop or duration
//   ShadowRunOptions replay; replay.replay_from = t0; replay.replay_to = t1;  // history, fast
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "live_bridge/shadow_config.h"
#include "scenarios/scenario.h"
#include "twin/policy.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

// One action the policy would have taken.
struct ShadowDecision {
  double time = 0;  // unix seconds, end of the interval it was decided on
  std::string action;
  std::string node_type;
  int count = 0;
  int replicas_before = 0;
  int replicas_after = 0;
  double metric = 0;
  std::string reason;
};

// The recorded series, one element per interval (see shadow.cpp for the
// file schema). Missing intervals (a query without data there) hold NaN and
// -1 and take no part in the report.
struct ShadowSeries {
  std::vector<double> time;                 // unix seconds, end of the interval
  std::vector<double> demand;               // requests/s over the interval
  std::vector<double> production_nodes;     // production's ready nodes
  std::vector<double> production_capacity;  // requests/s they serve at full speed
  std::vector<std::int32_t> desired_nodes;  // what the policy asked for at the end of it
  std::vector<double> would_be_nodes;       // the policy's fleet during it (billed, booting incl.)
  std::vector<double> would_be_ready;       // of those, ready (asked for >= boot_time before)
  std::vector<double> would_be_capacity;    // requests/s the ready ones serve
  std::vector<double> forecast_p50;         // first horizon's median (NaN: no forecaster yet)
  std::vector<std::int32_t> production_at_risk;  // 1: demand > production capacity x SLO ceiling
  std::vector<std::int32_t> would_be_at_risk;    // 1: demand > would-be capacity x SLO ceiling
};

// What `meshtwin shadow` prints at the end.
struct ShadowReport {
  int intervals = 0;          // recorded
  int missing_intervals = 0;  // without data (not counted below)
  double production_node_hours = 0;
  double would_be_node_hours = 0;
  double production_cost = 0;  // node-hours x the pool's cost_per_hour
  double would_be_cost = 0;
  int production_risk_intervals = 0;
  int would_be_risk_intervals = 0;
  int decisions = 0;
};

// The shadow's state machine: fed one interval at a time, no I/O, no clock.
// Not thread-safe.
class Shadow {
 public:
  // `policy` decides on the pool scenario.hpa.node_type (the policy's pool);
  // `forecaster` may be null. `epoch_unix` is run time 0 for the policy.
  Shadow(const Scenario& scenario, Seconds interval, double epoch_unix,
         std::unique_ptr<Policy> policy, std::unique_ptr<ForecastSource> forecaster);

  // The scenario's policy and forecaster (as the simulator builds them).
  static absl::StatusOr<std::unique_ptr<Shadow>> Create(const Scenario& scenario, Seconds interval,
                                                        double epoch_unix);

  // Past demand for the forecaster's history (no decision, nothing recorded).
  void Warm(double time_unix, double demand_rps);
  // One observe -> forecast -> decide -> record step for the interval ending
  // at `time_unix`. NaN demand or production: recorded as missing.
  void Step(double time_unix, double demand_rps, double production_nodes);

  double node_rps() const { return node_rps_; }  // requests/s one node of the pool serves
  const ShadowSeries& series() const { return series_; }
  const std::vector<ShadowDecision>& decisions() const { return decisions_; }
  ShadowReport Report() const;

  // Writes the HDF5 file atomically (nothing under `path` on failure).
  // `about` go to root attributes (prometheus URL, queries).
  absl::Status Write(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& about) const;

 private:
  Observation Observe(double time_unix, double demand_rps, int production_nodes) const;

  Scenario scenario_;
  Seconds interval_;
  double epoch_unix_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<ForecastSource> forecaster_;
  int pool_ = 0;
  double node_rps_ = 0;
  double ceiling_ = 1;
  int boot_intervals_ = 0;
  ShadowSeries series_;
  std::vector<ShadowDecision> decisions_;
};

struct ShadowRunOptions {
  // Both set: replay [replay_from, replay_to) (unix seconds) as fast as the
  // queries answer, then stop. Otherwise live, aligned on the wall clock.
  double replay_from = std::numeric_limits<double>::quiet_NaN();
  double replay_to = std::numeric_limits<double>::quiet_NaN();
  std::string out;                          // overrides the config's `out` when set
  const std::atomic<bool>* stop = nullptr;  // live: set (e.g. on SIGTERM) to finish and write
  // Live mode's clock, injectable: unix seconds now, and a wait that may
  // return early once *stop is set. Defaults: the wall clock.
  std::function<double()> now;
  std::function<void(double)> sleep_until;
};

// Runs a shadow from a config: lookback warm-up, one step per interval, the
// file at the end. Replay: any query error fails the run (no file). Live: a
// failed query makes that interval missing (logged); the run goes on.
absl::StatusOr<ShadowReport> RunShadow(const ShadowConfig& config, const ShadowRunOptions& options);

// The report as printed: node-hours and cost, SLO-risk intervals, both sides.
std::string FormatShadowReport(const ShadowReport& report);

}  // namespace meshtwin::live
