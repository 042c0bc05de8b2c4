#include "live_bridge/provisioners.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "live_bridge/openssl_ptr.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace meshtwin::live {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string Errno() { return std::strerror(errno); }

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const std::string what = absl::StrCat(option, ": ", path, ": ");
    if (!fs::exists(path, ec)) return absl::NotFoundError(what + "no such file");
    return absl::InvalidArgumentError(what + "cannot read it");
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes through a temporary and a rename: an agent (or a human) never reads
// half a config or pid file.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat(temp, ": cannot create: ", Errno()));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == text.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = Errno();
    ::unlink(temp.c_str());
    return absl::InternalError(absl::StrCat(path, ": cannot write: ", why));
  }
  return absl::OkStatus();
}

// "host:port" with a port in 1..65535 (a bracketed IPv6 host is fine).
bool IsHostPort(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, port);
  return first != last && ec == std::errc() && ptr == last && port >= 1 && port <= 65535;
}

// Node ids become file names and certificate names: keep them plain.
bool IsPlainName(std::string_view s) {
  return !s.empty() && s.front() != '.' && s.front() != '-' &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

// A YAML scalar in double quotes; JSON's escaping is valid YAML.
std::string Quote(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string QuoteList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ", ") + Quote(items[i]);
  return out + "]";
}

std::string FormatSeconds(Seconds s) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, s);
  return std::string(buf, ec == std::errc() ? ptr : buf) + "s";
}

// True when `pid` runs a command line with `arg` as one of its arguments: a
// dead agent's pid reused by another process, or a zombie (empty cmdline),
// does not count.
bool RunsWithArgument(pid_t pid, const std::string& arg) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string item;
  while (std::getline(in, item, '\0')) {
    if (item == arg) return true;
  }
  return false;
}

std::optional<pid_t> ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  long long pid = 0;
  if (!(in >> pid) || pid <= 1 || pid > std::numeric_limits<pid_t>::max()) return std::nullopt;
  return static_cast<pid_t>(pid);
}

