// The manager's WatchService (WatchHub) and a viewer's client (WatchClient),
// with the conversions between watch.h's types and proto/meshtwin.proto.
// Capabilities, load samples and node states go through the registry's
// converters (agent_registry_wire.h): a node looks the same on both services.
#include "live_bridge/watch.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <mutex>
#include <utility>

#include "live_bridge/agent_registry_wire.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {

WatchEvent WatchEvent::NodeChanged(LiveNode node, double time_unix) {
  WatchEvent e;
  e.kind = Kind::kNodeChanged;
  e.time_unix = time_unix;
  e.node = std::move(node);
  return e;
}

WatchEvent WatchEvent::NodeRemoved(std::string id, std::string reason, double time_unix) {
  WatchEvent e;
  e.kind = Kind::kNodeRemoved;
  e.time_unix = time_unix;
  e.removed_node = std::move(id);
  e.reason = std::move(reason);
  return e;
}

WatchEvent WatchEvent::Decision(LoggedDecision decision) {
  WatchEvent e;
  e.kind = Kind::kDecision;
  e.time_unix = decision.time_unix;
  e.decision = std::move(decision);
  return e;
}

WatchEvent WatchEvent::GlobalEvent(Event event, double time_unix) {
  WatchEvent e;
  e.kind = Kind::kGlobalEvent;
  e.time_unix = time_unix;
  e.event = std::move(event);
  return e;
}

WatchEvent WatchEvent::Tick(LiveTick tick, double time_unix) {
  WatchEvent e;
  e.kind = Kind::kTick;
  e.time_unix = time_unix;
  e.tick = std::move(tick);
  return e;
}

