#include "live_bridge/provisioners.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "live_bridge/agent_config.h"
#include "live_bridge/certs.h"
#include "live_bridge/tls.h"
#include "nlohmann/json.hpp"

namespace meshtwin::live {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `done` every 20 ms for up to `seconds` (generous: machines are shared).
bool WaitFor(const std::function<bool()>& done, double seconds = 20) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// /proc/PID/stat after the command name: state, ppid, pgrp, session.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  pid_t session = 0;
};
std::optional<ProcStat> ReadProcStat(pid_t pid) {
  const std::string text = Slurp("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream in(text.substr(paren + 1));
  ProcStat s;
  pid_t pgrp = 0;
  in >> s.state >> s.ppid >> pgrp >> s.session;
  return s;
}
// Gone or a zombie (nobody may reap an orphan in a container).
bool ProcessGone(pid_t pid) {
  const std::optional<ProcStat> s = ReadProcStat(pid);
  return !s || s->state == 'Z' || s->state == 'X';
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "meshtwin-prov-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::trunc) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------
// ProcessLauncher, with a shell script standing in for `meshtwin agent`: it
// records its arguments and where its stdin points, then waits to be told to
// stop.

constexpr char kFakeAgent[] = R"(#!/bin/sh
# $1 = agent, $2 = --config, $3 = NODE.yaml
printf '%s\n' "$@" > "$3.args"
readlink /proc/$$/fd/0 > "$3.stdin"
echo "fake agent $$ up"
trap 'kill $child 2>/dev/null; exit 0' TERM
sleep 300 &
child=$!
wait $child
)";

class ProcessLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyAndCertificate> ca = MakeCertificateAuthority("test-ca");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ASSERT_TRUE(WriteKeyAndCertificate(dir_.path(), "ca", *ca).ok());
    options_.agent_binary = dir_.File("fake-agent.sh", kFakeAgent, 0755);
    options_.work_dir = dir_.path() + "/nodes";  // created by Create
    options_.ca_cert = dir_.path() + "/ca.crt";
    options_.ca_key = dir_.path() + "/ca.key";
    options_.managers = {"127.0.0.1:7443"};
    options_.roles = {{"web", {"python3", "-m", "http.server", "8080"}}, {"cache", {"sleep", "1"}}};
    options_.heartbeat_interval = 0.5;
  }
  void TearDown() override {
    // Stop whatever a failed assertion left running.
    if (launcher_ != nullptr) {
      ProvisionRequest all;
      all.node_ids = launcher_->Launched();
      EXPECT_TRUE(launcher_->ScaleIn(all).ok());
    }
  }
  ProcessLauncher* Make() {
    absl::StatusOr<std::unique_ptr<ProcessLauncher>> l = ProcessLauncher::Create(options_);
    EXPECT_TRUE(l.ok()) << l.status();
    if (!l.ok()) return nullptr;
    launcher_ = *std::move(l);
    return launcher_.get();
  }
  std::string Node(const std::string& id, const std::string& ext) const {
    return options_.work_dir + "/" + id + ext;
  }
  pid_t PidOf(const std::string& id) const { return std::stoi(Slurp(Node(id, ".pid"))); }

  TempDir dir_;
  ProcessLauncherOptions options_;
  std::unique_ptr<ProcessLauncher> launcher_;
};

