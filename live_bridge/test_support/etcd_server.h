// A real etcd (Debian's /usr/bin/etcd) for tests: one member on loopback,
// mutual TLS on its client and peer ports, everything in its own temporary
// directory, killed and removed on destruction. Tests skip when etcd is not
// installed.
//
//   absl::StatusOr<std::unique_ptr<testing::EtcdServer>> etcd = testing::EtcdServer::Start();
//   if (!etcd.ok()) GTEST_SKIP() << etcd.status().message();
//   auto client = EtcdClient::Connect({.endpoint = (*etcd)->endpoint(),
//                                      .tls = (*etcd)->ClientTls("manager-0")});
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "live_bridge/tls.h"
#include "twin/status.h"

namespace meshtwin::live::testing {

// A real etcd on loopback with mutual TLS in its own temp dir (certs made with
// live_bridge/certs.h: a CA, a server cert with IP SAN 127.0.0.1 and DNS
// localhost, and client certs "manager-0", "manager-1", "client"), free ports
// picked, waits until /v3/maintenance/status answers (timeout 20 s), killed
// (SIGKILL) and dir removed on destruction. Not thread-safe; one owner.
class EtcdServer {
 public:
  // Unavailable if /usr/bin/etcd is missing (tests then GTEST_SKIP with that
  // message) or if it does not come up (the message holds its log's tail).
  static absl::StatusOr<std::unique_ptr<EtcdServer>> Start();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  std::string endpoint() const;   // https://127.0.0.1:PORT
  std::string certs_dir() const;  // ca.crt, ca.key, NAME.crt/.key for the clients above
  // TlsFiles::InDir(certs_dir(), name).
  TlsFiles ClientTls(const std::string& name) const;
  // etcd's own output, for a failing test's diagnostics.
  std::string log_path() const;

  // SIGSTOP / SIGCONT: while paused etcd accepts connections (the kernel
  // does) but answers nothing, like a hung or partitioned server. Leases do
  // not expire while it is paused; they do right after Resume.
  absl::Status Pause();
  absl::Status Resume();

 private:
  EtcdServer() = default;
  absl::Status Launch();

  std::string dir_;
  int client_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace meshtwin::live::testing
