#include "live_bridge/shadow_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "live_bridge/config_util.h"

namespace meshtwin::live {

using config::Item;
using config::Reporter;
using config::RequiredString;
using config::Resolve;
using config::Section;

absl::StatusOr<ShadowConfig> ParseShadowConfig(const std::string& text, const std::string& source) {
  MESHTWIN_ASSIGN_OR_RETURN(const YAML::Node root, scenario_yaml::LoadDocument(text, source));
  const Reporter r(source, {});
  const Item top{root, "", root.Mark()};
  if (!root.IsMap()) {
    return r.Fail(top, absl::StrCat("expected a mapping with prometheus, demand_query, "
                                    "capacity_query, ...; got ",
                                    scenario_yaml::Describe(root)));
  }
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s,
      Section::Open(r, top,
                    {"prometheus", "demand_query", "capacity_query", "capacity_unit", "interval",
                     "lookback", "scenario", "policy", "out", "duration", "timeout"}));
  const std::filesystem::path base = std::filesystem::path(source).parent_path();
  ShadowConfig c;
  c.source = source;
  MESHTWIN_RETURN_IF_ERROR(
      RequiredString(r, s, "prometheus", "a URL http[s]://host[:port]", &c.prometheus_url));
  if (c.prometheus_url.rfind("http://", 0) != 0 && c.prometheus_url.rfind("https://", 0) != 0) {
    return r.Fail(*s.Find("prometheus"),
                  absl::StrCat("expected a URL http[s]://host[:port][/prefix], got ",
                               scenario_yaml::Shorten(c.prometheus_url)));
  }
  MESHTWIN_RETURN_IF_ERROR(
      RequiredString(r, s, "demand_query", "a PromQL query (requests/s)", &c.demand_query));
  MESHTWIN_RETURN_IF_ERROR(RequiredString(
      r, s, "capacity_query", "a PromQL query (production's ready nodes)", &c.capacity_query));
  if (const Item* item = s.Find("capacity_unit")) {
    std::string unit;
    MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, *item, &unit));
    if (unit != "nodes" && unit != "requests/s") {
      return r.Fail(*item, absl::StrCat("expected nodes or requests/s, got ",
                                        scenario_yaml::Describe(item->node)));
    }
    c.capacity_in_rps = unit == "requests/s";
  }
  MESHTWIN_RETURN_IF_ERROR(s.Duration("interval", scenario_yaml::Closed(1, 3600), &c.interval));
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("lookback", scenario_yaml::Closed(0, scenario_yaml::kMaxDuration), &c.lookback));
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("duration", scenario_yaml::Closed(0, scenario_yaml::kMaxDuration), &c.duration));
  if (s.Find("duration") != nullptr && c.duration < c.interval) {
    return s.FailAgainst(
        "duration", {"interval"},
        absl::StrCat("expected at least one interval (", scenario_yaml::FormatDuration(c.interval),
                     "), got ", scenario_yaml::FormatDuration(c.duration)));
  }
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("timeout", scenario_yaml::Closed(0.1, 3600), &c.query_timeout));
  if (const Item* item = s.Find("out")) {
    MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, *item, &c.out));
    if (c.out.empty()) return r.Fail(*item, "expected a file name, got an empty string");
  }
  c.out = Resolve(base, c.out);

  MESHTWIN_ASSIGN_OR_RETURN(
      Scenario scenario,
      config::LoadScenarioKeys(r, s, top, source, base, &c.scenario, &c.policy_overrides));
  auto blame = [&](const absl::Status& st) { return config::BlameScenario(s, top, source, st); };
  // What a shadow cannot do: look ahead (the oracle reads the future of its
  // trace) or see per-role and per-node metrics (two queries give fleet totals).
  if (scenario.policy == "oracle") {
    return blame(absl::InvalidArgumentError(
        "policy.name: expected hpa, predictive or none, got oracle (it looks ahead in a "
        "trace; a shadow has no future to read)"));
  }
  if (scenario.roles_enabled || scenario.roles.size() > 1) {
    return blame(absl::InvalidArgumentError(
        "roles: expected a scenario without roles (the shadow reads one demand and one "
        "capacity series), got roles"));
  }
  if (scenario.faults.enabled) {
    return blame(absl::InvalidArgumentError(
        "faults: expected a scenario without faults (remediation needs per-node metrics the "
        "shadow does not read), got a faults section"));
  }
  c.loaded = std::move(scenario);
  if (c.lookback < 0) c.lookback = c.loaded.forecast.enabled ? c.loaded.forecast.warmup : 0;
  return c;
}

absl::StatusOr<ShadowConfig> LoadShadowConfig(const std::string& path) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, config::ReadConfigFile(path));
  return ParseShadowConfig(text, path);
}

}  // namespace meshtwin::live
