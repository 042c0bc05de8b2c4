// The manager's AgentService on loopback, over mutual TLS with certificates
// from our own CA: who gets in, who may speak for which node, and rotation.
// Refused clients are dialled with hand-made gRPC credentials, since the
// library's own API cannot make a client without a valid certificate.
#include "live_bridge/agent_registry.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "live_bridge/agent_registry_client.h"
#include "live_bridge/certs.h"
#include "live_bridge/test_support/certs_dir.h"
#include "live_bridge/test_support/hand_made_channel.h"
#include "live_bridge/tls.h"
#include "live_bridge/tls_server.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {
namespace {

constexpr auto kPatience = std::chrono::seconds(30);

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Polls `done` until it holds or kPatience passes.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

CertificateSpec Spec(const std::string& cn, std::int64_t not_before = 0,
                     std::int64_t not_after = 0) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.not_before_unix = not_before;
  spec.not_after_unix = not_after;
  return spec;
}

AgentRegistration Registration(const std::string& node) {
  AgentRegistration r;
  r.node_id = node;
  r.capabilities.cores = 8;
  r.capabilities.memory_gb = 32;
  r.capabilities.gpus = {{"NVIDIA T4", 2, 16}};
  r.capabilities.software = {"python3"};
  r.capabilities.roles = {"web", "batch"};
  r.role = "web";
  return r;
}

class AgentRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshCertsDir("registry_test", 3);
    AgentRegistryOptions registry_options;
    registry_options.manager_id = "manager-0";
    registry_ = std::make_unique<AgentRegistry>(registry_options);
    LiveServerOptions server_options;
    server_options.address = "127.0.0.1:0";
    server_options.tls = AgentTls("manager");
    server_ = std::make_unique<LiveServer>(server_options);
    server_->AddService(registry_->service());
    ASSERT_TRUE(server_->Start().ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_->Shutdown(1);
    std::filesystem::remove_all(dir_);
  }

  TlsOptions AgentTls(const std::string& name) const {
    TlsOptions options;
    options.files = TlsFiles::InDir(dir_.string(), name);
    options.refresh_interval_s = 1;  // rotation within a test's patience
    return options;
  }
  KeyAndCertificate Ca() const { return {ReadText(dir_ / "ca.key"), ReadText(dir_ / "ca.crt")}; }

  // Register over a channel made by hand: `identity` empty means no client
  // certificate at all. Returns the status and the server's certificate.
  grpc::Status RawRegister(const std::string& node, const KeyAndCertificate* identity,
                           std::string* server_pem = nullptr) {
    auto channel = testing::HandMadeChannel(address_, ReadText(dir_ / "ca.crt"), identity);
    auto stub = v1::AgentService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kPatience);
    v1::RegisterRequest request;
    request.set_node_id(node);
    v1::RegisterResponse response;
    grpc::Status status = stub->Register(&context, request, &response);
    if (server_pem != nullptr && status.ok())
      *server_pem = PeerCertificatePem(*context.auth_context());
    return status;
  }

  std::filesystem::path dir_;
  std::unique_ptr<AgentRegistry> registry_;
  std::unique_ptr<LiveServer> server_;
  std::string address_;
};

