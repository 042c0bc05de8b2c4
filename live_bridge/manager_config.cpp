#include "live_bridge/manager_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "live_bridge/config_util.h"

namespace meshtwin::live {

using config::Item;
using config::Reporter;
using config::RequiredString;
using config::Resolve;
using config::Section;

namespace {

absl::Status ReadUrl(const Reporter& r, const Section& s, absl::string_view key, std::string* out) {
  MESHTWIN_RETURN_IF_ERROR(RequiredString(r, s, key, "an https:// URL", out));
  if (out->rfind("https://", 0) != 0) {
    return r.Fail(*s.Find(key), absl::StrCat("expected an https:// URL (the live bridge speaks "
                                             "mutual TLS only), got ",
                                             scenario_yaml::Shorten(*out)));
  }
  return absl::OkStatus();
}

absl::Status ReadActuator(const Reporter& r, const Section& top, const std::filesystem::path& base,
                          ManagerConfig* c) {
  const Item* item = top.Find("actuator");
  if (item == nullptr) return absl::OkStatus();
  MESHTWIN_ASSIGN_OR_RETURN(Section s,
                            Section::Open(r, *item, {"kind", "process", "kubernetes", "exec"}));
  MESHTWIN_RETURN_IF_ERROR(
      RequiredString(r, s, "kind", "none, process, kubernetes or exec", &c->actuator));
  if (c->actuator != "none" && c->actuator != "process" && c->actuator != "kubernetes" &&
      c->actuator != "exec") {
    return r.Fail(*s.Find("kind"), absl::StrCat("expected none, process, kubernetes or exec, got ",
                                                scenario_yaml::Shorten(c->actuator)));
  }
  if (c->actuator != "none" && s.Find(c->actuator) == nullptr) {
    return s.Missing(c->actuator, "the settings of the actuator named by kind");
  }
  if (const Item* p = s.Find("process")) {
    MESHTWIN_ASSIGN_OR_RETURN(
        Section ps,
        Section::Open(r, *p, {"binary", "work_dir", "ca_key", "roles", "managers", "prefix"}));
    ProcessLauncherOptions& o = c->process;
    MESHTWIN_RETURN_IF_ERROR(
        RequiredString(r, ps, "binary", "the meshtwin executable", &o.agent_binary));
    o.agent_binary = Resolve(base, o.agent_binary);
    MESHTWIN_RETURN_IF_ERROR(RequiredString(r, ps, "work_dir", "a directory", &o.work_dir));
    o.work_dir = Resolve(base, o.work_dir);
    MESHTWIN_RETURN_IF_ERROR(RequiredString(r, ps, "ca_key", "the CA's key file", &o.ca_key));
    o.ca_key = Resolve(base, o.ca_key);
    MESHTWIN_RETURN_IF_ERROR(ps.String("prefix", &o.node_prefix));
    const Item* roles = ps.Find("roles");
    if (roles == nullptr) return ps.Missing("roles", "a mapping role -> command line");
    if (!roles->node.IsMap() || roles->node.size() == 0) {
      return r.Fail(*roles, absl::StrCat("expected a mapping role -> command line, got ",
                                         scenario_yaml::Describe(roles->node)));
    }
    for (const auto& kv : roles->node) {
      const std::string role = kv.first.as<std::string>();
      const Item role_item{kv.second, absl::StrCat(roles->path, ".", role), kv.second.Mark()};
      MESHTWIN_ASSIGN_OR_RETURN(o.roles[role],
                                config::StringList(r, role_item, "a command line (a list)"));
      if (o.roles[role].empty()) return r.Fail(role_item, "expected a command, got an empty list");
    }
    if (const Item* m = ps.Find("managers")) {
      MESHTWIN_ASSIGN_OR_RETURN(o.managers, config::StringList(r, *m, "a list of host:port"));
    }
    // Every role a new node may be given needs a command line.
    std::vector<std::string> needed;
    for (const RoleSpec& role : c->loaded.roles) needed.push_back(role.name);
    if (needed.empty()) {
      needed.push_back(c->default_role.empty() ? RoleSpec{}.name : c->default_role);
    }
    for (const std::string& role : needed) {
      if (o.roles.count(role) == 0) {
        return r.Fail(*roles, absl::StrCat("expected a command line for role '", role,
                                           "' (a role new nodes may be given)"));
      }
    }
  }
  if (const Item* k = s.Find("kubernetes")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section ks,
                              Section::Open(r, *k,
                                            {"api_server", "namespace", "deployment", "deployments",
                                             "token_file", "ca_file", "dry_run", "timeout"}));
    KubernetesScalerOptions& o = c->kubernetes;
    MESHTWIN_RETURN_IF_ERROR(ReadUrl(r, ks, "api_server", &o.api_server));
    MESHTWIN_RETURN_IF_ERROR(ks.String("namespace", &o.namespace_));
    MESHTWIN_RETURN_IF_ERROR(ks.String("deployment", &o.deployment));
    if (const Item* d = ks.Find("deployments")) {
      if (!d->node.IsMap()) {
        return r.Fail(*d, absl::StrCat("expected a mapping node type -> deployment, got ",
                                       scenario_yaml::Describe(d->node)));
      }
      for (const auto& kv : d->node) {
        o.deployments[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    }
    if (o.deployment.empty() && o.deployments.empty()) {
      return ks.Missing("deployment", "the deployment to scale");
    }
    MESHTWIN_RETURN_IF_ERROR(RequiredString(r, ks, "token_file", "a file", &o.token_file));
    o.token_file = Resolve(base, o.token_file);
    MESHTWIN_RETURN_IF_ERROR(RequiredString(r, ks, "ca_file", "a file", &o.ca_file));
    o.ca_file = Resolve(base, o.ca_file);
    MESHTWIN_RETURN_IF_ERROR(ks.Bool("dry_run", &o.dry_run));
    MESHTWIN_RETURN_IF_ERROR(ks.Duration("timeout", scenario_yaml::Closed(0.1, 600), &o.timeout));
  }
  if (const Item* e = s.Find("exec")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section es, Section::Open(r, *e, {"command", "timeout"}));
    const Item* command = es.Find("command");
    if (command == nullptr) return es.Missing("command", "a command line (a list)");
    MESHTWIN_ASSIGN_OR_RETURN(c->exec.argv,
                              config::StringList(r, *command, "a command line (a list)"));
    if (c->exec.argv.empty()) return r.Fail(*command, "expected a command, got an empty list");
    if (c->exec.argv.front().find('/') != std::string::npos) {
      c->exec.argv.front() = Resolve(base, c->exec.argv.front());
    }
    MESHTWIN_RETURN_IF_ERROR(
        es.Duration("timeout", scenario_yaml::Closed(0.1, 3600), &c->exec.timeout));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ManagerConfig> ParseManagerConfig(const std::string& text,
                                                 const std::string& source) {
  MESHTWIN_ASSIGN_OR_RETURN(const YAML::Node root, scenario_yaml::LoadDocument(text, source));
  const Reporter r(source, {});
  const Item top{root, "", root.Mark()};
  if (!root.IsMap()) {
    return r.Fail(top, absl::StrCat("expected a mapping with id, listen, tls, decision_log, ...; "
                                    "got ",
                                    scenario_yaml::Describe(root)));
  }
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s,
      Section::Open(r, top,
                    {"id", "listen", "tls", "http", "interval", "heartbeat", "scenario", "policy",
                     "demand", "etcd", "dht", "decision_log", "events", "prometheus_sd", "role",
                     "drain", "takeover_grace", "duration", "actuator"}));
  const std::filesystem::path base = std::filesystem::path(source).parent_path();
  ManagerConfig c;
  c.source = source;
  MESHTWIN_RETURN_IF_ERROR(RequiredString(r, s, "id", "this replica's name", &c.id));
  MESHTWIN_RETURN_IF_ERROR(config::HostPort(r, s, "listen", false, &c.listen));
  if (c.listen.empty()) c.listen = "127.0.0.1:7443";
  MESHTWIN_RETURN_IF_ERROR(config::ReadTls(r, s, base, &c.tls));
  MESHTWIN_RETURN_IF_ERROR(config::HostPort(r, s, "http", false, &c.http_listen));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("interval", scenario_yaml::Closed(0.1, 3600), &c.interval));
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("heartbeat", scenario_yaml::Closed(0.1, 3600), &c.heartbeat_interval));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("drain", scenario_yaml::Closed(0, 86400), &c.drain));
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("takeover_grace", scenario_yaml::Closed(0, 3600), &c.takeover_grace));
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("duration", scenario_yaml::Closed(0, scenario_yaml::kMaxDuration), &c.duration));
  MESHTWIN_RETURN_IF_ERROR(s.String("role", &c.default_role));

  if (const Item* item = s.Find("demand")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section d,
                              Section::Open(r, *item, {"prometheus", "query", "timeout"}));
    MESHTWIN_RETURN_IF_ERROR(ReadUrl(r, d, "prometheus", &c.prometheus_url));
    MESHTWIN_RETURN_IF_ERROR(
        RequiredString(r, d, "query", "a PromQL query (requests/s)", &c.demand_query));
    MESHTWIN_RETURN_IF_ERROR(
        d.Duration("timeout", scenario_yaml::Closed(0.1, 600), &c.query_timeout));
  }
  if (const Item* item = s.Find("etcd")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section e, Section::Open(r, *item, {"endpoint", "key", "lease_ttl"}));
    MESHTWIN_RETURN_IF_ERROR(ReadUrl(r, e, "endpoint", &c.etcd_endpoint));
    MESHTWIN_RETURN_IF_ERROR(e.String("key", &c.election_key));
    if (c.election_key.empty() || c.election_key.front() != '/') {
      return r.Fail(*e.Find("key"), absl::StrCat("expected a key starting with /, got ",
                                                 scenario_yaml::Shorten(c.election_key)));
    }
    MESHTWIN_RETURN_IF_ERROR(e.Duration("lease_ttl", scenario_yaml::Closed(2, 600), &c.lease_ttl));
  }
  if (const Item* item = s.Find("dht")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section d, Section::Open(r, *item, {"protocol", "listen"}));
    MESHTWIN_RETURN_IF_ERROR(
        RequiredString(r, d, "protocol", "chord or kademlia", &c.dht_protocol));
    if (c.dht_protocol != "chord" && c.dht_protocol != "kademlia") {
      return r.Fail(*d.Find("protocol"), absl::StrCat("expected chord or kademlia, got ",
                                                      scenario_yaml::Shorten(c.dht_protocol)));
    }
    MESHTWIN_RETURN_IF_ERROR(config::HostPort(r, d, "listen", false, &c.dht_listen));
    if (c.dht_listen.empty()) c.dht_listen = "127.0.0.1:0";
  }
  MESHTWIN_RETURN_IF_ERROR(
      RequiredString(r, s, "decision_log", "a file (append-only)", &c.decision_log));
  c.decision_log = Resolve(base, c.decision_log);
  if (const Item* item = s.Find("events")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section e, Section::Open(r, *item, {"file", "keywords"}));
    MESHTWIN_RETURN_IF_ERROR(e.String("file", &c.events_file));
    MESHTWIN_RETURN_IF_ERROR(e.String("keywords", &c.keywords_file));
    if (!c.events_file.empty()) c.events_file = Resolve(base, c.events_file);
    if (!c.keywords_file.empty()) c.keywords_file = Resolve(base, c.keywords_file);
  }
  MESHTWIN_RETURN_IF_ERROR(s.String("prometheus_sd", &c.prometheus_sd_file));
  if (!c.prometheus_sd_file.empty()) c.prometheus_sd_file = Resolve(base, c.prometheus_sd_file);
  MESHTWIN_ASSIGN_OR_RETURN(c.loaded, config::LoadScenarioKeys(r, s, top, source, base, &c.scenario,
                                                               &c.policy_overrides));
  MESHTWIN_RETURN_IF_ERROR(ReadActuator(r, s, base, &c));
  if (c.actuator == "process") {
    c.process.ca_cert = c.tls.files.ca_cert;
    c.process.heartbeat_interval = c.heartbeat_interval;
    c.process.dht_protocol = c.dht_protocol;
    if (c.process.managers.empty()) c.process.managers = {c.listen};
  }

  if (c.loaded.policy == "oracle") {
    return config::BlameScenario(
        s, top, source,
        absl::InvalidArgumentError("policy.name: expected hpa, predictive or none, got oracle (it "
                                   "reads a trace's future; a live mesh has none)"));
  }
  if (c.loaded.forecast.enabled) {
    const double ratio = c.loaded.forecast.step / c.interval;
    if (std::abs(ratio - std::round(ratio)) > 1e-9) {
      return s.FailAgainst("interval", {"scenario"},
                           absl::StrCat("expected the scenario's forecast.step (",
                                        scenario_yaml::FormatDuration(c.loaded.forecast.step),
                                        ") to be a multiple of it, got ",
                                        scenario_yaml::FormatDuration(c.interval)));
    }
  }
  if (!c.default_role.empty()) {
    bool known = false;
    for (const RoleSpec& role : c.loaded.roles) known = known || role.name == c.default_role;
    if (!known) {
      return s.Fail("role", absl::StrCat("expected a role of the scenario, got ",
                                         scenario_yaml::Shorten(c.default_role)));
    }
  }
  if (c.takeover_grace < 0) c.takeover_grace = 2 * c.heartbeat_interval + 1;
  return c;
}

absl::StatusOr<ManagerConfig> LoadManagerConfig(const std::string& path) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, config::ReadConfigFile(path));
  MESHTWIN_ASSIGN_OR_RETURN(ManagerConfig c, ParseManagerConfig(text, path));
  MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(c.tls.files));
  return c;
}

}  // namespace meshtwin::live
