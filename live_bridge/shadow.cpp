// The shadow file (shadow.h5), format "meshtwin-shadow" version 1:
//
//   /                root attributes: format, version, scenario, policy, node_type,
//                    node_rps (requests/s), interval (s), slo_utilization_ceiling,
//                    the report's figures (production_node_hours, would_be_node_hours,
//                    production_risk_intervals, would_be_risk_intervals, ...) and
//                    prometheus, demand_query, capacity_query
//   /steps/NAME      one row per interval, each with "units" and "description"
//                    attributes: the members of ShadowSeries (shadow.h)
//   /decisions       table: time, action, node_type, count, replicas_before,
//                    replicas_after, metric, reason (what the policy would have done)
//
// Written through datasets/hdf5_util.h, the same atomic writer as results.h5.
// (That header is internal to datasets/; a shadow file reader for the GUI
// belongs in datasets/ next to results_file.cpp, which would be the place
// for this writer too once one exists.)

#include "live_bridge/shadow.h"

#include <hdf5.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "datasets/hdf5_util.h"
#include "live_bridge/prometheus_client.h"
#include "models/forecast_pipeline.h"
#include "twin/control_loop.h"

namespace meshtwin::live {

// The design promise of shadow.h, checked where it is kept: a Shadow is no
// Actuator, cannot be made from one, and ControlLoop (which acts) cannot be
// made without one.
static_assert(!std::is_base_of_v<Actuator, Shadow>);
static_assert(!std::is_constructible_v<Shadow, const Scenario&, Seconds, double,
                                       std::unique_ptr<Policy>, Actuator&>);
static_assert(!std::is_constructible_v<ControlLoop, MetricSource&, ForecastSource*, Policy&>);

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

Shadow::Shadow(const Scenario& scenario, Seconds interval, double epoch_unix,
               std::unique_ptr<Policy> policy, std::unique_ptr<ForecastSource> forecaster)
    : scenario_(scenario),
      interval_(interval),
      epoch_unix_(epoch_unix),
      policy_(std::move(policy)),
      forecaster_(std::move(forecaster)),
      pool_(std::clamp<int>(scenario.hpa.node_type, 0,
                            std::max<int>(0, static_cast<int>(scenario.node_types.size()) - 1))) {
  if (!scenario_.node_types.empty()) {
    const NodeTypeSpec& nt = scenario_.node_types[static_cast<std::size_t>(pool_)];
    node_rps_ = nt.NodeSpeed() / scenario_.workload.request_work;
    boot_intervals_ = static_cast<int>(std::ceil(nt.boot_time / interval_ - 1e-9));
  }
  // A ceiling >= 1 means "unused" in a scenario; a fleet still cannot serve
  // more than its full speed.
  ceiling_ = std::min(1.0, scenario_.slo.utilization_ceiling);
}

absl::StatusOr<std::unique_ptr<Shadow>> Shadow::Create(const Scenario& scenario, Seconds interval,
                                                       double epoch_unix) {
  if (scenario.node_types.empty()) {
    return absl::InvalidArgumentError(scenario.source + ": node_types: expected at least one");
  }
  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, MakePolicy(scenario, Trace{}));
  if (policy->wants_node_view()) {
    return absl::InvalidArgumentError(absl::StrCat(
        scenario.source, ": policy: ", std::string(policy->name()),
        " needs per-node metrics, which a shadow (two fleet-total queries) does not have"));
  }
  std::unique_ptr<ForecastSource> forecaster;
  if (scenario.forecast.enabled) {
    MESHTWIN_ASSIGN_OR_RETURN(forecaster, MakeForecastPipeline(scenario, epoch_unix, {}));
  }
  return std::make_unique<Shadow>(scenario, interval, epoch_unix, std::move(policy),
                                  std::move(forecaster));
}

Observation Shadow::Observe(double time_unix, double demand_rps, int production_nodes) const {
  Observation obs;
  obs.now = time_unix - epoch_unix_;
  obs.interval = interval_;
  obs.demand_rps = demand_rps;
  obs.capacity_rps = production_nodes * node_rps_;
  obs.utilization = obs.capacity_rps > 0 ? std::min(1.0, demand_rps / obs.capacity_rps)
                                         : (demand_rps > 0 ? 1.0 : 0.0);
  for (std::size_t t = 0; t < scenario_.node_types.size(); ++t) {
    PoolObservation p;
    p.node_type = static_cast<int>(t);
    if (static_cast<int>(t) == pool_) {
      p.ready = production_nodes;
      p.utilization = obs.utilization;
    }
    obs.pools.push_back(p);
  }
  RoleObservation role;
  role.demand_rps = demand_rps;
  role.capacity_rps = obs.capacity_rps;
  role.utilization = obs.utilization;
  role.ready = production_nodes;
  obs.roles.push_back(role);
  for (int c = 0; c < kNumClasses; ++c) {
    obs.demand_by_class[static_cast<std::size_t>(c)] =
        demand_rps * scenario_.workload.class_share[static_cast<std::size_t>(c)];
  }
  return obs;
}

