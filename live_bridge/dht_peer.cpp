#include "live_bridge/dht_peer.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "live_bridge/tls_server.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {
namespace {

// Bounds on what one message may carry. The protocols send a successor list
// or k closest contacts (tens); values are bounded by gRPC's 4 MB message
// limit. The address book only grows, so a cap keeps a misbehaving peer (it
// still needs a certificate of our CA) from filling memory with endpoints.
constexpr std::size_t kMaxEndpoint = 255;
constexpr int kMaxContacts = 1024;
constexpr std::size_t kMaxAddressBook = std::size_t{1} << 16;

constexpr dht::Address kSelf = 0;

std::chrono::system_clock::time_point DeadlineIn(Seconds s) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(std::max(0.0, s)));
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "host:port" with a port in 1..65535 (0 too when `allow_zero`: a listen
// address may ask for any free port). `field` names the option or wire field.
absl::Status CheckEndpoint(const std::string& endpoint, const std::string& field,
                           bool allow_zero = false) {
  if (endpoint.empty()) return absl::InvalidArgumentError(field + ": empty, expected host:port");
  if (endpoint.size() > kMaxEndpoint) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {} characters, at most {}", field, endpoint.size(), kMaxEndpoint));
  }
  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size()) {
    return absl::InvalidArgumentError(fmt::format("{}: '{}' is not host:port", field, endpoint));
  }
  int port = -1;
  const char* first = endpoint.data() + colon + 1;
  const char* last = endpoint.data() + endpoint.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port < (allow_zero ? 0 : 1) || port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("{}: '{}' has no valid port (1..65535)", field, endpoint));
  }
  return absl::OkStatus();
}

absl::Status CheckWireContact(const v1::DhtContact& c, const std::string& field, bool required) {
  if (c.endpoint().empty() && !required) return absl::OkStatus();
  return CheckEndpoint(c.endpoint(), field + ".endpoint");
}

// Everything about a message that can be checked without the address book:
// a bad message is refused whole, naming the first field it gets wrong.
absl::Status CheckWireMessage(const v1::DhtMessage& m) {
  if (m.kind() > 255) {
    return absl::InvalidArgumentError(
        fmt::format("message.kind: {} is not a message kind (0..255)", m.kind()));
  }
  if (!m.has_from()) return absl::InvalidArgumentError("message.from: missing");
  MESHTWIN_RETURN_IF_ERROR(CheckWireContact(m.from(), "message.from", true));
  if (m.contacts_size() > kMaxContacts) {
    return absl::InvalidArgumentError(
        fmt::format("message.contacts: {} contacts, at most {}", m.contacts_size(), kMaxContacts));
  }
  for (int i = 0; i < m.contacts_size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(
        CheckWireContact(m.contacts(i), fmt::format("message.contacts[{}]", i), false));
  }
  MESHTWIN_RETURN_IF_ERROR(CheckWireContact(m.origin(), "message.origin", false));
  for (int i = 0; i < m.values_size(); ++i) {
    if (!std::isfinite(m.values(i).expires())) {
      return absl::InvalidArgumentError(
          fmt::format("message.values[{}].expires: must be finite", i));
    }
  }
  return absl::OkStatus();
}

// The bootstrap's refusal of what we said is our configuration's fault
// (InvalidArgument); anything else means it cannot be reached (Unavailable).
absl::Status ProbeError(const grpc::Status& s, const std::string& bootstrap) {
  if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return absl::InvalidArgumentError("bootstrap '" + bootstrap +
                                      "' refused us: " + s.error_message());
  }
  return absl::UnavailableError(
      "bootstrap '" + bootstrap + "': " + s.error_message() +
      " (not listening, or its certificate and ours are not of the same CA)");
}

const char* OpName(dht::OpKind kind) {
  switch (kind) {
    case dht::OpKind::kLookup:
      return "lookup";
    case dht::OpKind::kPut:
      return "put";
    case dht::OpKind::kGet:
      return "get";
    case dht::OpKind::kJoin:
      return "join";
  }
  return "operation";
}

}  // namespace

