// `meshtwin agent` as a user runs it: a bad config is one error naming
// FILE:LINE and the key, with exit code 2; SIGTERM stops a running agent and
// its workload with exit code 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "live_bridge/certs.h"
#include "live_bridge/cli_test_util.h"

namespace {

using ::meshtwin::live::testing::CliRun;
using ::meshtwin::live::testing::Meshtwin;

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class AgentCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_agent_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes agent.yaml: a valid config with `extra` appended (a bad key or
  // value). Paths are relative to the file, as users write them.
  std::string WriteConfig(
      const std::string& extra, const std::string& node = "agent-0",
      const std::string& roles = "roles:\n  web: [\"/bin/sleep\", \"1000\"]\n") {
    const std::filesystem::path path = dir_ / "agent.yaml";
    std::ofstream out(path);
    out << "node: " << node << "\n"
        << "manager: 127.0.0.1:1\n"
        << "tls:\n  ca: certs/ca.crt\n  cert: certs/agent-0.crt\n  key: certs/agent-0.key\n"
        << "metrics: {listen: \"127.0.0.1:0\"}\n"
        << roles << extra;
    return path.string();
  }

  void MakeCerts() {
    meshtwin::live::CertsInitOptions init;
    init.dir = (dir_ / "certs").string();
    init.nodes = 1;
    ASSERT_TRUE(meshtwin::live::InitCertsDir(init).ok());
  }

  std::filesystem::path dir_;
};

TEST_F(AgentCliTest, MissingConfigFile) {
  const CliRun r = Meshtwin("agent --config " + (dir_ / "nope.yaml").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find((dir_ / "nope.yaml").string() + ": no such config file"),
            std::string::npos)
      << r.output;
}

TEST_F(AgentCliTest, UnknownKeyNamesFileLineAndKey) {
  const std::string path = WriteConfig("hartbeat: {interval: 5s}\n");
  const CliRun r = Meshtwin("agent --config " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":10:1: hartbeat: expected one of node, manager, managers, tls"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("(did you mean heartbeat?)"), std::string::npos) << r.output;
}

TEST_F(AgentCliTest, BadDurationNamesFileLineAndKey) {
  const std::string path = WriteConfig("heartbeat:\n  interval: 5 parsecs\n");
  const CliRun r = Meshtwin("agent --config " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":11:13: heartbeat.interval: expected a duration"),
            std::string::npos)
      << r.output;
}

TEST_F(AgentCliTest, RoleCommandMustBeAList) {
  const std::string path =
      WriteConfig("", "agent-0", "roles:\n  web: python3 -m http.server 8080\n");
  const CliRun r = Meshtwin("agent --config " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":9:8: roles.web: expected a command line as a list of strings"),
            std::string::npos)
      << r.output;
}

TEST_F(AgentCliTest, InitialRoleMustBeConfigured) {
  const std::string path = WriteConfig("role: gpu\n");
  const CliRun r = Meshtwin("agent --config " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":10:7: role: expected one of the roles (web), got gpu"),
            std::string::npos)
      << r.output;
}

TEST_F(AgentCliTest, NodeMustBeTheCertificatesName) {
  MakeCerts();
  const std::string path = WriteConfig("", "agent-7");
  const CliRun r = Meshtwin("agent --config " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":1:7: node: expected the CN of"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("got agent-7"), std::string::npos) << r.output;
}

TEST_F(AgentCliTest, MissingCertificateNamesTheTlsKey) {
  const std::string path = WriteConfig("");
  const CliRun r = Meshtwin("agent --config " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":3:1: tls: CA certificate "), std::string::npos) << r.output;
}

// An agent process running a `sleep` workload whose pid it writes to a file;
// its manager is unreachable (port 1), so it keeps retrying meanwhile.
struct AgentProcess {
  pid_t agent = -1;
  pid_t workload = -1;
  std::string log;
};

// True once `pid` is gone: no such process, or a zombie nobody reaped yet.
bool Gone(pid_t pid) {
  if (::kill(pid, 0) == -1 && errno == ESRCH) return true;
  const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

class AgentProcessTest : public AgentCliTest {
 protected:
  // Starts `meshtwin agent` and waits for its workload (fails the test if it
  // does not come up within 30 s).
  AgentProcess StartAgent() {
    MakeCerts();
    const std::filesystem::path pid_file = dir_ / "workload.pid";
    const std::string path = WriteConfig("role: web\n", "agent-0",
                                         "roles:\n  web: [\"/bin/sh\", \"-c\", \"echo $$ > " +
                                             pid_file.string() + "; exec sleep 1000\"]\n");
    AgentProcess p;
    p.log = (dir_ / "agent.log").string();
    p.agent = ::fork();
    if (p.agent == 0) {
      std::freopen(p.log.c_str(), "w", stderr);
      ::execl(MESHTWIN_BINARY, MESHTWIN_BINARY, "agent", "--config", path.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 1500 && p.workload <= 0; ++i) {  // up to 30 s
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::string text = ReadText(pid_file);
      if (!text.empty() && text.back() == '\n') p.workload = std::stoi(text);
    }
    EXPECT_GT(p.workload, 0) << ReadText(p.log);
    return p;
  }
};

// SIGTERM ends the agent and its workload with exit code 0.
TEST_F(AgentProcessTest, SigtermStopsTheAgentAndItsWorkload) {
  const AgentProcess p = StartAgent();
  ASSERT_GT(p.agent, 0);
  ASSERT_GT(p.workload, 0);
  ASSERT_EQ(::kill(p.agent, SIGTERM), 0);
  int status = 0;
  pid_t waited = 0;
  for (int i = 0; i < 1500 && waited == 0; ++i) {  // up to 30 s
    waited = ::waitpid(p.agent, &status, WNOHANG);
    if (waited == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (waited == 0) {
    ::kill(p.agent, SIGKILL);
    ::waitpid(p.agent, &status, 0);
    FAIL() << "the agent did not stop on SIGTERM\n" << ReadText(p.log);
  }
  ASSERT_TRUE(WIFEXITED(status)) << ReadText(p.log);
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadText(p.log);
  EXPECT_TRUE(Gone(p.workload)) << "the workload outlived the agent";
  const std::string output = ReadText(p.log);
  EXPECT_NE(output.find("cannot register with 127.0.0.1:1"), std::string::npos) << output;
  EXPECT_NE(output.find("SIGTERM received"), std::string::npos) << output;
}

// A killed agent (no chance to clean up) takes its workload with it.
TEST_F(AgentProcessTest, SigkillOfTheAgentEndsItsWorkload) {
  const AgentProcess p = StartAgent();
  ASSERT_GT(p.agent, 0);
  ASSERT_GT(p.workload, 0);
  ASSERT_EQ(::kill(p.agent, SIGKILL), 0);
  ::waitpid(p.agent, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {  // up to 10 s
    gone = Gone(p.workload);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "the workload outlived a killed agent\n" << ReadText(p.log);
  if (!gone) ::kill(p.workload, SIGKILL);
}

}  // namespace
