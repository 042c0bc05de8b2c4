#include "live_bridge/agent_registry_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "live_bridge/agent_registry_wire.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

std::chrono::system_clock::time_point Deadline(Seconds timeout) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(timeout));
}

}  // namespace

// The heartbeat stream. Writes may come from any thread, so a hold keeps the
// RPC alive until the agent has closed its side (or the stream broke).
class AgentClient::Stream final : public grpc::ClientBidiReactor<v1::AgentHeartbeat, v1::Command> {
 public:
  Stream(v1::AgentService::Stub* stub, CommandHandler on_command)
      : on_command_(std::move(on_command)) {
    stub->async()->Heartbeat(&context_, this);
    StartRead(&in_);
    AddHold();
    StartCall();
  }

  absl::Status Send(const AgentHeartbeat& beat) {
    std::unique_lock lock(mu_);
    if (done_) {
      return status_.ok() ? absl::FailedPreconditionError("the heartbeat stream has ended")
                          : status_;
    }
    if (writes_closed_) return absl::FailedPreconditionError("the heartbeat stream is closing");
    detail::ToProto(beat, &queue_.emplace_back());
    if (writing_) return absl::OkStatus();
    writing_ = true;
    out_ = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    StartWrite(&out_);
    return absl::OkStatus();
  }

  // Closes the agent's side once queued writes are out.
  void Close() {
    std::unique_lock lock(mu_);
    closing_ = true;
    if (writing_ || writes_closed_) return;
    writes_closed_ = true;
    lock.unlock();
    StartWritesDone();
    RemoveHold();
  }

  void Cancel() { context_.TryCancel(); }

  // The final status, or DeadlineExceeded if the stream is still open.
  absl::Status Wait(Seconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, Deadline(timeout), [this] { return done_; })) {
      return absl::DeadlineExceededError("the manager did not end the heartbeat stream");
    }
    return status_;
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The manager ended the stream: stop holding it open for writes.
      std::unique_lock lock(mu_);
      read_done_ = true;
      if (writing_ || writes_closed_) return;
      writes_closed_ = true;
      lock.unlock();
      RemoveHold();
      return;
    }
    if (on_command_) on_command_(detail::FromProto(in_));
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    if (ok && !queue_.empty()) {
      out_ = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      StartWrite(&out_);
      return;
    }
    writing_ = false;
    queue_.clear();
    if (writes_closed_) return;
    if (ok && !closing_ && !read_done_) return;
    writes_closed_ = true;
    lock.unlock();
    if (ok) StartWritesDone();
    RemoveHold();
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    done_ = true;
    status_ = FromGrpc(status);
    cv_.notify_all();
  }

 private:
  grpc::ClientContext context_;
  CommandHandler on_command_;
  v1::Command in_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::AgentHeartbeat> queue_;
  v1::AgentHeartbeat out_;
  bool writing_ = false;
  bool closing_ = false;
  bool read_done_ = false;  // the manager ended the stream
  bool writes_closed_ = false;
  bool done_ = false;
  absl::Status status_;
};

struct AgentClient::Private {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AgentService::Stub> stub;
  std::mutex mu;
  std::unique_ptr<Stream> stream;
};

AgentClient::AgentClient(std::unique_ptr<Private> p) : p_(std::move(p)) {}

AgentClient::~AgentClient() {
  if (p_->stream) {
    p_->stream->Cancel();
    p_->stream->Close();
    (void)p_->stream->Wait(60);
  }
}

absl::StatusOr<std::unique_ptr<AgentClient>> AgentClient::Connect(const std::string& address,
                                                                  const TlsOptions& tls) {
  auto p = std::make_unique<Private>();
  MESHTWIN_ASSIGN_OR_RETURN(p->channel, MakeChannel(address, tls));
  p->stub = v1::AgentService::NewStub(p->channel);
  return std::unique_ptr<AgentClient>(new AgentClient(std::move(p)));
}

absl::StatusOr<RegistrationReply> AgentClient::Register(const AgentRegistration& registration,
                                                        Seconds timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  v1::RegisterRequest request;
  detail::ToProto(registration, &request);
  v1::RegisterResponse response;
  MESHTWIN_RETURN_IF_ERROR(FromGrpc(p_->stub->Register(&context, request, &response)));
  RegistrationReply reply;
  reply.manager_id = response.manager_id();
  reply.heartbeat_interval = response.heartbeat_interval_s();
  reply.assigned_role = response.assigned_role();
  for (const v1::DhtContact& c : response.dht_bootstrap()) {
    if (!c.endpoint().empty()) reply.dht_bootstrap.push_back(c.endpoint());
  }
  return reply;
}

absl::Status AgentClient::StartHeartbeats(CommandHandler on_command) {
  std::lock_guard lock(p_->mu);
  if (p_->stream) return absl::FailedPreconditionError("heartbeats already started");
  p_->stream = std::make_unique<Stream>(p_->stub.get(), std::move(on_command));
  return absl::OkStatus();
}

absl::Status AgentClient::SendHeartbeat(const AgentHeartbeat& beat) {
  std::lock_guard lock(p_->mu);
  if (!p_->stream)
    return absl::FailedPreconditionError("no heartbeat stream: StartHeartbeats first");
  return p_->stream->Send(beat);
}

absl::Status AgentClient::StopHeartbeats(Seconds timeout) {
  std::lock_guard lock(p_->mu);
  if (!p_->stream) return absl::OkStatus();
  p_->stream->Close();
  absl::Status status = p_->stream->Wait(timeout);
  if (!absl::IsDeadlineExceeded(status)) p_->stream.reset();  // done: safe to delete
  return status;
}

}  // namespace meshtwin::live