class DhtPeer::Impl final : public v1::DhtService::CallbackService {
 public:
  explicit Impl(DhtPeerOptions options)
      : options_(std::move(options)),
        id_(dht::HashKey(options_.name)),
        rpc_timeout_(options_.protocol == "kademlia" ? options_.kademlia.rpc_timeout
                                                     : options_.chord.rpc_timeout) {}

  ~Impl() override { Shutdown(true); }

  absl::Status Start();
  void Shutdown(bool leave);

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const v1::DhtEnvelope* request, v1::DhtAck* reply) override;

  absl::StatusOr<dht::OpResult> Run(
      dht::OpKind kind, Seconds timeout,
      const std::function<std::uint64_t(Seconds, dht::Effects*)>& start);

  bool joined() const {
    std::lock_guard lock(mu_);
    return state_ == State::kRunning && node_ && node_->joined();
  }
  std::vector<dht::StoredValue> StoredValues() const {
    std::lock_guard lock(mu_);
    return node_ ? node_->StoredValues(Now()) : std::vector<dht::StoredValue>{};
  }
  const std::string& endpoint() const { return endpoint_; }
  dht::Key id() const { return id_; }
  const std::string& protocol() const { return options_.protocol; }
  dht::Node* node() { return node_.get(); }
  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t received() const { return received_.load(); }

 private:
  enum class State : std::uint8_t { kRunning, kStopped };
  struct Outgoing {
    std::string endpoint;
    v1::DhtEnvelope envelope;
  };
  using Batch = std::vector<Outgoing>;
  // One asynchronous Deliver: gRPC owns it until its completion callback.
  struct Call {
    grpc::ClientContext context;
    v1::DhtEnvelope request;
    v1::DhtAck reply;
  };

  // Seconds since this peer started: the `now` of every call into the node.
  Seconds Now() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  absl::StatusOr<dht::Contact> ProbeBootstrap();
  dht::Address SlotOf(const std::string& endpoint);               // under mu_
  dht::Contact FromWire(const v1::DhtContact& c);                 // under mu_
  void ToWire(const dht::Contact& c, v1::DhtContact* out) const;  // under mu_
  void Dispatch(dht::Effects& fx, Batch* out);                    // under mu_
  void SendAll(Batch batch);                                      // without mu_
  v1::DhtService::Stub* StubFor(const std::string& endpoint);
  void TimerLoop();

  const DhtPeerOptions options_;
  const dht::Key id_;
  const Seconds rpc_timeout_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  // Our clock's zero in Unix time: StoredValue::expires crosses the wire as
  // Unix time because every peer's own clock starts at its own start.
  const double unix_at_start_ = UnixNow();
  std::unique_ptr<LiveServer> server_;
  std::string endpoint_;  // set once in Start under mu_; constant once Start returns

  mutable std::mutex mu_;  // the node, the address book, timers, waiters, state
  State state_ = State::kRunning;
  std::unique_ptr<dht::Node> node_;
  std::vector<std::string> endpoints_;  // slot -> endpoint; slot 0 is this peer
  std::unordered_map<std::string, dht::Address> slots_;
  using Timer = std::pair<Seconds, std::uint64_t>;  // (at, token)
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::condition_variable timer_cv_;
  std::thread timer_thread_;
  std::map<std::uint64_t, std::optional<dht::OpResult>> waiting_;  // op -> result once done
  std::optional<dht::OpResult> join_result_;
  std::condition_variable done_cv_;

  std::mutex stubs_mu_;
  std::unordered_map<std::string, std::unique_ptr<v1::DhtService::Stub>> stubs_;

  std::mutex calls_mu_;  // the calls in flight, so that shutdown can wait for them
  std::condition_variable calls_cv_;
  std::set<Call*> calls_;
  bool closed_ = false;  // no new calls: the peer is shutting down

  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> received_{0};
};