namespace {

// ------------------------------------------------------------ conversions

void ToWire(const LiveNode& in, v1::NodeChanged* out) {
  out->set_node_id(in.id);
  out->set_state(detail::ToProto(in.state));
  out->set_role(in.role);
  detail::ToProto(in.capabilities, out->mutable_capabilities());
  detail::ToProto(in.load, out->mutable_load());
}

LiveNode FromWire(const v1::NodeChanged& in) {
  LiveNode out;
  out.id = in.node_id();
  out.state = detail::FromProto(in.state());
  out.role = in.role();
  out.capabilities = detail::FromProto(in.capabilities());
  out.load = detail::FromProto(in.load());
  return out;
}

// TickSummary and MeshSnapshot both carry a forecast as four parallel arrays
// with the same field names. Only the quantiles travel: recent_mae and age
// stay on the manager.
template <typename Message>
void ForecastToWire(const Forecast& f, Message* out) {
  out->mutable_forecast_horizons_s()->Assign(f.horizons.begin(), f.horizons.end());
  out->mutable_forecast_p10()->Assign(f.p10.begin(), f.p10.end());
  out->mutable_forecast_p50()->Assign(f.p50.begin(), f.p50.end());
  out->mutable_forecast_p90()->Assign(f.p90.begin(), f.p90.end());
}

template <typename Message>
Forecast ForecastFromWire(const Message& in) {
  Forecast f;
  f.horizons.assign(in.forecast_horizons_s().begin(), in.forecast_horizons_s().end());
  f.p10.assign(in.forecast_p10().begin(), in.forecast_p10().end());
  f.p50.assign(in.forecast_p50().begin(), in.forecast_p50().end());
  f.p90.assign(in.forecast_p90().begin(), in.forecast_p90().end());
  return f;
}

// The struct marks an open-ended event with a NaN end, the wire with 0 (a
// proto3 double cannot be absent).
void ToWire(const Event& in, v1::GlobalEvent* out) {
  out->set_start_unix(in.start);
  out->set_end_unix(std::isnan(in.end) ? 0 : in.end);
  out->set_announced_unix(in.announced);
  out->set_source(in.source);
  out->set_category(in.category);
  out->set_magnitude(in.magnitude);
  out->set_text(in.text);
}

Event FromWire(const v1::GlobalEvent& in) {
  Event out;
  out.start = in.start_unix();
  if (in.end_unix() != 0) out.end = in.end_unix();
  out.announced = in.announced_unix();
  out.source = in.source();
  out.category = in.category();
  out.magnitude = in.magnitude();
  out.text = in.text();
  return out;
}

// The wire's Decision carries what a viewer draws (what was decided, by whom,
// under which fence, and what came of it); the forecast it was decided on
// stays in the decision log (the tick events carry the forecasts).
void ToWire(const LoggedDecision& in, v1::Decision* out) {
  out->set_time_unix(in.time_unix);
  out->set_policy(in.policy);
  out->set_fence(in.fence);
  out->set_shadow(in.shadow);
  out->set_tick(in.tick);
  out->set_manager(in.manager);
  out->set_demand_rps(in.demand_rps);
  out->set_capacity_rps(in.capacity_rps);
  for (const LoggedAction& a : in.actions) {
    v1::DecisionAction* p = out->add_actions();
    p->set_kind(a.kind);
    p->set_node_type(a.node_type);
    p->set_count(a.count);
    p->set_role(a.role);
    p->set_node_id(a.node);
    p->set_reason(a.reason);
    p->set_replicas_before(a.replicas_before);
    p->set_replicas_after(a.replicas_after);
    p->set_metric(a.metric);
    p->set_outcome(a.outcome);
    for (const std::string& id : a.nodes_started) p->add_nodes_started(id);
  }
}

LoggedDecision FromWire(const v1::Decision& in) {
  LoggedDecision out;
  out.time_unix = in.time_unix();
  out.policy = in.policy();
  out.fence = in.fence();
  out.shadow = in.shadow();
  out.tick = in.tick();
  out.manager = in.manager();
  out.demand_rps = in.demand_rps();
  out.capacity_rps = in.capacity_rps();
  for (const v1::DecisionAction& p : in.actions()) {
    LoggedAction& a = out.actions.emplace_back();
    a.kind = p.kind();
    a.node_type = p.node_type();
    a.count = p.count();
    a.role = p.role();
    a.node = p.node_id();
    a.reason = p.reason();
    a.replicas_before = p.replicas_before();
    a.replicas_after = p.replicas_after();
    a.metric = p.metric();
    a.outcome = p.outcome();
    a.nodes_started.assign(p.nodes_started().begin(), p.nodes_started().end());
  }
  return out;
}

void ToWire(const LiveTick& in, v1::TickSummary* out) {
  out->set_demand_rps(in.demand_rps);
  out->set_capacity_rps(in.capacity_rps);
  out->set_agents(in.agents);
  out->set_ready(in.ready);
  out->set_booting(in.booting);
  out->set_leader(in.leader);
  out->set_fence(in.fence);
  ForecastToWire(in.forecast, out);
}

LiveTick FromWire(const v1::TickSummary& in) {
  LiveTick out;
  out.demand_rps = in.demand_rps();
  out.capacity_rps = in.capacity_rps();
  out.agents = in.agents();
  out.ready = in.ready();
  out.booting = in.booting();
  out.leader = in.leader();
  out.fence = in.fence();
  out.forecast = ForecastFromWire(in);
  return out;
}

// Everything but the sequence number, which the hub sets under its lock.
void ToWire(const WatchEvent& in, v1::WatchEvent* out) {
  out->set_time_unix(in.time_unix);
  switch (in.kind) {
    case WatchEvent::Kind::kNodeChanged:
      ToWire(in.node, out->mutable_node_changed());
      break;
    case WatchEvent::Kind::kNodeRemoved:
      out->mutable_node_removed()->set_node_id(in.removed_node);
      out->mutable_node_removed()->set_reason(in.reason);
      break;
    case WatchEvent::Kind::kDecision:
      ToWire(in.decision, out->mutable_decision());
      break;
    case WatchEvent::Kind::kGlobalEvent:
      ToWire(in.event, out->mutable_global_event());
      break;
    case WatchEvent::Kind::kTick:
      ToWire(in.tick, out->mutable_tick());
      break;
  }
}

void ToWire(const LiveSnapshot& in, v1::MeshSnapshot* out) {
  out->set_time_unix(in.time_unix);
  out->set_manager_id(in.manager_id);
  out->set_fence(in.fence);
  out->set_leader(in.leader);
  out->set_scenario_name(in.scenario_name);
  out->set_scenario_yaml(in.scenario_yaml);
  for (const std::string& o : in.overrides) out->add_overrides(o);
  out->set_interval_s(in.interval);
  for (const LiveNode& n : in.nodes) ToWire(n, out->add_nodes());
  out->set_history_start_unix(in.history_start_unix);
  out->set_history_step_s(in.history_step);
  out->mutable_demand_history()->Assign(in.demand_history.begin(), in.demand_history.end());
  out->mutable_ready_history()->Assign(in.ready_history.begin(), in.ready_history.end());
  out->mutable_capacity_history()->Assign(in.capacity_history.begin(), in.capacity_history.end());
  ForecastToWire(in.forecast, out);
  for (const Event& e : in.events) ToWire(e, out->add_events());
}

LiveSnapshot FromWire(const v1::MeshSnapshot& in) {
  LiveSnapshot out;
  out.time_unix = in.time_unix();
  out.manager_id = in.manager_id();
  out.fence = in.fence();
  out.leader = in.leader();
  out.scenario_name = in.scenario_name();
  out.scenario_yaml = in.scenario_yaml();
  out.overrides.assign(in.overrides().begin(), in.overrides().end());
  out.interval = in.interval_s();
  for (const v1::NodeChanged& n : in.nodes()) out.nodes.push_back(FromWire(n));
  out.history_start_unix = in.history_start_unix();
  out.history_step = in.history_step_s();
  out.demand_history.assign(in.demand_history().begin(), in.demand_history().end());
  out.ready_history.assign(in.ready_history().begin(), in.ready_history().end());
  out.capacity_history.assign(in.capacity_history().begin(), in.capacity_history().end());
  out.forecast = ForecastFromWire(in);
  for (const v1::GlobalEvent& e : in.events()) out.events.push_back(FromWire(e));
  return out;
}

// ------------------------------------------------- checks of what arrives

// A viewer plots and forks what it receives: an answer that would put a
// NaN on a time axis or misalign a forecast is refused, naming the field.
absl::Status Bad(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(field + ": " + what);
}

absl::Status CheckFinite(double x, const std::string& field) {
  if (std::isfinite(x)) return absl::OkStatus();
  return Bad(field, fmt::format("must be a finite number, got {}", x));
}

absl::Status CheckNonNegative(double x, const std::string& field) {
  if (std::isfinite(x) && x >= 0) return absl::OkStatus();
  return Bad(field, fmt::format("must be a finite number, 0 or more, got {}", x));
}

// `prefix` names the message holding the forecast ("tick.", or "" at the top).
template <typename Message>
absl::Status CheckForecast(const Message& in, const std::string& prefix) {
  const int n = in.forecast_horizons_s_size();
  for (int i = 0; i < n; ++i) {
    MESHTWIN_RETURN_IF_ERROR(CheckFinite(in.forecast_horizons_s(i),
                                         fmt::format("{}forecast_horizons_s[{}]", prefix, i)));
  }
  const std::pair<const char*, int> quantiles[] = {{"forecast_p10", in.forecast_p10_size()},
                                                   {"forecast_p50", in.forecast_p50_size()},
                                                   {"forecast_p90", in.forecast_p90_size()}};
  for (const auto& [name, size] : quantiles) {
    if (size != n) {
      return Bad(
          prefix + name,
          fmt::format("{} values for {} forecast_horizons_s: must be one per horizon", size, n));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEvent(const v1::GlobalEvent& e, const std::string& field) {
  MESHTWIN_RETURN_IF_ERROR(CheckFinite(e.start_unix(), field + ".start_unix"));
  MESHTWIN_RETURN_IF_ERROR(CheckFinite(e.end_unix(), field + ".end_unix"));
  return CheckFinite(e.announced_unix(), field + ".announced_unix");
}

absl::Status CheckNode(const v1::NodeChanged& n, const std::string& field) {
  if (n.node_id().empty()) return Bad(field + ".node_id", "must not be empty");
  return CheckFinite(n.load().time_unix(), field + ".load.time_unix");
}

absl::Status CheckSnapshot(const v1::MeshSnapshot& s) {
  MESHTWIN_RETURN_IF_ERROR(CheckFinite(s.time_unix(), "time_unix"));
  MESHTWIN_RETURN_IF_ERROR(CheckNonNegative(s.interval_s(), "interval_s"));
  MESHTWIN_RETURN_IF_ERROR(CheckFinite(s.history_start_unix(), "history_start_unix"));
  MESHTWIN_RETURN_IF_ERROR(CheckNonNegative(s.history_step_s(), "history_step_s"));
  // Without a step the history has no time axis: a fork could not place it.
  if (s.demand_history_size() > 0 && s.history_step_s() <= 0) {
    return Bad("history_step_s", fmt::format("must be more than 0 with {} demand_history values",
                                             s.demand_history_size()));
  }
  for (const auto& [name, size] : {std::pair{"ready_history", s.ready_history_size()},
                                   std::pair{"capacity_history", s.capacity_history_size()}}) {
    if (size != 0 && size != s.demand_history_size()) {
      return Bad(name, fmt::format("{} values for {} demand_history values: must be as many", size,
                                   s.demand_history_size()));
    }
  }
  MESHTWIN_RETURN_IF_ERROR(CheckForecast(s, ""));
  for (int i = 0; i < s.nodes_size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(CheckNode(s.nodes(i), fmt::format("nodes[{}]", i)));
  }
  for (int i = 0; i < s.events_size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(CheckEvent(s.events(i), fmt::format("events[{}]", i)));
  }
  return absl::OkStatus();
}

// Converts one streamed event. *known is false (and OK returned) for a kind
// this build does not know, which a newer manager may send: it is skipped.
absl::Status FromWire(const v1::WatchEvent& in, WatchEvent* out, bool* known) {
  *known = true;
  MESHTWIN_RETURN_IF_ERROR(CheckFinite(in.time_unix(), "time_unix"));
  out->seq = in.seq();
  out->time_unix = in.time_unix();
  switch (in.event_case()) {
    case v1::WatchEvent::kNodeChanged:
      MESHTWIN_RETURN_IF_ERROR(CheckNode(in.node_changed(), "node_changed"));
      out->kind = WatchEvent::Kind::kNodeChanged;
      out->node = FromWire(in.node_changed());
      break;
    case v1::WatchEvent::kNodeRemoved:
      if (in.node_removed().node_id().empty()) {
        return Bad("node_removed.node_id", "must not be empty");
      }
      out->kind = WatchEvent::Kind::kNodeRemoved;
      out->removed_node = in.node_removed().node_id();
      out->reason = in.node_removed().reason();
      break;
    case v1::WatchEvent::kDecision:
      MESHTWIN_RETURN_IF_ERROR(CheckFinite(in.decision().time_unix(), "decision.time_unix"));
      out->kind = WatchEvent::Kind::kDecision;
      out->decision = FromWire(in.decision());
      break;
    case v1::WatchEvent::kGlobalEvent:
      MESHTWIN_RETURN_IF_ERROR(CheckEvent(in.global_event(), "global_event"));
      out->kind = WatchEvent::Kind::kGlobalEvent;
      out->event = FromWire(in.global_event());
      break;
    case v1::WatchEvent::kTick:
      MESHTWIN_RETURN_IF_ERROR(CheckForecast(in.tick(), "tick."));
      out->kind = WatchEvent::Kind::kTick;
      out->tick = FromWire(in.tick());
      break;
    case v1::WatchEvent::EVENT_NOT_SET:
      *known = false;
      break;
  }
  return absl::OkStatus();
}

// The gRPC status as ours, its message prefixed with what failed and where.
absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      what + ": " + s.error_message());
}

std::chrono::system_clock::time_point Deadline(Seconds timeout) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(timeout));
}

