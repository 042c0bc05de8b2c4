// The agent against a real manager side on loopback: a LiveServer with an
// AgentRegistry in-process, mutual TLS with certificates from our own CA, and
// real workload processes (/bin/sleep, a shell script writing a marker file).
#include "live_bridge/agent.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "live_bridge/agent_registry.h"
#include "live_bridge/certs.h"
#include "live_bridge/prometheus_text.h"
#include "live_bridge/test_support/certs_dir.h"
#include "live_bridge/tls_server.h"

namespace meshtwin::live {
namespace {

constexpr auto kPatience = std::chrono::seconds(30);

// Polls `done` until it holds or kPatience passes.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshCertsDir("agent_test", 1);
    StartManager(0);
  }
  void TearDown() override {
    StopAgent();
    if (server_) server_->Shutdown(1);
    std::filesystem::remove_all(dir_);
  }

  void StartManager(int port) {
    registry_ = std::make_unique<AgentRegistry>(AgentRegistryOptions{.manager_id = "manager-0"});
    LiveServerOptions options;
    options.address = "127.0.0.1:" + std::to_string(port);
    options.tls.files = TlsFiles::InDir(dir_.string(), "manager");
    server_ = std::make_unique<LiveServer>(options);
    server_->AddService(registry_->service());
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  AgentConfig Config() const {
    AgentConfig c;
    c.source = (dir_ / "agent.yaml").string();
    c.node_id = "agent-0";
    c.manager = "127.0.0.1:" + std::to_string(port_);
    c.tls.files = TlsFiles::InDir(dir_.string(), "agent-0");
    c.heartbeat_interval = 0.05;
    c.heartbeat_interval_set = true;
    c.metrics_port = 0;
    c.workload_grace = 2;
    c.restart_backoff = 0.05;
    c.restart_backoff_max = 0.2;
    c.roles["web"] = {"/bin/sleep", "1000"};
    // Writes a marker, then waits; `exec` keeps it one process.
    c.roles["batch"] = {"/bin/sh", "-c",
                        "echo started > " + Marker().string() + "; exec sleep 1000"};
    c.role = "web";
    c.software = {"python3"};
    return c;
  }
  std::filesystem::path Marker() const { return dir_ / "batch.marker"; }

  void StartAgent(AgentConfig config) {
    AgentOptions options;
    options.config = std::move(config);
    options.probe.nvidia_smi = "";  // no GPU tooling in tests
    options.register_backoff = 0.05;
    options.register_backoff_max = 0.2;
    agent_ = std::make_unique<Agent>(options);
    ASSERT_TRUE(agent_->Start().ok());
    runner_ = std::thread([this] { run_status_ = agent_->Run(); });
  }
  void StopAgent() {
    if (!agent_) return;
    agent_->Shutdown();
    if (runner_.joinable()) runner_.join();
  }

  bool Heartbeats(std::uint64_t n) {
    return WaitFor([&] {
      auto r = registry_->Find("agent-0");
      return r && r->heartbeats >= n;
    });
  }

  // The /metrics samples named `name` with label `label`="value" ("" : any).
  double Metric(const std::string& name, const std::string& label = "",
                const std::string& value = "") {
    // /metrics speaks mutual TLS: a client certificate from the same CA.
    httplib::SSLClient client("127.0.0.1", agent_->metrics_port(), (dir_ / "client.crt").string(),
                              (dir_ / "client.key").string());
    client.set_ca_cert_path((dir_ / "ca.crt").string());
    client.enable_server_certificate_verification(true);
    auto response = client.Get("/metrics");
    EXPECT_TRUE(response);
    if (!response) return -1;
    absl::StatusOr<std::vector<ParsedSample>> samples = ParseExposition(response->body);
    EXPECT_TRUE(samples.ok()) << samples.status();
    for (const ParsedSample& s : *samples) {
      if (s.name != name) continue;
      if (label.empty()) return s.value;
      for (const auto& [k, v] : s.labels) {
        if (k == label && v == value) return s.value;
      }
    }
    return -1;
  }

  std::filesystem::path dir_;
  std::unique_ptr<AgentRegistry> registry_;
  std::unique_ptr<LiveServer> server_;
  int port_ = 0;
  std::unique_ptr<Agent> agent_;
  std::thread runner_;
  absl::Status run_status_;
};

TEST_F(AgentTest, RegistersWithCapabilitiesAndHeartbeatsLoad) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(3));
  const AgentRecord record = *registry_->Find("agent-0");
  const AgentCapabilities& caps = record.registration.capabilities;
  EXPECT_EQ(caps.cores, ToCapabilityRecord(agent_->capabilities()).cores);
  EXPECT_GE(caps.cores, 1);
  EXPECT_GT(caps.memory_gb, 0);
  EXPECT_EQ(caps.roles, (std::vector<std::string>{"batch", "web"}));
  EXPECT_EQ(caps.software, (std::vector<std::string>{"python3"}));
  EXPECT_EQ(record.registration.role, "web");
  EXPECT_EQ(record.registration.metrics_address,
            "127.0.0.1:" + std::to_string(agent_->metrics_port()));
  EXPECT_EQ(record.role, "web");
  EXPECT_EQ(record.state, NodeState::kReady);
  EXPECT_GT(record.load.time_unix, 0);
  EXPECT_GT(record.load.window, 0);
  EXPECT_GE(record.load.cpu_utilization, 0);
  EXPECT_LE(record.load.cpu_utilization, 1);
  EXPECT_GT(record.load.memory_used_gb, 0);
}

