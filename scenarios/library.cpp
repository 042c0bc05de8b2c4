#include "scenarios/library.h"

namespace meshtwin {

const std::vector<LibraryScenario>& ScenarioLibrary() {
  static const std::vector<LibraryScenario> library = {{"default", DefaultScenarioText()}};
  return library;
}

absl::StatusOr<Scenario> LoadScenarioByName(const std::string& name_or_path,
                                            const std::vector<std::string>& overrides) {
  return LoadScenarioFile(name_or_path, overrides);
}

}  // namespace meshtwin
