// The live bridge end to end, all on loopback and all over mutual TLS: a real
// etcd (leader election) and a real Prometheus (scraping the load generator
// and the agents), two `meshtwin manager` processes, the agents they start
// as processes, and a load generator that follows a trace with an announced
// launch. Checks, in order:
//   1. one manager leads and brings the pool to its minimum (5 agents), which
//      join the mesh's DHT (Chord over gRPC) and publish their records there;
//   2. the launch, announced through the leader's webhook 20 s ahead, is
//      provisioned for before it starts (predictive policy, event magnitude),
//      and the standby knows of it too (events are shared through etcd);
//   3. SIGKILL of the leader: the standby leads within lease TTL + 2 s, and
//      no tick's actions are ever applied by both;
//   4. SIGKILL of an agent: the new leader replaces it;
//   5. the etcd link of the leader blackholed by the project's TCP fault
//      proxy: it steps down, the restarted first manager takes over, and the
//      deposed one applies nothing after it lost the lead;
//   6. clients with no certificate, another CA's, or an expired one are
//      refused by a manager.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "live_bridge/certs.h"
#include "live_bridge/decision_log.h"
#include "live_bridge/fault_proxy.h"
#include "live_bridge/metrics_http.h"
#include "live_bridge/prometheus_text.h"
#include "live_bridge/test_support/etcd_server.h"
#include "proto/meshtwin.grpc.pb.h"

extern char** environ;

