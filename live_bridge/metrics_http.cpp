#include "live_bridge/metrics_http.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "live_bridge/prometheus_text.h"

namespace meshtwin::live {
namespace {

// The oldest error OpenSSL queued (the root cause), and clears the queue.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Certificate rotation without a restart, as gRPC's file-watching provider
// does for the bridge's gRPC servers: at most every `refresh` seconds a
// handshake looks at the files' modification times; when they changed and
// the new set passes CheckTlsFiles (key matches, signed by the CA, valid
// now), later handshakes present the new certificate and verify clients
// against the new CA. A half-written or inconsistent set is logged and the
// previous one kept.
class RotatingTls {
 public:
  RotatingTls(TlsFiles files, Seconds refresh) : files_(std::move(files)), refresh_(refresh) {}
  ~RotatingTls() { Release(); }
  RotatingTls(const RotatingTls&) = delete;
  RotatingTls& operator=(const RotatingTls&) = delete;

  absl::Status Load() {
    std::lock_guard lock(mu_);
    return LoadLocked();
  }

  // SSL_CTX_set_cert_cb: installs the current set on this connection.
  static int OnHandshake(SSL* ssl, void* arg) {
    return static_cast<RotatingTls*>(arg)->Install(ssl) ? 1 : 0;
  }

 private:
  using Stamp = std::filesystem::file_time_type;

  std::vector<Stamp> Stamps() const {
    std::vector<Stamp> out;
    for (const std::string* f : {&files_.cert, &files_.key, &files_.ca_cert}) {
      std::error_code ec;
      out.push_back(std::filesystem::last_write_time(*f, ec));
    }
    return out;
  }

  absl::Status LoadLocked() {
    MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(files_));
    const std::vector<Stamp> stamps = Stamps();
    X509* cert = nullptr;
    STACK_OF(X509)* chain = sk_X509_new_null();
    EVP_PKEY* key = nullptr;
    X509_STORE* store = X509_STORE_new();
    bool ok = chain != nullptr && store != nullptr;
    if (ok) {
      BIO* bio = BIO_new_file(files_.cert.c_str(), "r");
      ok = bio != nullptr && (cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) != nullptr;
      while (ok) {  // the rest of the file: intermediate certificates
        X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        if (extra == nullptr) break;
        sk_X509_push(chain, extra);
      }
      ERR_clear_error();  // the end of the file reads as an error
      BIO_free(bio);
    }
    if (ok) {
      BIO* bio = BIO_new_file(files_.key.c_str(), "r");
      ok = bio != nullptr &&
           (key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)) != nullptr;
      BIO_free(bio);
    }
    ok = ok && X509_STORE_load_file(store, files_.ca_cert.c_str()) == 1;
    if (!ok) {
      const std::string why = OpenSslError();
      X509_free(cert);
      sk_X509_pop_free(chain, X509_free);
      EVP_PKEY_free(key);
      X509_STORE_free(store);
      return absl::InvalidArgumentError("metrics server: TLS files " + files_.cert + ", " +
                                        files_.key + ", " + files_.ca_cert + ": " + why);
    }
    Release();
    cert_ = cert;
    chain_ = chain;
    key_ = key;
    store_ = store;
    stamps_ = stamps;
    return absl::OkStatus();
  }

  bool Install(SSL* ssl) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_check_ >= std::chrono::duration<double>(refresh_)) {
      last_check_ = now;
      if (Stamps() != stamps_) {
        if (absl::Status st = LoadLocked(); !st.ok()) {
          spdlog::warn("{}; keeping the certificates in use", ErrorText(st));
          stamps_ = Stamps();  // not again until they change once more
        } else {
          spdlog::info("metrics server: certificate {} reloaded", files_.cert);
        }
      }
    }
    return SSL_use_certificate(ssl, cert_) == 1 && SSL_set1_chain(ssl, chain_) == 1 &&
           SSL_use_PrivateKey(ssl, key_) == 1 && SSL_set1_verify_cert_store(ssl, store_) == 1;
  }

  void Release() {
    X509_free(cert_);
    sk_X509_pop_free(chain_, X509_free);
    EVP_PKEY_free(key_);
    X509_STORE_free(store_);
    cert_ = nullptr;
    chain_ = nullptr;
    key_ = nullptr;
    store_ = nullptr;
  }

  const TlsFiles files_;
  const Seconds refresh_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_check_ = std::chrono::steady_clock::now();
  std::vector<Stamp> stamps_;
  X509* cert_ = nullptr;
  STACK_OF(X509) * chain_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  X509_STORE* store_ = nullptr;
};

