// Mutual TLS for every gRPC endpoint of the live bridge. There is no plaintext
// path: a server requires and verifies a client certificate signed by the CA,
// and a channel presents one. Certificates and keys are read by gRPC's
// file-watching provider, so replacing the files rotates them without a
// restart; they are also checked here when loaded, so a bad file is one clear
// error naming it rather than a failed handshake later.
//
//   TlsOptions tls{.files = TlsFiles::InDir("certs", "manager")};
//   MESHTWIN_ASSIGN_OR_RETURN(auto creds, MakeServerCredentials(tls));
//   ... in a handler: std::string who = PeerIdentity(*context->auth_context());
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twin/status.h"

namespace grpc {
class AuthContext;
class Channel;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace meshtwin::live {

// The PEM files one peer needs.
struct TlsFiles {
  std::string ca_cert;  // the CA every peer's certificate must be signed by
  std::string cert;     // this peer's certificate
  std::string key;      // this peer's private key

  // The files `meshtwin certs init` writes for `name` in `dir`:
  // DIR/ca.crt, DIR/NAME.crt, DIR/NAME.key.
  static TlsFiles InDir(const std::string& dir, const std::string& name);
};

struct TlsOptions {
  TlsFiles files;
  // How often the files are re-read, seconds: a rotated certificate is in use
  // for new connections at most this long after it is written.
  unsigned refresh_interval_s = 60;
  // Channels only: the name the server's certificate must carry (a DNS or IP
  // SAN). Empty: the host part of the address dialled.
  std::string server_name;
};

// What one certificate says.
struct CertificateInfo {
  std::string subject_cn;
  std::string issuer_cn;
  std::string serial_hex;  // upper-case hex, no separators
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> uris;
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
};

// Parses the first certificate of a PEM text; `what` names it in errors
// (a file name, "the server's certificate").
absl::StatusOr<CertificateInfo> ParseCertificatePem(std::string_view pem, std::string_view what);
// Reads and parses a PEM certificate file.
absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path);

// OK if every file exists, is readable and holds what it should; the key
// matches the certificate; the certificate is signed by the CA; and both are
// valid at `now_unix` (0: the current time). Otherwise one error naming the
// file and what is wrong with it (InvalidArgument, NotFound for a missing file).
absl::Status CheckTlsFiles(const TlsFiles& files, std::int64_t now_unix = 0);

// Server credentials that require a client certificate and verify it against
// files.ca_cert. Checks the files first (CheckTlsFiles).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options);

// Channel credentials that present files.cert and verify the server against
// files.ca_cert. Checks the files first (CheckTlsFiles).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsOptions& options);

// A mutual-TLS channel to `address` ("host:port"). Each call makes its own
// connection (channels never share one), so a new channel sees the server's
// current certificate.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& address,
                                                           const TlsOptions& options);

// Who is at the other end of a call: the common name of its certificate, or
// its first URI or DNS subject alternative name when it has no CN. Empty when
// the peer presented no certificate.
std::string PeerIdentity(const grpc::AuthContext& context);

// The peer's certificate as PEM (empty if none): for tests and diagnostics.
std::string PeerCertificatePem(const grpc::AuthContext& context);

}  // namespace meshtwin::live
