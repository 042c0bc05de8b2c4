#include "live_bridge/agent_registry.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>

#include "live_bridge/agent_registry_wire.h"
#include "live_bridge/tls.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {

const char* ToString(AgentCommandKind kind) {
  switch (kind) {
    case AgentCommandKind::kChangeRole:
      return "change_role";
    case AgentCommandKind::kDrain:
      return "drain";
    case AgentCommandKind::kStartWorkload:
      return "start_workload";
    case AgentCommandKind::kStopWorkload:
      return "stop_workload";
  }
  return "?";
}

AgentCommand AgentCommand::ChangeRole(std::string role, std::string reason) {
  AgentCommand c;
  c.kind = AgentCommandKind::kChangeRole;
  c.role = std::move(role);
  c.reason = std::move(reason);
  return c;
}

AgentCommand AgentCommand::Drain(Seconds deadline, std::string reason) {
  AgentCommand c;
  c.kind = AgentCommandKind::kDrain;
  c.seconds = deadline;
  c.reason = std::move(reason);
  return c;
}

NodeObservation ToNodeObservation(const AgentRecord& record, Seconds now) {
  NodeObservation n;
  n.state = record.state;
  const LoadSample& l = record.load;
  n.utilization = l.cpu_utilization;
  // The agent reports what it served; at full utilisation that is its speed.
  n.speed_rps = l.cpu_utilization > 0 ? l.requests_per_s / l.cpu_utilization : 0;
  n.queued[static_cast<int>(RequestClass::kStandard)] = l.queued_requests;
  n.queue_seconds = n.speed_rps > 0 ? l.queued_requests / n.speed_rps : 0;
  n.latency_s = l.latency;
  n.error_rate = l.error_rate;
  const Seconds last = record.last_heartbeat > 0 ? record.last_heartbeat : record.registered_at;
  n.heartbeat_age = now > last ? now - last : 0;
  return n;
}

namespace {

class SteadyClock final : public Clock {
 public:
  Seconds Now() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

bool Finite(double x) { return std::isfinite(x); }

// InvalidArgument naming the first field an agent got wrong.
grpc::Status CheckRegistration(const AgentRegistration& r) {
  auto bad = [](const std::string& what) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, what);
  };
  if (r.node_id.empty()) return bad("node_id: must not be empty");
  const AgentCapabilities& c = r.capabilities;
  if (c.cores < 0) return bad("capabilities.cores: must not be negative");
  if (!Finite(c.core_speed) || c.core_speed < 0) {
    return bad("capabilities.core_speed: must be 0 or more");
  }
  if (!Finite(c.memory_gb) || c.memory_gb < 0)
    return bad("capabilities.memory_gb: must be 0 or more");
  for (const GpuGroup& g : c.gpus) {
    if (g.count < 0 || !Finite(g.memory_gb) || g.memory_gb < 0) {
      return bad("capabilities.gpus '" + g.model + "': count and memory must be 0 or more");
    }
  }
  return grpc::Status::OK;
}

grpc::Status CheckLoad(const LoadSample& l) {
  const double fields[] = {l.time_unix,      l.window,         l.cpu_utilization,
                           l.memory_used_gb, l.requests_per_s, l.latency,
                           l.latency_p99,    l.error_rate,     l.queued_requests};
  for (double f : fields) {
    if (!Finite(f) || f < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "load: every figure must be a finite number, 0 or more");
    }
  }
  if (l.error_rate > 1) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "load.error_rate: must be at most 1");
  }
  return grpc::Status::OK;
}

}  // namespace

class HeartbeatReactor;

