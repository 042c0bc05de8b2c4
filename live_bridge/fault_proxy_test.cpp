// The fault proxy on loopback: between a plain echo server and a client for
// the byte-level faults, and between a real mutual-TLS manager and agent to
// show that TLS passes through it untouched.
#include "live_bridge/fault_proxy.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "live_bridge/agent_registry.h"
#include "live_bridge/agent_registry_client.h"
#include "live_bridge/certs.h"
#include "live_bridge/tls_server.h"

namespace meshtwin::live {
namespace {

constexpr int kPatienceMs = 30'000;  // how long a test waits for what must happen
constexpr int kQuietMs = 400;        // how long "nothing happens" is watched for

using SteadyTime = std::chrono::steady_clock;

// A TCP echo server on 127.0.0.1, a thread per connection. It answers an
// orderly close with one of its own once everything has been echoed.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    socklen_t length = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~EchoServer() {
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : workers_) t.join();
    close(listen_fd_);
  }

  int port() const { return port_; }
  std::size_t bytes_received() const { return received_.load(); }
  int accepted() const { return accepted_.load(); }

 private:
  void Accept() {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      ++accepted_;
      std::lock_guard lock(mu_);
      open_.push_back(fd);
      workers_.emplace_back([this, fd] { Echo(fd); });
    }
  }

  void Echo(int fd) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      received_ += static_cast<std::size_t>(n);
      for (ssize_t sent = 0; sent < n;) {
        const ssize_t m = send(fd, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (m <= 0) return;
        sent += m;
      }
    }
    shutdown(fd, SHUT_WR);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> workers_;
  std::atomic<std::size_t> received_{0};
  std::atomic<int> accepted_{0};
};

// A connected client socket; closed when it goes out of scope.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int fd() const { return fd_; }
  bool connected() const { return connected_; }

  bool Send(const std::string& bytes) {
    for (std::size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // What one wait for input brought.
  struct Outcome {
    enum Kind { kData, kClosed, kReset, kError, kNothing } kind = kNothing;
    std::string bytes;
  };

  // Waits up to `timeout_ms` for `n` bytes, an end of stream or an error.
  Outcome Receive(std::size_t n, int timeout_ms = kPatienceMs) {
    Outcome out;
    const auto deadline = SteadyTime::now() + std::chrono::milliseconds(timeout_ms);
    char buffer[16384];
    while (out.bytes.size() < n) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyTime::now())
              .count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) {
        out.kind = out.bytes.empty() ? Outcome::kNothing : Outcome::kData;
        return out;
      }
      const ssize_t got = recv(fd_, buffer, std::min(sizeof buffer, n - out.bytes.size()), 0);
      if (got > 0) {
        out.bytes.append(buffer, static_cast<std::size_t>(got));
      } else if (got == 0) {
        out.kind = Outcome::kClosed;
        return out;
      } else {
        out.kind = errno == ECONNRESET ? Outcome::kReset : Outcome::kError;
        return out;
      }
    }
    out.kind = Outcome::kData;
    return out;
  }

  // Sends `text` and expects it back whole.
  bool Echoes(const std::string& text) { return Send(text) && Receive(text.size()).bytes == text; }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::unique_ptr<FaultProxy> StartProxy(int upstream_port, std::uint64_t seed = 1) {
  absl::StatusOr<std::unique_ptr<FaultProxy>> proxy =
      FaultProxy::Start("127.0.0.1:0", "127.0.0.1:" + std::to_string(upstream_port), seed);
  EXPECT_TRUE(proxy.ok()) << proxy.status();
  return proxy.ok() ? *std::move(proxy) : nullptr;
}

std::string Pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(FaultProxyTest, ForwardsBytesBothWaysAndPassesOnTheClose) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  EXPECT_GT(proxy->port(), 0);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());

  // Sent from another thread: a megabyte is more than the socket buffers
  // hold, so sending it all before reading would stall the echo.
  const std::string sent = Pattern(1 << 20);
  std::thread writer([&] {
    EXPECT_TRUE(client.Send(sent));
    shutdown(client.fd(), SHUT_WR);  // the echo server answers with its own close
  });
  Client::Outcome back = client.Receive(sent.size() + 1);
  writer.join();
  EXPECT_EQ(back.kind, Client::Outcome::kClosed);
  ASSERT_EQ(back.bytes.size(), sent.size());
  EXPECT_TRUE(back.bytes == sent);
  EXPECT_EQ(echo.bytes_received(), sent.size());
  EXPECT_EQ(proxy->connections(), 1u);
  EXPECT_EQ(proxy->bytes_forwarded(), 2 * sent.size());
}

