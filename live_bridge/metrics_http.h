// A small HTTP server for Prometheus to scrape: GET /metrics answers with
// whatever the render callback returns, in the text exposition format; every
// other path is a 404. cpp-httplib stays inside metrics_http.cpp.
//
//   auto server = MetricsHttpServer::Start({.port = 0}, [&]() -> absl::StatusOr<std::string> {
//     ExpositionWriter w;
//     MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_up", "1 while the agent runs.", {}, 1));
//     return w.Render();
//   });
//   if (!server.ok()) return server.status();
//   spdlog::info("metrics on port {}", (*server)->port());
//   ...
//   (*server)->Stop();  // or let it go out of scope
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "twin/status.h"

namespace meshtwin::live {

struct MetricsServerOptions {
  std::string bind_address = "127.0.0.1";  // "0.0.0.0" (or "::") to be scraped from elsewhere
  int port = 9464;                         // 0: an ephemeral port, see MetricsHttpServer::port()
  std::string path = "/metrics";           // the one path served
  int threads = 2;                         // request handler threads (>= 1)
};

// Renders the current metrics for one scrape. An error becomes a 500 with
// the status message as the body.
using MetricsRenderer = std::function<absl::StatusOr<std::string>()>;

// Serves options.path from a background thread from Start() until Stop() or
// destruction. The renderer is never called concurrently with itself (the
// server serialises scrapes), but it runs on the server's threads: what it
// reads must be safe to read from there. Start, port and Stop are for one
// owning thread.
class MetricsHttpServer {
 public:
  // Binds and starts listening before it returns: a scrape right after
  // Start() succeeds. Unavailable if the address cannot be bound (port in
  // use, unknown address); InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(MetricsServerOptions options,
                                                                  MetricsRenderer render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port bound (the ephemeral one when options.port was 0).
  int port() const;
  // Stops accepting, finishes the requests in flight and joins the threads.
  // Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
