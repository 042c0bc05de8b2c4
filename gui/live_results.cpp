#include "gui/live_results.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <vector>

namespace meshtwin::gui {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What the scenario text names, in its order, so that node types and roles
// keep the scenario's order (and colours) rather than the order nodes appear
// in. A text that does not parse gives nothing: the names then come from the
// nodes, which is all a viewer needs.
struct ScenarioNames {
  std::vector<std::string> node_types, roles;
  std::string policy, forecast_model;
  std::uint64_t seed = 0;
};

ScenarioNames NamesIn(const std::string& yaml) {
  ScenarioNames out;
  if (yaml.empty()) return out;
  try {
    const YAML::Node root = YAML::Load(yaml);
    if (!root.IsMap()) return out;
    auto names = [](const YAML::Node& list, std::vector<std::string>* to) {
      if (!list || !list.IsSequence()) return;
      for (const YAML::Node& item : list) {
        if (item.IsMap() && item["name"] && item["name"].IsScalar()) {
          to->push_back(item["name"].as<std::string>());
        } else if (item.IsScalar()) {
          to->push_back(item.as<std::string>());
        }
      }
    };
    if (const YAML::Node seed = root["seed"]; seed && seed.IsScalar()) {
      out.seed = seed.as<std::uint64_t>();
    }
    names(root["node_types"], &out.node_types);
    names(root["roles"], &out.roles);
    if (const YAML::Node p = root["policy"]; p && p.IsMap() && p["name"] && p["name"].IsScalar()) {
      out.policy = p["name"].as<std::string>();
    }
    if (const YAML::Node f = root["forecast"];
        f && f.IsMap() && f["model"] && f["model"].IsScalar()) {
      out.forecast_model = f["model"].as<std::string>();
    }
  } catch (const YAML::Exception&) {
    return {};
  }
  return out;
}

// Widens a rows x old_cols row-major matrix to rows x new_cols, `fill` in
// the new columns: a node type or role first seen mid-stream.
template <typename T>
void Widen(std::vector<T>& m, std::size_t rows, std::size_t old_cols, std::size_t new_cols,
           T fill) {
  if (new_cols <= old_cols) return;
  std::vector<T> out(rows * new_cols, fill);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < old_cols; ++c) out[r * new_cols + c] = m[r * old_cols + c];
  }
  m = std::move(out);
}

// Appends one tick to every series, with NaN (0 for the integer counts)
// where the live stream says nothing.
void AppendBlankTick(ResultsData& d, double time) {
  TickSeries& t = d.ticks;
  t.time.push_back(time);
  for (std::vector<double>* v : {&t.demand, &t.arrived, &t.capacity, &t.served, &t.dropped,
                                 &t.queued, &t.utilization, &t.latency, &t.migrating, &t.lost}) {
    v->push_back(kNaN);
  }
  t.slo_violated.push_back(0);
  for (std::vector<std::int32_t>* v :
       {&t.nodes_ready, &t.nodes_booting, &t.nodes_draining, &t.nodes_switching, &t.nodes_failed}) {
    v->push_back(0);
  }
  t.nodes_by_type.insert(t.nodes_by_type.end(), d.node_types.size(), 0);
  t.nodes_by_role.insert(t.nodes_by_role.end(), d.roles.size(), 0);
  t.demand_by_role.insert(t.demand_by_role.end(), d.roles.size(), kNaN);
  t.utilization_by_role.insert(t.utilization_by_role.end(), d.roles.size(), kNaN);
  for (std::vector<double>* v :
       {&t.served_by_class, &t.dropped_by_class, &t.throttled_by_class, &t.queued_by_class}) {
    v->insert(v->end(), kNumClasses, kNaN);
  }
}

Event ToRunTime(Event e, double epoch) {
  e.start -= epoch;
  e.end -= epoch;  // NaN (instant) stays NaN
  e.announced -= epoch;
  return e;
}

}  // namespace