void Shadow::Warm(double time_unix, double demand_rps) {
  if (forecaster_ == nullptr || !std::isfinite(demand_rps)) return;
  (void)forecaster_->Predict(Observe(time_unix, demand_rps, 0));
}

void Shadow::Step(double time_unix, double demand_rps, double production_nodes) {
  ShadowSeries& s = series_;
  const std::size_t k = s.time.size();
  // The fleet the policy would have had during this interval: what it asked
  // for at the end of the previous one (the first interval starts from
  // production's fleet), ready only if asked for at least boot_time earlier.
  auto production_start = [&]() -> double {
    for (const double p : s.production_nodes) {
      if (std::isfinite(p)) return std::round(p);
    }
    return std::isfinite(production_nodes) ? std::round(production_nodes) : 0;
  };
  // A missing interval carries the last decision.
  auto desired_at = [&](std::ptrdiff_t j) -> double {
    for (std::ptrdiff_t i = std::min<std::ptrdiff_t>(j, static_cast<std::ptrdiff_t>(k) - 1); i >= 0;
         --i) {
      if (s.desired_nodes[static_cast<std::size_t>(i)] >= 0) {
        return s.desired_nodes[static_cast<std::size_t>(i)];
      }
    }
    return production_start();
  };
  const auto last = static_cast<std::ptrdiff_t>(k) - 1;
  const double billed = desired_at(last);
  double ready = billed;
  for (std::ptrdiff_t j = last - boot_intervals_; j < last; ++j) {
    ready = std::min(ready, desired_at(j));
  }
  s.time.push_back(time_unix);
  s.would_be_nodes.push_back(billed);
  s.would_be_ready.push_back(ready);
  s.would_be_capacity.push_back(ready * node_rps_);

  if (!std::isfinite(demand_rps) || !std::isfinite(production_nodes)) {
    s.demand.push_back(kNaN);
    s.production_nodes.push_back(kNaN);
    s.production_capacity.push_back(kNaN);
    s.desired_nodes.push_back(-1);
    s.forecast_p50.push_back(kNaN);
    s.production_at_risk.push_back(-1);
    s.would_be_at_risk.push_back(-1);
    return;
  }
  // observe -> forecast -> decide -> record. There is no act.
  const int current = static_cast<int>(std::lround(std::max(0.0, production_nodes)));
  Observation obs = Observe(time_unix, demand_rps, current);
  if (forecaster_ != nullptr) obs.forecast = forecaster_->Predict(obs);
  const Plan plan = policy_->Decide(obs);
  int desired = current;
  for (const Action& a : plan.actions) {
    if (a.node_type == pool_ && a.kind == ActionKind::kScaleOut) desired += a.count;
    if (a.node_type == pool_ && a.kind == ActionKind::kScaleIn) desired -= a.count;
    ShadowDecision d;
    d.time = time_unix;
    d.action = ToString(a.kind);
    d.node_type = a.node_type >= 0 && a.node_type < static_cast<int>(scenario_.node_types.size())
                      ? scenario_.node_types[static_cast<std::size_t>(a.node_type)].name
                      : "";
    d.count = a.count;
    d.replicas_before = a.replicas_before;
    d.replicas_after = a.replicas_after;
    d.metric = a.metric;
    d.reason = a.reason;
    decisions_.push_back(std::move(d));
  }
  const double serveable = production_nodes * node_rps_ * ceiling_;
  s.demand.push_back(demand_rps);
  s.production_nodes.push_back(production_nodes);
  s.production_capacity.push_back(production_nodes * node_rps_);
  s.desired_nodes.push_back(std::max(0, desired));
  s.forecast_p50.push_back(obs.forecast.p50.empty() ? kNaN : obs.forecast.p50.front());
  s.production_at_risk.push_back(demand_rps > serveable ? 1 : 0);
  s.would_be_at_risk.push_back(demand_rps > ready * node_rps_ * ceiling_ ? 1 : 0);
}