TEST_F(ProcessLauncherTest, ScaleOutWritesCertAndConfigAndStartsDetachedAgents) {
  ProcessLauncher* launcher = Make();
  ASSERT_NE(launcher, nullptr);
  EXPECT_EQ(launcher->name(), "process");
  ProvisionRequest r;
  r.node_type = "small";
  r.role = "web";
  r.count = 2;
  r.replicas_after = 5;
  r.fence = 3;
  r.tick = 17;
  absl::StatusOr<std::vector<std::string>> ids = launcher->ScaleOut(r);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_THAT(*ids, ElementsAre("node-f3-t17-0", "node-f3-t17-1"));

  for (const std::string& id : *ids) {
    // The certificate: CN = node id, signed by the CA, for 127.0.0.1, key private.
    absl::StatusOr<CertificateInfo> cert = ReadCertificateFile(Node(id, ".crt"));
    ASSERT_TRUE(cert.ok()) << cert.status();
    EXPECT_EQ(cert->subject_cn, id);
    EXPECT_EQ(cert->issuer_cn, "test-ca");
    EXPECT_THAT(cert->ip_addresses, Contains("127.0.0.1"));
    EXPECT_TRUE(CheckTlsFiles({options_.ca_cert, Node(id, ".crt"), Node(id, ".key")}).ok());
    struct stat st {};
    ASSERT_EQ(::stat(Node(id, ".key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0u);

    // The config is one the agent itself accepts (files, CN = node included).
    absl::StatusOr<AgentConfig> config = LoadAgentConfig(Node(id, ".yaml"));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->node_id, id);
    EXPECT_EQ(config->manager, "127.0.0.1:7443");
    EXPECT_THAT(config->managers, ElementsAre("127.0.0.1:7443"));
    EXPECT_EQ(config->role, "web");
    EXPECT_EQ(config->roles.at("web"), options_.roles.at("web"));
    EXPECT_TRUE(config->heartbeat_interval_set);
    EXPECT_DOUBLE_EQ(config->heartbeat_interval, 0.5);
    EXPECT_EQ(config->metrics_host, "127.0.0.1");
    EXPECT_EQ(config->metrics_port, 0);
    EXPECT_EQ(Slurp(Node(id, ".yaml")).find("managers:"), std::string::npos);

    // Started as `agent --config NODE.yaml`, detached, stdin /dev/null, log appended.
    ASSERT_TRUE(WaitFor([&] { return fs::exists(Node(id, ".yaml.stdin")); }));
    EXPECT_EQ(Slurp(Node(id, ".yaml.args")), "agent\n--config\n" + Node(id, ".yaml") + "\n");
    EXPECT_TRUE(WaitFor([&] { return Slurp(Node(id, ".yaml.stdin")) == "/dev/null\n"; }));
    EXPECT_TRUE(WaitFor([&] { return Slurp(Node(id, ".log")).find("fake agent") == 0; }));
    const pid_t pid = PidOf(id);
    const std::optional<ProcStat> stat = ReadProcStat(pid);
    ASSERT_TRUE(stat.has_value());
    EXPECT_NE(stat->state, 'Z');
    EXPECT_EQ(stat->session, pid);      // its own session
    EXPECT_NE(stat->ppid, ::getpid());  // not our child: it outlives us
  }
  EXPECT_EQ(launcher->Launched(), *ids);

  // Scale in the first one; ids it never launched are skipped, not errors.
  const pid_t first = PidOf((*ids)[0]);
  ProvisionRequest in;
  in.count = 3;
  in.node_ids = {(*ids)[0], "agent-elsewhere", "../ca"};
  absl::Status s = launcher->ScaleIn(in);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(first); }));
  EXPECT_FALSE(ProcessGone(PidOf((*ids)[1])));
  EXPECT_THAT(launcher->Launched(), ElementsAre((*ids)[1]));

  // Scaling in a node whose agent is gone is a no-op, not an error.
  in.node_ids = {(*ids)[0]};
  EXPECT_TRUE(launcher->ScaleIn(in).ok());
}