std::string Describe(grpc::CallbackServerContext* context) {
  const std::string identity = PeerIdentity(*context->auth_context());
  return (identity.empty() ? "?" : identity) + "@" + context->peer();
}

class WatchStream;

}  // namespace

// ------------------------------------------------------------------- hub

class WatchHub::Impl final : public v1::WatchService::CallbackService {
 public:
  explicit Impl(WatchHubOptions options) : options_(options) {
    // A limit of 0 would cut every viewer off at its second event.
    options_.queue_limit = std::max<std::size_t>(options_.queue_limit, 1);
  }
  ~Impl() override {
    if (!streams_.empty()) {
      spdlog::error("WatchHub destroyed with {} streams open: shut the server down first",
                    streams_.size());
    }
  }

  grpc::ServerWriteReactor<v1::WatchEvent>* Watch(grpc::CallbackServerContext* context,
                                                  const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Snapshot(grpc::CallbackServerContext* context,
                                     const v1::SnapshotRequest* request,
                                     v1::MeshSnapshot* response) override;

  void SetSnapshotSource(std::function<LiveSnapshot(Seconds)> source) {
    std::lock_guard lock(source_mu_);
    source_ = std::move(source);
  }

  std::uint64_t Publish(WatchEvent event, bool load_only);

  int subscribers() const { return subscribers_.load(std::memory_order_acquire); }

  void Attach(WatchStream* stream);
  void Detach(WatchStream* stream);

 private:
  WatchHubOptions options_;

  std::mutex source_mu_;
  std::function<LiveSnapshot(Seconds)> source_;

  // Sequence numbers are taken under mu_ when someone listens, so that every
  // stream sees them increasing; without listeners, an atomic suffices.
  std::atomic<std::uint64_t> last_seq_{0};
  std::atomic<int> subscribers_{0};  // streams_.size(), readable without mu_
  std::mutex mu_;
  std::vector<WatchStream*> streams_;
};

namespace {

// One viewer's Watch call: events queued by Publish, written one at a time.
// Deletes itself when the RPC is done. Lock order: the hub's, then this one's.
class WatchStream final : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  enum class PushResult { kQueued, kStartWrite, kCutOff };