ShadowReport Shadow::Report() const {
  ShadowReport r;
  const ShadowSeries& s = series_;
  const double hours = interval_ / 3600;
  for (std::size_t i = 0; i < s.time.size(); ++i) {
    if (s.desired_nodes[i] < 0) {
      ++r.missing_intervals;
      continue;
    }
    ++r.intervals;
    r.production_node_hours += s.production_nodes[i] * hours;
    r.would_be_node_hours += s.would_be_nodes[i] * hours;
    r.production_risk_intervals += s.production_at_risk[i];
    r.would_be_risk_intervals += s.would_be_at_risk[i];
  }
  const double price = scenario_.node_types.empty()
                           ? 0
                           : scenario_.node_types[static_cast<std::size_t>(pool_)].cost_per_hour;
  r.production_cost = r.production_node_hours * price;
  r.would_be_cost = r.would_be_node_hours * price;
  r.decisions = static_cast<int>(decisions_.size());
  return r;
}

absl::Status Shadow::Write(const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& about) const {
  const ShadowSeries& s = series_;
  const ShadowReport report = Report();
  const std::size_t n = s.time.size();
  return hdf5::WriteFileAtomically(path, [&](const hdf5::Writer& w, hid_t file) -> absl::Status {
    auto str = [&](const char* name, const std::string& value) {
      return w.WriteStringAttribute(file, "/", name, value);
    };
    auto f64 = [&](const char* name, double value) {
      return w.WriteNumberAttribute(file, "/", name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, value);
    };
    auto i32 = [&](const char* name, std::int32_t value) {
      return w.WriteNumberAttribute(file, "/", name, H5T_STD_I32LE, H5T_NATIVE_INT32, value);
    };
    MESHTWIN_RETURN_IF_ERROR(str("format", "meshtwin-shadow"));
    MESHTWIN_RETURN_IF_ERROR(i32("version", 1));
    MESHTWIN_RETURN_IF_ERROR(str("scenario", scenario_.name));
    MESHTWIN_RETURN_IF_ERROR(str("policy", std::string(policy_->name())));
    MESHTWIN_RETURN_IF_ERROR(
        str("node_type", scenario_.node_types[static_cast<std::size_t>(pool_)].name));
    MESHTWIN_RETURN_IF_ERROR(f64("node_rps", node_rps_));
    MESHTWIN_RETURN_IF_ERROR(f64("interval", interval_));
    MESHTWIN_RETURN_IF_ERROR(f64("slo_utilization_ceiling", ceiling_));
    MESHTWIN_RETURN_IF_ERROR(f64("production_node_hours", report.production_node_hours));
    MESHTWIN_RETURN_IF_ERROR(f64("would_be_node_hours", report.would_be_node_hours));
    MESHTWIN_RETURN_IF_ERROR(f64("production_cost", report.production_cost));
    MESHTWIN_RETURN_IF_ERROR(f64("would_be_cost", report.would_be_cost));
    MESHTWIN_RETURN_IF_ERROR(i32("intervals", report.intervals));
    MESHTWIN_RETURN_IF_ERROR(i32("missing_intervals", report.missing_intervals));
    MESHTWIN_RETURN_IF_ERROR(i32("production_risk_intervals", report.production_risk_intervals));
    MESHTWIN_RETURN_IF_ERROR(i32("would_be_risk_intervals", report.would_be_risk_intervals));
    for (const auto& [key, value] : about) MESHTWIN_RETURN_IF_ERROR(str(key.c_str(), value));

    MESHTWIN_ASSIGN_OR_RETURN(hdf5::Handle steps, w.CreateGroup(file, "/", "steps"));
    auto series = [&](const char* name, hid_t file_type, hid_t mem_type, const void* data,
                      const char* units, const char* description) -> absl::Status {
      const std::vector<hsize_t> chunk = {
          std::min<hsize_t>(std::max<std::size_t>(n, 1), hdf5::kChunkRows)};
      MESHTWIN_ASSIGN_OR_RETURN(
          hdf5::Handle ds,
          w.WriteDataset(steps.get(), "/steps", name, file_type, mem_type, {n}, chunk, data));
      const std::string object = hdf5::Join("/steps", name);
      MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "units", units));
      return w.WriteStringAttribute(ds.get(), object, "description", description);
    };
    const hid_t F = H5T_IEEE_F64LE, FM = H5T_NATIVE_DOUBLE;
    const hid_t I = H5T_STD_I32LE, IM = H5T_NATIVE_INT32;
    MESHTWIN_RETURN_IF_ERROR(
        series("time", F, FM, s.time.data(), "s", "end of the interval, UTC unix seconds"));
    MESHTWIN_RETURN_IF_ERROR(series("demand", F, FM, s.demand.data(), "requests/s",
                                    "production's demand over the interval (NaN: no data)"));
    MESHTWIN_RETURN_IF_ERROR(series("production_nodes", F, FM, s.production_nodes.data(), "nodes",
                                    "production's ready nodes of the policy's pool"));
    MESHTWIN_RETURN_IF_ERROR(series("production_capacity", F, FM, s.production_capacity.data(),
                                    "requests/s", "what production's nodes serve at full speed"));
    MESHTWIN_RETURN_IF_ERROR(series("desired_nodes", I, IM, s.desired_nodes.data(), "nodes",
                                    "nodes the policy asked for at the end of the interval, from "
                                    "production's count (-1: no data)"));
    MESHTWIN_RETURN_IF_ERROR(series("would_be_nodes", F, FM, s.would_be_nodes.data(), "nodes",
                                    "the policy's fleet during the interval (its previous "
                                    "decision), booting nodes included: what it would pay for"));
    MESHTWIN_RETURN_IF_ERROR(series("would_be_ready", F, FM, s.would_be_ready.data(), "nodes",
                                    "of would_be_nodes, those asked for at least the pool's "
                                    "boot_time earlier"));
    MESHTWIN_RETURN_IF_ERROR(series("would_be_capacity", F, FM, s.would_be_capacity.data(),
                                    "requests/s", "what would_be_ready nodes serve at full speed"));
    MESHTWIN_RETURN_IF_ERROR(series("forecast_p50", F, FM, s.forecast_p50.data(), "requests/s",
                                    "median forecast at the first horizon (NaN: none)"));
    MESHTWIN_RETURN_IF_ERROR(series("production_at_risk", I, IM, s.production_at_risk.data(), "1",
                                    "1: demand above production_capacity x the SLO's "
                                    "utilisation ceiling (-1: no data)"));
    MESHTWIN_RETURN_IF_ERROR(series("would_be_at_risk", I, IM, s.would_be_at_risk.data(), "1",
                                    "1: demand above would_be_capacity x the SLO's utilisation "
                                    "ceiling (-1: no data)"));

    std::vector<hdf5::Column> cols = {
        {"time", hdf5::ColumnKind::kFloat64},          {"action", hdf5::ColumnKind::kString},
        {"node_type", hdf5::ColumnKind::kString},      {"count", hdf5::ColumnKind::kInt32},
        {"replicas_before", hdf5::ColumnKind::kInt32}, {"replicas_after", hdf5::ColumnKind::kInt32},
        {"metric", hdf5::ColumnKind::kFloat64},        {"reason", hdf5::ColumnKind::kString}};
    for (const ShadowDecision& d : decisions_) {
      cols[0].f64.push_back(d.time);
      cols[1].str.push_back(d.action);
      cols[2].str.push_back(d.node_type);
      cols[3].i32.push_back(d.count);
      cols[4].i32.push_back(d.replicas_before);
      cols[5].i32.push_back(d.replicas_after);
      cols[6].f64.push_back(d.metric);
      cols[7].str.push_back(d.reason);
    }
    return w.WriteTable(file, "decisions", cols, decisions_.size(),
                        "time=s count=nodes replicas_before=nodes replicas_after=nodes "
                        "metric=as the policy states",
                        "one row per action the policy would have taken (none was taken)");
  });
}