TEST_F(AgentTest, MetricsShowRoleHeartbeatsAndCapabilities) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(3));
  EXPECT_EQ(Metric("meshtwin_agent_role", "role", "web"), 1);
  EXPECT_EQ(Metric("meshtwin_agent_role", "role", "batch"), 0);
  EXPECT_GE(Metric("meshtwin_agent_heartbeats_total"), 3);
  EXPECT_EQ(Metric("meshtwin_agent_workload_running", "workload", "web"), 1);
  EXPECT_EQ(Metric("meshtwin_agent_registered"), 1);
  EXPECT_EQ(Metric("meshtwin_agent_usable_cores"), agent_->capabilities().usable_cores);
  EXPECT_GE(Metric("meshtwin_agent_load_average", "window", "1m"), 0);
  EXPECT_GE(Metric("meshtwin_agent_cpu_utilization"), 0);
}

TEST_F(AgentTest, ChangeRoleStopsThePreviousWorkloadAndStartsTheNewOne) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  const WorkloadStatus web = agent_->Status().workload;
  ASSERT_EQ(web.state, WorkloadState::kRunning);
  ASSERT_EQ(web.name, "web");
  ASSERT_FALSE(ProcessGone(web.pid));

  absl::StatusOr<std::uint64_t> seq =
      registry_->SendCommand("agent-0", AgentCommand::ChangeRole("batch", "test"));
  ASSERT_TRUE(seq.ok()) << seq.status();
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(Marker()); }));
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().role == "batch"; }));
  const AgentStatus after = agent_->Status();
  EXPECT_EQ(after.workload.name, "batch");
  EXPECT_EQ(after.workload.state, WorkloadState::kRunning);
  EXPECT_NE(after.workload.pid, web.pid);
  EXPECT_TRUE(ProcessGone(web.pid)) << "the web role's sleep is still there";
  // The manager hears of it on the next heartbeats.
  EXPECT_TRUE(WaitFor([&] {
    auto r = registry_->Find("agent-0");
    return r->last_command_seq == *seq && r->role == "batch";
  }));
  EXPECT_EQ(Metric("meshtwin_agent_role", "role", "batch"), 1);
  EXPECT_EQ(Metric("meshtwin_agent_commands_applied_total"), 1);
}

TEST_F(AgentTest, RepeatedCommandSequenceIsAppliedOnce) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  AgentCommand command = AgentCommand::ChangeRole("batch", "test");
  absl::StatusOr<std::uint64_t> seq = registry_->SendCommand("agent-0", command);
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 1; }));
  const std::uint64_t starts = agent_->Status().workload.starts;
  const pid_t pid = agent_->Status().workload.pid;

  // The same command again (a redelivery): counted as ignored, not carried out.
  command.seq = *seq;
  agent_->HandleCommand(command);
  command.role = "web";  // and an older sequence number with another role
  agent_->HandleCommand(command);
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_ignored == 2; }));
  // A later command is still carried out, after them, in order.
  ASSERT_TRUE(registry_->SendCommand("agent-0", AgentCommand::ChangeRole("web", "later")).ok());
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 2; }));
  const AgentStatus s = agent_->Status();
  EXPECT_EQ(s.workload.starts, starts + 1);
  EXPECT_EQ(s.role, "web");
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_EQ(Metric("meshtwin_agent_commands_ignored_total"), 2);
}