TEST_F(ProcessLauncherTest, IdsAreUniqueAcrossFencesAndTicks) {
  options_.node_prefix = "edge";
  options_.managers = {"127.0.0.1:7443", "127.0.0.1:7444"};
  ProcessLauncher* launcher = Make();
  ASSERT_NE(launcher, nullptr);
  std::vector<std::string> all;
  auto scale_out = [&](std::int64_t fence, std::int64_t tick, int count) {
    ProvisionRequest r;
    r.count = count;
    r.fence = fence;
    r.tick = tick;
    absl::StatusOr<std::vector<std::string>> ids = launcher->ScaleOut(r);
    EXPECT_TRUE(ids.ok()) << ids.status();
    if (ids.ok()) all.insert(all.end(), ids->begin(), ids->end());
    return ids.ok() ? *ids : std::vector<std::string>();
  };
  EXPECT_THAT(scale_out(1, 5, 1), ElementsAre("edge-f1-t5-0"));
  // A second action in the same tick (another node type) continues the count.
  EXPECT_THAT(scale_out(1, 5, 2), ElementsAre("edge-f1-t5-1", "edge-f1-t5-2"));
  // A new leader at the same tick, and the next tick.
  EXPECT_THAT(scale_out(2, 5, 1), ElementsAre("edge-f2-t5-0"));
  EXPECT_THAT(scale_out(2, 6, 1), ElementsAre("edge-f2-t6-0"));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  EXPECT_EQ(launcher->Launched().size(), all.size());

  // Several managers: a `managers:` list the agent reads back; no role.
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(Node("edge-f1-t5-0", ".yaml"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->managers, ElementsAre("127.0.0.1:7443", "127.0.0.1:7444"));
  EXPECT_EQ(config->manager, "127.0.0.1:7443");
  EXPECT_EQ(config->role, "");
}

TEST_F(ProcessLauncherTest, BadOptionsAndRequestsAreRefused) {
  auto create_error = [&](ProcessLauncherOptions o) {
    absl::StatusOr<std::unique_ptr<ProcessLauncher>> l = ProcessLauncher::Create(std::move(o));
    EXPECT_FALSE(l.ok());
    return ErrorText(l.status());
  };
  ProcessLauncherOptions o = options_;
  o.agent_binary = dir_.File("not-executable", "#!/bin/sh\n", 0644);
  EXPECT_THAT(create_error(o), HasSubstr("agent_binary: " + o.agent_binary));
  o = options_;
  absl::StatusOr<KeyAndCertificate> other = MakeCertificateAuthority("other-ca");
  ASSERT_TRUE(other.ok());
  o.ca_key = dir_.File("other.key", other->key_pem, 0600);
  EXPECT_THAT(create_error(o), HasSubstr("ca_key: " + o.ca_key + ": not the key of ca_cert"));
  o = options_;
  o.managers = {"manager-without-port"};
  EXPECT_THAT(create_error(o), HasSubstr("managers: expected host:port"));
  o = options_;
  o.node_prefix = "../x";
  EXPECT_THAT(create_error(o), HasSubstr("node_prefix"));

  ProcessLauncher* launcher = Make();
  ASSERT_NE(launcher, nullptr);
  ProvisionRequest r;
  r.count = 1;
  r.role = "gpu";
  EXPECT_THAT(ErrorText(launcher->ScaleOut(r).status()), HasSubstr("role 'gpu'"));
  ProvisionRequest in;
  in.count = 1;
  EXPECT_EQ(launcher->ScaleIn(in).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(launcher->Launched(), IsEmpty());
}

TEST_F(ProcessLauncherTest, AnAgentThatCannotStartIsAnError) {
  options_.agent_binary = dir_.File("broken-agent", "#!/nonexistent/interpreter\n", 0755);
  ProcessLauncher* launcher = Make();
  ASSERT_NE(launcher, nullptr);
  ProvisionRequest r;
  r.count = 1;
  absl::StatusOr<std::vector<std::string>> ids = launcher->ScaleOut(r);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ErrorText(ids.status()), HasSubstr("node node-f0-t0-0: cannot run"));
  EXPECT_THAT(launcher->Launched(), IsEmpty());
}

// ---------------------------------------------------------------------------
// KubernetesScaler against a fake API server on loopback.

struct SeenRequest {
  std::string method, path, dry_run, content_type, authorization, body;
  bool has_dry_run = false;
};

class FakeApiServer {
 public:
  // A server for 127.0.0.1 with a certificate from `ca`; when `client_ca` is
  // set it requires a client certificate signed by it.
  FakeApiServer(const TempDir& dir, const KeyAndCertificate& ca, bool require_client_cert) {
    CertificateSpec spec;
    spec.common_name = "kube-apiserver";
    spec.organizational_unit = "server";
    spec.ip_addresses = {"127.0.0.1"};
    absl::StatusOr<KeyAndCertificate> pair = IssueCertificate(ca, spec);
    EXPECT_TRUE(pair.ok()) << pair.status();
    EXPECT_TRUE(WriteKeyAndCertificate(dir.path(), "apiserver", *pair).ok());
    const std::string ca_path = dir.File("api-ca.crt", ca.cert_pem);
    server_ = std::make_unique<httplib::SSLServer>((dir.path() + "/apiserver.crt").c_str(),
                                                   (dir.path() + "/apiserver.key").c_str(),
                                                   require_client_cert ? ca_path.c_str() : nullptr);
    server_->Patch(".*", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back({req.method, req.path, req.get_param_value("dryRun"),
                         req.get_header_value("Content-Type"),
                         req.get_header_value("Authorization"), req.body, req.has_param("dryRun")});
      }
      if (req.path.find("/deployments/missing/") != std::string::npos) {
        res.status = 404;
        res.set_content(
            R"({"kind":"Status","apiVersion":"v1","status":"Failure",)"
            R"("message":"deployments.apps \"missing\" not found","reason":"NotFound","code":404})",
            "application/json");
        return;
      }
      const nlohmann::json patch = nlohmann::json::parse(req.body, nullptr, false);
      res.set_content(
          nlohmann::json{{"kind", "Scale"}, {"spec", patch.value("spec", nlohmann::json())}}.dump(),
          "application/json");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    WaitFor([this] { return server_->is_running(); });
  }
  ~FakeApiServer() {
    server_->stop();
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<SeenRequest> seen_;
};

class KubernetesScalerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyAndCertificate> ca = MakeCertificateAuthority("cluster-ca");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    options_.namespace_ = "prod";
    options_.deployment = "web";
    options_.deployments = {{"gpu", "gpu-pool"}};
    options_.token_file = dir_.File("token", "secret-token\n", 0600);
    options_.ca_file = dir_.File("ca.crt", ca_.cert_pem);
    options_.timeout = 10;
  }

  TempDir dir_;
  KeyAndCertificate ca_;
  KubernetesScalerOptions options_;
};

TEST_F(KubernetesScalerTest, PatchesTheScaleSubresource) {
  FakeApiServer api(dir_, ca_, /*require_client_cert=*/false);
  options_.api_server = api.url() + "/";
  options_.dry_run = true;
  absl::StatusOr<std::unique_ptr<KubernetesScaler>> scaler = KubernetesScaler::Create(options_);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  EXPECT_EQ((*scaler)->name(), "kubernetes");

  ProvisionRequest out;
  out.node_type = "small";  // not in `deployments`: the default deployment
  out.count = 2;
  out.replicas_after = 7;
  absl::StatusOr<std::vector<std::string>> started = (*scaler)->ScaleOut(out);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_THAT(*started, IsEmpty());
  ProvisionRequest in;
  in.node_type = "gpu";
  in.count = 1;
  in.replicas_after = 0;
  absl::Status s = (*scaler)->ScaleIn(in);
  ASSERT_TRUE(s.ok()) << s;

  const std::vector<SeenRequest> seen = api.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "PATCH");
  EXPECT_EQ(seen[0].path, "/apis/apps/v1/namespaces/prod/deployments/web/scale");
  EXPECT_TRUE(seen[0].has_dry_run);
  EXPECT_EQ(seen[0].dry_run, "All");
  EXPECT_EQ(seen[0].content_type, "application/merge-patch+json");
  EXPECT_EQ(seen[0].authorization, "Bearer secret-token");
  EXPECT_EQ(nlohmann::json::parse(seen[0].body),
            nlohmann::json::parse(R"({"spec":{"replicas":7}})"));
  EXPECT_EQ(seen[1].path, "/apis/apps/v1/namespaces/prod/deployments/gpu-pool/scale");
  EXPECT_EQ(nlohmann::json::parse(seen[1].body),
            nlohmann::json::parse(R"({"spec":{"replicas":0}})"));

  // Without dry_run there is no query; a rotated token is picked up at once.
  options_.dry_run = false;
  dir_.File("token", "rotated-token", 0600);
  scaler = KubernetesScaler::Create(options_);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  ASSERT_TRUE((*scaler)->ScaleOut(out).ok());
  ASSERT_EQ(api.seen().size(), 3u);
  EXPECT_FALSE(api.seen()[2].has_dry_run);
  EXPECT_EQ(api.seen()[2].authorization, "Bearer rotated-token");
}

