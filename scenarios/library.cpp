#include "scenarios/library.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace meshtwin {
namespace library_internal {
// Defined in the library_files.cpp that scenarios/CMakeLists.txt generates.
std::vector<LibraryScenario> LibraryFiles();
}  // namespace library_internal

const std::vector<LibraryScenario>& ScenarioLibrary() {
  static const std::vector<LibraryScenario> library = [] {
    std::vector<LibraryScenario> all = library_internal::LibraryFiles();
    all.push_back({"default", DefaultScenarioText()});
    std::sort(all.begin(), all.end(),
              [](const LibraryScenario& a, const LibraryScenario& b) { return a.name < b.name; });
    return all;
  }();
  return library;
}

absl::StatusOr<LibrarySummary> SummarizeLibraryScenario(const LibraryScenario& scenario) {
  LibrarySummary out;
  out.name = std::string(scenario.name);
  const std::string where = absl::StrCat("library scenario ", out.name, ": ");
  try {
    const YAML::Node root = YAML::Load(std::string(scenario.text));
    if (!root.IsMap()) return absl::InternalError(where + "not a mapping");
    if (const YAML::Node d = root["description"]; d && d.IsScalar()) {
      out.description = absl::StrJoin(
          absl::StrSplit(d.Scalar(), absl::ByAnyChar(" \t\n"), absl::SkipEmpty()), " ");
    }
    if (const YAML::Node d = root["duration"]; d && d.IsScalar()) {
      absl::StatusOr<Seconds> seconds = ParseDuration(d.Scalar());
      if (!seconds.ok()) {
        return absl::InternalError(where + std::string(seconds.status().message()));
      }
      out.duration = *seconds;
    }
    if (const YAML::Node p = root["policy"]; p && p.IsMap()) {
      if (const YAML::Node n = p["name"]; n && n.IsScalar()) out.policy = n.Scalar();
    }
  } catch (const YAML::Exception& e) {
    return absl::InternalError(where + e.what());
  }
  return out;
}

const LibraryScenario* FindLibraryScenario(std::string_view name) {
  for (const LibraryScenario& s : ScenarioLibrary()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string LibraryNames() {
  std::vector<std::string> names;
  for (const LibraryScenario& s : ScenarioLibrary()) names.emplace_back(s.name);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<Scenario> LoadScenarioByName(const std::string& name_or_path,
                                            const std::vector<std::string>& overrides) {
  // A file wins, so that a scenario saved as ./product-launch can be run by
  // its name even though the library has one of that name too.
  std::error_code ec;
  if (std::filesystem::is_regular_file(name_or_path, ec)) {
    return LoadScenarioFile(name_or_path, overrides);
  }
  if (const LibraryScenario* s = FindLibraryScenario(name_or_path)) {
    const std::string source =
        s->name == "default" ? std::string("<default>")
                             : absl::StrCat("scenarios/library/", std::string(s->name), ".yaml");
    return ParseScenario(s->text, source, overrides);
  }
  // Something that exists but is no file (a directory) keeps the file error.
  if (std::filesystem::exists(name_or_path, ec)) {
    return LoadScenarioFile(name_or_path, overrides);
  }
  return absl::NotFoundError(absl::StrCat(
      name_or_path, ": no such file or library scenario (library: ", LibraryNames(), ")"));
}

}  // namespace meshtwin