// Fencing: once a command from a newer leader (higher fence) is obeyed, one
// from an older leader is refused whatever its sequence number; the newer
// leader numbers its commands afresh.
TEST_F(AgentTest, CommandsFromADeposedLeaderAreRefused) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  AgentCommand newer = AgentCommand::ChangeRole("batch", "leader with fence 7");
  newer.fence = 7;
  newer.seq = 1;
  agent_->HandleCommand(newer);
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 1; }));
  AgentCommand stale = AgentCommand::ChangeRole("web", "deposed leader, fence 5");
  stale.fence = 5;
  stale.seq = 1'000'000;
  agent_->HandleCommand(stale);
  EXPECT_EQ(agent_->Status().commands_fenced, 1u);
  AgentCommand next = AgentCommand::ChangeRole("web", "leader with fence 9");
  next.fence = 9;
  next.seq = 1;  // a new leader's first command
  agent_->HandleCommand(next);
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 2; }));
  EXPECT_EQ(agent_->Status().role, "web");
  EXPECT_EQ(agent_->Status().commands_fenced, 1u);
  EXPECT_EQ(Metric("meshtwin_agent_commands_fenced_total"), 1);
}

// With several managers the agent tries them in turn: a dead address first
// does not keep it from registering with the live one.
TEST_F(AgentTest, TriesEachManagerInTurn) {
  AgentConfig c = Config();
  c.managers = {"127.0.0.1:1", c.manager};
  StartAgent(c);
  ASSERT_TRUE(Heartbeats(2));
  EXPECT_EQ(agent_->Status().manager_id, "manager-0");
}

TEST_F(AgentTest, KilledWorkloadIsRestartedAndADeliberateStopIsNot) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  const pid_t first = agent_->Status().workload.pid;
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    const WorkloadStatus w = agent_->Status().workload;
    return w.restarts == 1 && w.state == WorkloadState::kRunning;
  }));
  const WorkloadStatus restarted = agent_->Status().workload;
  EXPECT_NE(restarted.pid, first);
  EXPECT_EQ(restarted.name, "web");
  EXPECT_EQ(restarted.last_exit, "signal 9");
  EXPECT_EQ(Metric("meshtwin_agent_workload_restarts_total"), 1);

  AgentCommand stop;
  stop.kind = AgentCommandKind::kStopWorkload;
  stop.workload = "web";
  stop.seconds = 1;
  ASSERT_TRUE(registry_->SendCommand("agent-0", stop).ok());
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 1; }));
  EXPECT_EQ(agent_->Status().workload.state, WorkloadState::kStopped);
  EXPECT_TRUE(ProcessGone(restarted.pid));
  // Bounded look for an unwanted restart: the backoff is 50 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(agent_->Status().workload.state, WorkloadState::kStopped);
  EXPECT_EQ(agent_->Status().workload.restarts, 1u);
}

TEST_F(AgentTest, DrainStopsTheWorkloadAfterItsGrace) {
  AgentConfig config = Config();
  // Ignores SIGTERM: only the SIGKILL after the drain's grace ends it.
  config.roles["web"] = {"/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.05; done"};
  StartAgent(config);
  ASSERT_TRUE(Heartbeats(1));
  const pid_t pid = agent_->Status().workload.pid;
  ASSERT_TRUE(registry_->SendCommand("agent-0", AgentCommand::Drain(0.3, "scale in")).ok());
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 1; }));
  EXPECT_EQ(agent_->Status().state, NodeState::kStopped);
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_TRUE(WaitFor([&] { return registry_->Find("agent-0")->state == NodeState::kStopped; }));
}

TEST_F(AgentTest, RetriesWhileTheManagerIsDownAndRegistersAgain) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  const int port = port_;
  server_->Shutdown(0);
  server_.reset();
  ASSERT_TRUE(WaitFor([&] { return !agent_->Status().registered; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few failed attempts
  StartManager(port);
  ASSERT_TRUE(Heartbeats(1));
  EXPECT_EQ(agent_->Status().registrations, 2u);
  EXPECT_EQ(registry_->Find("agent-0")->role, "web");
}

TEST_F(AgentTest, ShutdownStopsHeartbeatsAndTheWorkload) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  const pid_t pid = agent_->Status().workload.pid;
  StopAgent();
  EXPECT_TRUE(run_status_.ok()) << run_status_;
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_EQ(agent_->Status().state, NodeState::kStopped);
  EXPECT_TRUE(WaitFor([&] { return !registry_->Find("agent-0")->streaming; }));
}

TEST_F(AgentTest, UnknownRoleCommandIsCountedAsFailedAndKeepsTheWorkload) {
  StartAgent(Config());
  ASSERT_TRUE(Heartbeats(1));
  const pid_t pid = agent_->Status().workload.pid;
  ASSERT_TRUE(registry_->SendCommand("agent-0", AgentCommand::ChangeRole("gpu", "x")).ok());
  ASSERT_TRUE(WaitFor([&] { return agent_->Status().commands_applied == 1; }));
  const AgentStatus s = agent_->Status();
  EXPECT_EQ(s.commands_failed, 1u);
  EXPECT_EQ(s.role, "web");
  EXPECT_EQ(s.workload.pid, pid);
}

}  // namespace
}  // namespace meshtwin::live