TEST(FaultProxyTest, DelayIsAddedInEachDirection) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.Echoes("warm-up"));

  proxy->SetMode({.delay = 0.25});
  EXPECT_DOUBLE_EQ(proxy->mode().delay, 0.25);
  const auto start = SteadyTime::now();
  ASSERT_TRUE(client.Echoes("ping"));
  const double round_trip = std::chrono::duration<double>(SteadyTime::now() - start).count();
  // There and back: at least twice the delay (an upper bound would be timing
  // a shared machine).
  EXPECT_GE(round_trip, 0.5);

  proxy->SetMode({});
  ASSERT_TRUE(client.Echoes("pong"));
}

TEST(FaultProxyTest, DropOneResetsNewConnectionsButNotOpenOnes) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  Client open(proxy->port());
  ASSERT_TRUE(open.Echoes("before"));

  proxy->SetMode({.drop = 1});
  for (int i = 0; i < 3; ++i) {
    Client fresh(proxy->port());
    ASSERT_TRUE(fresh.connected());  // the kernel completes the handshake; the proxy resets
    EXPECT_EQ(fresh.Receive(1).kind, Client::Outcome::kReset) << "connection " << i;
  }
  EXPECT_TRUE(open.Echoes("still here"));
  EXPECT_EQ(proxy->connections(), 4u);
  EXPECT_EQ(echo.accepted(), 1);  // the dropped ones never reached the upstream
}

// Which of `n` connections made one after another a proxy with drop=0.5 and
// `seed` lets through.
std::vector<bool> DropPattern(int upstream_port, std::uint64_t seed, int n) {
  auto proxy = StartProxy(upstream_port, seed);
  if (proxy == nullptr) return {};
  proxy->SetMode({.drop = 0.5});
  std::vector<bool> passed;
  for (int i = 0; i < n; ++i) {
    Client c(proxy->port());
    passed.push_back(c.Echoes("x"));
  }
  return passed;
}

TEST(FaultProxyTest, DropDecisionsAreRandomButRepeatableForASeed) {
  EchoServer echo;
  const std::vector<bool> first = DropPattern(echo.port(), 7, 24);
  const std::vector<bool> again = DropPattern(echo.port(), 7, 24);
  ASSERT_EQ(first.size(), 24u);
  EXPECT_EQ(first, again);
  const auto passed = std::count(first.begin(), first.end(), true);
  EXPECT_GT(passed, 0);
  EXPECT_LT(passed, 24);
}

TEST(FaultProxyTest, BlackholeSilencesWithoutClosingThenResetsWhatLostBytes) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  Client talker(proxy->port());
  Client idle(proxy->port());
  ASSERT_TRUE(talker.Echoes("hello"));
  ASSERT_TRUE(idle.Echoes("hello"));
  const std::size_t received_before = echo.bytes_received();

  proxy->SetMode({.blackhole = true});
  ASSERT_TRUE(talker.Send("into the void"));
  Client newcomer(proxy->port());
  ASSERT_TRUE(newcomer.connected());  // a partition does not refuse: it just never answers
  ASSERT_TRUE(newcomer.Send("anyone?"));
  // Silence, and no close or reset either: the connection just goes quiet.
  EXPECT_EQ(talker.Receive(1, kQuietMs).kind, Client::Outcome::kNothing);
  EXPECT_EQ(newcomer.Receive(1, kQuietMs).kind, Client::Outcome::kNothing);
  EXPECT_EQ(idle.Receive(1, kQuietMs).kind, Client::Outcome::kNothing);
  EXPECT_EQ(echo.bytes_received(), received_before);
  EXPECT_EQ(echo.accepted(), 2);

  proxy->SetMode({});
  // Bytes were lost on these two: their streams cannot resume.
  EXPECT_EQ(talker.Receive(1).kind, Client::Outcome::kReset);
  EXPECT_EQ(newcomer.Receive(1).kind, Client::Outcome::kReset);
  // The idle one lost nothing and carries on; new connections work again.
  EXPECT_TRUE(idle.Echoes("after"));
  Client later(proxy->port());
  EXPECT_TRUE(later.Echoes("after"));
}

