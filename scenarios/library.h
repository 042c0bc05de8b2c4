// The scenario library: named scenarios compiled into the binary (the files
// under scenarios/library/, plus the built-in default), and the lookup every
// command uses to turn a SCENARIO argument into a Scenario: an existing file
// path first, then a library name.
//
//   absl::StatusOr<Scenario> s = LoadScenarioByName("product-launch", {"seed=3"});
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scenarios/scenario.h"

namespace meshtwin {

struct LibraryScenario {
  std::string_view name;  // file name without .yaml
  std::string_view text;  // the YAML text
};

// Every library scenario, sorted by name ("default" included). Built on first
// use and immutable after: safe to call from any thread.
const std::vector<LibraryScenario>& ScenarioLibrary();

// What `meshtwin scenarios list` shows of a library scenario, read from its
// text without validating it (no model files loaded, so listing stays fast).
struct LibrarySummary {
  std::string name;
  std::string description;     // whitespace collapsed to single spaces
  Seconds duration = 86400;    // absent: the scenario default, 24h
  std::string policy = "hpa";  // policy.name; absent: hpa
};
absl::StatusOr<LibrarySummary> SummarizeLibraryScenario(const LibraryScenario& scenario);

// The library scenario called `name`, or nullptr.
const LibraryScenario* FindLibraryScenario(std::string_view name);

// The library's names, sorted and comma-separated ("black-friday, default, ...").
std::string LibraryNames();

// A file if `name_or_path` names one, else the library scenario of that name,
// else NotFound listing the library's names.
absl::StatusOr<Scenario> LoadScenarioByName(const std::string& name_or_path,
                                            const std::vector<std::string>& overrides);

}  // namespace meshtwin