// Reads exactly sizeof(*out) bytes, or returns false at EOF / on error.
template <typename T>
bool ReadValue(int fd, T* out) {
  std::size_t done = 0;
  char* p = reinterpret_cast<char*>(out);
  while (done < sizeof(T)) {
    const ssize_t n = ::read(fd, p + done, sizeof(T) - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// What the forked processes tell the manager through a pipe. Writes of this
// size are atomic, so the two writers' reports never mix.
struct SpawnReport {
  enum Kind : int { kPid, kForkErrno, kExecErrno };
  Kind kind;
  int value;
};

// Starts argv detached: in a new session (no controlling terminal, so a
// Ctrl-C or hang-up of the manager's terminal does not reach it), reparented
// to init through a double fork (the manager never has to reap it and no
// zombie stays behind), stdin /dev/null, stdout and stderr appended to
// `log_path`, in `cwd`. Returns its pid once it has exec'd.
absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& args,
                                    const std::string& log_path, const std::string& cwd) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Everything the children need is opened here: between fork and exec a
  // threaded process may only make async-signal-safe calls.
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  int fds[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {null_fd, log_fd, fds[0], fds[1]}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (null_fd < 0 || log_fd < 0 || ::pipe2(fds, O_CLOEXEC) != 0) {
    const std::string why = Errno();
    close_all();
    return absl::InternalError(absl::StrCat("cannot open ", log_path, " or a pipe: ", why));
  }
  const pid_t middle = ::fork();
  if (middle < 0) {
    const std::string why = Errno();
    close_all();
    return absl::InternalError("fork: " + why);
  }
  if (middle == 0) {
    const pid_t agent = ::_Fork();
    if (agent == 0) {
      ::setsid();
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
      int err = 0;
      if (::chdir(cwd.c_str()) != 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 ||
          ::dup2(log_fd, 2) < 0) {
        err = errno;
      } else {
        // The agent must not hold the manager's descriptors (its listening
        // sockets above all: a restarted manager could not bind its port).
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        ::execv(argv[0], argv.data());
        err = errno;
      }
      const SpawnReport failed{SpawnReport::kExecErrno, err};
      [[maybe_unused]] ssize_t n = ::write(fds[1], &failed, sizeof failed);
      ::_exit(127);
    }
    const SpawnReport forked = agent > 0 ? SpawnReport{SpawnReport::kPid, agent}
                                         : SpawnReport{SpawnReport::kForkErrno, errno};
    [[maybe_unused]] ssize_t n = ::write(fds[1], &forked, sizeof forked);
    ::_exit(0);
  }
  ::close(fds[1]);
  fds[1] = -1;
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  // Up to two reports, in either order, then EOF: the middle process has
  // exited and the agent's copy of the pipe closed at its exec (or exit).
  pid_t agent = 0;
  int fork_errno = 0, exec_errno = 0;
  for (SpawnReport report{}; ReadValue(fds[0], &report);) {
    if (report.kind == SpawnReport::kPid) agent = report.value;
    if (report.kind == SpawnReport::kForkErrno) fork_errno = report.value;
    if (report.kind == SpawnReport::kExecErrno) exec_errno = report.value;
  }
  close_all();
  if (agent <= 0) {
    return absl::InternalError(
        absl::StrCat("fork: ", std::strerror(fork_errno != 0 ? fork_errno : EIO)));
  }
  if (exec_errno != 0) {
    std::string why = std::strerror(exec_errno);
    // execv's ENOENT for a file that exists: its #! line names a missing program.
    if (exec_errno == ENOENT && ::access(args[0].c_str(), F_OK) == 0) {
      why += " (the file exists: is the interpreter on its #! line missing?)";
    }
    return absl::FailedPreconditionError(absl::StrCat("cannot run ", args[0], ": ", why));
  }
  return agent;
}

// The CA's key must parse and be the certificate's: a wrong key would only
// show up as agents failing their handshakes.
absl::Status CheckCaKey(const KeyAndCertificate& ca, const std::string& cert_path,
                        const std::string& key_path) {
  BioPtr key_bio(BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  BioPtr cert_bio(BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  const bool matches = key && cert && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!key) {
    return absl::InvalidArgumentError("process launcher: ca_key: " + key_path +
                                      ": not a PEM private key");
  }
  if (!matches) {
    return absl::InvalidArgumentError("process launcher: ca_key: " + key_path +
                                      ": not the key of ca_cert " + cert_path);
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------
// ProcessLauncher

absl::StatusOr<std::unique_ptr<ProcessLauncher>> ProcessLauncher::Create(ProcessLauncherOptions o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError("process launcher: " + what);
  };
  std::error_code ec;
  if (o.agent_binary.empty()) return bad("agent_binary: expected the meshtwin executable");
  o.agent_binary = fs::absolute(o.agent_binary, ec).string();
  if (!fs::is_regular_file(o.agent_binary, ec) || ::access(o.agent_binary.c_str(), X_OK) != 0) {
    return bad("agent_binary: " + o.agent_binary + " is not an executable file");
  }
  if (o.work_dir.empty()) return bad("work_dir: expected a directory");
  o.work_dir = fs::absolute(o.work_dir, ec).string();
  if (!fs::is_directory(o.work_dir, ec)) {
    if (!fs::create_directories(o.work_dir, ec)) {
      return bad("work_dir: cannot create " + o.work_dir + ": " + ec.message());
    }
    fs::permissions(o.work_dir, fs::perms::owner_all, ec);
  }
  if (::access(o.work_dir.c_str(), W_OK | X_OK) != 0) {
    return bad("work_dir: " + o.work_dir + " is not writable");
  }
  o.ca_cert = fs::absolute(o.ca_cert, ec).string();
  KeyAndCertificate ca;
  MESHTWIN_ASSIGN_OR_RETURN(ca.cert_pem, ReadFile(o.ca_cert, "ca_cert"));
  MESHTWIN_ASSIGN_OR_RETURN(ca.key_pem, ReadFile(o.ca_key, "ca_key"));
  if (absl::StatusOr<CertificateInfo> info = ParseCertificatePem(ca.cert_pem, o.ca_cert);
      !info.ok()) {
    return bad("ca_cert: " + ErrorText(info.status()));
  }
  MESHTWIN_RETURN_IF_ERROR(CheckCaKey(ca, o.ca_cert, o.ca_key));
  if (o.managers.empty()) return bad("managers: expected at least one host:port");
  for (const std::string& m : o.managers) {
    if (!IsHostPort(m)) return bad("managers: expected host:port, got '" + m + "'");
  }
  for (const auto& [role, argv] : o.roles) {
    if (role.empty()) return bad("roles: a role without a name");
    if (argv.empty() || argv[0].empty()) {
      return bad("roles." + role + ": expected a command line, got an empty one");
    }
  }
  if (!(o.heartbeat_interval > 0) || !std::isfinite(o.heartbeat_interval)) {
    return bad("heartbeat_interval: expected a positive number of seconds");
  }
  if (!IsPlainName(o.node_prefix)) {
    return bad("node_prefix: expected letters, digits, '-', '_' or '.', got '" + o.node_prefix +
               "'");
  }
  return std::unique_ptr<ProcessLauncher>(new ProcessLauncher(std::move(o), std::move(ca)));
}

absl::StatusOr<std::vector<std::string>> ProcessLauncher::ScaleOut(const ProvisionRequest& r) {
  if (r.count < 0 || r.fence < 0 || r.tick < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("process launcher: scale-out: count, fence and tick must be >= 0, got ",
                     r.count, ", ", r.fence, ", ", r.tick));
  }
  if (!r.role.empty() && options_.roles.count(r.role) == 0) {
    return absl::InvalidArgumentError("process launcher: scale-out: role '" + r.role +
                                      "' has no command line in the launcher's roles");
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> started;
  int k = 0;
  while (static_cast<int>(started.size()) < r.count) {
    const std::string id =
        absl::StrCat(options_.node_prefix, "-f", r.fence, "-t", r.tick, "-", k++);
    std::error_code ec;
    const fs::path base = fs::path(options_.work_dir) / id;
    // A second action in the same tick (another node type) continues the count.
    if (fs::exists(base.string() + ".yaml", ec) || fs::exists(base.string() + ".pid", ec)) {
      continue;
    }
    absl::StatusOr<std::string> node = StartNode(id, r.role);
    if (!node.ok()) {
      const std::string so_far =
          started.empty() ? "" : " (already started: " + absl::StrJoin(started, ", ") + ")";
      return absl::Status(node.status().code(), "process launcher: node " + id + ": " +
                                                    ErrorText(node.status()) + so_far);
    }
    started.push_back(*std::move(node));
  }
  return started;
}

absl::StatusOr<std::string> ProcessLauncher::StartNode(const std::string& id,
                                                       const std::string& role) {
  CertificateSpec spec;
  spec.common_name = id;
  spec.organizational_unit = "agent";
  spec.ip_addresses = {"127.0.0.1"};
  MESHTWIN_ASSIGN_OR_RETURN(const KeyAndCertificate pair, IssueCertificate(ca_, spec));
  MESHTWIN_RETURN_IF_ERROR(WriteKeyAndCertificate(options_.work_dir, id, pair).status());

  // The format of agent_config.h. One manager: `manager:`, which every agent
  // version reads. Several: `managers:` alone, since the agent refuses a file
  // that gives both keys.
  std::string yaml = "# Written by meshtwin manager (process launcher).\n";
  absl::StrAppend(&yaml, "node: ", Quote(id), "\n");
  if (options_.managers.size() == 1) {
    absl::StrAppend(&yaml, "manager: ", Quote(options_.managers.front()), "\n");
  } else {
    absl::StrAppend(&yaml, "managers: ", QuoteList(options_.managers), "\n");
  }
  absl::StrAppend(&yaml, "tls: {ca: ", Quote(options_.ca_cert), ", cert: ", Quote(id + ".crt"),
                  ", key: ", Quote(id + ".key"), "}\n");
  absl::StrAppend(&yaml, "heartbeat: {interval: ", FormatSeconds(options_.heartbeat_interval),
                  "}\n");
  absl::StrAppend(&yaml, "metrics: {listen: \"127.0.0.1:0\"}\n");
  if (!options_.dht_protocol.empty()) {
    absl::StrAppend(&yaml, "dht: {protocol: ", options_.dht_protocol,
                    ", listen: \"127.0.0.1:0\"}\n");
  }
  if (!options_.roles.empty()) {
    yaml += "roles:\n";
    for (const auto& [name, argv] : options_.roles) {
      absl::StrAppend(&yaml, "  ", Quote(name), ": ", QuoteList(argv), "\n");
    }
  }
  if (!role.empty()) absl::StrAppend(&yaml, "role: ", Quote(role), "\n");
  const std::string base = (fs::path(options_.work_dir) / id).string();
  const std::string config = base + ".yaml";
  MESHTWIN_RETURN_IF_ERROR(WriteFileAtomically(config, yaml, 0644));

  MESHTWIN_ASSIGN_OR_RETURN(const pid_t pid,
                            SpawnDetached({options_.agent_binary, "agent", "--config", config},
                                          base + ".log", options_.work_dir));
  MESHTWIN_RETURN_IF_ERROR(WriteFileAtomically(base + ".pid", absl::StrCat(pid, "\n"), 0644));
  spdlog::info("process launcher: started agent {} (pid {}{}{}), log {}.log", id, pid,
               role.empty() ? "" : ", role ", role, base);
  return id;
}

absl::Status ProcessLauncher::ScaleIn(const ProvisionRequest& r) {
  if (r.count > 0 && r.node_ids.empty()) {
    return absl::InvalidArgumentError(
        "process launcher: scale-in needs the ids of the nodes to stop");
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> failed;
  for (const std::string& id : r.node_ids) {
    const std::string base = (fs::path(options_.work_dir) / id).string();
    const std::optional<pid_t> pid =
        IsPlainName(id) ? ReadPidFile(base + ".pid") : std::optional<pid_t>();
    if (!pid) {
      spdlog::info("process launcher: scale-in: {} was not launched here; skipped", id);
      continue;
    }
    if (!RunsWithArgument(*pid, base + ".yaml")) {
      spdlog::info("process launcher: scale-in: agent {} (pid {}) is not running; skipped", id,
                   *pid);
      continue;
    }
    if (::kill(*pid, SIGTERM) != 0 && errno != ESRCH) {
      failed.push_back(absl::StrCat(id, " (pid ", *pid, "): ", Errno()));
      continue;
    }
    spdlog::info("process launcher: scale-in: sent SIGTERM to agent {} (pid {})", id, *pid);
  }
  if (!failed.empty()) {
    return absl::InternalError("process launcher: cannot stop " + absl::StrJoin(failed, "; "));
  }
  return absl::OkStatus();
}

std::vector<std::string> ProcessLauncher::Launched() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(options_.work_dir, ec)) {
    if (e.path().extension() != ".pid") continue;
    const std::string id = e.path().stem().string();
    const std::string base = (fs::path(options_.work_dir) / id).string();
    const std::optional<pid_t> pid = ReadPidFile(e.path().string());
    if (pid && RunsWithArgument(*pid, base + ".yaml")) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---------------------------------------------------------------------------
// KubernetesScaler

namespace {

// Kubernetes object names (RFC 1123 subdomains): also what keeps a name from
// changing the path it is put in.
bool IsKubernetesName(const std::string& s) {
  return !s.empty() && s.size() <= 253 && std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back())) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (std::islower(static_cast<unsigned char>(c)) ||
                   std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.');
         });
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  MESHTWIN_ASSIGN_OR_RETURN(std::string token, ReadFile(path, "token_file"));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) return absl::InvalidArgumentError("token_file: " + path + " is empty");
  return token;
}

absl::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<KubernetesScaler>> KubernetesScaler::Create(
    KubernetesScalerOptions o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError("kubernetes scaler: " + what);
  };
  const std::string scheme = "https://";
  while (!o.api_server.empty() && o.api_server.back() == '/') o.api_server.pop_back();
  if (o.api_server.rfind(scheme, 0) != 0 || o.api_server.size() <= scheme.size()) {
    return bad(
        "api_server: expected an https:// URL (the API server is spoken to over TLS only), "
        "got '" +
        o.api_server + "'");
  }
  if (!IsKubernetesName(o.namespace_)) {
    return bad("namespace: expected a Kubernetes name, got '" + o.namespace_ + "'");
  }
  if (o.deployment.empty() && o.deployments.empty()) {
    return bad("deployment: expected a deployment (or a deployments map per node type)");
  }
  if (!o.deployment.empty() && !IsKubernetesName(o.deployment)) {
    return bad("deployment: expected a Kubernetes name, got '" + o.deployment + "'");
  }
  for (const auto& [type, name] : o.deployments) {
    if (!IsKubernetesName(name)) {
      return bad("deployments." + type + ": expected a Kubernetes name, got '" + name + "'");
    }
  }
  if (absl::StatusOr<std::string> token = ReadToken(o.token_file); !token.ok()) {
    return absl::Status(token.status().code(), "kubernetes scaler: " + ErrorText(token.status()));
  }
  if (o.ca_file.empty()) return bad("ca_file: expected the API server's CA certificate");
  if (absl::StatusOr<CertificateInfo> ca = ReadCertificateFile(o.ca_file); !ca.ok()) {
    return absl::Status(ca.status().code(),
                        "kubernetes scaler: ca_file: " + ErrorText(ca.status()));
  }
  if (o.client_tls) {
    TlsFiles files = *o.client_tls;
    if (files.ca_cert.empty()) files.ca_cert = o.ca_file;
    if (absl::Status s = CheckTlsFiles(files); !s.ok()) {
      return absl::Status(s.code(), "kubernetes scaler: client_tls: " + ErrorText(s));
    }
  }
  if (!(o.timeout > 0)) return bad("timeout: expected a positive number of seconds");
  return std::unique_ptr<KubernetesScaler>(new KubernetesScaler(std::move(o)));
}

const std::string& KubernetesScaler::DeploymentFor(const std::string& node_type) const {
  const auto it = options_.deployments.find(node_type);
  return it != options_.deployments.end() ? it->second : options_.deployment;
}

absl::StatusOr<std::vector<std::string>> KubernetesScaler::ScaleOut(const ProvisionRequest& r) {
  MESHTWIN_RETURN_IF_ERROR(Patch(r));
  return std::vector<std::string>();  // pods are named by the ReplicaSet
}

absl::Status KubernetesScaler::ScaleIn(const ProvisionRequest& r) { return Patch(r); }

absl::Status KubernetesScaler::Patch(const ProvisionRequest& r) {
  const std::string& deployment = DeploymentFor(r.node_type);
  if (deployment.empty()) {
    return absl::InvalidArgumentError("kubernetes scaler: no deployment for node type '" +
                                      r.node_type + "'");
  }
  if (r.replicas_after < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubernetes scaler: replicas must be >= 0, got ", r.replicas_after));
  }
  // Split https://host:port/prefix into what httplib's client and path take.
  const std::size_t path_at = options_.api_server.find('/', std::strlen("https://"));
  const std::string host = options_.api_server.substr(0, path_at);
  const std::string prefix =
      path_at == std::string::npos ? "" : options_.api_server.substr(path_at);
  std::string path = absl::StrCat(prefix, "/apis/apps/v1/namespaces/", options_.namespace_,
                                  "/deployments/", deployment, "/scale");
  if (options_.dry_run) path += "?dryRun=All";
  const std::string what = absl::StrCat("kubernetes scaler: PATCH ", host, path);

  absl::StatusOr<std::string> token = ReadToken(options_.token_file);
  if (!token.ok())
    return absl::Status(token.status().code(), what + ": " + ErrorText(token.status()));
  std::unique_ptr<httplib::Client> client =
      options_.client_tls ? std::make_unique<httplib::Client>(host, options_.client_tls->cert,
                                                              options_.client_tls->key)
                          : std::make_unique<httplib::Client>(host);
  if (!client->is_valid()) return absl::InvalidArgumentError(what + ": cannot make a TLS client");
  client->set_ca_cert_path(options_.ca_file);
  client->enable_server_certificate_verification(true);
  const auto timeout = std::chrono::microseconds(static_cast<long long>(options_.timeout * 1e6));
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  client->set_bearer_token_auth(*token);
  const std::string body = Json{{"spec", {{"replicas", r.replicas_after}}}}.dump();
  httplib::Result res = client->Patch(path, httplib::Headers{{"Accept", "application/json"}}, body,
                                      "application/merge-patch+json");
  if (!res) {
    std::string why = httplib::to_string(res.error());
    if (const long verify = client->get_openssl_verify_result(); verify != X509_V_OK) {
      why += absl::StrCat(" (server certificate: ", X509_verify_cert_error_string(verify), ")");
    }
    return absl::UnavailableError(what + ": request failed: " + why);
  }
  if (res->status < 200 || res->status >= 300) {
    // The API explains itself in a Status object: {"kind":"Status","message":...}.
    std::string message;
    try {
      const Json status = Json::parse(res->body);
      if (status.is_object() && status.contains("message") && status["message"].is_string()) {
        message = status["message"].get<std::string>();
      }
    } catch (const Json::exception&) {
    }
    if (message.empty()) message = res->body.substr(0, 200);
    return absl::Status(CodeForHttpStatus(res->status),
                        absl::StrCat(what, ": HTTP ", res->status, ": ", message));
  }
  spdlog::info("kubernetes scaler: deployment {}/{} scaled to {} replicas{} (fence {}, tick {})",
               options_.namespace_, deployment, r.replicas_after,
               options_.dry_run ? " (dry run)" : "", r.fence, r.tick);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// ExecHook

namespace {

// Where execvp would find `program`, or "" when it would not.
std::string FindProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0 ? program : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

// The last `lines` lines of `text`, joined with " | " for a one-line message.
std::string LastLines(const std::string& text, int lines) {
  std::vector<std::string> all;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) all.push_back(line);
  }
  const std::size_t from = all.size() > static_cast<std::size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + static_cast<std::ptrdiff_t>(from), all.end(), " | ");
}

