#include "live_bridge/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "live_bridge/openssl_ptr.h"

namespace meshtwin::live {
namespace {

// The text of a file, or an error naming it.
absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view role) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(std::string(role) + " " + path + ": no such file");
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(std::string(role) + " " + path + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(std::string(role) + " " + path +
                                      ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(std::string(role) + " " + path + ": cannot read");
  }
  return text.str();
}

absl::StatusOr<X509Ptr> ParseCertificate(std::string_view pem, std::string_view what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) {
    return absl::InvalidArgumentError(std::string(what) + ": not a PEM certificate");
  }
  return cert;
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(std::string_view pem, std::string_view what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) {
    return absl::InvalidArgumentError(std::string(what) +
                                      ": not a PEM private key (or one protected by a password)");
  }
  return key;
}

std::string NameEntry(const X509_NAME* name, int nid) {
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::int64_t ToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string FormatUnix(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string IpText(const ASN1_OCTET_STRING* ip) {
  const unsigned char* p = ASN1_STRING_get0_data(ip);
  const int n = ASN1_STRING_length(ip);
  std::string out;
  if (n == 4) {
    for (int i = 0; i < 4; ++i) {
      if (i > 0) out += '.';
      out += std::to_string(p[i]);
    }
  } else if (n == 16) {
    char buf[8];
    for (int i = 0; i < 16; i += 2) {
      std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (p[i] << 8) | p[i + 1]);
      out += buf;
    }
  }
  return out;
}

CertificateInfo Describe(X509* cert) {
  CertificateInfo info;
  info.subject_cn = NameEntry(X509_get_subject_name(cert), NID_commonName);
  info.issuer_cn = NameEntry(X509_get_issuer_name(cert), NID_commonName);
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info.serial_hex = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  info.not_before_unix = ToUnix(X509_get0_notBefore(cert));
  info.not_after_unix = ToUnix(X509_get0_notAfter(cert));
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_DNS || name->type == GEN_URI) {
        const ASN1_IA5STRING* s =
            name->type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
        std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
        (name->type == GEN_DNS ? info.dns_names : info.uris).push_back(std::move(text));
      } else if (name->type == GEN_IPADD) {
        info.ip_addresses.push_back(IpText(name->d.iPAddress));
      }
    }
    GENERAL_NAMES_free(names);
  }
  return info;
}

// OK if `cert` (from `path`) is valid at `now`.
absl::Status CheckValidity(const CertificateInfo& info, const std::string& path, std::int64_t now) {
  if (now < info.not_before_unix) {
    return absl::InvalidArgumentError(path + ": certificate '" + info.subject_cn +
                                      "' is not valid before " + FormatUnix(info.not_before_unix));
  }
  if (now > info.not_after_unix) {
    return absl::InvalidArgumentError(path + ": certificate '" + info.subject_cn + "' expired at " +
                                      FormatUnix(info.not_after_unix));
  }
  return absl::OkStatus();
}

}  // namespace

TlsFiles TlsFiles::InDir(const std::string& dir, const std::string& name) {
  const std::filesystem::path d(dir);
  return TlsFiles{(d / "ca.crt").string(), (d / (name + ".crt")).string(),
                  (d / (name + ".key")).string()};
}

absl::StatusOr<CertificateInfo> ParseCertificatePem(std::string_view pem, std::string_view what) {
  MESHTWIN_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(pem, what));
  return Describe(cert.get());
}

absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path) {
  MESHTWIN_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, "certificate"));
  return ParseCertificatePem(pem, path);
}

absl::Status CheckTlsFiles(const TlsFiles& files, std::int64_t now_unix) {
  if (files.ca_cert.empty() || files.cert.empty() || files.key.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs a CA certificate, a certificate and a key; got ca='" + files.ca_cert +
        "' cert='" + files.cert + "' key='" + files.key + "'");
  }
  const std::int64_t now = now_unix != 0 ? now_unix : static_cast<std::int64_t>(std::time(nullptr));
  MESHTWIN_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(files.ca_cert, "CA certificate"));
  MESHTWIN_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(files.cert, "certificate"));
  MESHTWIN_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(files.key, "private key"));
  MESHTWIN_ASSIGN_OR_RETURN(X509Ptr ca, ParseCertificate(ca_pem, files.ca_cert));
  MESHTWIN_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(cert_pem, files.cert));
  MESHTWIN_ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(key_pem, files.key));

  const CertificateInfo ca_info = Describe(ca.get());
  const CertificateInfo cert_info = Describe(cert.get());
  if (X509_check_ca(ca.get()) == 0) {
    return absl::InvalidArgumentError(files.ca_cert + ": certificate '" + ca_info.subject_cn +
                                      "' is not a CA certificate");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(files.key + ": private key does not match certificate " +
                                      files.cert + " ('" + cert_info.subject_cn + "')");
  }
  PkeyPtr ca_public(X509_get_pubkey(ca.get()));
  if (!ca_public || X509_verify(cert.get(), ca_public.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(files.cert + ": certificate '" + cert_info.subject_cn +
                                      "' is not signed by the CA in " + files.ca_cert + " ('" +
                                      ca_info.subject_cn + "')");
  }
  MESHTWIN_RETURN_IF_ERROR(CheckValidity(ca_info, files.ca_cert, now));
  MESHTWIN_RETURN_IF_ERROR(CheckValidity(cert_info, files.cert, now));
  return absl::OkStatus();
}

namespace {

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> MakeProvider(
    const TlsOptions& options) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.files.key, options.files.cert, options.files.ca_cert,
      options.refresh_interval_s == 0 ? 1 : options.refresh_interval_s);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options) {
  MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(options.files));
  grpc::experimental::TlsServerCredentialsOptions tls(MakeProvider(options));
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::experimental::TlsServerCredentials(tls);
  if (!creds) return absl::InternalError("gRPC refused the TLS server credentials");
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsOptions& options) {
  MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(options.files));
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(MakeProvider(options));
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  tls.set_verify_server_certs(true);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::experimental::TlsCredentials(tls);
  if (!creds) return absl::InternalError("gRPC refused the TLS channel credentials");
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& address,
                                                           const TlsOptions& options) {
  if (address.empty()) return absl::InvalidArgumentError("empty server address");
  MESHTWIN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                            MakeChannelCredentials(options));
  grpc::ChannelArguments args;
  // A private subchannel pool: a new channel makes a new connection (and a new
  // handshake) instead of reusing another channel's.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
  return grpc::CreateCustomChannel(address, creds, args);
}

std::string PeerIdentity(const grpc::AuthContext& context) {
  for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : context.FindPropertyValues(property)) {
      if (value.size() > 0) return std::string(value.data(), value.size());
    }
  }
  return "";
}

std::string PeerCertificatePem(const grpc::AuthContext& context) {
  for (const grpc::string_ref& value :
       context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
    return std::string(value.data(), value.size());
  }
  return "";
}

}  // namespace meshtwin::live