namespace meshtwin::live {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr double kLeaseTtl = 3;
constexpr double kBase = 150;      // requests/s
constexpr double kMagnitude = 3;   // the launch triples the load
constexpr double kEventLead = 20;  // announced this long before it starts
constexpr double kEventLength = 40;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int FreePort() {
  // Bind port 0, read what the kernel gave, release it for the child to take.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A child process with its output in a log file.
class Child {
 public:
  Child(std::vector<std::string> argv, const fs::path& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() { Kill(SIGKILL); }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

template <typename F>
bool WaitUntil(F f, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return f();
}

class LiveEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/prometheus")) GTEST_SKIP() << "/usr/bin/prometheus is not installed";
    absl::StatusOr<std::unique_ptr<testing::EtcdServer>> etcd = testing::EtcdServer::Start();
    if (!etcd.ok() && etcd.status().code() == absl::StatusCode::kUnavailable &&
        !fs::exists("/usr/bin/etcd")) {
      GTEST_SKIP() << etcd.status();
    }
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    dir_ = fs::temp_directory_path() / ("meshtwin_live_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "agents");
    // One CA for everything: etcd's (its certs dir holds the CA key).
    const fs::path etcd_certs = etcd_->certs_dir();
    ca_.cert_pem = Read(etcd_certs / "ca.crt");
    ca_.key_pem = Read(etcd_certs / "ca.key");
    fs::copy_file(etcd_certs / "ca.crt", dir_ / "ca.crt");
    fs::copy_file(etcd_certs / "ca.key", dir_ / "ca.key");
    for (const std::string name : {"manager-0", "manager-1", "prometheus", "loadgen", "client"}) {
      Issue(name, {});
    }
    StartLoadGenerator();
    StartPrometheus();
    etcd_proxy_ = *FaultProxy::Start("127.0.0.1:0", etcd_->endpoint().substr(8));
    for (int i = 0; i < 2; ++i) {
      grpc_port_[i] = FreePort();
      http_port_[i] = FreePort();
    }
    for (int i = 0; i < 2; ++i) WriteManagerConfig(i);
  }

  void TearDown() override {
    for (auto& m : managers_) {
      if (m) m->Kill(SIGKILL);
    }
    // The agents are detached (they outlive a manager): stop them by pid file.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_ / "agents", ec)) {
      if (entry.path().extension() != ".pid") continue;
      const pid_t pid = std::stoi(Read(entry.path()));
      if (pid > 0) ::kill(pid, SIGKILL);
    }
    if (prometheus_) prometheus_->Kill(SIGKILL);
    if (::testing::Test::HasFailure() || std::getenv("MESHTWIN_E2E_KEEP") != nullptr) {
      std::cerr << "test files kept in " << dir_ << "\n";
      for (int i = 0; i < 2; ++i) {
        if (managers_[i]) std::cerr << "manager-" << i << " log:\n" << managers_[i]->Log() << "\n";
      }
    } else {
      fs::remove_all(dir_, ec);
    }
  }

  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void Issue(const std::string& name, CertificateSpec spec) {
    spec.common_name = name;
    spec.organizational_unit = "e2e";
    spec.ip_addresses = {"127.0.0.1"};
    spec.dns_names = {"localhost"};
    absl::StatusOr<KeyAndCertificate> pair = IssueCertificate(ca_, spec);
    ASSERT_TRUE(pair.ok()) << pair.status();
    ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), name, *pair).ok());
  }

  // The load the trace asks for at unix time t, and its integral (a counter).
  double Rate(double t) const {
    return t >= event_start_ && t < event_start_ + kEventLength ? kBase * kMagnitude : kBase;
  }
  double Served(double t) const {
    double total = kBase * (t - t0_);
    if (event_start_ > 0 && t > event_start_) {
      total += kBase * (kMagnitude - 1) * (std::min(t, event_start_ + kEventLength) - event_start_);
    }
    return total;
  }

  void StartLoadGenerator() {
    t0_ = UnixNow();
    MetricsServerOptions o;
    o.port = 0;
    o.tls = TlsFiles{(dir_ / "ca.crt").string(), (dir_ / "loadgen.crt").string(),
                     (dir_ / "loadgen.key").string()};
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start(o, [this]() -> absl::StatusOr<std::string> {
          ExpositionWriter w;
          MESHTWIN_RETURN_IF_ERROR(w.Counter("meshtwin_loadgen_requests_total",
                                             "Requests offered by the load generator.", {},
                                             Served(UnixNow())));
          return w.Render();
        });
    ASSERT_TRUE(server.ok()) << server.status();
    loadgen_ = *std::move(server);
  }

  void StartPrometheus() {
    prometheus_port_ = FreePort();
    const std::string ca = (dir_ / "ca.crt").string();
    const std::string cert = (dir_ / "prometheus.crt").string();
    const std::string key = (dir_ / "prometheus.key").string();
    std::ofstream(dir_ / "web.yml")
        << "tls_server_config:\n  cert_file: " << cert << "\n  key_file: " << key
        << "\n  client_auth_type: RequireAndVerifyClientCert\n"
        << "  client_ca_file: " << ca << "\n";
    const std::string tls = "    scheme: https\n    tls_config: {ca_file: " + ca +
                            ", cert_file: " + cert + ", key_file: " + key + "}\n";
    std::ofstream(dir_ / "agents.json") << "[]";
    std::ofstream(dir_ / "prometheus.yml")
        << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        << "scrape_configs:\n  - job_name: loadgen\n"
        << tls << "    static_configs: [{targets: ['127.0.0.1:" << loadgen_->port() << "']}]\n"
        << "  - job_name: agents\n"
        << tls << "    file_sd_configs: [{files: ['" << (dir_ / "agents.json").string()
        << "'], refresh_interval: 1s}]\n";
    prometheus_ = std::make_unique<Child>(
        std::vector<std::string>{
            "/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
            "--web.config.file=" + (dir_ / "web.yml").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_),
            "--storage.tsdb.path=" + (dir_ / "tsdb").string(), "--log.level=warn"},
        dir_ / "prometheus.log");
    const bool ready = WaitUntil(
        [&] {
          auto r = Client(prometheus_port_)->Get("/-/ready");
          return r && r->status == 200;
        },
        30);
    ASSERT_TRUE(ready) << prometheus_->Log();
  }

  std::unique_ptr<httplib::SSLClient> Client(int port, const std::string& name = "client") const {
    auto c = std::make_unique<httplib::SSLClient>(
        "127.0.0.1", port, (dir_ / (name + ".crt")).string(), (dir_ / (name + ".key")).string());
    c->set_ca_cert_path((dir_ / "ca.crt").string());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(2);
    c->set_read_timeout(5);
    return c;
  }

  void WriteManagerConfig(int i) {
    const std::string id = "manager-" + std::to_string(i);
    // manager-1 reaches etcd through the fault proxy.
    const std::string etcd =
        i == 0 ? etcd_->endpoint() : "https://127.0.0.1:" + std::to_string(etcd_proxy_->port());
    std::ofstream(dir_ / (id + ".yaml"))
        << "id: " << id << "\nlisten: 127.0.0.1:" << grpc_port_[i]
        << "\ntls: {ca: ca.crt, cert: " << id << ".crt, key: " << id << ".key}\n"
        << "http: 127.0.0.1:" << http_port_[i] << "\ninterval: 1s\nheartbeat: 0.5s\n"
        << "scenario: " << MESHTWIN_SOURCE_ROOT << "/tests/data/live/e2e-scenario.yaml\n"
        << "demand: {prometheus: 'https://127.0.0.1:" << prometheus_port_
        << "', query: 'sum(irate(meshtwin_loadgen_requests_total[5s]))', timeout: 2s}\n"
        << "etcd: {endpoint: '" << etcd << "', lease_ttl: " << kLeaseTtl << "s}\n"
        << "dht: {protocol: chord}\n"
        << "decision_log: decisions-" << i << ".jsonl\nprometheus_sd: agents.json\n"
        << "takeover_grace: 2s\n"
        << "actuator:\n  kind: process\n  process:\n    binary: " << MESHTWIN_BINARY
        << "\n    work_dir: agents\n    ca_key: ca.key\n"
        << "    roles: {default: [sleep, '1000']}\n"
        << "    managers: ['127.0.0.1:" << grpc_port_[0] << "', '127.0.0.1:" << grpc_port_[1]
        << "']\n";
  }

  void StartManager(int i) {
    managers_[i] = std::make_unique<Child>(
        std::vector<std::string>{MESHTWIN_BINARY, "manager", "--config",
                                 (dir_ / ("manager-" + std::to_string(i) + ".yaml")).string()},
        dir_ / ("manager-" + std::to_string(i) + ".log"));
  }

  // A gauge of manager i's /metrics (NaN when it cannot be read).
  double ManagerMetric(int i, const std::string& name) const {
    auto r = Client(http_port_[i])->Get("/metrics");
    if (!r || r->status != 200) return std::nan("");
    absl::StatusOr<std::vector<ParsedSample>> samples = ParseExposition(r->body);
    if (!samples.ok()) return std::nan("");
    for (const ParsedSample& s : *samples) {
      if (s.name == name) return s.value;
    }
    return std::nan("");
  }
  bool Leads(int i) const { return ManagerMetric(i, "meshtwin_manager_leader") == 1; }

  std::vector<LoggedDecision> Decisions(int i) const {
    absl::StatusOr<std::vector<LoggedDecision>> d =
        ReadDecisionLog((dir_ / ("decisions-" + std::to_string(i) + ".jsonl")).string());
    return d.ok() ? *d : std::vector<LoggedDecision>{};
  }
  std::vector<LoggedDecision> AllDecisions() const {
    std::vector<LoggedDecision> all = Decisions(0);
    for (LoggedDecision& d : Decisions(1)) all.push_back(std::move(d));
    return all;
  }

  // gRPC Register against manager i with the given credentials.
  grpc::Status TryRegister(int i, const grpc::SslCredentialsOptions& creds,
                           const std::string& node) const {
    grpc::ChannelArguments args;
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(grpc_port_[i]),
                                             grpc::SslCredentials(creds), args);
    auto stub = v1::AgentService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    v1::RegisterRequest request;
    request.set_node_id(node);
    v1::RegisterResponse response;
    return stub->Register(&context, request, &response);
  }

  std::unique_ptr<testing::EtcdServer> etcd_;
  fs::path dir_;
  KeyAndCertificate ca_;
  std::unique_ptr<MetricsHttpServer> loadgen_;
  std::unique_ptr<Child> prometheus_;
  std::unique_ptr<FaultProxy> etcd_proxy_;
  std::unique_ptr<Child> managers_[2];
  int prometheus_port_ = 0;
  int grpc_port_[2] = {0, 0};
  int http_port_[2] = {0, 0};
  double t0_ = 0;
  double event_start_ = 0;
};

