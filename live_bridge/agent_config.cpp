#include "live_bridge/agent_config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>

// The scenario files' located YAML reading (FILE:LINE:COL: key: expected ...,
// got ...), so that every config file of the project reports errors alike.
#include "live_bridge/config_util.h"

namespace meshtwin::live {
namespace {

using config::Resolve;
using config::StringList;
using scenario_yaml::Above;
using scenario_yaml::Item;
using scenario_yaml::ListItems;
using scenario_yaml::ReadString;
using scenario_yaml::Reporter;
using scenario_yaml::Section;

absl::Status RequiredString(const Reporter& r, const Section& s, absl::string_view key,
                            std::string* out) {
  return config::RequiredString(r, s, key, "a non-empty string", out);
}

// "host:port" or "[v6]:port"; port in [min_port, 65535].
bool SplitHostPort(const std::string& text, int min_port, std::string* host, int* port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) return false;
    h = h.substr(1, h.size() - 2);
  }
  const std::string p = text.substr(colon + 1);
  int value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size()) return false;
  if (value < min_port || value > 65535) return false;
  *host = h;
  *port = value;
  return true;
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& source) {
  MESHTWIN_ASSIGN_OR_RETURN(const YAML::Node root, scenario_yaml::LoadDocument(text, source));
  const Reporter r(source, {});
  const Item top{root, "", root.Mark()};
  if (!root.IsMap()) {
    return r.Fail(top, absl::StrCat("expected a mapping with node, manager, tls, roles, ...; got ",
                                    scenario_yaml::Describe(root)));
  }
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s, Section::Open(r, top,
                               {"node", "manager", "managers", "tls", "heartbeat", "metrics", "dht",
                                "workload", "roles", "role", "software"}));
  const std::filesystem::path base = std::filesystem::path(source).parent_path();
  AgentConfig c;
  c.source = source;
  MESHTWIN_RETURN_IF_ERROR(RequiredString(r, s, "node", &c.node_id));
  // `manager: host:port`, or `managers: [a, b, ...]` for replicas: the agent
  // registers with whichever leads and moves on when it is turned away.
  const Item* one = s.Find("manager");
  const Item* many = s.Find("managers");
  if (one != nullptr && many != nullptr) {
    return r.Fail(*many, "give either manager or managers, not both");
  }
  if (many != nullptr) {
    MESHTWIN_ASSIGN_OR_RETURN(c.managers, StringList(r, *many, "a list of host:port"));
    if (c.managers.empty()) return r.Fail(*many, "expected at least one host:port");
  } else {
    MESHTWIN_RETURN_IF_ERROR(RequiredString(r, s, "manager", &c.manager));
    c.managers = {c.manager};
  }
  for (const std::string& m : c.managers) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(m, 1, &host, &port)) {
      return r.Fail(many != nullptr ? *many : *one,
                    absl::StrCat("expected host:port, got ", scenario_yaml::Shorten(m)));
    }
  }
  c.manager = c.managers.front();

  MESHTWIN_RETURN_IF_ERROR(config::ReadTls(r, s, base, &c.tls));

  if (const Item* item = s.Find("heartbeat")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section hb, Section::Open(r, *item, {"interval"}));
    MESHTWIN_RETURN_IF_ERROR(
        hb.Duration("interval", scenario_yaml::Range{0, 3600, true, false}, &c.heartbeat_interval));
    c.heartbeat_interval_set = hb.Find("interval") != nullptr;
  }
  if (const Item* item = s.Find("metrics")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section m, Section::Open(r, *item, {"listen"}));
    if (const Item* listen = m.Find("listen")) {
      std::string text_value;
      MESHTWIN_RETURN_IF_ERROR(ReadString(r, *listen, &text_value));
      if (!SplitHostPort(text_value, 0, &c.metrics_host, &c.metrics_port)) {
        return r.Fail(*listen, absl::StrCat("expected address:port (port 0: any free one), got ",
                                            scenario_yaml::Describe(listen->node)));
      }
    }
  }
  if (const Item* item = s.Find("dht")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section d,
                              Section::Open(r, *item, {"protocol", "listen", "refresh", "ttl"}));
    MESHTWIN_RETURN_IF_ERROR(RequiredString(r, d, "protocol", &c.dht_protocol));
    if (c.dht_protocol != "chord" && c.dht_protocol != "kademlia") {
      return r.Fail(*d.Find("protocol"), absl::StrCat("expected chord or kademlia, got ",
                                                      scenario_yaml::Shorten(c.dht_protocol)));
    }
    if (const Item* listen = d.Find("listen")) {
      MESHTWIN_RETURN_IF_ERROR(ReadString(r, *listen, &c.dht_listen));
      std::string host;
      int port = 0;
      if (!SplitHostPort(c.dht_listen, 0, &host, &port)) {
        return r.Fail(*listen, absl::StrCat("expected address:port (port 0: any free one), got ",
                                            scenario_yaml::Describe(listen->node)));
      }
    }
    MESHTWIN_RETURN_IF_ERROR(d.Duration("refresh", Above(0), &c.dht_refresh));
    MESHTWIN_RETURN_IF_ERROR(d.Duration("ttl", Above(0), &c.dht_ttl));
    if (c.dht_ttl <= c.dht_refresh) {
      return d.FailAgainst(
          "ttl", {"refresh"},
          absl::StrCat("expected more than refresh (", scenario_yaml::FormatDuration(c.dht_refresh),
                       "): a record must outlive a refresh"));
    }
  }
  if (const Item* item = s.Find("workload")) {
    MESHTWIN_ASSIGN_OR_RETURN(
        Section w, Section::Open(r, *item, {"grace", "restart_backoff", "restart_backoff_max"}));
    MESHTWIN_RETURN_IF_ERROR(
        w.Duration("grace", scenario_yaml::Closed(0, 3600), &c.workload_grace));
    MESHTWIN_RETURN_IF_ERROR(w.Duration("restart_backoff", Above(0), &c.restart_backoff));
    MESHTWIN_RETURN_IF_ERROR(w.Duration("restart_backoff_max", Above(0), &c.restart_backoff_max));
    if (c.restart_backoff_max < c.restart_backoff) {
      return w.FailAgainst("restart_backoff_max", {"restart_backoff"},
                           absl::StrCat("expected at least restart_backoff (",
                                        scenario_yaml::FormatDuration(c.restart_backoff), "), got ",
                                        scenario_yaml::FormatDuration(c.restart_backoff_max)));
    }
  }

  if (const Item* item = s.Find("roles")) {
    if (!item->node.IsMap()) {
      return r.Fail(*item, absl::StrCat("expected a mapping of role -> command line, got ",
                                        scenario_yaml::Describe(item->node)));
    }
    for (auto it = item->node.begin(); it != item->node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar() || key.Scalar().empty()) {
        return r.Fail(key.Mark(), item->path,
                      absl::StrCat("expected a role name, got ", scenario_yaml::Describe(key)));
      }
      const Item role = scenario_yaml::MapChild(*item, key, it->second);
      if (c.roles.count(key.Scalar()) > 0) {
        return r.Fail(key.Mark(), role.path, "expected each role once, got it a second time");
      }
      constexpr absl::string_view kCommand =
          "a command line as a list of strings, e.g. [\"python3\", \"-m\", \"http.server\"]";
      if (!role.node.IsSequence() || role.node.size() == 0) {
        return r.Fail(role,
                      absl::StrCat("expected ", kCommand, ", got ",
                                   role.node.IsSequence() ? std::string("an empty list")
                                                          : scenario_yaml::Describe(role.node)));
      }
      MESHTWIN_ASSIGN_OR_RETURN(c.roles[key.Scalar()], StringList(r, role, kCommand));
      if (c.roles[key.Scalar()][0].empty()) {
        return r.Fail(scenario_yaml::ListElement(role, 0, role.node[0]),
                      "expected a program name, got an empty string");
      }
    }
  }
  if (const Item* item = s.Find("role")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *item, &c.role));
    if (!c.role.empty() && c.roles.count(c.role) == 0) {
      std::string known;
      for (const auto& [name, argv] : c.roles) known += (known.empty() ? "" : ", ") + name;
      return r.Fail(*item,
                    absl::StrCat("expected one of the roles (", known.empty() ? "none" : known,
                                 "), got ", scenario_yaml::Shorten(c.role)));
    }
  }
  if (const Item* item = s.Find("software")) {
    MESHTWIN_ASSIGN_OR_RETURN(c.software, StringList(r, *item, "a list of tags"));
  }
  return c;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, config::ReadConfigFile(path));
  MESHTWIN_ASSIGN_OR_RETURN(AgentConfig config, ParseAgentConfig(text, path));

  // Where to blame certificate trouble: the tls and node keys.
  const YAML::Node root = YAML::Load(text);
  auto where = [&](const std::string& key) {
    YAML::Mark mark;
    for (auto it = root.begin(); it != root.end(); ++it) {
      // As the scenario reader does: at a scalar value, else at the key.
      if (it->first.Scalar() == key) {
        mark = it->second.IsScalar() ? it->second.Mark() : it->first.Mark();
      }
    }
    return absl::StrCat(path, ":", mark.line + 1, ":", mark.column + 1, ": ", key, ": ");
  };
  if (absl::Status files = CheckTlsFiles(config.tls.files); !files.ok()) {
    return absl::Status(files.code(), where("tls") + ErrorText(files));
  }
  MESHTWIN_ASSIGN_OR_RETURN(CertificateInfo cert, ReadCertificateFile(config.tls.files.cert));
  if (cert.subject_cn != config.node_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        where("node"), "expected the CN of ", config.tls.files.cert, " (", cert.subject_cn,
        "): an agent may speak only for its own node, got ", config.node_id));
  }
  return config;
}

}  // namespace meshtwin::live