absl::Status DhtPeer::Impl::Start() {
  const DhtPeerOptions& o = options_;
  if (o.protocol != "chord" && o.protocol != "kademlia") {
    return absl::InvalidArgumentError(
        fmt::format("protocol: '{}' is not a DHT protocol (chord | kademlia)", o.protocol));
  }
  if (o.name.empty()) return absl::InvalidArgumentError("name: empty (the DHT id is its hash)");
  MESHTWIN_RETURN_IF_ERROR(CheckEndpoint(o.listen, "listen", /*allow_zero=*/true));
  if (!o.advertise.empty()) MESHTWIN_RETURN_IF_ERROR(CheckEndpoint(o.advertise, "advertise"));
  if (!o.bootstrap.empty()) MESHTWIN_RETURN_IF_ERROR(CheckEndpoint(o.bootstrap, "bootstrap"));
  if (!(o.join_timeout > 0)) {
    return absl::InvalidArgumentError(
        fmt::format("join_timeout: must be > 0 seconds, got {}", o.join_timeout));
  }

  // The node exists before the server: a message may arrive as soon as it
  // listens. Its own address is slot 0.
  node_ = o.protocol == "kademlia" ? dht::MakeKademliaNode({id_, kSelf}, o.kademlia)
                                   : dht::MakeChordNode({id_, kSelf}, o.chord);
  server_ = std::make_unique<LiveServer>(LiveServerOptions{.address = o.listen, .tls = o.tls});
  server_->AddService(this);
  MESHTWIN_RETURN_IF_ERROR(server_->Start());
  {
    // Deliver answers UNAVAILABLE until this is set (endpoints_ empty).
    std::lock_guard lock(mu_);
    endpoint_ = o.advertise.empty() ? fmt::format("127.0.0.1:{}", server_->port()) : o.advertise;
    endpoints_.push_back(endpoint_);
    slots_.emplace(endpoint_, kSelf);
  }
  timer_thread_ = std::thread([this] { TimerLoop(); });

  dht::Contact bootstrap;
  if (!o.bootstrap.empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(bootstrap, ProbeBootstrap());
  }
  Batch batch;
  {
    std::lock_guard lock(mu_);
    dht::Effects fx;
    node_->Join(Now(), bootstrap, &fx);
    Dispatch(fx, &batch);
  }
  SendAll(std::move(batch));

  std::unique_lock lock(mu_);
  const bool done = done_cv_.wait_for(lock, std::chrono::duration<double>(o.join_timeout), [this] {
    return join_result_.has_value() || state_ != State::kRunning;
  });
  if (!done || !join_result_ || !join_result_->ok) {
    return absl::UnavailableError(
        fmt::format("{} peer '{}' at {}: joining through bootstrap '{}' {}", o.protocol, o.name,
                    endpoint_, o.bootstrap,
                    done ? "failed (no answer from the overlay)"
                         : fmt::format("took longer than join_timeout {} s", o.join_timeout)));
  }
  spdlog::info("dht: {} peer '{}' ({:016x}) at {} joined{}", o.protocol, o.name, id_, endpoint_,
               o.bootstrap.empty() ? " as the first node" : " through " + o.bootstrap);
  return absl::OkStatus();
}

// A Deliver without a message: checks that the bootstrap answers, speaks our
// protocol and accepts our certificate, and learns its id.
absl::StatusOr<dht::Contact> DhtPeer::Impl::ProbeBootstrap() {
  v1::DhtService::Stub* stub = StubFor(options_.bootstrap);
  if (stub == nullptr) {
    return absl::UnavailableError("bootstrap '" + options_.bootstrap + "': cannot make a channel");
  }
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(options_.join_timeout));
  context.set_wait_for_ready(true);  // a bootstrap that is still starting is worth waiting for
  v1::DhtEnvelope probe;
  probe.set_protocol(options_.protocol);
  v1::DhtAck ack;
  const grpc::Status status = stub->Deliver(&context, probe, &ack);
  if (!status.ok()) return ProbeError(status, options_.bootstrap);
  // Its own name for itself: the endpoint every other peer will know it by.
  std::string endpoint = ack.receiver().endpoint();
  if (!CheckEndpoint(endpoint, "receiver.endpoint").ok()) endpoint = options_.bootstrap;
  std::lock_guard lock(mu_);
  return dht::Contact{ack.receiver().id(), SlotOf(endpoint)};
}

dht::Address DhtPeer::Impl::SlotOf(const std::string& endpoint) {
  auto [it, added] = slots_.try_emplace(endpoint, static_cast<dht::Address>(endpoints_.size()));
  if (added) endpoints_.push_back(endpoint);
  return it->second;
}

