// A gRPC server that speaks mutual TLS only: the bridge's services (the agent
// registry, the DHT, watch and events) are added to it and it serves them on
// one address. There is no way to start it without certificates.
//
//   LiveServer server({.address = "127.0.0.1:0", .tls = {.files = TlsFiles::InDir(d, "manager")}});
//   server.AddService(registry.service());
//   MESHTWIN_RETURN_IF_ERROR(server.Start());   // server.port(): the bound port
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace meshtwin::live {

struct LiveServerOptions {
  std::string address = "127.0.0.1:0";  // host:port; port 0 picks a free one
  TlsOptions tls;                       // this server's certificate, key and CA
};

// Not thread-safe: one owner adds services, starts and shuts down; the
// services themselves are called on gRPC's threads.
class LiveServer {
 public:
  explicit LiveServer(LiveServerOptions options);
  ~LiveServer();  // shuts down (without grace) if still running
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;

  // Adds a service before Start. Not owned: it must outlive the server.
  void AddService(grpc::Service* service);

  // Checks the TLS files, binds and starts serving. InvalidArgument or
  // NotFound for a bad certificate file, Unavailable if the address cannot be
  // bound.
  absl::Status Start();

  // The bound port (after Start).
  int port() const { return port_; }

  // Stops taking calls; calls in flight get `grace` seconds to finish, then
  // are cancelled.
  void Shutdown(Seconds grace = 5);

 private:
  LiveServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace meshtwin::live