TEST_F(AgentRegistryTest, AgentRegistersHeartbeatsAndReceivesCommands) {
  absl::StatusOr<std::unique_ptr<AgentClient>> client =
      AgentClient::Connect(address_, AgentTls("agent-1"));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<RegistrationReply> reply = (*client)->Register(Registration("agent-1"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->manager_id, "manager-0");

  std::mutex mu;
  std::condition_variable cv;
  std::vector<AgentCommand> received;
  ASSERT_TRUE((*client)
                  ->StartHeartbeats([&](const AgentCommand& c) {
                    std::lock_guard lock(mu);
                    received.push_back(c);
                    cv.notify_all();
                  })
                  .ok());
  AgentHeartbeat beat;
  beat.node_id = "agent-1";
  beat.state = NodeState::kReady;
  beat.role = "web";
  beat.load.cpu_utilization = 0.5;
  beat.load.requests_per_s = 100;
  beat.load.latency = 0.02;
  beat.load.error_rate = 0.01;
  beat.load.queued_requests = 7;
  ASSERT_TRUE((*client)->SendHeartbeat(beat).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto r = registry_->Find("agent-1");
    return r && r->heartbeats >= 1;
  }));
  const AgentRecord record = *registry_->Find("agent-1");
  EXPECT_EQ(record.state, NodeState::kReady);
  EXPECT_EQ(record.registration.capabilities.cores, 8);
  ASSERT_EQ(record.registration.capabilities.gpus.size(), 1u);
  EXPECT_EQ(record.registration.capabilities.gpus[0].model, "NVIDIA T4");
  EXPECT_TRUE(record.streaming);
  const NodeObservation obs = ToNodeObservation(record, record.last_heartbeat);
  EXPECT_DOUBLE_EQ(obs.utilization, 0.5);
  EXPECT_DOUBLE_EQ(obs.speed_rps, 200);
  EXPECT_DOUBLE_EQ(obs.latency_s, 0.02);
  EXPECT_DOUBLE_EQ(obs.queued[1], 7);

  absl::StatusOr<std::uint64_t> seq =
      registry_->SendCommand("agent-1", AgentCommand::ChangeRole("batch", "test"));
  ASSERT_TRUE(seq.ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kPatience, [&] { return !received.empty(); }));
    EXPECT_EQ(received[0].kind, AgentCommandKind::kChangeRole);
    EXPECT_EQ(received[0].role, "batch");
    EXPECT_EQ(received[0].seq, *seq);
  }
  EXPECT_EQ(registry_->SendCommand("agent-9", AgentCommand::Drain(1, "x")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE((*client)->StopHeartbeats().ok());
  EXPECT_TRUE(WaitFor([&] { return !registry_->Find("agent-1")->streaming; }));
}

// A standby replica turns agents away (UNAVAILABLE: they try the next
// manager) and ends open streams at their next heartbeat; leading again
// starts from no agents. A removed node's stream ends the same way.
TEST_F(AgentRegistryTest, StandbyTurnsAgentsAwayAndRemovedNodesMustRegisterAgain) {
  absl::StatusOr<std::unique_ptr<AgentClient>> client =
      AgentClient::Connect(address_, AgentTls("agent-1"));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Register(Registration("agent-1")).ok());
  ASSERT_TRUE((*client)->StartHeartbeats([](const AgentCommand&) {}).ok());
  AgentHeartbeat beat;
  beat.node_id = "agent-1";
  beat.state = NodeState::kReady;
  ASSERT_TRUE((*client)->SendHeartbeat(beat).ok());
  ASSERT_TRUE(WaitFor([&] { return registry_->Find("agent-1").has_value(); }));
  const std::uint64_t first_seq =
      *registry_->SendCommand("agent-1", AgentCommand::Drain(1, "numbered"));
  // Numbered from the registry's creation time (microseconds): a restarted
  // manager's commands stay above what its agents carried out before.
  EXPECT_GT(first_seq, 1'600'000'000'000'000ULL);

  registry_->SetAccepting(false, "the leader is manager-1");
  EXPECT_TRUE(registry_->Snapshot().empty());
  // The open stream ends at its next heartbeat.
  EXPECT_TRUE(WaitFor([&] { return !(*client)->SendHeartbeat(beat).ok(); }));
  absl::StatusOr<RegistrationReply> refused = (*client)->Register(Registration("agent-1"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(ErrorText(refused.status()).find("the leader is manager-1"), std::string::npos)
      << refused.status();

  registry_->SetAccepting(true);
  absl::StatusOr<std::unique_ptr<AgentClient>> again =
      AgentClient::Connect(address_, AgentTls("agent-1"));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Register(Registration("agent-1")).ok());
  ASSERT_TRUE((*again)->StartHeartbeats([](const AgentCommand&) {}).ok());
  ASSERT_TRUE((*again)->SendHeartbeat(beat).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto r = registry_->Find("agent-1");
    return r && r->heartbeats >= 1;
  }));
  EXPECT_TRUE(registry_->Remove("agent-1"));
  EXPECT_FALSE(registry_->Remove("agent-1"));
  EXPECT_FALSE(registry_->Find("agent-1").has_value());
  EXPECT_TRUE(WaitFor([&] { return !(*again)->SendHeartbeat(beat).ok(); }));
}