TEST_F(KubernetesScalerTest, ApiErrorsCarryTheStatusAndMessage) {
  FakeApiServer api(dir_, ca_, /*require_client_cert=*/false);
  options_.api_server = api.url();
  options_.deployments = {{"big", "missing"}};
  absl::StatusOr<std::unique_ptr<KubernetesScaler>> scaler = KubernetesScaler::Create(options_);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  ProvisionRequest r;
  r.node_type = "big";
  r.replicas_after = 3;
  absl::Status s = (*scaler)->ScaleIn(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ErrorText(s), HasSubstr("HTTP 404: deployments.apps \"missing\" not found"));
  EXPECT_THAT(ErrorText(s), HasSubstr("/namespaces/prod/deployments/missing/scale"));
}

TEST_F(KubernetesScalerTest, VerifiesTheServerAndPresentsAClientCertificate) {
  FakeApiServer api(dir_, ca_, /*require_client_cert=*/true);
  options_.api_server = api.url();
  ProvisionRequest r;
  r.replicas_after = 4;

  // No client certificate: the server refuses the handshake.
  absl::StatusOr<std::unique_ptr<KubernetesScaler>> scaler = KubernetesScaler::Create(options_);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  EXPECT_EQ((*scaler)->ScaleIn(r).code(), absl::StatusCode::kUnavailable);

  CertificateSpec spec;
  spec.common_name = "meshtwin-manager";
  spec.organizational_unit = "client";
  spec.server = false;
  absl::StatusOr<KeyAndCertificate> client = IssueCertificate(ca_, spec);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.path(), "client", *client).ok());
  options_.client_tls = TlsFiles{"", dir_.path() + "/client.crt", dir_.path() + "/client.key"};
  scaler = KubernetesScaler::Create(options_);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  absl::Status s = (*scaler)->ScaleIn(r);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(api.seen().size(), 1u);

  // A server whose certificate another CA signed is not spoken to.
  absl::StatusOr<KeyAndCertificate> other = MakeCertificateAuthority("other-ca");
  ASSERT_TRUE(other.ok());
  options_.ca_file = dir_.File("other-ca.crt", other->cert_pem);
  options_.client_tls.reset();
  scaler = KubernetesScaler::Create(options_);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  s = (*scaler)->ScaleIn(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(ErrorText(s), HasSubstr("request failed"));
  EXPECT_EQ(api.seen().size(), 1u);
}

TEST_F(KubernetesScalerTest, BadOptionsAreRefused) {
  auto error = [&](KubernetesScalerOptions o) {
    absl::StatusOr<std::unique_ptr<KubernetesScaler>> s = KubernetesScaler::Create(std::move(o));
    EXPECT_FALSE(s.ok());
    return ErrorText(s.status());
  };
  KubernetesScalerOptions o = options_;
  o.api_server = "http://127.0.0.1:8080";
  EXPECT_THAT(error(o), HasSubstr("api_server: expected an https:// URL"));
  o = options_;
  o.api_server = "https://127.0.0.1:6443";
  o.deployment = "Web/../../secrets";
  EXPECT_THAT(error(o), HasSubstr("deployment: expected a Kubernetes name"));
  o = options_;
  o.api_server = "https://127.0.0.1:6443";
  o.token_file = dir_.path() + "/no-token";
  EXPECT_THAT(error(o), HasSubstr("token_file: " + o.token_file));
}

// ---------------------------------------------------------------------------
// ExecHook

