#include "live_bridge/config_util.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "scenarios/library.h"

namespace meshtwin::live::config {

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

absl::StatusOr<std::vector<std::string>> StringList(const Reporter& r, const Item& item,
                                                    absl::string_view expected) {
  MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items, scenario_yaml::ListItems(r, item, expected));
  std::vector<std::string> out;
  for (const Item& element : items) {
    MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, element, &out.emplace_back()));
  }
  return out;
}

absl::Status ReadTls(const Reporter& r, const Section& s, const std::filesystem::path& base,
                     TlsOptions* out) {
  const Item* tls_item = s.Find("tls");
  if (tls_item == nullptr) return s.Missing("tls", "a mapping with ca, cert and key");
  MESHTWIN_ASSIGN_OR_RETURN(Section tls,
                            Section::Open(r, *tls_item, {"ca", "cert", "key", "refresh"}));
  MESHTWIN_RETURN_IF_ERROR(RequiredString(r, tls, "ca", "a file", &out->files.ca_cert));
  MESHTWIN_RETURN_IF_ERROR(RequiredString(r, tls, "cert", "a file", &out->files.cert));
  MESHTWIN_RETURN_IF_ERROR(RequiredString(r, tls, "key", "a file", &out->files.key));
  out->files.ca_cert = Resolve(base, out->files.ca_cert);
  out->files.cert = Resolve(base, out->files.cert);
  out->files.key = Resolve(base, out->files.key);
  Seconds refresh = 60;
  MESHTWIN_RETURN_IF_ERROR(tls.Duration("refresh", scenario_yaml::Closed(1, 86400), &refresh));
  out->refresh_interval_s = static_cast<unsigned>(refresh);
  return absl::OkStatus();
}

absl::Status HostPort(const Reporter& r, const Section& s, absl::string_view key, bool required,
                      std::string* out) {
  const Item* item = s.Find(key);
  if (item == nullptr) {
    return required ? s.Missing(key, "host:port") : absl::OkStatus();
  }
  MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, *item, out));
  const std::size_t colon = out->rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon > 0) {
    const char* first = out->data() + colon + 1;
    const char* last = out->data() + out->size();
    auto [ptr, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || ptr != last || first == last) port = -1;
  }
  if (port < 0 || port > 65535) {
    return r.Fail(*item, absl::StrCat("expected host:port (port 0 picks a free one), got ",
                                      scenario_yaml::Describe(item->node)));
  }
  return absl::OkStatus();
}

absl::Status BlameScenario(const Section& s, const Item& top, const std::string& source,
                           const absl::Status& st) {
  const Item* at = s.Find("scenario") != nullptr ? s.Find("scenario") : &top;
  if (s.Find("policy") != nullptr && ErrorText(st).rfind("--set", 0) == 0) at = s.Find("policy");
  return absl::Status(st.code(),
                      absl::StrCat(source, ":", at->mark.line + 1, ":", at->mark.column + 1, ": ",
                                   at == &top ? "scenario" : at->path, ": ", ErrorText(st)));
}

absl::StatusOr<Scenario> LoadScenarioKeys(const Reporter& r, const Section& s, const Item& top,
                                          const std::string& source,
                                          const std::filesystem::path& base, std::string* name,
                                          std::vector<std::string>* overrides) {
  if (const Item* policy_item = s.Find("policy")) {
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
      overrides->push_back(override_text);
    }
  }
  if (const Item* scenario_item = s.Find("scenario")) {
    MESHTWIN_RETURN_IF_ERROR(scenario_yaml::ReadString(r, *scenario_item, name));
    const std::string resolved = Resolve(base, *name);
    std::error_code ec;
    if (std::filesystem::is_regular_file(resolved, ec)) *name = resolved;
  }
  absl::StatusOr<Scenario> scenario = LoadScenarioByName(*name, *overrides);
  if (!scenario.ok()) return BlameScenario(s, top, source, scenario.status());
  return scenario;
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
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
  return text.str();
}

}  // namespace meshtwin::live::config