TEST(FaultProxyTest, RefuseClosesNewConnections) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  Client open(proxy->port());
  ASSERT_TRUE(open.Echoes("before"));

  proxy->SetMode({.refuse = true});
  Client refused(proxy->port());
  EXPECT_EQ(refused.Receive(1).kind, Client::Outcome::kClosed);
  EXPECT_TRUE(open.Echoes("still here"));

  proxy->SetMode({});
  Client later(proxy->port());
  EXPECT_TRUE(later.Echoes("welcome back"));
  EXPECT_EQ(echo.accepted(), 2);
}

TEST(FaultProxyTest, CutAllResetsEveryOpenConnection) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  Client a(proxy->port());
  Client b(proxy->port());
  ASSERT_TRUE(a.Echoes("a"));
  ASSERT_TRUE(b.Echoes("b"));

  proxy->CutAll();
  EXPECT_EQ(a.Receive(1).kind, Client::Outcome::kReset);
  EXPECT_EQ(b.Receive(1).kind, Client::Outcome::kReset);
  Client c(proxy->port());
  EXPECT_TRUE(c.Echoes("c"));
  EXPECT_EQ(proxy->connections(), 3u);
}

TEST(FaultProxyTest, BadAddressesAndModesAreRefusedByName) {
  absl::StatusOr<std::unique_ptr<FaultProxy>> p = FaultProxy::Start("127.0.0.1", "127.0.0.1:1");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("listen address '127.0.0.1'"), std::string::npos)
      << p.status();
  p = FaultProxy::Start("127.0.0.1:0", "127.0.0.1:99999");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("upstream address"), std::string::npos) << p.status();
  p = FaultProxy::Start("127.0.0.1:0", "127.0.0.1:0");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("port 0"), std::string::npos) << p.status();

  EXPECT_NE(CheckFaultMode({.drop = 1.5}).message().find("drop"), std::string::npos);
  EXPECT_NE(CheckFaultMode({.delay = -1}).message().find("delay"), std::string::npos);
  EXPECT_TRUE(CheckFaultMode({.delay = 0.1, .drop = 0.2}).ok());

  // An invalid mode leaves the current one in force.
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_NE(proxy, nullptr);
  proxy->SetMode({.delay = 0.01});
  proxy->SetMode({.drop = 2});
  EXPECT_DOUBLE_EQ(proxy->mode().delay, 0.01);
  EXPECT_DOUBLE_EQ(proxy->mode().drop, 0);
}

// A manager (LiveServer + AgentRegistry) behind the proxy, an agent dialling
// the proxy: mutual TLS is negotiated end to end through it.
class FaultProxyGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_fault_proxy_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    CertsInitOptions init;
    init.dir = dir_.string();
    init.nodes = 2;
    ASSERT_TRUE(InitCertsDir(init).ok());
    registry_ = std::make_unique<AgentRegistry>(AgentRegistryOptions{.manager_id = "manager-0"});
    server_ = std::make_unique<LiveServer>(
        LiveServerOptions{.address = "127.0.0.1:0", .tls = Tls("manager")});
    server_->AddService(registry_->service());
    ASSERT_TRUE(server_->Start().ok());
    proxy_ = StartProxy(server_->port());
    ASSERT_NE(proxy_, nullptr);
    proxy_address_ = "127.0.0.1:" + std::to_string(proxy_->port());
  }
  void TearDown() override {
    proxy_.reset();
    if (server_) server_->Shutdown(1);
    std::filesystem::remove_all(dir_);
  }

  TlsOptions Tls(const std::string& name) const {
    TlsOptions tls;
    tls.files = TlsFiles::InDir(dir_.string(), name);
    return tls;
  }

  static AgentRegistration Registration(const std::string& node) {
    AgentRegistration r;
    r.node_id = node;
    r.capabilities.cores = 4;
    r.role = "web";
    return r;
  }

  std::filesystem::path dir_;
  std::unique_ptr<AgentRegistry> registry_;
  std::unique_ptr<LiveServer> server_;
  std::unique_ptr<FaultProxy> proxy_;
  std::string proxy_address_;
};