class AgentRegistry::Impl final : public v1::AgentService::CallbackService {
 public:
  explicit Impl(AgentRegistryOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &steady_),
        // Sequence numbers start at the registry's creation time in
        // microseconds: a restarted manager's commands still number above
        // the ones its agents carried out before.
        seq_base_(
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count())) {}

  void SetAccepting(bool accepting, std::string note) {
    std::lock_guard lock(mu_);
    accepting_ = accepting;
    standby_note_ = std::move(note);
    if (!accepting)
      agents_.clear();  // a standby keeps no fleet: agents re-register with the leader
  }

  bool Remove(const std::string& node_id) {
    std::lock_guard lock(mu_);
    return agents_.erase(node_id) > 0;
  }

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const v1::RegisterRequest* request,
                                     v1::RegisterResponse* response) override;
  grpc::ServerBidiReactor<v1::AgentHeartbeat, v1::Command>* Heartbeat(
      grpc::CallbackServerContext* context) override;

  std::vector<AgentRecord> Snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<AgentRecord> out;
    out.reserve(agents_.size());
    for (const auto& [id, agent] : agents_) out.push_back(agent.record);
    return out;
  }

  std::optional<AgentRecord> Find(const std::string& node_id) const {
    std::lock_guard lock(mu_);
    auto it = agents_.find(node_id);
    if (it == agents_.end()) return std::nullopt;
    return it->second.record;
  }

  absl::StatusOr<std::uint64_t> SendCommand(const std::string& node_id, AgentCommand command);

  // Heartbeat streams call these (never with their own lock held).
  grpc::Status Attach(const std::string& node_id, HeartbeatReactor* stream);
  grpc::Status Record(const std::string& node_id, const AgentHeartbeat& beat);
  void Detach(const std::string& node_id, HeartbeatReactor* stream);
  // Tells options.on_heartbeat that `beat` has been recorded.
  void Applied(const AgentHeartbeat& beat) const {
    if (!options_.on_heartbeat) return;
    options_.on_heartbeat(
        beat,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  }

 private:
  grpc::Status Standby() const {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        options_.manager_id + " is not accepting agents" +
                            (standby_note_.empty() ? "" : ": " + standby_note_));
  }

  struct Agent {
    AgentRecord record;
    std::uint64_t next_seq = 0;        // 0: not yet numbered (seq_base_ + 1 on the first command)
    std::deque<AgentCommand> pending;  // waiting for a heartbeat stream
    HeartbeatReactor* stream = nullptr;
  };

  const AgentRegistryOptions options_;
  SteadyClock steady_;
  const Clock* clock_;
  const std::uint64_t seq_base_;
  mutable std::mutex mu_;
  std::map<std::string, Agent> agents_;
  bool accepting_ = true;
  std::string standby_note_;
  std::vector<std::string> dht_bootstrap_ = options_.dht_bootstrap;

 public:
  void SetDhtBootstrap(std::vector<std::string> endpoints) {
    std::lock_guard lock(mu_);
    dht_bootstrap_ = std::move(endpoints);
  }
};

// One agent's heartbeat stream: samples in, commands out. Deletes itself when
// the RPC is done.
class HeartbeatReactor final : public grpc::ServerBidiReactor<v1::AgentHeartbeat, v1::Command> {
 public:
  HeartbeatReactor(AgentRegistry::Impl* registry, std::string identity)
      : registry_(registry), identity_(std::move(identity)) {
    StartRead(&in_);
  }

  // Queues a command; called with the registry's lock held.
  void Push(const AgentCommand& command) {
    v1::Command* next = nullptr;
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      detail::ToProto(command, &queue_.emplace_back());
      if (writing_) return;
      writing_ = true;
      out_ = std::move(queue_.front());
      queue_.pop_front();
      next = &out_;
    }
    StartWrite(next);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the agent closed its side, or the call was cancelled
      End(grpc::Status::OK);
      return;
    }
    const AgentHeartbeat beat = detail::FromProto(in_);
    if (beat.node_id != identity_) {
      End(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                       "certificate '" + identity_ + "' cannot send heartbeats for node '" +
                           beat.node_id + "': an agent speaks only for its own node"));
      return;
    }
    if (grpc::Status s = CheckLoad(beat.load); !s.ok()) {
      End(s);
      return;
    }
    if (!attached_) {
      // Attach sends queued commands through Push: our lock must not be held.
      if (grpc::Status s = registry_->Attach(identity_, this); !s.ok()) {
        End(s);
        return;
      }
      attached_ = true;
    }
    if (grpc::Status s = registry_->Record(identity_, beat); !s.ok()) {
      End(s);
      return;
    }
    registry_->Applied(beat);
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    v1::Command* next = nullptr;
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      if (!ok) queue_.clear();
      if (!queue_.empty() && !finishing_) {
        out_ = std::move(queue_.front());
        queue_.pop_front();
        next = &out_;
      } else {
        writing_ = false;
        finish = finishing_ && !finished_;
        if (finish) finished_ = true;
      }
    }
    if (next != nullptr) StartWrite(next);
    if (finish) Finish(status_);
  }

  void OnDone() override {
    if (attached_) registry_->Detach(identity_, this);
    delete this;
  }

 private:
  // Finishes the RPC once, after a write in flight completes.
  void End(grpc::Status status) {
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      finishing_ = true;
      status_ = std::move(status);
      if (writing_) return;  // OnWriteDone finishes
      finished_ = true;
    }
    Finish(status_);
  }

  AgentRegistry::Impl* const registry_;
  const std::string identity_;
  bool attached_ = false;  // reactions run one at a time: no lock needed
  v1::AgentHeartbeat in_;
  std::mutex mu_;
  std::deque<v1::Command> queue_;
  v1::Command out_;
  bool writing_ = false;
  bool finishing_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