  WatchStream(WatchHub::Impl* hub, const v1::WatchRequest& request, std::size_t queue_limit,
              std::string peer)
      : hub_(hub),
        include_decisions_(request.include_decisions()),
        include_load_(request.include_load()),
        queue_limit_(queue_limit),
        peer_(std::move(peer)) {}

  const std::string& peer() const { return peer_; }

  bool Wants(WatchEvent::Kind kind, bool load_only) const {
    if (kind == WatchEvent::Kind::kDecision && !include_decisions_) return false;
    return !load_only || include_load_;
  }

  // Called by Publish with the hub's lock held. Never calls into gRPC: on
  // kStartWrite the caller starts the write after releasing the hub's lock
  // (this stream cannot finish before then, since a write is marked in
  // flight). kCutOff: the stream is ending and leaves the hub.
  PushResult Push(std::shared_ptr<const v1::WatchEvent> event) {
    std::lock_guard lock(mu_);
    if (finishing_) return PushResult::kCutOff;
    if (!writing_) {
      writing_ = true;
      current_ = std::move(event);
      return PushResult::kStartWrite;
    }
    if (queue_.size() >= queue_limit_) {
      // Finished by OnWriteDone once the write in flight completes: gRPC
      // allows no Finish while a write is outstanding. A viewer that has
      // stopped reading altogether keeps that write pending until its
      // connection dies or the server shuts down; meanwhile it holds one
      // event and no longer counts as a subscriber.
      finishing_ = true;
      queue_.clear();
      status_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             fmt::format("too slow; reconnect (more than {} events were waiting "
                                         "to be sent)",
                                         queue_limit_));
      return PushResult::kCutOff;
    }
    queue_.push_back(std::move(event));
    return PushResult::kQueued;
  }