dht::Contact DhtPeer::Impl::FromWire(const v1::DhtContact& c) {
  dht::Contact out;
  out.id = c.id();
  if (!c.endpoint().empty()) out.address = SlotOf(c.endpoint());
  return out;
}

void DhtPeer::Impl::ToWire(const dht::Contact& c, v1::DhtContact* out) const {
  out->set_id(c.id);
  if (c.address >= 0 && static_cast<std::size_t>(c.address) < endpoints_.size()) {
    out->set_endpoint(endpoints_[static_cast<std::size_t>(c.address)]);
  }
}

// Carries out what a call into the node asked for: timers into the heap,
// finished operations to their waiters, messages into `out` (sent by the
// caller once it has let go of the lock). Messages to ourselves are handed
// straight back to the node.
void DhtPeer::Impl::Dispatch(dht::Effects& fx, Batch* out) {
  std::deque<dht::Message> to_self;
  bool finished = false;
  bool new_timer = false;
  for (;;) {
    for (const dht::TimerRequest& t : fx.timers) {
      if (state_ != State::kRunning) break;
      timers_.emplace(t.at, t.token);
      new_timer = true;
    }
    for (dht::OpResult& r : fx.done) {
      finished = true;
      if (r.kind == dht::OpKind::kJoin) {
        join_result_ = r;
      } else if (auto it = waiting_.find(r.op); it != waiting_.end()) {
        it->second = std::move(r);
      }
    }
    for (dht::Message& m : fx.send) {
      if (m.to == kSelf) {
        to_self.push_back(std::move(m));
        continue;
      }
      if (m.to < 0 || static_cast<std::size_t>(m.to) >= endpoints_.size()) continue;  // lost
      Outgoing& o = out->emplace_back();
      o.endpoint = endpoints_[static_cast<std::size_t>(m.to)];
      o.envelope.set_protocol(options_.protocol);
      v1::DhtMessage* w = o.envelope.mutable_message();
      w->set_kind(m.kind);
      ToWire(m.from, w->mutable_from());
      w->set_rpc(m.rpc);
      w->set_target(m.target);
      for (const dht::Contact& c : m.contacts) ToWire(c, w->add_contacts());
      for (const dht::StoredValue& v : m.values) {
        v1::DhtStoredValue* wv = w->add_values();
        wv->set_key(v.key);
        wv->set_publisher(v.publisher);
        wv->set_data(v.data);
        wv->set_expires(v.expires + unix_at_start_);
      }
      w->set_hops(m.hops);
      if (m.origin.valid() || m.origin.id != 0) ToWire(m.origin, w->mutable_origin());
      w->set_origin_op(m.origin_op);
    }
    fx.Clear();
    if (to_self.empty()) break;
    const dht::Message m = std::move(to_self.front());
    to_self.pop_front();
    node_->OnMessage(Now(), m, &fx);
  }
  if (new_timer) timer_cv_.notify_one();
  if (finished) done_cv_.notify_all();
}

v1::DhtService::Stub* DhtPeer::Impl::StubFor(const std::string& endpoint) {
  std::lock_guard lock(stubs_mu_);
  auto it = stubs_.find(endpoint);
  if (it != stubs_.end()) return it->second.get();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(endpoint, options_.tls);
  if (!channel.ok()) {
    spdlog::warn("dht: no channel to {}: {}", endpoint, ErrorText(channel.status()));
    return nullptr;
  }
  return stubs_.emplace(endpoint, v1::DhtService::NewStub(*channel)).first->second.get();
}

void DhtPeer::Impl::SendAll(Batch batch) {
  for (Outgoing& o : batch) {
    v1::DhtService::Stub* stub = StubFor(o.endpoint);
    if (stub == nullptr) continue;  // lost, like any failed send
    auto* call = new Call;
    call->request = std::move(o.envelope);
    call->context.set_deadline(DeadlineIn(rpc_timeout_));
    {
      std::lock_guard lock(calls_mu_);
      if (closed_) {
        delete call;
        return;
      }
      calls_.insert(call);
    }
    sent_.fetch_add(1);
    stub->async()->Deliver(&call->context, &call->request, &call->reply,
                           [this, call, endpoint = o.endpoint](grpc::Status status) {
                             if (!status.ok()) {
                               spdlog::debug("dht: message to {} lost: {}", endpoint,
                                             status.error_message());
                             }
                             // Notify under the lock: once it is released the
                             // peer may be gone, so nothing may touch it after.
                             std::lock_guard lock(calls_mu_);
                             calls_.erase(call);
                             delete call;
                             calls_cv_.notify_all();
                           });
  }
}