TEST_F(FaultProxyGrpcTest, MutualTlsCallsPassThroughAndFaultsReachThem) {
  absl::StatusOr<std::unique_ptr<AgentClient>> client =
      AgentClient::Connect(proxy_address_, Tls("agent-0"));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<RegistrationReply> reply = (*client)->Register(Registration("agent-0"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->manager_id, "manager-0");
  ASSERT_TRUE((*client)->StartHeartbeats(nullptr).ok());
  AgentHeartbeat beat;
  beat.node_id = "agent-0";
  beat.role = "web";
  beat.load.cpu_utilization = 0.25;
  ASSERT_TRUE((*client)->SendHeartbeat(beat).ok());
  const auto deadline = SteadyTime::now() + std::chrono::milliseconds(kPatienceMs);
  while (SteadyTime::now() < deadline) {
    auto record = registry_->Find("agent-0");
    if (record && record->heartbeats >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(registry_->Find("agent-0").has_value());
  EXPECT_EQ(registry_->Find("agent-0")->heartbeats, 1u);
  EXPECT_DOUBLE_EQ(registry_->Find("agent-0")->load.cpu_utilization, 0.25);
  EXPECT_GE(proxy_->connections(), 1u);
  EXPECT_GT(proxy_->bytes_forwarded(), 1000u);  // at least the TLS handshake went through

  // A delayed call on the open connection: request and reply each wait.
  proxy_->SetMode({.delay = 0.2});
  const auto start = SteadyTime::now();
  ASSERT_TRUE((*client)->Register(Registration("agent-0")).ok());
  EXPECT_GE(std::chrono::duration<double>(SteadyTime::now() - start).count(), 0.4);
  EXPECT_TRUE((*client)->StopHeartbeats().ok());

  // A new agent behind a refusing proxy cannot get through.
  proxy_->SetMode({.refuse = true});
  absl::StatusOr<std::unique_ptr<AgentClient>> refused =
      AgentClient::Connect(proxy_address_, Tls("agent-1"));
  ASSERT_TRUE(refused.ok());
  absl::StatusOr<RegistrationReply> no = (*refused)->Register(Registration("agent-1"), 2);
  EXPECT_FALSE(no.ok());
  EXPECT_FALSE(registry_->Find("agent-1").has_value());
}

TEST_F(FaultProxyGrpcTest, CutAllBreaksTheHeartbeatStream) {
  absl::StatusOr<std::unique_ptr<AgentClient>> client =
      AgentClient::Connect(proxy_address_, Tls("agent-0"));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Register(Registration("agent-0")).ok());
  ASSERT_TRUE((*client)->StartHeartbeats(nullptr).ok());
  AgentHeartbeat beat;
  beat.node_id = "agent-0";
  ASSERT_TRUE((*client)->SendHeartbeat(beat).ok());
  const auto streaming = [&] {
    auto r = registry_->Find("agent-0");
    return r && r->streaming && r->heartbeats >= 1;
  };
  auto deadline = SteadyTime::now() + std::chrono::milliseconds(kPatienceMs);
  while (!streaming() && SteadyTime::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(streaming());

  proxy_->CutAll();
  // The manager sees the stream end; the agent's next send reports it.
  deadline = SteadyTime::now() + std::chrono::milliseconds(kPatienceMs);
  while (registry_->Find("agent-0")->streaming && SteadyTime::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(registry_->Find("agent-0")->streaming);
  absl::Status sent = absl::OkStatus();
  deadline = SteadyTime::now() + std::chrono::milliseconds(kPatienceMs);
  while (sent.ok() && SteadyTime::now() < deadline) {
    sent = (*client)->SendHeartbeat(beat);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(sent.ok());
}

}  // namespace
}  // namespace meshtwin::live
