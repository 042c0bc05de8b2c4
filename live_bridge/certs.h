// A development certificate authority for the live bridge, made with the
// OpenSSL library: `meshtwin certs init` writes a CA, a `manager` certificate,
// `agent-0` .. `agent-N-1` certificates and a `client` certificate for tools.
// Tests use the same functions to make expired certificates and foreign CAs.
//
//   absl::StatusOr<CertsInitReport> r = InitCertsDir({.dir = "certs", .nodes = 3});
//   // certs/ca.crt, certs/manager.{crt,key}, certs/agent-0.{crt,key}, ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "twin/status.h"

namespace meshtwin::live {

// A private key and its certificate, both PEM.
struct KeyAndCertificate {
  std::string key_pem;
  std::string cert_pem;
};

// What to put in a certificate. EC P-256 keys, SHA-256 signatures, X.509 v3.
struct CertificateSpec {
  std::string common_name;                // the peer's identity (a node id for agents)
  std::string organizational_unit;        // "ca", "manager", "agent", "client"
  std::vector<std::string> dns_names;     // subject alternative names
  std::vector<std::string> ip_addresses;  // "127.0.0.1", "::1"
  bool server = true;                     // extended key usage serverAuth
  bool client = true;                     // extended key usage clientAuth
  std::int64_t not_before_unix = 0;       // 0: an hour ago (clock skew)
  std::int64_t not_after_unix = 0;        // 0: not_before + 365 days
};

// A new self-signed CA (basicConstraints CA:TRUE, keyCertSign).
absl::StatusOr<KeyAndCertificate> MakeCertificateAuthority(const std::string& common_name,
                                                           std::int64_t not_before_unix = 0,
                                                           std::int64_t not_after_unix = 0);

// A new key and a certificate for it, signed by `ca`.
absl::StatusOr<KeyAndCertificate> IssueCertificate(const KeyAndCertificate& ca,
                                                   const CertificateSpec& spec);

// Writes DIR/NAME.crt (0644) and, unless key_pem is empty, DIR/NAME.key (0600),
// each atomically. Returns the paths written.
absl::StatusOr<std::vector<std::string>> WriteKeyAndCertificate(const std::string& dir,
                                                                const std::string& name,
                                                                const KeyAndCertificate& pair);

struct CertsInitOptions {
  std::string dir;     // created (mode 0700) if missing; its parent must exist
  int nodes = 3;       // agent-0 .. agent-(nodes-1)
  int days = 365;      // validity of every certificate
  bool force = false;  // replace existing files
};

struct CertsInitReport {
  std::vector<std::string> written;  // every path, in the order written
};

// Makes the CA and every certificate in memory, then writes them all. Refuses
// (InvalidArgument naming the file) to replace an existing file unless
// `force`; bad options, an unusable directory or an existing file are
// refused before anything is written.
absl::StatusOr<CertsInitReport> InitCertsDir(const CertsInitOptions& options);

}  // namespace meshtwin::live