void LiveResults::Reset(const live::LiveSnapshot& snapshot) {
  data_ = ResultsData{};
  nodes_.clear();
  ids_.clear();
  used_ids_.clear();
  nodes_dirty_ = false;
  flushed_once_ = false;

  const ScenarioNames names = NamesIn(snapshot.scenario_yaml);
  data_.scenario_name = snapshot.scenario_name;
  data_.scenario_text = snapshot.scenario_yaml;
  for (const std::string& o : snapshot.overrides) data_.overrides += o + "\n";
  data_.policy = names.policy;
  data_.seed = data_.summary.seed = names.seed;
  data_.control_interval = snapshot.interval > 0 ? snapshot.interval : snapshot.history_step;
  const bool history = !snapshot.demand_history.empty() && snapshot.history_step > 0;
  data_.trace_epoch = history ? snapshot.history_start_unix
                              : snapshot.time_unix - std::max(0.0, data_.control_interval);
  data_.node_types = names.node_types;
  data_.roles = names.roles.empty() ? std::vector<std::string>{"default"} : names.roles;
  data_.forecasts.model = names.forecast_model.empty() ? "live" : names.forecast_model;
  data_.summary.scenario = data_.scenario_name;
  data_.summary.policy = data_.policy;
  newest_event_unix_ = snapshot.time_unix;

  if (history) {
    const double start = RunTime(snapshot.history_start_unix);
    for (std::size_t i = 0; i < snapshot.demand_history.size(); ++i) {
      AppendBlankTick(data_, start + static_cast<double>(i) * snapshot.history_step);
      const double demand = snapshot.demand_history[i];
      data_.ticks.demand.back() = demand;
      data_.ticks.arrived.back() = demand * snapshot.history_step;
      // The fleet as the manager counted it then (older managers send none).
      if (i < snapshot.ready_history.size()) {
        data_.ticks.nodes_ready.back() = snapshot.ready_history[i];
      }
      if (i < snapshot.capacity_history.size()) {
        const double capacity = snapshot.capacity_history[i];
        data_.ticks.capacity.back() = capacity;
        if (std::isfinite(demand) && std::isfinite(capacity)) {
          data_.ticks.served.back() = std::min(demand, capacity) * snapshot.history_step;
          data_.ticks.utilization.back() =
              capacity > 0 ? std::min(1.0, demand / capacity) : (demand > 0 ? 1.0 : 0.0);
        }
      }
      if (data_.roles.size() == 1) data_.ticks.demand_by_role.back() = demand;
    }
  }
  for (const Event& e : snapshot.events) data_.events.push_back(ToRunTime(e, data_.trace_epoch));
  AppendForecast(snapshot.time_unix, snapshot.forecast);
  for (const live::LiveNode& n : snapshot.nodes) {
    TypeIndex(n.capabilities.node_type);
    RoleIndex(n.role);
    AssignId(n.id);
    nodes_[n.id] = n;
  }
  AppendSnapshot(RunTime(snapshot.time_unix));
}