// Appends what `fd` has to `tail`, keeping its last 64 KiB. False at EOF or
// on an error.
bool Drain(int fd, std::string* tail) {
  constexpr std::size_t kKeep = 64 * 1024;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      tail->append(buf, static_cast<std::size_t>(n));
      if (tail->size() > kKeep) tail->erase(0, tail->size() - kKeep);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ExecHook>> ExecHook::Create(ExecHookOptions options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return absl::InvalidArgumentError("exec hook: argv: expected a command line");
  }
  if (FindProgram(options.argv[0]).empty()) {
    return absl::InvalidArgumentError("exec hook: argv[0]: " + options.argv[0] +
                                      " is not an executable file (nor one in PATH)");
  }
  if (!(options.timeout > 0)) {
    return absl::InvalidArgumentError("exec hook: timeout: expected a positive number of seconds");
  }
  return std::unique_ptr<ExecHook>(new ExecHook(std::move(options)));
}

absl::StatusOr<std::vector<std::string>> ExecHook::ScaleOut(const ProvisionRequest& r) {
  MESHTWIN_RETURN_IF_ERROR(Run("scale-out", r));
  return std::vector<std::string>();
}

absl::Status ExecHook::ScaleIn(const ProvisionRequest& r) { return Run("scale-in", r); }