grpc::ServerUnaryReactor* AgentRegistry::Impl::Register(grpc::CallbackServerContext* context,
                                                        const v1::RegisterRequest* request,
                                                        v1::RegisterResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string identity = PeerIdentity(*context->auth_context());
  const AgentRegistration registration = detail::FromProto(*request);
  if (identity.empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "no client certificate: an agent must present its own"));
    return reactor;
  }
  if (registration.node_id != identity) {
    reactor->Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                 "certificate '" + identity + "' cannot register node '" +
                                     registration.node_id +
                                     "': an agent speaks only for its own node"));
    return reactor;
  }
  if (grpc::Status s = CheckRegistration(registration); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  {
    std::lock_guard lock(mu_);
    if (!accepting_) {
      reactor->Finish(Standby());
      return reactor;
    }
    Agent& agent = agents_[identity];
    agent.record.registration = registration;
    agent.record.role = registration.role;
    agent.record.state = NodeState::kBooting;
    agent.record.registered_at = clock_->Now();
  }
  response->set_manager_id(options_.manager_id);
  response->set_heartbeat_interval_s(options_.heartbeat_interval);
  {
    std::lock_guard lock(mu_);
    for (const std::string& endpoint : dht_bootstrap_) {
      response->add_dht_bootstrap()->set_endpoint(endpoint);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerBidiReactor<v1::AgentHeartbeat, v1::Command>* AgentRegistry::Impl::Heartbeat(
    grpc::CallbackServerContext* context) {
  return new HeartbeatReactor(this, PeerIdentity(*context->auth_context()));
}

grpc::Status AgentRegistry::Impl::Attach(const std::string& node_id, HeartbeatReactor* stream) {
  std::lock_guard lock(mu_);
  if (!accepting_) return Standby();
  auto it = agents_.find(node_id);
  if (it == agents_.end()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "node '" + node_id + "' has not registered: call Register first");
  }
  Agent& agent = it->second;
  agent.stream = stream;  // a newer stream replaces an older one
  agent.record.streaming = true;
  for (const AgentCommand& c : agent.pending) stream->Push(c);
  agent.pending.clear();
  return grpc::Status::OK;
}

grpc::Status AgentRegistry::Impl::Record(const std::string& node_id, const AgentHeartbeat& beat) {
  std::lock_guard lock(mu_);
  // A stream ends itself at its next heartbeat when the registry has gone to
  // standby or forgotten the node: the agent then registers again (with the
  // new leader, or as a new record).
  if (!accepting_) return Standby();
  auto it = agents_.find(node_id);
  if (it == agents_.end()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "node '" + node_id + "' is not registered (removed?): register again");
  }
  AgentRecord& r = it->second.record;
  r.state = beat.state;
  r.role = beat.role;
  r.load = beat.load;
  r.last_heartbeat = clock_->Now();
  r.last_command_seq = beat.last_command_seq;
  ++r.heartbeats;
  return grpc::Status::OK;
}

void AgentRegistry::Impl::Detach(const std::string& node_id, HeartbeatReactor* stream) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(node_id);
  if (it != agents_.end() && it->second.stream == stream) {
    it->second.stream = nullptr;
    it->second.record.streaming = false;
  }
}

absl::StatusOr<std::uint64_t> AgentRegistry::Impl::SendCommand(const std::string& node_id,
                                                               AgentCommand command) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(node_id);
  if (it == agents_.end()) {
    return absl::NotFoundError("node '" + node_id + "' has not registered");
  }
  Agent& agent = it->second;
  if (agent.next_seq == 0) agent.next_seq = seq_base_ + 1;
  command.seq = agent.next_seq++;
  if (agent.stream != nullptr) {
    agent.stream->Push(command);
  } else {
    agent.pending.push_back(std::move(command));
  }
  return command.seq;
}

AgentRegistry::AgentRegistry(AgentRegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
AgentRegistry::~AgentRegistry() = default;

grpc::Service* AgentRegistry::service() { return impl_.get(); }
std::vector<AgentRecord> AgentRegistry::Snapshot() const { return impl_->Snapshot(); }
std::optional<AgentRecord> AgentRegistry::Find(const std::string& node_id) const {
  return impl_->Find(node_id);
}
absl::StatusOr<std::uint64_t> AgentRegistry::SendCommand(const std::string& node_id,
                                                         AgentCommand command) {
  return impl_->SendCommand(node_id, std::move(command));
}
void AgentRegistry::SetAccepting(bool accepting, std::string note) {
  impl_->SetAccepting(accepting, std::move(note));
}
bool AgentRegistry::Remove(const std::string& node_id) { return impl_->Remove(node_id); }
void AgentRegistry::SetDhtBootstrap(std::vector<std::string> endpoints) {
  impl_->SetDhtBootstrap(std::move(endpoints));
}

}  // namespace meshtwin::live