bool LiveResults::Apply(const live::WatchEvent& e) {
  using Kind = live::WatchEvent::Kind;
  newest_event_unix_ = std::max(newest_event_unix_, e.time_unix);
  switch (e.kind) {
    case Kind::kNodeChanged:
      TypeIndex(e.node.capabilities.node_type);
      RoleIndex(e.node.role);
      AssignId(e.node.id);
      nodes_[e.node.id] = e.node;
      nodes_dirty_ = true;
      return false;
    case Kind::kNodeRemoved:
      nodes_dirty_ = nodes_.erase(e.removed_node) > 0 || nodes_dirty_;
      return false;
    case Kind::kDecision: {
      const live::LoggedDecision& d = e.decision;
      if (data_.policy.empty()) data_.policy = data_.summary.policy = d.policy;
      for (const live::LoggedAction& a : d.actions) {
        DecisionRecord r;
        r.time = RunTime(d.time_unix);
        r.policy = d.policy;
        r.node_type = a.node_type;
        r.action = a.kind;
        r.count = a.count;
        r.replicas_before = a.replicas_before;
        r.replicas_after = a.replicas_after;
        r.metric = a.metric;
        // A live decision may not have been carried out (fenced, failed):
        // the list must not read as if it had.
        r.reason = a.outcome.empty() || a.outcome == "applied"
                       ? a.reason
                       : a.reason + (a.reason.empty() ? "" : " ") + "[" + a.outcome + "]";
        data_.decisions.push_back(std::move(r));
      }
      return !d.actions.empty();
    }
    case Kind::kGlobalEvent:
      data_.events.push_back(ToRunTime(e.event, data_.trace_epoch));
      return true;
    case Kind::kTick:
      break;
  }

  // A tick measures the interval that ends at its time.
  const live::LiveTick& k = e.tick;
  const double interval = data_.control_interval > 0 ? data_.control_interval : 0;
  const double start = RunTime(e.time_unix) - interval;
  TickSeries& t = data_.ticks;
  // The snapshot's history and the stream overlap by the ticks published
  // between the two calls; half an interval of slack absorbs clock jitter.
  if (!t.time.empty() && start <= t.time.back() + 0.5 * interval) return false;
  AppendBlankTick(data_, start);
  const double demand = k.demand_rps;
  t.demand.back() = demand;
  t.capacity.back() = k.capacity_rps;
  if (std::isfinite(demand)) {
    t.arrived.back() = demand * interval;
    if (std::isfinite(k.capacity_rps)) {
      t.served.back() = std::min(demand, k.capacity_rps) * interval;
      // The manager's own definition (its Observation::utilization).
      t.utilization.back() =
          k.capacity_rps > 0 ? std::min(1.0, demand / k.capacity_rps) : (demand > 0 ? 1.0 : 0.0);
    }
  }
  t.nodes_ready.back() = k.ready;
  t.nodes_booting.back() = k.booting;
  // The rest of the fleet's make-up comes from the node table.
  const std::size_t types = data_.node_types.size(), roles = data_.roles.size();
  const std::size_t row = t.size() - 1;
  for (const auto& [name, n] : nodes_) {
    if (n.state == NodeState::kStopped) continue;
    if (n.state == NodeState::kDraining) ++t.nodes_draining.back();
    if (n.state == NodeState::kSwitching) ++t.nodes_switching.back();
    if (n.state == NodeState::kFailed) ++t.nodes_failed.back();
    const auto type = static_cast<std::size_t>(TypeIndex(n.capabilities.node_type));
    // TypeIndex and RoleIndex saw every tabled node already: no widening here.
    if (type < types) ++t.nodes_by_type[row * types + type];
    if (n.state == NodeState::kReady) {
      const auto role = static_cast<std::size_t>(RoleIndex(n.role));
      if (role < roles) ++t.nodes_by_role[row * roles + role];
    }
  }
  if (roles == 1) t.demand_by_role.back() = demand;
  AppendForecast(e.time_unix, k.forecast);
  return true;
}

bool LiveResults::FlushNodes(double now) {
  if (!nodes_dirty_) return false;
  if (flushed_once_ && now - last_flush_ < options_.snapshot_every) return false;
  last_flush_ = now;
  flushed_once_ = true;
  AppendSnapshot(RunTime(newest_event_unix_));
  return true;
}

std::int32_t LiveResults::IdOf(const std::string& name) const {
  const auto it = ids_.find(name);
  return it == ids_.end() ? -1 : it->second;
}

std::int16_t LiveResults::TypeIndex(const std::string& name) {
  const std::string key = name.empty() ? "unknown" : name;
  const auto it = std::find(data_.node_types.begin(), data_.node_types.end(), key);
  if (it != data_.node_types.end()) {
    return static_cast<std::int16_t>(it - data_.node_types.begin());
  }
  const std::size_t old = data_.node_types.size();
  data_.node_types.push_back(key);
  Widen<std::int32_t>(data_.ticks.nodes_by_type, data_.ticks.size(), old, old + 1, 0);
  return static_cast<std::int16_t>(old);
}

