#include "live_bridge/certs.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>

#include "live_bridge/openssl_ptr.h"

namespace meshtwin::live {
namespace {

constexpr std::int64_t kDay = 24 * 3600;

// The last OpenSSL error as text, after `what`.
absl::Status OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  return absl::InternalError(what + ": " + text);
}

absl::StatusOr<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("cannot make an EC P-256 key");
  return key;
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError("bad certificate extension '" + value + "'");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return OpenSslError("cannot add certificate extension '" + value + "'");
  return absl::OkStatus();
}

absl::Status SetName(X509_NAME* name, const std::string& cn, const std::string& ou) {
  auto add = [&](const char* field, const std::string& value) {
    return value.empty() ||
           X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                      0) == 1;
  };
  if (!add("O", "meshtwin") || !add("OU", ou) || !add("CN", cn)) {
    return OpenSslError("bad certificate name '" + cn + "'");
  }
  return absl::OkStatus();
}

// A certificate for `key` named by `spec`, not yet extended or signed; its
// issuer is `issuer` (itself when null).
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, const CertificateSpec& spec, X509* issuer) {
  if (spec.common_name.empty()) return absl::InvalidArgumentError("certificate without a name");
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return OpenSslError("X509_new");
  // A random 127-bit positive serial: unique without a serial database.
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("cannot make a serial number");
  }
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const std::int64_t not_before = spec.not_before_unix != 0 ? spec.not_before_unix : now - 3600;
  const std::int64_t not_after =
      spec.not_after_unix != 0 ? spec.not_after_unix : not_before + 365 * kDay;
  if (not_after <= not_before) {
    return absl::InvalidArgumentError("certificate '" + spec.common_name +
                                      "': not_after must be later than not_before");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<std::time_t>(not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<std::time_t>(not_after)) ==
          nullptr) {
    return OpenSslError("cannot set the validity of '" + spec.common_name + "'");
  }
  MESHTWIN_RETURN_IF_ERROR(
      SetName(X509_get_subject_name(cert.get()), spec.common_name, spec.organizational_unit));
  X509_NAME* issuer_name =
      issuer != nullptr ? X509_get_subject_name(issuer) : X509_get_subject_name(cert.get());
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("cannot make the certificate of '" + spec.common_name + "'");
  }
  return cert;
}

absl::StatusOr<std::pair<PkeyPtr, X509Ptr>> ParsePair(const KeyAndCertificate& pair) {
  BioPtr key_bio(BIO_new_mem_buf(pair.key_pem.data(), static_cast<int>(pair.key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  BioPtr cert_bio(BIO_new_mem_buf(pair.cert_pem.data(), static_cast<int>(pair.cert_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key || !cert) return absl::InvalidArgumentError("the CA's key or certificate is not PEM");
  return std::make_pair(std::move(key), std::move(cert));
}

// Writes `text` to `path` through a temporary created with `mode`, flushed and
// renamed into place. (datasets/atomic_file.h does the same without a mode: a
// key must never exist, even as a temporary, with wider permissions.)
absl::Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::InvalidArgumentError(path + ": cannot create " + temp + ": " +
                                      std::strerror(errno));
  }
  absl::Status status;
  std::size_t done = 0;
  while (status.ok() && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) status = absl::InternalError(path + ": cannot write: " + std::strerror(errno));
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  // fchmod: an existing temporary keeps its old mode through O_CREAT.
  if (status.ok() && (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0)) {
    status = absl::InternalError(path + ": cannot sync: " + std::strerror(errno));
  }
  ::close(fd);
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    status = absl::InternalError(path + ": cannot rename " + temp +
                                 " into place: " + std::strerror(errno));
  }
  if (!status.ok()) ::unlink(temp.c_str());
  return status;
}

}  // namespace

absl::StatusOr<KeyAndCertificate> MakeCertificateAuthority(const std::string& common_name,
                                                           std::int64_t not_before_unix,
                                                           std::int64_t not_after_unix) {
  MESHTWIN_ASSIGN_OR_RETURN(PkeyPtr key, NewKey());
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.organizational_unit = "ca";
  spec.not_before_unix = not_before_unix;
  spec.not_after_unix = not_after_unix;
  MESHTWIN_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(key.get(), spec, nullptr));
  MESHTWIN_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  MESHTWIN_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  MESHTWIN_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return OpenSslError("cannot sign the CA certificate");
  }
  return KeyAndCertificate{ToPem(key.get()), ToPem(cert.get())};
}

