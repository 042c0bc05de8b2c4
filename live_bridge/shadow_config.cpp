#include "live_bridge/shadow_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenarios/library.h"
// The scenario files' located YAML reading, as agent_config.cpp uses it.
#include "scenarios/yaml_reader.h"

namespace meshtwin::live {
namespace {

using scenario_yaml::Item;
using scenario_yaml::Reporter;
using scenario_yaml::Section;

absl::Status RequiredString(const Reporter& r, const Section& s, absl::string_view key,
                            absl::string_view expected, std::string* out) {
  const Item* item = s.Find(key);
  if (item == nullptr) return s.Missing(key, expected);
  MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, *item, out));
  if (out->empty())
    return r.Fail(*item, absl::StrCat("expected ", expected, ", got an empty string"));
  return absl::OkStatus();
}

std::string Resolve(const std::filesystem::path& base, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() || base.empty() ? path : (base / p).string();
}

}  // namespace

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

  const Item* policy_item = s.Find("policy");
  if (policy_item != nullptr) {
    MESHTWIN_ASSIGN_OR_RETURN(
        std::vector<Item> items,
        scenario_yaml::ListItems(r, *policy_item,
                                 "a list of scenario overrides key=value, e.g. "
                                 "[\"policy.target_utilization=0.5\"]"));
    for (const Item& element : items) {
      std::string override_text;
      MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, element, &override_text));
      if (override_text.find('=') == std::string::npos) {
        return r.Fail(element, absl::StrCat("expected key=value, got ",
                                            scenario_yaml::Shorten(override_text)));
      }
      c.policy_overrides.push_back(override_text);
    }
  }
  const Item* scenario_item = s.Find("scenario");
  if (scenario_item != nullptr) {
    MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, *scenario_item, &c.scenario));
    const std::string resolved = Resolve(base, c.scenario);
    std::error_code ec;
    if (std::filesystem::is_regular_file(resolved, ec)) c.scenario = resolved;
  }
  // The scenario's own errors keep their text (they name its file and line),
  // placed at the key of this file that brought them in.
  absl::StatusOr<Scenario> scenario = LoadScenarioByName(c.scenario, c.policy_overrides);
  auto blame = [&](const absl::Status& st) {
    const Item* at = scenario_item != nullptr ? scenario_item : &top;
    if (policy_item != nullptr && ErrorText(st).rfind("--set", 0) == 0) at = policy_item;
    return absl::Status(st.code(),
                        absl::StrCat(source, ":", at->mark.line + 1, ":", at->mark.column + 1, ": ",
                                     at == &top ? "scenario" : at->path, ": ", ErrorText(st)));
  };
  if (!scenario.ok()) return blame(scenario.status());
  // What a shadow cannot do: look ahead (the oracle reads the future of its
  // trace) or see per-role and per-node metrics (two queries give fleet totals).
  if (scenario->policy == "oracle") {
    return blame(absl::InvalidArgumentError(
        "policy.name: expected hpa, predictive or none, got oracle (it looks ahead in a "
        "trace; a shadow has no future to read)"));
  }
  if (scenario->roles_enabled || scenario->roles.size() > 1) {
    return blame(absl::InvalidArgumentError(
        "roles: expected a scenario without roles (the shadow reads one demand and one "
        "capacity series), got roles"));
  }
  if (scenario->faults.enabled) {
    return blame(absl::InvalidArgumentError(
        "faults: expected a scenario without faults (remediation needs per-node metrics the "
        "shadow does not read), got a faults section"));
  }
  c.loaded = *std::move(scenario);
  if (c.lookback < 0) c.lookback = c.loaded.forecast.enabled ? c.loaded.forecast.warmup : 0;
  return c;
}

absl::StatusOr<ShadowConfig> LoadShadowConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return absl::NotFoundError(path + ": no such config file");
    }
    return absl::InvalidArgumentError(path + ": cannot read the config file");
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseShadowConfig(text.str(), path);
}

}  // namespace meshtwin::live