TEST_F(LiveEndToEnd, ScalesAheadOfAnEventHandsOverAndHealsOverMutualTls) {
  // 1. manager-0 leads (started first); manager-1 stands by.
  StartManager(0);
  ASSERT_TRUE(WaitUntil([&] { return Leads(0); }, 20)) << managers_[0]->Log();
  StartManager(1);
  ASSERT_TRUE(WaitUntil([&] { return ManagerMetric(1, "meshtwin_manager_leader") == 0; }, 20))
      << managers_[1]->Log();
  ASSERT_TRUE(WaitUntil([&] { return ManagerMetric(0, "meshtwin_manager_ready_nodes") >= 5; }, 30))
      << managers_[0]->Log();
  // The agents joined the mesh's DHT (Chord over gRPC, through the leader's
  // node) and the leader finds their capability records there.
  EXPECT_TRUE(WaitUntil([&] { return ManagerMetric(0, "meshtwin_manager_dht_nodes") >= 5; }, 20))
      << managers_[0]->Log();
  // The demand reaches the leader through Prometheus (it scrapes the load generator).
  ASSERT_TRUE(WaitUntil(
      [&] { return std::fabs(ManagerMetric(0, "meshtwin_manager_demand_rps") - kBase) < 15; }, 30))
      << managers_[0]->Log();

  // 2. The launch, announced on the leader's webhook kEventLead seconds ahead.
  event_start_ = std::ceil(UnixNow()) + kEventLead;
  {
    auto c = Client(http_port_[0], "loadgen");
    nlohmann::json event = {{"start", event_start_},   {"end", event_start_ + kEventLength},
                            {"announced", UnixNow()},  {"source", "e2e"},
                            {"category", "launch"},    {"magnitude", kMagnitude},
                            {"text", "product launch"}};
    auto r = c->Post("/events", event.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // The standby learns of it too (replicas share events through etcd): it
  // must still know about the launch if it takes over.
  EXPECT_TRUE(WaitUntil([&] { return ManagerMetric(1, "meshtwin_manager_events_total") == 1; }, 5))
      << managers_[1]->Log();
  ASSERT_TRUE(WaitUntil([&] { return UnixNow() > event_start_ + 2; }, kEventLead + 5));
  double scaled_at = 0;
  int scaled_to = 0;
  for (const LoggedDecision& d : Decisions(0)) {
    for (const LoggedAction& a : d.actions) {
      if (a.kind == "scale_out" && a.outcome == "applied" && a.replicas_after >= 6 &&
          scaled_at == 0) {
        scaled_at = d.time_unix;
        scaled_to = a.replicas_after;
      }
    }
  }
  ASSERT_GT(scaled_at, 0) << "no scale-out for the launch\n" << managers_[0]->Log();
  EXPECT_LT(scaled_at, event_start_)
      << "scaled out " << scaled_at - event_start_ << " s after the launch started";
  std::cerr << "scaled out to " << scaled_to << " nodes " << event_start_ - scaled_at
            << " s before the launch\n";

  // 3. SIGKILL the leader: the standby leads within the lease TTL + 2 s.
  const auto killed = Clock::now();
  managers_[0]->Kill(SIGKILL);
  ASSERT_TRUE(WaitUntil([&] { return Leads(1); }, kLeaseTtl + 2)) << managers_[1]->Log();
  const double handover = std::chrono::duration<double>(Clock::now() - killed).count();
  std::cerr << "handover after SIGKILL of the leader: " << handover << " s\n";
  EXPECT_GT(ManagerMetric(1, "meshtwin_manager_fence"), 0);
  // The new leader's DHT node joins the agents' ring and finds them too.
  EXPECT_TRUE(WaitUntil([&] { return ManagerMetric(1, "meshtwin_manager_dht_nodes") >= 5; }, 20))
      << managers_[1]->Log();

  // 4. SIGKILL an agent: the new leader replaces it.
  ASSERT_TRUE(WaitUntil([&] { return ManagerMetric(1, "meshtwin_manager_agents") >= 6; }, 15))
      << managers_[1]->Log();
  std::string victim;
  for (const auto& entry : fs::directory_iterator(dir_ / "agents")) {
    if (entry.path().extension() != ".pid") continue;
    const pid_t pid = std::stoi(Read(entry.path()));
    if (pid > 0 && ::kill(pid, 0) == 0) {
      victim = entry.path().stem().string();
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ASSERT_FALSE(victim.empty());
  const bool replaced = WaitUntil(
      [&] {
        for (const LoggedDecision& d : Decisions(1)) {
          for (const LoggedAction& a : d.actions) {
            if (a.kind == "replace" && a.node == victim && a.outcome == "applied" &&
                a.nodes_started.size() == 1) {
              return true;
            }
          }
        }
        return false;
      },
      15);
  EXPECT_TRUE(replaced) << victim << " was not replaced\n" << managers_[1]->Log();

  // 5. Blackhole manager-1's etcd link: it steps down; a restarted manager-0
  // takes over; manager-1 applies nothing once it has lost the lead.
  StartManager(0);
  ASSERT_TRUE(WaitUntil([&] { return ManagerMetric(0, "meshtwin_manager_leader") == 0; }, 20))
      << managers_[0]->Log();
  etcd_proxy_->SetMode(FaultMode{.blackhole = true});
  etcd_proxy_->CutAll();
  const double cut_at = UnixNow();
  EXPECT_TRUE(
      WaitUntil([&] { return ManagerMetric(1, "meshtwin_manager_leader") == 0; }, kLeaseTtl + 1))
      << managers_[1]->Log();
  EXPECT_TRUE(WaitUntil([&] { return Leads(0); }, kLeaseTtl + 4)) << managers_[0]->Log();
  for (const LoggedDecision& d : Decisions(1)) {
    if (d.time_unix < cut_at + kLeaseTtl) continue;
    for (const LoggedAction& a : d.actions) {
      EXPECT_NE(a.outcome, "applied")
          << "manager-1 acted at " << d.time_unix - cut_at << " s after its etcd link was cut";
    }
  }

  // 6. The twin fork: the leader's mesh, simulated two minutes ahead.
  {
    const std::string cmd = std::string(MESHTWIN_BINARY) +
                            " simulate --from-live 127.0.0.1:" + std::to_string(grpc_port_[0]) +
                            " --tls-dir " + dir_.string() + " --horizon 2m --json --out " +
                            (dir_ / "fork.h5").string() + " 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = ::pclose(pipe);
    ASSERT_EQ(status, 0) << output;
    EXPECT_TRUE(fs::exists(dir_ / "fork.h5")) << output;
    const std::size_t brace = output.rfind("\n{");
    ASSERT_NE(brace, std::string::npos) << output;
    const nlohmann::json summary = nlohmann::json::parse(output.substr(brace + 1));
    // It starts from the live fleet (>= the pool's minimum of 5) and runs 2 min.
    EXPECT_GE(summary.value("peak_nodes", 0), 5) << output;
    EXPECT_GT(summary.value("node_hours", 0.0), 0.0) << output;
  }

  // No tick's plan was applied twice, by one manager or both.
  std::set<std::int64_t> applied_ticks;
  for (const LoggedDecision& d : AllDecisions()) {
    bool applied = false;
    for (const LoggedAction& a : d.actions) applied = applied || a.outcome == "applied";
    if (!applied) continue;
    EXPECT_TRUE(applied_ticks.insert(d.tick).second) << "tick " << d.tick << " applied twice";
  }

  // 7. Certificates: none, another CA's, an expired one: refused.
  grpc::SslCredentialsOptions none;
  none.pem_root_certs = ca_.cert_pem;
  EXPECT_EQ(TryRegister(0, none, "client").error_code(), grpc::StatusCode::UNAVAILABLE);
  absl::StatusOr<KeyAndCertificate> other_ca = MakeCertificateAuthority("other CA");
  ASSERT_TRUE(other_ca.ok());
  CertificateSpec spec;
  spec.common_name = "client";
  spec.organizational_unit = "e2e";
  absl::StatusOr<KeyAndCertificate> foreign = IssueCertificate(*other_ca, spec);
  ASSERT_TRUE(foreign.ok());
  grpc::SslCredentialsOptions alien = none;
  alien.pem_private_key = foreign->key_pem;
  alien.pem_cert_chain = foreign->cert_pem;
  EXPECT_EQ(TryRegister(0, alien, "client").error_code(), grpc::StatusCode::UNAVAILABLE);
  const auto now = static_cast<std::int64_t>(UnixNow());
  spec.not_before_unix = now - 7200;
  spec.not_after_unix = now - 3600;
  absl::StatusOr<KeyAndCertificate> expired = IssueCertificate(ca_, spec);
  ASSERT_TRUE(expired.ok());
  grpc::SslCredentialsOptions old = none;
  old.pem_private_key = expired->key_pem;
  old.pem_cert_chain = expired->cert_pem;
  EXPECT_EQ(TryRegister(0, old, "client").error_code(), grpc::StatusCode::UNAVAILABLE);
  // The control: a valid certificate gets through the handshake and is then
  // judged on what it says (a client certificate cannot register a node).
  grpc::SslCredentialsOptions valid = none;
  valid.pem_private_key = Read(dir_ / "client.key");
  valid.pem_cert_chain = Read(dir_ / "client.crt");
  EXPECT_EQ(TryRegister(0, valid, "agent-x").error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace meshtwin::live
