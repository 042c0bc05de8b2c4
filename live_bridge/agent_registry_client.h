// The agent's side of AgentService: register with the manager, then keep a
// heartbeat stream open that carries load samples out and commands in. Over
// mutual TLS only; the agent's certificate names the node it speaks for.
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto client, AgentClient::Connect(address, tls));
//   MESHTWIN_ASSIGN_OR_RETURN(RegistrationReply reply, client->Register(registration));
//   MESHTWIN_RETURN_IF_ERROR(client->StartHeartbeats([](const AgentCommand& c) { ... }));
//   client->SendHeartbeat(beat);  // every reply.heartbeat_interval
//   client->StopHeartbeats();
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "live_bridge/agent_registry.h"
#include "live_bridge/tls.h"
#include "twin/status.h"

namespace meshtwin::live {

// Thread-safe. Commands are delivered on a gRPC thread, one at a time.
class AgentClient {
 public:
  using CommandHandler = std::function<void(const AgentCommand&)>;

  // A client of the manager at `address`; connects lazily, on the first call.
  // Fails here only for bad certificate files.
  static absl::StatusOr<std::unique_ptr<AgentClient>> Connect(const std::string& address,
                                                              const TlsOptions& tls);
  ~AgentClient();  // cancels an open heartbeat stream

  // Registers; the manager's refusal comes back as its status (for example
  // PermissionDenied when the certificate names another node).
  absl::StatusOr<RegistrationReply> Register(const AgentRegistration& registration,
                                             Seconds timeout = 10);

  // Opens the heartbeat stream; `on_command` receives the manager's commands.
  absl::Status StartHeartbeats(CommandHandler on_command);
  // Queues one heartbeat. FailedPrecondition when no stream is open, or the
  // stream's final status once the manager has ended it.
  absl::Status SendHeartbeat(const AgentHeartbeat& beat);
  // Closes the stream and waits up to `timeout` for the manager's final status.
  absl::Status StopHeartbeats(Seconds timeout = 10);

  class Stream;

 private:
  struct Private;
  explicit AgentClient(std::unique_ptr<Private> p);
  std::unique_ptr<Private> p_;
};

}  // namespace meshtwin::live
