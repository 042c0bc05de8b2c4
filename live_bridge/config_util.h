// Internal to live_bridge/: what the agent, shadow and manager config readers
// share on top of the scenario files' located YAML reading
// (scenarios/yaml_reader.h): required strings, paths relative to the config
// file, a `tls:` section, and a `scenario:` + `policy:` pair loaded with its
// errors placed at the key that brought them in.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "live_bridge/tls.h"
#include "scenarios/scenario.h"
#include "scenarios/yaml_reader.h"
#include "twin/status.h"

namespace meshtwin::live::config {

using scenario_yaml::Item;
using scenario_yaml::Reporter;
using scenario_yaml::Section;

// A string that must be present and non-empty.
absl::Status RequiredString(const Reporter& r, const Section& s, absl::string_view key,
                            absl::string_view expected, std::string* out);

// A path relative to the config file's directory (absolute paths unchanged).
std::string Resolve(const std::filesystem::path& base, const std::string& path);

// A list of strings (`expected` describes it in messages).
absl::StatusOr<std::vector<std::string>> StringList(const Reporter& r, const Item& item,
                                                    absl::string_view expected);

// `tls: {ca, cert, key, refresh}` (ca, cert, key required; paths resolved).
absl::Status ReadTls(const Reporter& r, const Section& s, const std::filesystem::path& base,
                     TlsOptions* out);

// `host:port` at `key` (required when `required`); empty when absent.
absl::Status HostPort(const Reporter& r, const Section& s, absl::string_view key, bool required,
                      std::string* out);

// The `scenario:` (a library name or a file relative to the config) and
// `policy:` (a list of --set overrides) keys, loaded. The scenario's own
// errors keep their text and are placed at the key of this file that brought
// them in. `*name` and `*overrides` receive what the file said.
absl::StatusOr<Scenario> LoadScenarioKeys(const Reporter& r, const Section& s, const Item& top,
                                          const std::string& source,
                                          const std::filesystem::path& base, std::string* name,
                                          std::vector<std::string>* overrides);

// An error placed like LoadScenarioKeys' (at `scenario`, or the top).
absl::Status BlameScenario(const Section& s, const Item& top, const std::string& source,
                           const absl::Status& st);

// Reads a whole config file: NotFound naming it when it does not exist.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

}  // namespace meshtwin::live::config
