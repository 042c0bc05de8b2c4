#include "live_bridge/live_fork.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "datasets/events.h"

namespace meshtwin::live {
namespace {

// The level the fork starts from: the mean of the last few readings.
double LastLevel(const LiveSnapshot& s) {
  double sum = 0;
  int n = 0;
  for (auto it = s.demand_history.rbegin(); it != s.demand_history.rend() && n < 5; ++it) {
    if (std::isfinite(*it)) {
      sum += *it;
      ++n;
    }
  }
  if (n > 0) return sum / n;
  return s.forecast.p50.empty() ? std::nan("") : s.forecast.p50.front();
}

}  // namespace

absl::StatusOr<LiveFork> MakeLiveFork(const LiveSnapshot& snapshot, Seconds horizon,
                                      const std::vector<std::string>& overrides,
                                      const std::string& source) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  if (!(horizon > 0)) return bad("horizon: expected a duration > 0");
  if (!(snapshot.interval > 0)) return bad("snapshot interval: expected > 0");
  if (snapshot.scenario_yaml.empty()) return bad("snapshot: the manager sent no scenario");
  LiveFork fork;

  // The manager's scenario with its trace replaced: the fork's demand is
  // given to the simulation directly, and the file a manager's trace names
  // need not exist here.
  YAML::Node root;
  try {
    root = YAML::Load(snapshot.scenario_yaml);
  } catch (const YAML::Exception& e) {
    return bad(absl::StrCat("the manager's scenario is not YAML: ", e.what()));
  }
  if (!root.IsMap()) return bad("the manager's scenario is not a mapping");
  YAML::Node stub;
  stub["synthetic"]["base_rps"] = 1;
  stub["synthetic"]["noise"] = 0;
  root["trace"] = stub;
  YAML::Emitter out;
  out << root;

  // The live fleet by node type, and the overrides that start the run from it.
  std::map<std::string, int> live;
  for (const LiveNode& n : snapshot.nodes) {
    if (n.state == NodeState::kReady || n.state == NodeState::kBooting ||
        n.state == NodeState::kSwitching) {
      ++live[n.capabilities.node_type];
    }
  }
  std::vector<std::string> all = snapshot.overrides;
  all.push_back(absl::StrCat("duration=", horizon, "s"));
  all.push_back(absl::StrCat("control_interval=", snapshot.interval, "s"));
  MESHTWIN_ASSIGN_OR_RETURN(Scenario probe, ParseScenario(out.c_str(), source, all));
  for (std::size_t t = 0; t < probe.node_types.size(); ++t) {
    const NodeTypeSpec& type = probe.node_types[t];
    int count = live.count(type.name) != 0 ? live[type.name] : 0;
    live.erase(type.name);
    const int clamped = std::clamp(count, type.min, std::max(type.min, type.max));
    if (clamped != count) {
      fork.notes.push_back(absl::StrCat(type.name, ": ", count, " live nodes, started from ",
                                        clamped, " (the type's min..max)"));
    }
    all.push_back(absl::StrCat("node_types.", t, ".initial=", clamped));
  }
  for (const auto& [type, count] : live) {
    fork.notes.push_back(absl::StrCat(count, " live node(s) of type '", type,
                                      "' that the scenario does not have: left out"));
  }
  all.insert(all.end(), overrides.begin(), overrides.end());
  MESHTWIN_ASSIGN_OR_RETURN(fork.scenario, ParseScenario(out.c_str(), source, all));
  fork.scenario.name = absl::StrCat(fork.scenario.name, " (forked from ", snapshot.manager_id, ")");

  // The demand ahead: the manager's forecast, from the last level seen.
  const double level = LastLevel(snapshot);
  if (!std::isfinite(level)) {
    return bad("snapshot: no demand reading and no forecast to start the fork from");
  }
  std::vector<std::pair<double, double>> knots = {{0, level}};
  const Forecast& f = snapshot.forecast;
  for (std::size_t i = 0; i < f.horizons.size() && i < f.p50.size(); ++i) {
    if (f.horizons[i] > 0 && std::isfinite(f.p50[i])) knots.emplace_back(f.horizons[i], f.p50[i]);
  }
  std::sort(knots.begin(), knots.end());
  if (f.empty()) {
    fork.notes.push_back(
        absl::StrCat("the manager had no forecast: demand held at ", level, " requests/s"));
  }
  Trace& trace = fork.trace;
  trace.epoch = snapshot.time_unix;
  trace.start = 0;
  trace.step = fork.scenario.control_interval;
  const auto samples = static_cast<std::size_t>(std::ceil(horizon / trace.step - 1e-9));
  trace.demand.resize(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    const double t = (static_cast<double>(i) + 0.5) * trace.step;
    double v = knots.back().second;
    for (std::size_t k = 1; k < knots.size(); ++k) {
      if (t <= knots[k].first) {
        const auto& [t0, v0] = knots[k - 1];
        const auto& [t1, v1] = knots[k];
        v = v0 + (v1 - v0) * (t - t0) / std::max(1e-9, t1 - t0);
        break;
      }
    }
    trace.demand[i] = std::max(0.0, v);
  }
  AttachEvents(trace, snapshot.events);

  fork.history = snapshot.demand_history;
  fork.history_step = snapshot.history_step;
  return fork;
}

}  // namespace meshtwin::live
