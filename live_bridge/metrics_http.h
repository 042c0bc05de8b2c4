// The live bridge's HTTP endpoints: GET /metrics for Prometheus to scrape
// (whatever the render callback returns, in the text exposition format) and
// any extra routes a caller adds (the manager's events webhook, say). Every
// other path is a 404. With `tls` set it is HTTPS with mutual TLS: a client
// must present a certificate signed by the bridge's CA. cpp-httplib and
// OpenSSL stay inside metrics_http.cpp.
//
//   MetricsServerOptions options{.port = 0, .tls = TlsFiles::InDir("certs", "manager")};
//   options.routes.push_back(intake->WebhookRoute("/events"));
//   auto server = MetricsHttpServer::Start(options, [&]() -> absl::StatusOr<std::string> {
//     ExpositionWriter w;
//     MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_up", "1 while the agent runs.", {}, 1));
//     return w.Render();
//   });
//   if (!server.ok()) return server.status();
//   spdlog::info("metrics on port {}", (*server)->port());
//   ...
//   (*server)->Stop();  // or let it go out of scope
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

// What a route handler sees of one request. The views are valid only during
// the call.
struct HttpRequestView {
  std::string_view body;
  std::string_view content_type;  // as the client sent it; "" if none
  // The common name of the client's certificate over mutual TLS; "" over
  // plain HTTP (which only tests use).
  std::string peer_identity;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// One extra endpoint. The path is matched exactly (no patterns); a query
// string does not take part.
struct HttpRoute {
  std::string method;  // "GET" or "POST"
  std::string path;    // starts with '/'
  // Called on the server's threads, possibly several at once: it must be
  // thread-safe.
  std::function<HttpReply(const HttpRequestView&)> handler;
};

struct MetricsServerOptions {
  std::string bind_address = "127.0.0.1";  // "0.0.0.0" (or "::") to be scraped from elsewhere
  int port = 9464;                         // 0: an ephemeral port, see MetricsHttpServer::port()
  std::string path = "/metrics";           // where the metrics are served (GET)
  int threads = 2;                         // request handler threads (>= 1)
  // Set: HTTPS that requires and verifies a client certificate signed by
  // tls->ca_cert, served with tls->cert and tls->key (checked first with
  // CheckTlsFiles). The live bridge's commands always set it; unset (plain
  // HTTP) remains for unit tests and callers that predate it. Rotated files
  // are picked up without a restart (tls_refresh).
  std::optional<TlsFiles> tls;
  // With tls: how often (at most) a handshake checks whether the files
  // changed; a new consistent set is used from then on, without a restart.
  Seconds tls_refresh = 60;
  std::vector<HttpRoute> routes;         // extra endpoints besides `path`
  std::size_t max_body_bytes = 1 << 20;  // larger request bodies are refused (413)
};

// Renders the current metrics for one scrape. An error becomes a 500 with
// the status message as the body.
using MetricsRenderer = std::function<absl::StatusOr<std::string>()>;

// Serves options.path and options.routes from background threads from
// Start() until Stop() or destruction. The renderer is never called
// concurrently with itself (the server serialises scrapes), but it runs on the
// server's threads: what it reads must be safe to read from there. Route
// handlers are not serialised. Start, port and Stop are for one owning thread.
class MetricsHttpServer {
 public:
  // Binds and starts listening before it returns: a scrape right after
  // Start() succeeds. Unavailable if the address cannot be bound (port in
  // use, unknown address); InvalidArgument for bad options (naming the field)
  // and for bad TLS files (naming the file; NotFound for a missing one).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(MetricsServerOptions options,
                                                                  MetricsRenderer render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port bound (the ephemeral one when options.port was 0).
  int port() const;
  // True when serving HTTPS with mutual TLS.
  bool tls() const;
  // Stops accepting, finishes the requests in flight and joins the threads.
  // Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