absl::StatusOr<KeyAndCertificate> IssueCertificate(const KeyAndCertificate& ca,
                                                   const CertificateSpec& spec) {
  MESHTWIN_ASSIGN_OR_RETURN(auto ca_pair, ParsePair(ca));
  auto& [ca_key, ca_cert] = ca_pair;
  MESHTWIN_ASSIGN_OR_RETURN(PkeyPtr key, NewKey());
  MESHTWIN_ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(key.get(), spec, ca_cert.get()));
  X509* c = cert.get();
  MESHTWIN_RETURN_IF_ERROR(
      AddExtension(c, ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  MESHTWIN_RETURN_IF_ERROR(
      AddExtension(c, ca_cert.get(), NID_key_usage, "critical,digitalSignature"));
  std::string usage;
  if (spec.server) usage += "serverAuth";
  if (spec.client) usage += std::string(usage.empty() ? "" : ",") + "clientAuth";
  if (!usage.empty()) {
    MESHTWIN_RETURN_IF_ERROR(AddExtension(c, ca_cert.get(), NID_ext_key_usage, usage));
  }
  std::string san;
  for (const std::string& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const std::string& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) {
    MESHTWIN_RETURN_IF_ERROR(AddExtension(c, ca_cert.get(), NID_subject_alt_name, san));
  }
  MESHTWIN_RETURN_IF_ERROR(AddExtension(c, ca_cert.get(), NID_subject_key_identifier, "hash"));
  MESHTWIN_RETURN_IF_ERROR(
      AddExtension(c, ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(c, ca_key.get(), EVP_sha256()) == 0) {
    return OpenSslError("cannot sign the certificate of '" + spec.common_name + "'");
  }
  return KeyAndCertificate{ToPem(key.get()), ToPem(c)};
}

absl::StatusOr<std::vector<std::string>> WriteKeyAndCertificate(const std::string& dir,
                                                                const std::string& name,
                                                                const KeyAndCertificate& pair) {
  const std::filesystem::path d(dir);
  std::vector<std::string> written;
  if (!pair.key_pem.empty()) {
    const std::string key_path = (d / (name + ".key")).string();
    MESHTWIN_RETURN_IF_ERROR(WriteFileAtomically(key_path, pair.key_pem, 0600));
    written.push_back(key_path);
  }
  const std::string cert_path = (d / (name + ".crt")).string();
  MESHTWIN_RETURN_IF_ERROR(WriteFileAtomically(cert_path, pair.cert_pem, 0644));
  written.push_back(cert_path);
  return written;
}

absl::StatusOr<CertsInitReport> InitCertsDir(const CertsInitOptions& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("--dir: must not be empty");
  if (options.nodes < 0 || options.nodes > 100000) {
    return absl::InvalidArgumentError("--nodes " + std::to_string(options.nodes) +
                                      ": must be between 0 and 100,000");
  }
  if (options.days < 1 || options.days > 36500) {
    return absl::InvalidArgumentError("--days " + std::to_string(options.days) +
                                      ": must be between 1 and 36,500");
  }
  const std::filesystem::path dir(options.dir);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError("--dir " + options.dir + ": exists and is not a directory");
  }
  const std::filesystem::path parent =
      dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(parent, ec)) {
    return absl::InvalidArgumentError("--dir " + options.dir + ": directory '" + parent.string() +
                                      "' does not exist");
  }

  // Names first, so an existing file is refused before any key is made.
  std::vector<std::string> names = {"manager", "client"};
  for (int i = 0; i < options.nodes; ++i) names.push_back("agent-" + std::to_string(i));
  if (!options.force) {
    std::vector<std::string> files = {"ca.crt", "ca.key"};
    for (const std::string& name : names) {
      files.push_back(name + ".crt");
      files.push_back(name + ".key");
    }
    for (const std::string& file : files) {
      if (std::filesystem::exists(dir / file, ec)) {
        return absl::InvalidArgumentError((dir / file).string() +
                                          ": exists; refusing to overwrite (use --force)");
      }
    }
  }

  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const std::int64_t not_before = now - 3600;
  const std::int64_t not_after = now + options.days * kDay;
  MESHTWIN_ASSIGN_OR_RETURN(
      KeyAndCertificate ca,
      MakeCertificateAuthority("meshtwin development CA", not_before, not_after));
  std::vector<std::pair<std::string, KeyAndCertificate>> issued;
  for (const std::string& name : names) {
    CertificateSpec spec;
    spec.common_name = name;
    spec.not_before_unix = not_before;
    spec.not_after_unix = not_after;
    if (name == "client") {
      spec.organizational_unit = "client";
      spec.server = false;
    } else {
      // Managers and agents both serve (agents: the DHT, /metrics) and call.
      spec.organizational_unit = name == "manager" ? "manager" : "agent";
      spec.dns_names = {name, "localhost"};
      spec.ip_addresses = {"127.0.0.1", "::1"};
    }
    MESHTWIN_ASSIGN_OR_RETURN(KeyAndCertificate pair, IssueCertificate(ca, spec));
    issued.emplace_back(name, std::move(pair));
  }

  if (!std::filesystem::exists(dir, ec)) {
    if (::mkdir(options.dir.c_str(), 0700) != 0) {
      return absl::InvalidArgumentError("--dir " + options.dir +
                                        ": cannot create: " + std::strerror(errno));
    }
  }
  CertsInitReport report;
  MESHTWIN_ASSIGN_OR_RETURN(report.written, WriteKeyAndCertificate(options.dir, "ca", ca));
  for (const auto& [name, pair] : issued) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                              WriteKeyAndCertificate(options.dir, name, pair));
    report.written.insert(report.written.end(), paths.begin(), paths.end());
  }
  return report;
}

}  // namespace meshtwin::live
