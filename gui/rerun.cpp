#include "gui/rerun.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace meshtwin::gui {
namespace {

std::string Trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r") + 1 - a);
}

std::string KeyOf(const std::string& set) { return Trim(set.substr(0, set.find('='))); }

}  // namespace

RerunCommand BuildRerunCommand(const std::string& overrides_text, const std::string& policy) {
  RerunCommand cmd;
  cmd.overrides.push_back("policy.name=" + policy);
  std::string label_policy = policy;
  std::istringstream in(overrides_text);
  for (std::string line; std::getline(in, line);) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (KeyOf(line) == "policy.name") label_policy = Trim(line.substr(line.find('=') + 1));
    cmd.overrides.push_back(line);
  }
  cmd.label = "rerun " + label_policy;
  return cmd;
}

void ApplyScriptedRerun(const std::vector<std::string>& sets, std::string* overrides_text,
                        int* policy) {
  std::vector<std::string> lines;
  {
    std::istringstream in(*overrides_text);
    for (std::string line; std::getline(in, line);) {
      if (!Trim(line).empty()) lines.push_back(line);
    }
  }
  for (const std::string& raw : sets) {
    const std::string set = Trim(raw);
    const std::string key = KeyOf(set);
    if (key == "policy.name") {
      const std::string value = Trim(set.substr(set.find('=') + 1));
      bool offered = false;
      for (int i = 0; i < static_cast<int>(std::size(kRerunPolicies)); ++i) {
        if (value == kRerunPolicies[i]) {
          *policy = i;
          offered = true;
        }
      }
      std::erase_if(lines, [&](const std::string& l) { return KeyOf(l) == key; });
      if (!offered) lines.push_back(set);
      continue;
    }
    bool replaced = false;
    for (std::string& l : lines) {
      if (KeyOf(l) == key) {
        l = set;
        replaced = true;
      }
    }
    if (!replaced) lines.push_back(set);
  }
  overrides_text->clear();
  for (const std::string& l : lines) *overrides_text += l + "\n";
}

absl::StatusOr<std::vector<std::string>> RelativePathOverrides(
    const std::string& scenario_yaml, const std::vector<std::string>& overrides,
    const std::vector<std::string>& folders) {
  YAML::Node root;
  try {
    root = YAML::Load(scenario_yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(std::string("the stored scenario does not parse: ") +
                                      e.what());
  }
  struct PathKey {
    const char* section;
    const char* key;
  };
  constexpr PathKey kPathKeys[] = {
      {"trace", "file"}, {"trace", "events_file"}, {"forecast", "model"}};
  constexpr const char* kNamedModels[] = {"naive", "seasonal-naive", "holt-winters", "lstm",
                                          "gru",   "default"};
  std::vector<std::string> out;
  for (const PathKey& pk : kPathKeys) {
    const std::string dotted = std::string(pk.section) + "." + pk.key;
    bool overridden = false;
    for (const std::string& o : overrides) overridden = overridden || KeyOf(o) == dotted;
    if (overridden || !root.IsMap()) continue;
    const YAML::Node section = root[pk.section];
    if (!section || !section.IsMap()) continue;
    const YAML::Node value = section[pk.key];
    if (!value || !value.IsScalar()) continue;
    const std::string path = value.Scalar();
    if (path.empty() || path.front() == '/') continue;
    if (std::string_view(pk.section) == "forecast" &&
        std::find(std::begin(kNamedModels), std::end(kNamedModels), path) !=
            std::end(kNamedModels)) {
      continue;
    }
    std::string found;
    std::string tried;
    for (const std::string& folder : folders) {
      const std::filesystem::path candidate = std::filesystem::path(folder) / path;
      std::error_code ec;
      if (std::filesystem::exists(candidate, ec)) {
        found = std::filesystem::absolute(candidate, ec).lexically_normal().string();
        break;
      }
      tried += (tried.empty() ? "" : ", ") + folder;
    }
    if (found.empty()) {
      return absl::InvalidArgumentError(
          "re-run: " + dotted + " " + path +
          " is relative to the original scenario's folder, which the results file does not "
          "record, and is not under " +
          (tried.empty() ? std::string("any folder tried") : tried) + "; add --set " + dotted +
          "=/absolute/path to the overrides");
    }
    out.push_back(dotted + "=" + found);
  }
  return out;
}

}  // namespace meshtwin::gui