void DhtPeer::Impl::TimerLoop() {
  std::unique_lock lock(mu_);
  while (state_ == State::kRunning) {
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const Seconds now = Now();
    if (timers_.top().first > now) {
      timer_cv_.wait_for(lock, std::chrono::duration<double>(timers_.top().first - now));
      continue;
    }
    dht::Effects fx;
    while (!timers_.empty() && timers_.top().first <= now) {
      const std::uint64_t token = timers_.top().second;
      timers_.pop();
      node_->OnTimer(now, token, &fx);
    }
    Batch batch;
    Dispatch(fx, &batch);
    lock.unlock();
    SendAll(std::move(batch));
    lock.lock();
  }
}

grpc::ServerUnaryReactor* DhtPeer::Impl::Deliver(grpc::CallbackServerContext* context,
                                                 const v1::DhtEnvelope* request,
                                                 v1::DhtAck* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The server's credentials already refuse a client without a certificate
  // of our CA; this is the belt to those braces. Any such certificate may
  // deliver: DHT peers are agents, each speaking for itself.
  if (PeerIdentity(*context->auth_context()).empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "no client certificate: a DHT peer must present one"));
    return reactor;
  }
  if (request->protocol() != options_.protocol) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     fmt::format("protocol: this peer speaks '{}', the envelope carries '{}'",
                                 options_.protocol, request->protocol())));
    return reactor;
  }
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning || endpoints_.empty()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "this DHT peer is starting or stopping"));
      return reactor;
    }
    reply->mutable_receiver()->set_id(id_);
    reply->mutable_receiver()->set_endpoint(endpoint_);
  }
  if (!request->has_message()) {  // a probe (see ProbeBootstrap)
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  if (absl::Status s = CheckWireMessage(request->message()); !s.ok()) {
    spdlog::warn("dht: message refused: {}", ErrorText(s));
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, ErrorText(s)));
    return reactor;
  }
  const v1::DhtMessage& w = request->message();
  Batch batch;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning || endpoints_.empty()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "this DHT peer is stopping"));
      return reactor;
    }
    if (endpoints_.size() + 2 + static_cast<std::size_t>(w.contacts_size()) > kMaxAddressBook) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "this DHT peer's address book is full"));
      return reactor;
    }
    dht::Message m;
    m.kind = static_cast<std::uint8_t>(w.kind());
    m.from = FromWire(w.from());
    m.to = kSelf;  // whoever was dialled is the receiver
    m.rpc = w.rpc();
    m.target = w.target();
    m.contacts.reserve(static_cast<std::size_t>(w.contacts_size()));
    for (const v1::DhtContact& c : w.contacts()) m.contacts.push_back(FromWire(c));
    m.values.reserve(static_cast<std::size_t>(w.values_size()));
    for (const v1::DhtStoredValue& v : w.values()) {
      m.values.push_back(
          dht::StoredValue{v.key(), v.publisher(), v.data(), v.expires() - unix_at_start_});
    }
    m.hops = w.hops();
    m.origin = FromWire(w.origin());
    m.origin_op = w.origin_op();
    received_.fetch_add(1);
    dht::Effects fx;
    node_->OnMessage(Now(), m, &fx);
    Dispatch(fx, &batch);
  }
  SendAll(std::move(batch));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<dht::OpResult> DhtPeer::Impl::Run(
    dht::OpKind kind, Seconds timeout,
    const std::function<std::uint64_t(Seconds, dht::Effects*)>& start) {
  std::uint64_t op = 0;
  Batch batch;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) {
      return absl::FailedPreconditionError(
          fmt::format("{}: the DHT peer is stopped", OpName(kind)));
    }
    dht::Effects fx;
    op = start(Now(), &fx);
    waiting_[op];  // before Dispatch: the result may be in `fx` already
    Dispatch(fx, &batch);
  }
  SendAll(std::move(batch));
  std::unique_lock lock(mu_);
  done_cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.0, timeout)),
                    [&] { return waiting_[op].has_value() || state_ != State::kRunning; });
  std::optional<dht::OpResult> result = std::move(waiting_[op]);
  waiting_.erase(op);
  if (!result) {
    if (state_ != State::kRunning) {
      return absl::FailedPreconditionError(
          fmt::format("{}: the DHT peer stopped before it finished", OpName(kind)));
    }
    return absl::DeadlineExceededError(
        fmt::format("{}: no result within {} s", OpName(kind), timeout));
  }
  if (!result->ok) {
    return absl::UnavailableError(
        fmt::format("{} of key {:016x} failed after {} hops (no route, or peers did not answer)",
                    OpName(kind), result->key, result->hops));
  }
  return std::move(*result);
}

