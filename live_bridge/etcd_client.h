// A small etcd v3 client for the manager's high availability: leases, reads,
// and the two transactions leader election needs (create-if-absent and the
// fenced create). It speaks etcd's JSON gateway (POST /v3/...) over mutual
// TLS only; cpp-httplib and the JSON stay inside etcd_client.cpp.
//
//   EtcdOptions options{.endpoint = "https://127.0.0.1:2379",
//                       .tls = TlsFiles::InDir("certs", "manager-0")};
//   MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> etcd, EtcdClient::Connect(options));
//   MESHTWIN_ASSIGN_OR_RETURN(std::int64_t lease, etcd->GrantLease(5));
//   MESHTWIN_ASSIGN_OR_RETURN(bool created, etcd->CreateIfAbsent("/meshtwin/leader", "m0", lease));
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

struct EtcdOptions {
  std::string endpoint;  // "https://127.0.0.1:2379"; https only, no path
  TlsFiles tls;          // our client cert/key + CA (mutual TLS; required)
  Seconds timeout = 2;   // per request: connecting, sending and waiting for the answer each
};

// One key as etcd stores it. Revisions are etcd's global revision counter.
struct EtcdKeyValue {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, lease = 0;
};

// Thread-safe: calls from several threads run concurrently, each on its own
// connection (idle connections are pooled and reused). Errors are etcd's own
// gRPC codes (NotFound, FailedPrecondition, ...) or Unavailable when etcd
// cannot be reached or does not answer within the timeout; every message
// names the endpoint and the call.
class EtcdClient {
 public:
  // Checks the TLS files (CheckTlsFiles) and the endpoint, then asks
  // /v3/maintenance/status so that a wrong address, a refused certificate or
  // a server we do not trust is one error here rather than on first use:
  // Unavailable naming the endpoint.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Connect(EtcdOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const std::string& endpoint() const;

  // A new lease of `ttl` seconds (rounded up to whole seconds, etcd's unit;
  // etcd may grant more than asked, never less). Returns its id.
  absl::StatusOr<std::int64_t> GrantLease(Seconds ttl);
  // Renews the lease and returns its TTL again, as etcd set it; NotFound once
  // the lease has expired or been revoked.
  absl::StatusOr<Seconds> KeepAlive(std::int64_t lease);
  // The same with this request's timeout instead of options.timeout: a
  // leader bounds each renewal by the time its leadership has left.
  absl::StatusOr<Seconds> KeepAlive(std::int64_t lease, Seconds timeout);
  // Seconds the lease has left, without renewing it; NotFound if it is gone.
  absl::StatusOr<Seconds> TimeToLive(std::int64_t lease);
  // Ends the lease now and deletes every key attached to it. NotFound if it
  // has already expired or been revoked.
  absl::Status Revoke(std::int64_t lease);
  // Revoke with this request's timeout instead of options.timeout.
  absl::Status Revoke(std::int64_t lease, Seconds timeout);

  // The key, or nullopt if it does not exist.
  absl::StatusOr<std::optional<EtcdKeyValue>> Get(const std::string& key);
  // Every key that starts with `prefix`, in key order ("" is every key).
  absl::StatusOr<std::vector<EtcdKeyValue>> GetPrefix(const std::string& prefix);
  // Sets the key whether or not it exists; returns the revision of the write.
  absl::StatusOr<std::int64_t> Put(const std::string& key, const std::string& value,
                                   std::int64_t lease = 0);
  // One transaction: create_revision(key) == 0 -> put. True if this call
  // created the key, false (no error) if it already existed.
  absl::StatusOr<bool> CreateIfAbsent(const std::string& key, const std::string& value,
                                      std::int64_t lease = 0);
  // CreateIfAbsent that says which revision created the key (its
  // create_revision: an election's fence), or 0 if it already existed.
  absl::StatusOr<std::int64_t> TryCreate(const std::string& key, const std::string& value,
                                         std::int64_t lease = 0);
  // The fence: create `key` only if `fence_key` still exists with
  // create_revision == fence AND `key` does not exist yet. True if created;
  // false (no error) if either compare fails. A deposed leader's writes fail
  // here even when it does not yet know it has been deposed.
  absl::StatusOr<bool> FencedCreate(const std::string& fence_key, std::int64_t fence,
                                    const std::string& key, const std::string& value);
  // Deletes the key; OK if it did not exist.
  absl::Status Delete(const std::string& key);

 private:
  class Impl;
  explicit EtcdClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
