#include "live_bridge/test_support/etcd_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "live_bridge/certs.h"
#include "live_bridge/etcd_client.h"

namespace meshtwin::live::testing {
namespace {

constexpr const char* kEtcdBinary = "/usr/bin/etcd";
constexpr Seconds kStartTimeout = 20;
// Another process may take a port between our probe and etcd's bind.
constexpr int kLaunchAttempts = 3;

// A port nobody listens on right now (bound, read back and released).
absl::StatusOr<int> PickFreePort(int* hold_fd) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return absl::UnavailableError("cannot pick a free port: " + why);
  }
  *hold_fd = fd;  // kept open until both ports are picked, so they differ
  return ntohs(addr.sin_port);
}

// The temporary directory's parent. etcd fsyncs every write: on tmpfs that
// costs nothing, on a shared disk it can make a test wait on other I/O.
std::filesystem::path TempBase() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return std::filesystem::temp_directory_path(ec);
}

std::string Tail(const std::string& path, std::size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::ostringstream out;
  const std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) out << "\n  " << lines[i];
  return out.str();
}

absl::Status WriteCerts(const std::string& dir) {
  MESHTWIN_ASSIGN_OR_RETURN(KeyAndCertificate ca,
                            MakeCertificateAuthority("meshtwin test etcd CA"));
  MESHTWIN_RETURN_IF_ERROR(WriteKeyAndCertificate(dir, "ca", ca).status());

  // One certificate for etcd's client and peer listeners: peers dial each
  // other too, hence client usage as well.
  CertificateSpec server;
  server.common_name = "etcd";
  server.organizational_unit = "etcd";
  server.dns_names = {"localhost"};
  server.ip_addresses = {"127.0.0.1"};
  MESHTWIN_ASSIGN_OR_RETURN(KeyAndCertificate server_pair, IssueCertificate(ca, server));
  MESHTWIN_RETURN_IF_ERROR(WriteKeyAndCertificate(dir, "server", server_pair).status());

  for (const std::string name : {"manager-0", "manager-1", "client"}) {
    CertificateSpec spec;
    spec.common_name = name;
    spec.organizational_unit = name == "client" ? "client" : "manager";
    spec.server = name != "client";
    if (spec.server) {
      spec.dns_names = {name, "localhost"};
      spec.ip_addresses = {"127.0.0.1"};
    }
    MESHTWIN_ASSIGN_OR_RETURN(KeyAndCertificate pair, IssueCertificate(ca, spec));
    MESHTWIN_RETURN_IF_ERROR(WriteKeyAndCertificate(dir, name, pair).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdServer>> EtcdServer::Start() {
  if (::access(kEtcdBinary, X_OK) != 0) {
    return absl::UnavailableError(std::string(kEtcdBinary) +
                                  " not found: install Debian's etcd-server to run this test");
  }
  std::unique_ptr<EtcdServer> server(new EtcdServer());
  std::string pattern = (TempBase() / "meshtwin-etcd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError("cannot create a temporary directory " + pattern + ": " +
                                  std::strerror(errno));
  }
  server->dir_ = pattern;
  MESHTWIN_RETURN_IF_ERROR(WriteCerts(server->dir_));

  absl::Status launched;
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    launched = server->Launch();
    if (launched.ok()) return server;
    // Aborted: etcd exited at once, most likely because a port we picked
    // was taken in the meantime. Anything else would only repeat.
    if (!absl::IsAborted(launched)) break;
  }
  return absl::UnavailableError(ErrorText(launched));
}

absl::Status EtcdServer::Launch() {
  int client_fd = -1;
  int peer_fd = -1;
  absl::StatusOr<int> client_port = PickFreePort(&client_fd);
  absl::StatusOr<int> peer_port = client_port.ok() ? PickFreePort(&peer_fd) : client_port;
  if (client_fd >= 0) ::close(client_fd);
  if (peer_fd >= 0) ::close(peer_fd);
  if (!client_port.ok()) return client_port.status();
  if (!peer_port.ok()) return peer_port.status();
  client_port_ = *client_port;

  const std::string client_url = endpoint();
  const std::string peer_url = "https://127.0.0.1:" + std::to_string(*peer_port);
  const std::string data_dir = dir_ + "/data";
  std::error_code ec;
  std::filesystem::remove_all(data_dir, ec);  // a failed attempt's leftovers
  const std::string log = log_path();
  const std::vector<std::string> args = {
      kEtcdBinary,
      "--name=meshtwin-test",
      "--data-dir=" + data_dir,
      "--listen-client-urls=" + client_url,
      "--advertise-client-urls=" + client_url,
      "--listen-peer-urls=" + peer_url,
      "--initial-advertise-peer-urls=" + peer_url,
      "--initial-cluster=meshtwin-test=" + peer_url,
      "--initial-cluster-state=new",
      "--client-cert-auth",
      "--trusted-ca-file=" + dir_ + "/ca.crt",
      "--cert-file=" + dir_ + "/server.crt",
      "--key-file=" + dir_ + "/server.key",
      "--peer-client-cert-auth",
      "--peer-trusted-ca-file=" + dir_ + "/ca.crt",
      "--peer-cert-file=" + dir_ + "/server.crt",
      "--peer-key-file=" + dir_ + "/server.key",
  };
  // Everything the child needs is made before fork: in a threaded process
  // the child may only make async-signal-safe calls until exec.
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::UnavailableError("cannot open " + log + ": " + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return absl::UnavailableError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // If the test process dies without its destructor (a crash, a
    // timeout's SIGKILL), etcd goes with it instead of holding its ports.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(kEtcdBinary, argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  EtcdOptions options;
  options.endpoint = client_url;
  options.tls = ClientTls("client");
  options.timeout = 1;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(kStartTimeout));
  absl::Status last = absl::UnavailableError("not asked yet");
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::AbortedError("etcd exited during start-up; its log " + log +
                                " ends:" + Tail(log, 8));
    }
    absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Connect(options);
    if (client.ok()) return absl::OkStatus();
    last = client.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::UnavailableError("etcd did not answer within 20 s (" + ErrorText(last) +
                                "); its log " + log + " ends:" + Tail(log, 8));
}

EtcdServer::~EtcdServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string EtcdServer::endpoint() const {
  return "https://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdServer::certs_dir() const { return dir_; }

TlsFiles EtcdServer::ClientTls(const std::string& name) const {
  return TlsFiles::InDir(dir_, name);
}

std::string EtcdServer::log_path() const { return dir_ + "/etcd.log"; }

absl::Status EtcdServer::Pause() {
  if (pid_ <= 0 || ::kill(pid_, SIGSTOP) != 0) {
    return absl::FailedPreconditionError("cannot pause etcd: not running");
  }
  return absl::OkStatus();
}

absl::Status EtcdServer::Resume() {
  if (pid_ <= 0 || ::kill(pid_, SIGCONT) != 0) {
    return absl::FailedPreconditionError("cannot resume etcd: not running");
  }
  return absl::OkStatus();
}

}  // namespace meshtwin::live::testing