absl::Status ExecHook::Run(std::string_view action, const ProvisionRequest& r) const {
  const std::string what =
      absl::StrCat("exec hook ", options_.argv[0], " (", std::string(action), ")");
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"MESHTWIN_ACTION", std::string(action)},
      {"MESHTWIN_NODE_TYPE", r.node_type},
      {"MESHTWIN_ROLE", r.role},
      {"MESHTWIN_COUNT", std::to_string(r.count)},
      {"MESHTWIN_REPLICAS", std::to_string(r.replicas_after)},
      {"MESHTWIN_FENCE", std::to_string(r.fence)},
      {"MESHTWIN_TICK", std::to_string(r.tick)},
      {"MESHTWIN_NODES", absl::StrJoin(r.node_ids, ",")}};
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(ours.begin(), ours.end(), [&](const auto& kv) {
      return entry.substr(0, kv.first.size() + 1) == kv.first + "=";
    });
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [key, value] : ours) env.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const std::string& a : options_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0 || ::pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) {
    const std::string why = Errno();
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return absl::InternalError(what + ": pipe: " + why);
  }
  // The hook gets its own process group (so a timeout reaches whatever it
  // started), default signal handling and no descriptors but 0, 1 and 2.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (spawned != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return absl::FailedPreconditionError(what + ": cannot run it: " + std::strerror(spawned));
  }

  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::microseconds(static_cast<long long>(options_.timeout * 1e6));
  std::string stdout_tail, stderr_tail;
  bool out_open = true, err_open = true, timed_out = false, lost = false;
  int status = 0, wait_errno = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    // ECHILD: someone else reaped it (SIGCHLD ignored): its exit code is lost.
    lost = done < 0 && errno != EINTR;
    wait_errno = errno;
    if (done == pid || lost) {
      // What it wrote before exiting is still in the pipes.
      if (out_open) Drain(out[0], &stdout_tail);
      if (err_open) Drain(err[0], &stderr_tail);
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline && !timed_out) {
      timed_out = true;
      ::kill(-pid, SIGTERM);
    } else if (timed_out && now >= deadline + std::chrono::seconds(1)) {
      ::kill(-pid, SIGKILL);
    }
    pollfd fds[2];
    nfds_t n = 0;
    if (out_open) fds[n++] = {out[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    // Short polls: the exit is noticed through waitpid, not through EOF,
    // which a background child holding the pipes would postpone.
    ::poll(fds, n, 50);
    if (out_open) out_open = Drain(out[0], &stdout_tail);
    if (err_open) err_open = Drain(err[0], &stderr_tail);
  }
  ::close(out[0]);
  ::close(err[0]);
  if (!stdout_tail.empty()) spdlog::debug("{}: stdout: {}", what, LastLines(stdout_tail, 20));
  const std::string stderr_lines = LastLines(stderr_tail, 5);
  const std::string stderr_text = stderr_lines.empty() ? "" : "; stderr: " + stderr_lines;
  if (lost) return absl::InternalError(what + ": cannot wait for it: " + std::strerror(wait_errno));
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": still running after ", options_.timeout, "s: killed", stderr_text));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    spdlog::info("{}: done (fence {}, tick {})", what, r.fence, r.tick);
    return absl::OkStatus();
  }
  const std::string how = WIFEXITED(status)
                              ? absl::StrCat("exited with code ", WEXITSTATUS(status))
                              : absl::StrCat("was killed by signal ", WTERMSIG(status));
  return absl::InternalError(absl::StrCat(what, ": ", how, stderr_text));
}

}  // namespace meshtwin::live
