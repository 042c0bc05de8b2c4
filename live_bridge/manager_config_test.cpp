// `meshtwin manager`'s config: what a good file gives, and that every bad
// key is one error naming FILE:LINE:COL and the key.
#include "live_bridge/manager_config.h"

#include <gtest/gtest.h>

#include <string>

namespace meshtwin::live {
namespace {

constexpr char kGood[] = R"yaml(id: manager-0
listen: 127.0.0.1:7443
tls: {ca: certs/ca.crt, cert: certs/manager-0.crt, key: certs/manager-0.key}
http: 127.0.0.1:9470
interval: 1s
heartbeat: 0.5s
scenario: default
policy: ["policy.name=hpa"]
demand: {prometheus: "https://127.0.0.1:9090", query: "sum(rate(x[1m]))"}
etcd: {endpoint: "https://127.0.0.1:2379", lease_ttl: 4s}
decision_log: logs/decisions.jsonl
events: {file: events.jsonl}
actuator:
  kind: process
  process: {binary: /usr/bin/meshtwin, work_dir: agents, ca_key: certs/ca.key,
            roles: {default: [sleep, "1000"]}}
)yaml";

std::string With(const std::string& from, const std::string& to) {
  std::string text = kGood;
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

std::string Error(const std::string& text) {
  absl::StatusOr<ManagerConfig> c = ParseManagerConfig(text, "/etc/mt/manager.yaml");
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : std::string(ErrorText(c.status()));
}

TEST(ManagerConfig, GoodFileResolvesPathsAndDefaults) {
  absl::StatusOr<ManagerConfig> c = ParseManagerConfig(kGood, "/etc/mt/manager.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "manager-0");
  EXPECT_EQ(c->tls.files.cert, "/etc/mt/certs/manager-0.crt");
  EXPECT_EQ(c->decision_log, "/etc/mt/logs/decisions.jsonl");
  EXPECT_EQ(c->events_file, "/etc/mt/events.jsonl");
  EXPECT_EQ(c->loaded.policy, "hpa");
  EXPECT_DOUBLE_EQ(c->interval, 1);
  EXPECT_DOUBLE_EQ(c->lease_ttl, 4);
  EXPECT_DOUBLE_EQ(c->takeover_grace, 2 * 0.5 + 1);
  EXPECT_EQ(c->actuator, "process");
  EXPECT_EQ(c->process.work_dir, "/etc/mt/agents");
  EXPECT_EQ(c->process.ca_cert, "/etc/mt/certs/ca.crt");
  ASSERT_EQ(c->process.managers.size(), 1u);
  EXPECT_EQ(c->process.managers[0], "127.0.0.1:7443");
}

TEST(ManagerConfig, BadKeysAreLocated) {
  EXPECT_NE(Error(With("id: manager-0\n", ""))
                .find("manager.yaml:1:1: id: expected this replica's name (required)"),
            std::string::npos)
      << Error(With("id: manager-0\n", ""));
  EXPECT_NE(Error(With("https://127.0.0.1:2379", "http://127.0.0.1:2379"))
                .find(":10:18: etcd.endpoint: expected an https:// URL"),
            std::string::npos)
      << Error(With("https://127.0.0.1:2379", "http://127.0.0.1:2379"));
  EXPECT_NE(Error(With("kind: process", "kind: ssh")).find("actuator.kind: expected none, process"),
            std::string::npos);
  EXPECT_NE(Error(With("roles: {default:", "roles: {web:"))
                .find(":16:13: actuator.process.roles: expected a command line for role 'default'"),
            std::string::npos)
      << Error(With("roles: {default:", "roles: {web:"));
  EXPECT_NE(Error(With("policy.name=hpa", "policy.name=oracle")).find("a live mesh has none"),
            std::string::npos);
  EXPECT_NE(Error(With("listen: 127.0.0.1:7443", "listen: nowhere"))
                .find(":2:9: listen: expected host:port"),
            std::string::npos)
      << Error(With("listen: 127.0.0.1:7443", "listen: nowhere"));
  EXPECT_NE(Error(With("interval: 1s", "intervall: 1s")).find("intervall: expected one of"),
            std::string::npos);
  EXPECT_NE(Error(With("lease_ttl: 4s", "lease_ttl: 1s")).find("etcd.lease_ttl"),
            std::string::npos);
  EXPECT_NE(Error(With("scenario: default", "scenario: no-such-scenario")).find(":7:11: scenario:"),
            std::string::npos)
      << Error(With("scenario: default", "scenario: no-such-scenario"));
}

}  // namespace
}  // namespace meshtwin::live