TEST_F(AgentRegistryTest, AgentCannotRegisterAnotherNode) {
  auto client = AgentClient::Connect(address_, AgentTls("agent-1"));
  ASSERT_TRUE(client.ok());
  absl::StatusOr<RegistrationReply> reply = (*client)->Register(Registration("agent-2"));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(reply.status().message().find("'agent-1' cannot register node 'agent-2'"),
            absl::string_view::npos)
      << reply.status();
  EXPECT_TRUE(registry_->Snapshot().empty());
}

TEST_F(AgentRegistryTest, AgentCannotHeartbeatForAnotherNode) {
  auto client = AgentClient::Connect(address_, AgentTls("agent-1"));
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Register(Registration("agent-1")).ok());
  ASSERT_TRUE((*client)->StartHeartbeats(nullptr).ok());
  AgentHeartbeat beat;
  beat.node_id = "agent-2";
  (void)(*client)->SendHeartbeat(beat);
  absl::Status end = (*client)->StopHeartbeats(30);
  EXPECT_EQ(end.code(), absl::StatusCode::kPermissionDenied) << end;
  EXPECT_EQ(registry_->Find("agent-1")->heartbeats, 0u);
}

TEST_F(AgentRegistryTest, HandMadeClientWithValidCertificateGetsIn) {
  // The control for the refusals below: the same hand-made path succeeds.
  const KeyAndCertificate agent0{ReadText(dir_ / "agent-0.key"), ReadText(dir_ / "agent-0.crt")};
  grpc::Status s = RawRegister("agent-0", &agent0);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(AgentRegistryTest, ClientWithoutCertificateIsRefused) {
  grpc::Status s = RawRegister("agent-0", nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(registry_->Snapshot().empty());
}

TEST_F(AgentRegistryTest, ClientWithCertificateOfAnotherCaIsRefused) {
  absl::StatusOr<KeyAndCertificate> other_ca = MakeCertificateAuthority("meshtwin development CA");
  ASSERT_TRUE(other_ca.ok());
  absl::StatusOr<KeyAndCertificate> pair = IssueCertificate(*other_ca, Spec("agent-0"));
  ASSERT_TRUE(pair.ok());
  grpc::Status s = RawRegister("agent-0", &*pair);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(registry_->Snapshot().empty());
}

TEST_F(AgentRegistryTest, ClientWithExpiredCertificateIsRefused) {
  const std::int64_t now = std::time(nullptr);
  absl::StatusOr<KeyAndCertificate> pair =
      IssueCertificate(Ca(), Spec("agent-0", now - 10 * 86400, now - 86400));
  ASSERT_TRUE(pair.ok());
  grpc::Status s = RawRegister("agent-0", &*pair);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(registry_->Snapshot().empty());
}

TEST_F(AgentRegistryTest, ServerCertificateRotatesWithoutRestart) {
  const KeyAndCertificate agent0{ReadText(dir_ / "agent-0.key"), ReadText(dir_ / "agent-0.crt")};
  std::string pem;
  ASSERT_TRUE(RawRegister("agent-0", &agent0, &pem).ok());
  const std::string old_serial = ParseCertificatePem(pem, "server")->serial_hex;
  EXPECT_EQ(old_serial, ReadCertificateFile((dir_ / "manager.crt").string())->serial_hex);

  CertificateSpec spec = Spec("manager");
  spec.dns_names = {"manager", "localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  absl::StatusOr<KeyAndCertificate> fresh = IssueCertificate(Ca(), spec);
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), "manager", *fresh).ok());
  const std::string new_serial = ParseCertificatePem(fresh->cert_pem, "new")->serial_hex;
  ASSERT_NE(new_serial, old_serial);

  // Each attempt is a new connection; the provider re-reads the files every second.
  std::string seen;
  EXPECT_TRUE(WaitFor([&] {
    std::string server_pem;
    if (!RawRegister("agent-0", &agent0, &server_pem).ok()) return false;
    seen = ParseCertificatePem(server_pem, "server")->serial_hex;
    return seen == new_serial;
  })) << "still served "
      << seen;

  // The library's own client sees it too.
  auto client = AgentClient::Connect(address_, AgentTls("agent-0"));
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE((*client)->Register(Registration("agent-0")).ok());
}

}  // namespace
}  // namespace meshtwin::live
