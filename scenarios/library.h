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

// Every library scenario, sorted by name ("default" included).
const std::vector<LibraryScenario>& ScenarioLibrary();

// A file if `name_or_path` names one, else the library scenario of that name,
// else NotFound listing the library's names.
absl::StatusOr<Scenario> LoadScenarioByName(const std::string& name_or_path,
                                            const std::vector<std::string>& overrides);

}  // namespace meshtwin
