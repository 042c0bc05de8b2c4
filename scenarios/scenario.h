// A scenario: everything a simulation run needs (platform, node types, trace,
// SLO, policy and its parameters, duration, seed), loaded from YAML and
// validated. Every key is documented in scenarios/README.md.
//
//   absl::StatusOr<Scenario> s = LoadScenarioFile("scenarios/default.yaml", {"seed=7"});
//   absl::StatusOr<Scenario> d = ParseScenario(DefaultScenarioText(), "<default>", {});
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/csv_import.h"
#include "datasets/synthetic.h"
#include "policies/admission_policy.h"
#include "policies/hpa_policy.h"
#include "policies/oracle_policy.h"
#include "policies/predictive_policy.h"
#include "policies/remediation_policy.h"
#include "policies/role_policy.h"
#include "policies/shifting_policy.h"
#include "twin/faults.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

class ForecastPipeline;  // models/forecast_pipeline.h

struct PlatformSpec {
  Seconds link_latency = 50e-6;    // per host link
  double link_bandwidth = 1.25e9;  // bytes/s per host link (10 Gbit/s)
};

// Where a scenario's demand comes from: exactly one of `synthetic` (the
// default), `file` (CSV, HDF5 trace or Prometheus JSON, converted on load) or
// `preset` (a named generator of datasets/presets.h).
struct TraceSpec {
  enum class Kind { kSynthetic, kFile, kPreset };
  Kind kind = Kind::kSynthetic;
  DiurnalParams synthetic;
  std::string file;             // as written in the scenario
  std::string resolved_file;    // relative to the scenario file's directory
  std::string format = "auto";  // auto | csv | hdf5 | prometheus-json
  CsvImportOptions import;      // time_col, value_col, scale, step, agg, fill, missing, ...
  std::string preset;
  std::string events_file;  // events (CSV or JSON lines) attached to a file trace
  // The trace a file or preset gave, loaded and validated with the scenario.
  std::shared_ptr<const Trace> loaded;
};

// The forecaster the control loop runs (absent: none; the HPA needs none).
struct ForecastSpec {
  bool enabled = false;
  std::string model =
      "holt-winters";      // naive | seasonal-naive | holt-winters | lstm | gru | a file
  std::string model_file;  // resolved path when `model` names a file
  std::vector<Seconds> horizons = {300, 1800, 7200};
  Seconds step = 300;      // sample step the model works at (named models)
  Seconds warmup = 86400;  // history before the first forecast (and a named model's fit)
  bool retrain = true;
  Seconds retrain_cooldown = 6 * 3600;
  Seconds retrain_window = 7 * 86400;
  // "magnitude": a forecast whose target falls inside an announced event is
  // scaled by the event's stated magnitude (a demand multiplier) over what
  // was in effect at the forecast's origin. "none": events reach only the
  // networks' covariates.
  std::string event_effect = "none";
  // lstm/gru: which network variant Fit keeps (models/README.md, "Variants").
  std::string variant = "auto";
};

// How the manager finds capacity: `none` reads the mesh directly (a global
// list); `chord` or `kademlia` runs that DHT on every node, and the manager
// routes work only to nodes whose capability record it found there.
struct DhtSpec {
  std::string protocol = "none";  // none | chord | kademlia
  Seconds refresh = 30;           // a node re-publishes its record this often
  Seconds ttl = 90;               // a record lives this long unless refreshed (> refresh)
  Seconds query_every = 0;  // the manager reads every role's records this often (0: each tick)
  bool enabled() const { return protocol != "none"; }
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source;                  // file path, or "<default>" for the built-in one
  std::string text;                    // the YAML text as read
  std::vector<std::string> overrides;  // --set key=value, as given
  std::uint64_t seed = 1;
  Seconds duration = 86400;
  Seconds control_interval = 15;
  PlatformSpec platform;
  std::vector<NodeTypeSpec> node_types;
  WorkloadSpec workload;
  SloSpec slo;
  TraceSpec trace;
  ForecastSpec forecast;
  DhtSpec dht;
  FaultsSpec faults;             // on when a `faults:` section is present
  std::vector<RoleSpec> roles;   // empty: one implicit role
  std::string policy = "hpa";    // the scaling policy: hpa | predictive | oracle | none
  HpaOptions hpa;                // node_type, min_replicas, max_replicas filled from the pool
  PredictiveOptions predictive;  // min/max filled from the pool
  OracleOptions oracle;          // min/max filled from the pool
  bool admission_enabled = false;
  AdmissionOptions admission;
  bool shifting_enabled = false;
  ShiftingOptions shifting;
  bool roles_enabled = false;
  RoleAssignmentOptions role_assignment;  // roles/types/request_work filled from the scenario
};

// Parses and validates scenario YAML. `source_name` is used in messages
// ("file.yaml:12:3: node_types[1].cores: expected an integer >= 1, got -2").
// `overrides` are dotted key=value pairs applied before validation
// ("policy.target_utilization=0.5", "node_types.1.max=80", "duration=2h").
// Bad input is InvalidArgumentError naming the file, line and key.
absl::StatusOr<Scenario> ParseScenario(std::string_view yaml_text, std::string_view source_name,
                                       const std::vector<std::string>& overrides);

// Reads and parses a scenario file (NotFound if it cannot be read).
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path,
                                          const std::vector<std::string>& overrides);

// The built-in default scenario: the same text as scenarios/default.yaml.
std::string_view DefaultScenarioText();

// The demand trace the scenario runs against (trace time 0 = run time 0).
Trace BuildTrace(const Scenario& scenario);

// The policy a scenario names (its scaling policy composed with admission
// control, shifting and role assignment when they are on, and remediation
// when it has faults), ready to run.
// `trace` is what the oracle looks ahead in.
absl::StatusOr<std::unique_ptr<Policy>> MakePolicy(const Scenario& scenario, const Trace& trace);

// The scenario's forecaster inside the pipeline that feeds a control loop:
// a named model is fitted on the first `forecast.warmup` of history, a model
// file is used as trained. `epoch_unix` is the UTC time of run time 0;
// `events` are in absolute (unix) times. Used by the simulator and the shadow.
absl::StatusOr<std::unique_ptr<ForecastPipeline>> MakeForecastPipeline(const Scenario& scenario,
                                                                       double epoch_unix,
                                                                       std::vector<Event> events);

// Each role's demand: the trace's role channel of the role's name when it has
// one, else the role's share of the total demand. One trace (the demand
// itself) without roles.
std::vector<Trace> RoleTraces(const Scenario& scenario, const Trace& trace);

// Parsers for the unit-suffixed values scenarios use, exposed for --set and tests.
// Durations: "15s", "250ms", "5m", "2h", "1d", "1h30m", or a plain number of seconds.
absl::StatusOr<Seconds> ParseDuration(std::string_view text);
// Amounts with SI suffixes: "1.5G", "50M", "2k", "1e9", "10Gf" (flops), "10Gbps" -> bytes/s.
absl::StatusOr<double> ParseFlops(std::string_view text);
absl::StatusOr<double> ParseBandwidth(std::string_view text);

}  // namespace meshtwin