void DhtPeer::Impl::Shutdown(bool leave) {
  Batch batch;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kStopped) return;
    if (leave && node_ && node_->joined()) {
      dht::Effects fx;
      node_->Leave(Now(), &fx);
      Dispatch(fx, &batch);
    }
    state_ = State::kStopped;
    timer_cv_.notify_all();
    done_cv_.notify_all();
  }
  const std::size_t farewells = batch.size();
  SendAll(std::move(batch));
  if (timer_thread_.joinable()) timer_thread_.join();
  // Handlers still running finish here; those arriving now get UNAVAILABLE.
  if (server_) server_->Shutdown(0);
  std::unique_lock lock(calls_mu_);
  closed_ = true;
  // The leave messages are worth an rpc timeout (each call has that
  // deadline); anything else in flight is cancelled.
  if (leave) {
    calls_cv_.wait_for(lock, std::chrono::duration<double>(rpc_timeout_ + 0.5),
                       [this] { return calls_.empty(); });
  }
  for (Call* call : calls_) call->context.TryCancel();
  calls_cv_.wait(lock, [this] { return calls_.empty(); });
  lock.unlock();
  std::lock_guard stubs_lock(stubs_mu_);
  stubs_.clear();
  spdlog::info(
      "dht: {} peer '{}' at {} {}", options_.protocol, options_.name, endpoint_,
      leave ? fmt::format("left ({} farewell messages)", farewells) : "stopped without leaving");
}

DhtPeer::DhtPeer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DhtPeer::~DhtPeer() { Stop(); }

absl::StatusOr<std::unique_ptr<DhtPeer>> DhtPeer::Start(DhtPeerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Start(); !s.ok()) {
    impl->Shutdown(false);
    return s;
  }
  return std::unique_ptr<DhtPeer>(new DhtPeer(std::move(impl)));
}

void DhtPeer::Stop() { impl_->Shutdown(true); }
void DhtPeer::Crash() { impl_->Shutdown(false); }
bool DhtPeer::joined() const { return impl_->joined(); }
std::string DhtPeer::endpoint() const { return impl_->endpoint(); }
dht::Key DhtPeer::id() const { return impl_->id(); }
const std::string& DhtPeer::protocol() const { return impl_->protocol(); }
std::vector<dht::StoredValue> DhtPeer::StoredValues() const { return impl_->StoredValues(); }
std::uint64_t DhtPeer::messages_sent() const { return impl_->sent(); }
std::uint64_t DhtPeer::messages_received() const { return impl_->received(); }

absl::StatusOr<dht::OpResult> DhtPeer::Lookup(dht::Key key, Seconds timeout) {
  return impl_->Run(dht::OpKind::kLookup, timeout, [&](Seconds now, dht::Effects* fx) {
    return impl_->node()->Lookup(now, key, fx);
  });
}

absl::StatusOr<dht::OpResult> DhtPeer::Put(dht::Key key, std::string data, Seconds ttl,
                                           Seconds timeout) {
  return impl_->Run(dht::OpKind::kPut, timeout, [&](Seconds now, dht::Effects* fx) {
    return impl_->node()->Put(now, key, std::move(data), ttl, fx);
  });
}

absl::StatusOr<dht::OpResult> DhtPeer::Get(dht::Key key, Seconds timeout) {
  return impl_->Run(dht::OpKind::kGet, timeout, [&](Seconds now, dht::Effects* fx) {
    return impl_->node()->Get(now, key, fx);
  });
}

}  // namespace meshtwin::live
