#include "live_bridge/tls_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

namespace meshtwin::live {

LiveServer::LiveServer(LiveServerOptions options) : options_(std::move(options)) {}

LiveServer::~LiveServer() { Shutdown(0); }

void LiveServer::AddService(grpc::Service* service) { services_.push_back(service); }

absl::Status LiveServer::Start() {
  if (server_) return absl::FailedPreconditionError("server already started");
  MESHTWIN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                            MakeServerCredentials(options_.tls));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.address, creds, &port);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return absl::UnavailableError("cannot listen on " + options_.address +
                                  " (in use, or not an address of this host)");
  }
  port_ = port;
  return absl::OkStatus();
}

void LiveServer::Shutdown(Seconds grace) {
  if (!server_) return;
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::duration<double>(grace > 0 ? grace : 0));
  server_->Shutdown(deadline);
  server_->Wait();
  server_.reset();
}

}  // namespace meshtwin::live