// Server side of mutual TLS on an httplib context. httplib's own
// file-path constructor would also verify clients, but it allows TLS 1.1 and
// reports no reason when a file is refused; this keeps the floor at TLS 1.2
// (as gRPC's) and keeps the reason for the error message.
bool SetUpMutualTls(SSL_CTX& ctx, const TlsFiles& files, RotatingTls* rotating,
                    std::string* error) {
  auto fail = [&](const std::string& what) {
    *error = what + ": " + OpenSslError();
    return false;
  };
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) {
    return fail("cannot require TLS 1.2 or later");
  }
  if (SSL_CTX_use_certificate_chain_file(&ctx, files.cert.c_str()) != 1) {
    return fail(files.cert + ": cannot use the certificate");
  }
  if (SSL_CTX_use_PrivateKey_file(&ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1) {
    return fail(files.key + ": cannot use the private key");
  }
  if (SSL_CTX_load_verify_locations(&ctx, files.ca_cert.c_str(), nullptr) != 1) {
    return fail(files.ca_cert + ": cannot use the CA certificate");
  }
  // The CA names sent in the CertificateRequest let a client with several
  // certificates pick the right one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_cert.c_str());
  if (names == nullptr) return fail(files.ca_cert + ": cannot read the CA's name");
  SSL_CTX_set_client_CA_list(&ctx, names);  // takes ownership
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // Each handshake then takes the newest certificate, key and CA.
  SSL_CTX_set_cert_cb(&ctx, &RotatingTls::OnHandshake, rotating);
  return true;
}

// The common name of the verified client certificate; "" over plain HTTP.
std::string PeerCommonName(const httplib::Request& req) {
  if (req.ssl == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(req.ssl);
  if (cert == nullptr) return "";
  char cn[256] = {};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                          static_cast<int>(sizeof cn));
  X509_free(cert);
  return n > 0 ? std::string(cn, static_cast<std::size_t>(n)) : std::string();
}