namespace {

// Samples by time, for matching the two queries' answers (rounded to ms:
// Prometheus prints step times with three decimals).
std::map<long long, double> ByTime(const std::vector<PrometheusSample>& samples) {
  std::map<long long, double> out;
  for (const PrometheusSample& p : samples) out[std::llround(p.time * 1000)] = p.value;
  return out;
}

double At(const std::map<long long, double>& m, double t) {
  const auto it = m.find(std::llround(t * 1000));
  return it == m.end() ? kNaN : it->second;
}

}  // namespace

absl::StatusOr<ShadowReport> RunShadow(const ShadowConfig& config,
                                       const ShadowRunOptions& options) {
  const bool replay = std::isfinite(options.replay_from) && std::isfinite(options.replay_to);
  if (replay && !(options.replay_to - options.replay_from >= config.interval)) {
    return absl::InvalidArgumentError("--replay: expected a range of at least one interval");
  }
  const std::string out = options.out.empty() ? config.out : options.out;
  PrometheusClientOptions client;
  client.read_timeout = config.query_timeout;
  const Seconds dt = config.interval;
  auto query = [&](const std::string& promql, double t0, double t1) {
    return QueryRange(config.prometheus_url, promql, t0, t1, dt, client);
  };
  std::function<double()> now = options.now;
  if (!now) {
    now = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  auto stopped = [&] { return options.stop != nullptr && options.stop->load(); };
  std::function<void(double)> sleep_until = options.sleep_until;
  if (!sleep_until) {
    sleep_until = [&](double t) {
      while (!stopped() && now() < t) {
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.2, t - now())));
      }
    };
  }

  // Step times are the ends of intervals: replay [from, to) in steps from
  // from + interval; live, aligned on multiples of the interval.
  const double first_end = replay ? options.replay_from + dt : (std::floor(now() / dt) + 1) * dt;
  const double start = first_end - dt;
  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Shadow> shadow,
                            Shadow::Create(config.loaded, dt, start - config.lookback));
  // The forecaster's history: the lookback before the first interval.
  if (config.lookback >= dt && config.loaded.forecast.enabled) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<PrometheusSample> past,
                              query(config.demand_query, start - config.lookback + dt, start));
    for (const PrometheusSample& p : past) shadow->Warm(p.time, p.value);
    spdlog::info("shadow: forecaster warmed on {} sample(s) of lookback", past.size());
  }

  if (replay) {
    // Whole chunks at a time, under Prometheus' 11,000 points per series.
    constexpr int kChunk = 10000;
    const long long steps =
        static_cast<long long>(std::floor((options.replay_to - options.replay_from) / dt + 1e-9));
    for (long long first = 0; first < steps; first += kChunk) {
      const long long last = std::min(steps, first + kChunk) - 1;
      const double t0 = first_end + static_cast<double>(first) * dt;
      const double t1 = first_end + static_cast<double>(last) * dt;
      MESHTWIN_ASSIGN_OR_RETURN(std::vector<PrometheusSample> demand,
                                query(config.demand_query, t0, t1));
      MESHTWIN_ASSIGN_OR_RETURN(std::vector<PrometheusSample> capacity,
                                query(config.capacity_query, t0, t1));
      const auto d = ByTime(demand);
      const auto c = ByTime(capacity);
      for (long long i = first; i <= last; ++i) {
        const double t = first_end + static_cast<double>(i) * dt;
        double nodes = At(c, t);
        if (config.capacity_in_rps) nodes /= shadow->node_rps();
        shadow->Step(t, At(d, t), nodes);
      }
    }
  } else {
    const double stop_at = config.duration > 0 ? start + config.duration : kNaN;
    for (double t = first_end; !stopped() && !(t > stop_at + 1e-9); t += dt) {
      sleep_until(t);
      if (stopped()) break;
      double demand = kNaN;
      double nodes = kNaN;
      absl::StatusOr<std::vector<PrometheusSample>> d = query(config.demand_query, t, t);
      absl::StatusOr<std::vector<PrometheusSample>> c =
          d.ok() ? query(config.capacity_query, t, t) : d;
      if (d.ok() && c.ok()) {
        demand = At(ByTime(*d), t);
        nodes = At(ByTime(*c), t);
        if (config.capacity_in_rps) nodes /= shadow->node_rps();
      } else {
        spdlog::warn("shadow: interval ending {} recorded as missing: {}", t,
                     ErrorText(d.ok() ? c.status() : d.status()));
      }
      shadow->Step(t, demand, nodes);
    }
  }
  MESHTWIN_RETURN_IF_ERROR(shadow->Write(out, {{"prometheus", config.prometheus_url},
                                               {"demand_query", config.demand_query},
                                               {"capacity_query", config.capacity_query}}));
  return shadow->Report();
}

std::string FormatShadowReport(const ShadowReport& r) {
  std::string out = absl::StrFormat(
      "shadow: %d interval(s) (%d without data), %d decision(s), none carried out\n"
      "                        production   policy (would-be)\n"
      "  node-hours            %10.2f   %10.2f\n"
      "  cost                  %10.2f   %10.2f\n"
      "  SLO-risk intervals    %10d   %10d\n",
      r.intervals, r.missing_intervals, r.decisions, r.production_node_hours, r.would_be_node_hours,
      r.production_cost, r.would_be_cost, r.production_risk_intervals, r.would_be_risk_intervals);
  return out;
}

}  // namespace meshtwin::live