  // Ends the RPC with `status` (once: the first reason wins), after the write
  // in flight, if any, completes.
  void End(grpc::Status status) {
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      finishing_ = true;
      queue_.clear();
      status_ = std::move(status);
      if (writing_) return;  // OnWriteDone finishes
      finished_ = true;
    }
    Finish(status_);
  }

  void OnWriteDone(bool ok) override {
    const v1::WatchEvent* next = nullptr;
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      if (!ok && !finishing_) {  // the stream broke under the write
        finishing_ = true;
        queue_.clear();
        status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
      }
      if (!finishing_ && !queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        next = current_.get();
      } else {
        writing_ = false;
        current_.reset();
        finish = finishing_ && !finished_;
        if (finish) finished_ = true;
      }
    }
    if (next != nullptr) StartWrite(next);
    if (finish) Finish(status_);
  }

  void OnCancel() override {
    End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the viewer"));
  }

  void OnDone() override {
    if (attached_) hub_->Detach(this);
    delete this;
  }

  void set_attached() { attached_ = true; }

 private:
  WatchHub::Impl* const hub_;
  const bool include_decisions_;
  const bool include_load_;
  const std::size_t queue_limit_;
  const std::string peer_;
  bool attached_ = false;  // set before the stream is shared

  std::mutex mu_;
  // Events are converted once and shared by every stream they go to.
  std::shared_ptr<const v1::WatchEvent> current_;  // the write in flight
  std::deque<std::shared_ptr<const v1::WatchEvent>> queue_;
  bool writing_ = false;  // invariant: !queue_.empty() implies writing_
  bool finishing_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace

void WatchHub::Impl::Attach(WatchStream* stream) {
  std::lock_guard lock(mu_);
  streams_.push_back(stream);
  subscribers_.store(static_cast<int>(streams_.size()), std::memory_order_release);
}

void WatchHub::Impl::Detach(WatchStream* stream) {
  std::lock_guard lock(mu_);
  auto it = std::find(streams_.begin(), streams_.end(), stream);
  if (it != streams_.end()) streams_.erase(it);
  subscribers_.store(static_cast<int>(streams_.size()), std::memory_order_release);
}

grpc::ServerWriteReactor<v1::WatchEvent>* WatchHub::Impl::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  auto* stream = new WatchStream(this, *request, options_.queue_limit, Describe(context));
  // The server already refuses a peer without a certificate from our CA; a
  // viewer needs nothing more than that.
  if (PeerIdentity(*context->auth_context()).empty()) {
    stream->End(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                             "no client certificate: a viewer must present one"));
    return stream;
  }
  // Headers now, before the first event, which may be long in coming: the
  // viewer learns at once that it is subscribed. Sent before the stream is
  // shared, so that it never races a write started by Publish.
  stream->StartSendInitialMetadata();
  stream->set_attached();
  Attach(stream);
  spdlog::debug("watch: {} subscribed (decisions {}, load {})", stream->peer(),
                request->include_decisions(), request->include_load());
  return stream;
}

