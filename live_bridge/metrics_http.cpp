#include "live_bridge/metrics_http.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
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

// Server side of mutual TLS on an httplib context. httplib's own
// file-path constructor would also verify clients, but it allows TLS 1.1 and
// reports no reason when a file is refused; this keeps the floor at TLS 1.2
// (as gRPC's) and keeps the reason for the error message.
bool SetUpMutualTls(SSL_CTX& ctx, const TlsFiles& files, std::string* error) {
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
    auto server = std::make_unique<httplib::SSLServer>(
        [&](SSL_CTX& ctx) { return SetUpMutualTls(ctx, files, &error); });
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