TEST(ExecHookTest, PassesTheActionInItsEnvironment) {
  TempDir dir;
  const std::string out = dir.path() + "/env.txt";
  const std::string script = dir.File(
      "hook.sh", "#!/bin/sh\nenv | grep '^MESHTWIN_' | sort >> \"$1\"\necho --- >> \"$1\"\n", 0755);
  absl::StatusOr<std::unique_ptr<ExecHook>> hook = ExecHook::Create({.argv = {script, out}});
  ASSERT_TRUE(hook.ok()) << hook.status();
  ::setenv("MESHTWIN_ACTION", "stale-from-the-manager", 1);  // ours replaces it
  ProvisionRequest r;
  r.node_type = "small";
  r.role = "web";
  r.count = 2;
  r.replicas_after = 3;
  r.fence = 4;
  r.tick = 9;
  r.node_ids = {"node-a", "node-b"};
  absl::Status s = (*hook)->ScaleIn(r);
  ::unsetenv("MESHTWIN_ACTION");
  ASSERT_TRUE(s.ok()) << s;
  r.node_ids.clear();
  r.count = 1;
  absl::StatusOr<std::vector<std::string>> started = (*hook)->ScaleOut(r);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_THAT(*started, IsEmpty());
  EXPECT_EQ(Slurp(out),
            "MESHTWIN_ACTION=scale-in\nMESHTWIN_COUNT=2\nMESHTWIN_FENCE=4\n"
            "MESHTWIN_NODES=node-a,node-b\nMESHTWIN_NODE_TYPE=small\nMESHTWIN_REPLICAS=3\n"
            "MESHTWIN_ROLE=web\nMESHTWIN_TICK=9\n---\n"
            "MESHTWIN_ACTION=scale-out\nMESHTWIN_COUNT=1\nMESHTWIN_FENCE=4\n"
            "MESHTWIN_NODES=\nMESHTWIN_NODE_TYPE=small\nMESHTWIN_REPLICAS=3\n"
            "MESHTWIN_ROLE=web\nMESHTWIN_TICK=9\n---\n");
}

TEST(ExecHookTest, NonZeroExitIsAnErrorWithTheCodeAndLastStderrLines) {
  TempDir dir;
  const std::string script = dir.File("hook.sh",
                                      "#!/bin/sh\necho progress\nfor i in 1 2 3 4 5 6 7; do echo "
                                      "\"noise $i\" >&2; done\necho 'quota exceeded' >&2\nexit 3\n",
                                      0755);
  absl::StatusOr<std::unique_ptr<ExecHook>> hook = ExecHook::Create({.argv = {script}});
  ASSERT_TRUE(hook.ok()) << hook.status();
  absl::Status s = (*hook)->Run("change-role", ProvisionRequest{});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(ErrorText(s), HasSubstr("(change-role): exited with code 3"));
  EXPECT_THAT(ErrorText(s), HasSubstr("noise 7 | quota exceeded"));
  EXPECT_THAT(ErrorText(s), ::testing::Not(HasSubstr("noise 1")));   // only the last lines
  EXPECT_THAT(ErrorText(s), ::testing::Not(HasSubstr("progress")));  // stdout is not stderr

  hook = ExecHook::Create({.argv = {"sh", "-c", "kill -9 $$"}});
  ASSERT_TRUE(hook.ok()) << hook.status();
  EXPECT_THAT(ErrorText((*hook)->ScaleIn({})), HasSubstr("killed by signal 9"));

  EXPECT_THAT(ErrorText(ExecHook::Create({.argv = {"no-such-hook-program"}}).status()),
              HasSubstr("argv[0]: no-such-hook-program"));
}

TEST(ExecHookTest, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  const std::string pid_file = dir.path() + "/child.pid";
  // A hook that starts a child of its own and then hangs.
  const std::string script = dir.File(
      "hook.sh", "#!/bin/sh\nsleep 300 &\necho $! > \"$1\"\necho waiting >&2\nwait\n", 0755);
  absl::StatusOr<std::unique_ptr<ExecHook>> hook =
      ExecHook::Create({.argv = {script, pid_file}, .timeout = 0.5});
  ASSERT_TRUE(hook.ok()) << hook.status();
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = (*hook)->ScaleOut({}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(ErrorText(s), HasSubstr("still running after 0.5s"));
  EXPECT_THAT(ErrorText(s), HasSubstr("stderr: waiting"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
  const pid_t child = std::stoi(Slurp(pid_file));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(child); }));
}

}  // namespace
}  // namespace meshtwin::live