std::int16_t LiveResults::RoleIndex(const std::string& name) {
  const std::string key = name.empty() ? "default" : name;
  const auto it = std::find(data_.roles.begin(), data_.roles.end(), key);
  if (it != data_.roles.end()) return static_cast<std::int16_t>(it - data_.roles.begin());
  const std::size_t old = data_.roles.size();
  data_.roles.push_back(key);
  TickSeries& t = data_.ticks;
  Widen<std::int32_t>(t.nodes_by_role, t.size(), old, old + 1, 0);
  // With more than one role the total no longer is any one role's demand.
  if (old == 1) std::fill(t.demand_by_role.begin(), t.demand_by_role.end(), kNaN);
  Widen<double>(t.demand_by_role, t.size(), old, old + 1, kNaN);
  Widen<double>(t.utilization_by_role, t.size(), old, old + 1, kNaN);
  return static_cast<std::int16_t>(old);
}

// Node names are strings ("agent-3", "gpu-b"); snapshots hold numbers. A
// name ending in digits keeps that number when it is free, so the node table
// reads like the fleet; any other name takes the next free number.
std::int32_t LiveResults::AssignId(const std::string& name) {
  if (const auto it = ids_.find(name); it != ids_.end()) return it->second;
  std::int32_t id = -1;
  std::size_t digits = name.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1])) != 0) --digits;
  if (digits < name.size() && name.size() - digits <= 9) {
    const auto n = static_cast<std::int32_t>(std::stol(name.substr(digits)));
    if (used_ids_.count(n) == 0) id = n;
  }
  if (id < 0) id = used_ids_.empty() ? 0 : *used_ids_.rbegin() + 1;
  ids_[name] = id;
  used_ids_.insert(id);
  return id;
}

void LiveResults::AppendForecast(double origin_unix, const Forecast& f) {
  const std::size_t h = f.horizons.size();
  if (h == 0 || f.p10.size() != h || f.p50.size() != h || f.p90.size() != h) return;
  ForecastSeries& fs = data_.forecasts;
  if (fs.horizons.empty()) fs.horizons = f.horizons;
  // The matrices are origins x horizons: a forecast at other horizons (the
  // manager's model replaced) cannot join them.
  if (fs.horizons != f.horizons) return;
  const double origin = RunTime(origin_unix);
  if (!fs.time.empty() && origin <= fs.time.back()) return;
  fs.time.push_back(origin);
  fs.p10.insert(fs.p10.end(), f.p10.begin(), f.p10.end());
  fs.p50.insert(fs.p50.end(), f.p50.begin(), f.p50.end());
  fs.p90.insert(fs.p90.end(), f.p90.begin(), f.p90.end());
  fs.actual.insert(fs.actual.end(), h, kNaN);
}

void LiveResults::AppendSnapshot(double time) {
  NodeSnapshots& ns = data_.nodes;
  // Snapshot times must ascend: a newer table at the same time replaces the
  // last snapshot rather than following it.
  if (!ns.time.empty() && time <= ns.time.back()) {
    time = ns.time.back();
    const auto keep = static_cast<std::size_t>(ns.offset[ns.size() - 1]);
    ns.time.pop_back();
    ns.offset.pop_back();
    ns.id.resize(keep);
    ns.type.resize(keep);
    ns.role.resize(keep);
    ns.state.resize(keep);
    ns.utilization.resize(keep);
    ns.queued.resize(keep);
  }
  if (ns.offset.empty()) ns.offset.push_back(0);
  struct Row {
    std::int32_t id;
    const live::LiveNode* node;
  };
  std::vector<Row> rows;
  for (const auto& [name, n] : nodes_) {
    if (n.state != NodeState::kStopped) rows.push_back({ids_.at(name), &n});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  for (const Row& r : rows) {
    ns.id.push_back(r.id);
    ns.type.push_back(TypeIndex(r.node->capabilities.node_type));
    ns.role.push_back(RoleIndex(r.node->role));
    ns.state.push_back(static_cast<std::uint8_t>(r.node->state));
    ns.utilization.push_back(static_cast<float>(r.node->load.cpu_utilization));
    ns.queued.push_back(static_cast<float>(r.node->load.queued_requests));
  }
  ns.time.push_back(time);
  ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
  ns.every = 1;
  nodes_dirty_ = false;
}

}  // namespace meshtwin::gui