grpc::ServerUnaryReactor* WatchHub::Impl::Snapshot(grpc::CallbackServerContext* context,
                                                   const v1::SnapshotRequest* request,
                                                   v1::MeshSnapshot* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (PeerIdentity(*context->auth_context()).empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "no client certificate: a viewer must present one"));
    return reactor;
  }
  const double history = request->history_s();
  if (!std::isfinite(history) || history < 0) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        fmt::format("history_s: must be a finite number, 0 or more, got {}", history)));
    return reactor;
  }
  std::function<LiveSnapshot(Seconds)> source;
  {
    std::lock_guard lock(source_mu_);
    source = source_;
  }
  if (!source) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no snapshot source"));
    return reactor;
  }
  // Called outside any lock of ours: the source takes the manager's.
  ToWire(source(history), response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

std::uint64_t WatchHub::Impl::Publish(WatchEvent event, bool load_only) {
  // The control loop publishes every tick and every heartbeat round: with
  // nobody watching, that costs one atomic increment.
  if (subscribers_.load(std::memory_order_acquire) == 0) {
    return last_seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  // Converted once, outside the lock, and shared by every stream.
  auto wire = std::make_shared<v1::WatchEvent>();
  ToWire(event, wire.get());
  std::vector<WatchStream*> to_start;
  std::vector<std::string> cut_off;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = last_seq_.fetch_add(1, std::memory_order_relaxed) + 1;
    wire->set_seq(seq);
    std::shared_ptr<const v1::WatchEvent> shared = wire;
    for (std::size_t i = 0; i < streams_.size();) {
      WatchStream* s = streams_[i];
      if (!s->Wants(event.kind, load_only)) {
        ++i;
        continue;
      }
      switch (s->Push(shared)) {
        case WatchStream::PushResult::kQueued:
          ++i;
          break;
        case WatchStream::PushResult::kStartWrite:
          to_start.push_back(s);
          ++i;
          break;
        case WatchStream::PushResult::kCutOff:
          cut_off.push_back(s->peer());
          streams_.erase(streams_.begin() + static_cast<std::ptrdiff_t>(i));
          break;
      }
    }
    subscribers_.store(static_cast<int>(streams_.size()), std::memory_order_release);
  }
  // Safe without the lock: each of these has a write marked in flight, so
  // it cannot finish (and be deleted) before this write completes.
  for (WatchStream* s : to_start) s->StartWrite(wire.get());
  for (const std::string& peer : cut_off) {
    spdlog::warn("watch: {} cut off: more than {} events waiting (it may reconnect)", peer,
                 options_.queue_limit);
  }
  return seq;
}

WatchHub::WatchHub(WatchHubOptions options) : impl_(std::make_unique<Impl>(options)) {}
WatchHub::~WatchHub() = default;

grpc::Service* WatchHub::service() { return impl_.get(); }

void WatchHub::SetSnapshotSource(std::function<LiveSnapshot(Seconds history)> source) {
  impl_->SetSnapshotSource(std::move(source));
}

std::uint64_t WatchHub::Publish(WatchEvent event, bool load_only) {
  return impl_->Publish(std::move(event), load_only);
}

int WatchHub::subscribers() const { return impl_->subscribers(); }

// ---------------------------------------------------------------- client

class WatchClient::Impl {
 public:
  Impl(std::string address, std::shared_ptr<grpc::Channel> channel)
      : address_(std::move(address)),
        channel_(std::move(channel)),
        stub_(v1::WatchService::NewStub(channel_)) {}

  absl::StatusOr<LiveSnapshot> Snapshot(Seconds history, Seconds timeout) {
    const std::string what = "snapshot from " + address_;
    if (!std::isfinite(history) || history < 0) {
      return absl::InvalidArgumentError(
          fmt::format("{}: history: must be a finite number, 0 or more, got {}", what, history));
    }
    grpc::ClientContext context;
    context.set_deadline(Deadline(timeout));
    v1::SnapshotRequest request;
    request.set_history_s(history);
    v1::MeshSnapshot response;
    MESHTWIN_RETURN_IF_ERROR(FromGrpc(stub_->Snapshot(&context, request, &response), what));
    if (absl::Status s = CheckSnapshot(response); !s.ok()) {
      return absl::InvalidArgumentError(what + ": " + ErrorText(s));
    }
    return FromWire(response);
  }

  absl::Status Watch(const WatchRequest& request,
                     const std::function<bool(const WatchEvent&)>& on_event) {
    const std::string what = "watch stream from " + address_;
    grpc::ClientContext context;
    {
      std::lock_guard lock(mu_);
      if (cancel_pending_) {  // Cancel() came first: this is the call it ends
        cancel_pending_ = false;
        return absl::OkStatus();
      }
      active_ = &context;
    }
    v1::WatchRequest wire_request;
    wire_request.set_include_decisions(request.include_decisions);
    wire_request.set_include_load(request.include_load);
    std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader =
        stub_->Watch(&context, wire_request);

    absl::Status bad;
    bool stopped = false;  // on_event said so
    std::uint64_t last_seq = 0;
    v1::WatchEvent in;
    while (reader->Read(&in)) {
      WatchEvent event;
      bool known = true;
      absl::Status s = FromWire(in, &event, &known);
      if (s.ok() && in.seq() <= last_seq) {
        s = Bad("seq", fmt::format("{} after {}: must increase", in.seq(), last_seq));
      }
      if (!s.ok()) {
        bad = absl::InvalidArgumentError(
            fmt::format("{}: event seq {}: {}", what, in.seq(), ErrorText(s)));
        break;
      }
      last_seq = in.seq();
      if (!known) continue;
      if (!on_event(event)) {
        stopped = true;
        break;
      }
    }
    if (stopped || !bad.ok()) context.TryCancel();
    const grpc::Status status = reader->Finish();
    bool cancelled = false;
    {
      std::lock_guard lock(mu_);
      active_ = nullptr;
      cancelled = cancel_pending_;
      cancel_pending_ = false;
    }
    if (!bad.ok()) return bad;
    if (stopped || cancelled) return absl::OkStatus();
    return FromGrpc(status, what);
  }

  void Cancel() {
    std::lock_guard lock(mu_);
    cancel_pending_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }

 private:
  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WatchService::Stub> stub_;
  std::mutex mu_;
  grpc::ClientContext* active_ = nullptr;  // the Watch in progress
  bool cancel_pending_ = false;            // Cancel() not yet seen by a Watch
};

absl::StatusOr<std::unique_ptr<WatchClient>> WatchClient::Connect(const std::string& address,
                                                                  const TlsOptions& tls) {
  MESHTWIN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(address, tls));
  return std::unique_ptr<WatchClient>(
      new WatchClient(std::make_unique<Impl>(address, std::move(channel))));
}

WatchClient::WatchClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WatchClient::~WatchClient() = default;

absl::StatusOr<LiveSnapshot> WatchClient::Snapshot(Seconds history, Seconds timeout) {
  return impl_->Snapshot(history, timeout);
}

absl::Status WatchClient::Watch(const WatchRequest& request,
                                const std::function<bool(const WatchEvent&)>& on_event) {
  return impl_->Watch(request, on_event);
}

void WatchClient::Cancel() { impl_->Cancel(); }

}  // namespace meshtwin::live
