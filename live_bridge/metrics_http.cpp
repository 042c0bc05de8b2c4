#include "live_bridge/metrics_http.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "live_bridge/prometheus_text.h"

namespace meshtwin::live {

struct MetricsHttpServer::Impl {
  MetricsServerOptions options;
  MetricsRenderer render;
  std::mutex render_mutex;  // one scrape renders at a time
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listening_done{false};
  int port = 0;
  bool stopped = false;
};

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

int MetricsHttpServer::port() const { return impl_->port; }

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    MetricsServerOptions options, MetricsRenderer render) {
  if (!render) return absl::InvalidArgumentError("metrics server: no render callback");
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

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->render = std::move(render);
  Impl* self = impl.get();
  const std::size_t threads = static_cast<std::size_t>(self->options.threads);
  // httplib's default is SO_REUSEPORT, which lets a second agent bind the
  // same port and receive half of the scrapes. SO_REUSEADDR only: a restart
  // can rebind past TIME_WAIT, a second process gets "address in use".
  self->server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  self->server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  // One catch-all route, so that the served path is compared as a string
  // rather than used as a regular expression.
  self->server.Get(".*", [self](const httplib::Request& req, httplib::Response& res) {
    if (req.path != self->options.path) {
      res.status = 404;
      res.set_content("not found; metrics are at " + self->options.path + "\n", "text/plain");
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

  const std::string& host = self->options.bind_address;
  if (self->options.port == 0) {
    self->port = self->server.bind_to_any_port(host);
  } else if (self->server.bind_to_port(host, self->options.port)) {
    self->port = self->options.port;
  } else {
    self->port = -1;
  }
  if (self->port <= 0) {
    return absl::UnavailableError("metrics server: cannot listen on " + host + ":" +
                                  std::to_string(self->options.port));
  }

  self->thread = std::thread([self] {
    self->server.listen_after_bind();
    self->listening_done = true;
  });
  // The socket already listens (connections queue in its backlog); wait
  // until the accept loop runs, because httplib's stop() does nothing before.
  while (!self->server.is_running() && !self->listening_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

void MetricsHttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace meshtwin::live