absl::Status CheckOptions(const MetricsServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError("metrics server: port " + std::to_string(options.port) +
                                      " is not in 0..65535");
  }
  if (options.threads < 1) {
    return absl::InvalidArgumentError("metrics server: threads must be >= 1");
  }
  if (options.path.empty() || options.path[0] != '/') {
    return absl::InvalidArgumentError("metrics server: path '" + options.path +
                                      "' must start with '/'");
  }
  if (options.max_body_bytes == 0) {
    return absl::InvalidArgumentError("metrics server: max_body_bytes must be > 0");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < options.routes.size(); ++i) {
    const HttpRoute& r = options.routes[i];
    const std::string field = "metrics server: routes[" + std::to_string(i) + "]";
    if (r.method != "GET" && r.method != "POST") {
      return absl::InvalidArgumentError(field + ".method: expected \"GET\" or \"POST\", got '" +
                                        r.method + "'");
    }
    if (r.path.empty() || r.path[0] != '/') {
      return absl::InvalidArgumentError(field + ".path: '" + r.path + "' must start with '/'");
    }
    if (!r.handler) return absl::InvalidArgumentError(field + ".handler: not set");
    if ((r.method == "GET" && r.path == options.path) || !seen.emplace(r.method, r.path).second) {
      return absl::InvalidArgumentError(field + ": " + r.method + " " + r.path +
                                        " is already served");
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct MetricsHttpServer::Impl {
  MetricsServerOptions options;
  MetricsRenderer render;
  std::mutex render_mutex;  // one scrape renders at a time
  std::unique_ptr<RotatingTls>
      rotating;  // before server: handshakes use it until the server is gone
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> listening_done{false};
  int port = 0;
  bool stopped = false;

  const HttpRoute* FindRoute(const std::string& method, const std::string& path) const {
    for (const HttpRoute& r : options.routes) {
      if (r.method == method && r.path == path) return &r;
    }
    return nullptr;
  }

  // Everything but the metrics path: a route, a 405 for a path served under
  // the other method, or a 404.
  void Dispatch(const std::string& method, const httplib::Request& req,
                httplib::Response& res) const {
    if (const HttpRoute* route = FindRoute(method, req.path)) {
      const std::string content_type = req.get_header_value("Content-Type");
      HttpReply reply = route->handler({req.body, content_type, PeerCommonName(req)});
      res.status = reply.status;
      res.set_content(reply.body, reply.content_type);
      return;
    }
    const std::string other = method == "GET" ? "POST" : "GET";
    if (FindRoute(other, req.path) != nullptr || (other == "GET" && req.path == options.path)) {
      res.status = 405;
      res.set_header("Allow", other);
      res.set_content(req.path + " takes " + other + " only\n", "text/plain");
      return;
    }
    res.status = 404;
    res.set_content("not found; metrics are at " + options.path + "\n", "text/plain");
  }
};

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

int MetricsHttpServer::port() const { return impl_->port; }

bool MetricsHttpServer::tls() const { return impl_->options.tls.has_value(); }

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    MetricsServerOptions options, MetricsRenderer render) {
  if (!render) return absl::InvalidArgumentError("metrics server: no render callback");
  MESHTWIN_RETURN_IF_ERROR(CheckOptions(options));

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->render = std::move(render);
  Impl* self = impl.get();
  if (self->options.tls) {
    // Bad files are one clear error naming the file, not a handshake that
    // fails later for every client.
    MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(*self->options.tls));
    std::string error;
    const TlsFiles files = *self->options.tls;
    self->rotating = std::make_unique<RotatingTls>(files, self->options.tls_refresh);
    MESHTWIN_RETURN_IF_ERROR(self->rotating->Load());
    auto server = std::make_unique<httplib::SSLServer>(
        [&](SSL_CTX& ctx) { return SetUpMutualTls(ctx, files, self->rotating.get(), &error); });
    if (!server->is_valid()) {
      return absl::InvalidArgumentError("metrics server: TLS: " +
                                        (error.empty() ? "cannot make an OpenSSL context" : error));
    }
    self->server = std::move(server);
  } else {
    self->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *self->server;
  const std::size_t threads = static_cast<std::size_t>(self->options.threads);
  // httplib's default is SO_REUSEPORT, which lets a second agent bind the
  // same port and receive half of the scrapes. SO_REUSEADDR only: a restart
  // can rebind past TIME_WAIT, a second process gets "address in use".
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(self->options.max_body_bytes);

  // Catch-all routes, so that paths are compared as strings rather than
  // used as regular expressions.
  server.Get(".*", [self](const httplib::Request& req, httplib::Response& res) {
    if (req.path != self->options.path) {
      self->Dispatch("GET", req, res);
      return;
    }
    absl::StatusOr<std::string> body;
    {
      std::lock_guard<std::mutex> lock(self->render_mutex);
      body = self->render();
    }
    if (!body.ok()) {
      res.status = 500;
      res.set_content("rendering metrics failed: " + ErrorText(body.status()) + "\n", "text/plain");
      return;
    }
    res.status = 200;
    res.set_content(*std::move(body), kExpositionContentType);
  });
  server.Post(".*", [self](const httplib::Request& req, httplib::Response& res) {
    self->Dispatch("POST", req, res);
  });

  const std::string& host = self->options.bind_address;
  if (self->options.port == 0) {
    self->port = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, self->options.port)) {
    self->port = self->options.port;
  } else {
    self->port = -1;
  }
  if (self->port <= 0) {
    return absl::UnavailableError("metrics server: cannot listen on " + host + ":" +
                                  std::to_string(self->options.port));
  }

  self->thread = std::thread([self] {
    self->server->listen_after_bind();
    self->listening_done = true;
  });
  // The socket already listens (connections queue in its backlog); wait
  // until the accept loop runs, because httplib's stop() does nothing before.
  while (!server.is_running() && !self->listening_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

void MetricsHttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace meshtwin::live
