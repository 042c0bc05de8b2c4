#include "live_bridge/manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "datasets/atomic_file.h"
#include "datasets/events.h"
#include "live_bridge/agent_registry.h"
#include "live_bridge/decision_log.h"
#include "live_bridge/dht_peer.h"
#include "live_bridge/etcd_client.h"
#include "live_bridge/event_intake.h"
#include "live_bridge/leader_election.h"
#include "live_bridge/metrics_http.h"
#include "live_bridge/prometheus_client.h"
#include "live_bridge/prometheus_text.h"
#include "live_bridge/provisioners.h"
#include "live_bridge/tls_server.h"
#include "live_bridge/watch.h"
#include "models/forecast_pipeline.h"
#include "policies/composite_policy.h"
#include "policies/remediation_policy.h"
#include "twin/dht/capability.h"

namespace meshtwin::live {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double SteadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A node a provisioner started that has not registered yet: it counts as
// booting until it does, or until it has taken far longer than a boot.
struct PendingNode {
  std::string id;
  int type = 0;
  int role = 0;
  double started_unix = 0;
};

}  // namespace

class Manager::Impl {
 public:
  explicit Impl(const ManagerConfig& config) : config_(config) {}

  absl::Status Init();
  absl::Status Start();
  void Tick(double now_unix);
  void Shutdown();
  ManagerStatus Status() const {
    std::lock_guard lock(status_mu_);
    return status_;
  }
  int grpc_port() const { return server_ ? server_->port() : 0; }
  int http_port() const { return http_ ? http_->port() : 0; }
  const ManagerConfig& config() const { return config_; }

 private:
  void OnLeadership(const Leadership& l);
  // Events that came in here (gRPC, webhook, file) and, with etcd, those any
  // replica received: shared under KEY/events/ so that a standby that takes
  // over knows what the leader was told.
  void TakeEvents(double now_unix);
  void UseEvent(const Event& e, const std::string& id, const std::string& via, double now_unix);
  // Reads every role's capability records from the DHT: the nodes it finds.
  // A replica that finds none while agents report DHT nodes (it was a
  // standby, its node alone on a ring of its own) joins again through one.
  void ReadDht();
  // Runs ReadDht every interval (at least 1 s) off the control loop: a
  // lookup may wait out RPC timeouts while the ring repairs itself.
  void DhtReaderLoop();
  DhtPeerOptions DhtOptions(std::string bootstrap) const {
    DhtPeerOptions o;
    o.protocol = config_.dht_protocol;
    o.listen = config_.dht_listen;
    o.tls = config_.tls;
    o.name = config_.id;
    o.bootstrap = std::move(bootstrap);
    return o;
  }
  bool Leading(std::int64_t* fence) const;
  Observation Observe(double now_unix, const std::vector<AgentRecord>& agents, double demand);
  // NaN when Prometheus is configured but has no answer for the interval.
  double QueryDemand(double now_unix, const std::vector<AgentRecord>& agents);
  void Act(double now_unix, std::int64_t tick, std::int64_t fence, const Observation& obs,
           const Plan& plan, const std::vector<AgentRecord>& agents);
  void ApplyAction(const Action& a, std::int64_t tick, std::int64_t fence,
                   const std::vector<AgentRecord>& agents, LoggedAction* out);
  std::vector<std::string> PickScaleIn(int type, int role, int count,
                                       const std::vector<AgentRecord>& agents);
  void RetireNode(const std::string& id, std::int64_t fence, const std::string& reason);
  void WriteServiceDiscovery(const std::vector<AgentRecord>& agents);
  absl::StatusOr<std::string> RenderMetrics() const;
  void PublishChanges(double now_unix, const std::vector<AgentRecord>& agents,
                      const Observation& obs, double queried, bool leading, std::int64_t fence);
  LiveSnapshot Snapshot(Seconds history) const;
  int TypeOf(const AgentRecord& r) const;
  int RoleIndex(const std::string& name) const;
  std::string RoleName(int role) const;
  int NodeIndex(const std::string& id);

  const ManagerConfig config_;
  const Scenario& scenario() const { return config_.loaded; }
  int pool_ = 0;
  double node_rps_ = 0;
  double epoch_unix_ = 0;

  std::unique_ptr<AgentRegistry> registry_owned_;
  AgentRegistry* registry_ptr_ = nullptr;
  std::unique_ptr<LiveServer> server_;
  WatchHub watch_;
  std::unique_ptr<MetricsHttpServer> http_;
  std::unique_ptr<EventIntake> intake_;
  std::unique_ptr<EventFileFollower> follower_;
  std::unique_ptr<EtcdClient> etcd_;
  std::unique_ptr<LeaderElection> election_;
  std::unique_ptr<DhtPeer> dht_;  // used and replaced by the reader thread once started
  double last_dht_join_ = 0;      // steady clock
  std::thread dht_reader_;
  std::mutex dht_mu_;
  std::condition_variable dht_cv_;
  bool dht_stop_ = false;
  std::unique_ptr<DecisionLog> log_;
  std::unique_ptr<Provisioner> provisioner_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<ForecastPipeline> forecaster_;

  // The control loop's own state: touched by Tick only (one thread).
  std::map<std::string, int> node_index_;
  std::map<int, std::string> node_name_;
  std::vector<PendingNode> pending_;
  std::set<std::string> retired_;
  std::string last_sd_;
  std::set<std::string> events_seen_;  // ids of the events in use
  double takeover_until_ = 0;          // steady clock; no decision before
  double last_demand_ = 0;             // the latest demand known

  mutable std::mutex leader_mu_;
  Leadership leadership_;

  mutable std::mutex status_mu_;
  ManagerStatus status_;
  Forecast last_forecast_;
  std::map<std::string, std::uint64_t> action_counts_;  // "kind/outcome"

  // What viewers see: the last node views (to publish changes only) and,
  // for snapshots, the demand series and the fleet as of the last tick.
  std::map<std::string, std::pair<NodeState, std::string>> published_nodes_;
  mutable std::mutex snapshot_mu_;
  std::deque<double> demand_history_;  // one per tick, NaN: no reading
  std::deque<int> ready_history_;      // the pool's ready nodes, per tick
  std::deque<double> capacity_history_;
  double history_start_unix_ = 0;
  std::vector<LiveNode> last_nodes_;
  std::vector<Event> events_;
};

absl::Status Manager::Impl::Init() {
  const Scenario& s = scenario();
  if (s.node_types.empty()) {
    return absl::InvalidArgumentError(s.source + ": node_types: expected at least one");
  }
  pool_ = std::clamp<int>(s.hpa.node_type, 0, static_cast<int>(s.node_types.size()) - 1);
  node_rps_ = s.node_types[static_cast<std::size_t>(pool_)].NodeSpeed() / s.workload.request_work;
  // Run time 0 of the policy and forecaster: the start, on the tick grid.
  epoch_unix_ = std::floor(UnixNow() / config_.interval) * config_.interval;

  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, MakePolicy(s, Trace{}));
  // Live, the loop always heals: a silent agent is a failed node. A scenario
  // with a faults section already composes remediation (its detection keys).
  if (!s.faults.enabled) {
    RemediationOptions options;
    options.detection.anomaly = "none";  // per-node anomaly needs service times agents lack
    MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<RemediationPolicy> heal,
                              RemediationPolicy::Create(options));
    std::vector<std::unique_ptr<Policy>> parts;
    parts.push_back(std::move(policy));
    parts.push_back(std::move(heal));
    policy = std::make_unique<CompositePolicy>(std::move(parts));
  }
  policy_ = std::move(policy);
  if (s.forecast.enabled) {
    MESHTWIN_ASSIGN_OR_RETURN(forecaster_, MakeForecastPipeline(s, epoch_unix_, {}));
  }
  MESHTWIN_ASSIGN_OR_RETURN(
      intake_, EventIntake::Create(EventIntakeOptions{.keywords_file = config_.keywords_file}));
  {
    std::error_code ec;
    const auto dir = std::filesystem::path(config_.decision_log).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  }
  MESHTWIN_ASSIGN_OR_RETURN(log_, DecisionLog::Open(config_.decision_log));
  if (config_.actuator == "process") {
    MESHTWIN_ASSIGN_OR_RETURN(provisioner_, ProcessLauncher::Create(config_.process));
  } else if (config_.actuator == "kubernetes") {
    MESHTWIN_ASSIGN_OR_RETURN(provisioner_, KubernetesScaler::Create(config_.kubernetes));
  } else if (config_.actuator == "exec") {
    MESHTWIN_ASSIGN_OR_RETURN(provisioner_, ExecHook::Create(config_.exec));
  }
  return absl::OkStatus();
}

absl::Status Manager::Impl::Start() {
  // The mesh's DHT: this replica's node seeds it (agents join through it,
  // named at registration) and reads the agents' capability records.
  AgentRegistryOptions registry_options;
  registry_options.manager_id = config_.id;
  registry_options.heartbeat_interval = config_.heartbeat_interval;
  if (!config_.dht_protocol.empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(dht_, DhtPeer::Start(DhtOptions("")));
    registry_options.dht_bootstrap = {dht_->endpoint()};
  }
  registry_owned_ = std::make_unique<AgentRegistry>(registry_options);
  registry_ptr_ = registry_owned_.get();
  if (dht_) dht_reader_ = std::thread([this] { DhtReaderLoop(); });
  LiveServerOptions server_options;
  server_options.address = config_.listen;
  server_options.tls = config_.tls;
  server_ = std::make_unique<LiveServer>(server_options);
  server_->AddService(registry_ptr_->service());
  server_->AddService(intake_->service());
  server_->AddService(watch_.service());
  watch_.SetSnapshotSource([this](Seconds history) { return Snapshot(history); });
  MESHTWIN_RETURN_IF_ERROR(server_->Start());

  if (!config_.http_listen.empty()) {
    MetricsServerOptions http;
    const std::size_t colon = config_.http_listen.rfind(':');
    http.bind_address = config_.http_listen.substr(0, colon);
    http.port = std::stoi(config_.http_listen.substr(colon + 1));
    http.tls = config_.tls.files;
    http.tls_refresh = config_.tls.refresh_interval_s;
    http.routes.push_back(intake_->WebhookRoute("/events"));
    MESHTWIN_ASSIGN_OR_RETURN(
        http_, MetricsHttpServer::Start(std::move(http), [this] { return RenderMetrics(); }));
  }
  if (!config_.events_file.empty()) {
    follower_ = std::make_unique<EventFileFollower>(config_.events_file, *intake_);
    MESHTWIN_RETURN_IF_ERROR(follower_->Start());
  }
  if (config_.etcd_endpoint.empty()) {
    OnLeadership(Leadership{.leader = true, .fence = 0, .leader_id = config_.id});
  } else {
    // Until the election says otherwise this replica is a standby.
    registry_ptr_->SetAccepting(false, "standing by (election pending)");
    MESHTWIN_ASSIGN_OR_RETURN(etcd_, EtcdClient::Connect(EtcdOptions{
                                         .endpoint = config_.etcd_endpoint,
                                         .tls = config_.tls.files,
                                         .timeout = std::min<Seconds>(2, config_.lease_ttl / 2)}));
    ElectionOptions e;
    e.key = config_.election_key;
    e.candidate = config_.id;
    e.lease_ttl = config_.lease_ttl;
    MESHTWIN_RETURN_IF_ERROR(LeaderElection::Validate(e));
    election_ = std::make_unique<LeaderElection>(*etcd_, e);
    election_->Start([this](const Leadership& l) { OnLeadership(l); });
  }
  spdlog::info("manager {} serving agents on port {}{}", config_.id, server_->port(),
               http_ ? absl::StrCat(", /metrics and /events on port ", http_->port()) : "");
  return absl::OkStatus();
}

void Manager::Impl::UseEvent(const Event& e, const std::string& id, const std::string& via,
                             double now_unix) {
  if (!events_seen_.insert(id).second) return;
  spdlog::info("event {} via {}: {} x{} from {}{}", id, via, e.category, e.magnitude, e.start,
               e.text.empty() ? "" : ": " + e.text);
  if (forecaster_) forecaster_->AddEvent(e);
  watch_.Publish(WatchEvent::GlobalEvent(e, now_unix));
  {
    std::lock_guard lock(snapshot_mu_);
    events_.push_back(e);
  }
  std::lock_guard lock(status_mu_);
  ++status_.events;
}

void Manager::Impl::DhtReaderLoop() {
  const auto period = std::chrono::duration<double>(std::max<Seconds>(1, config_.interval));
  std::unique_lock lock(dht_mu_);
  while (!dht_cv_.wait_for(lock, period, [this] { return dht_stop_; })) {
    lock.unlock();
    ReadDht();
    lock.lock();
  }
}

void Manager::Impl::ReadDht() {
  std::vector<std::string> roles;
  for (const RoleSpec& r : scenario().roles) roles.push_back(r.name);
  if (roles.empty()) roles.push_back(RoleName(-1));
  std::set<std::string> found;
  bool answered = true;  // every read came back (empty answers included)
  for (const std::string& role : roles) {
    absl::StatusOr<dht::OpResult> got = dht_->Get(dht::ClassKey("role:" + role), 5);
    if (!got.ok() || !got->ok) {
      answered = false;
      continue;
    }
    for (const dht::StoredValue& v : got->values) {
      absl::StatusOr<dht::CapabilityRecord> record = dht::DecodeCapabilityRecord(v.data);
      // A record left under a class its node no longer holds says so itself.
      if (record.ok() && record->role == role) found.insert(record->name);
    }
  }
  // Alone on a ring of its own: the reads answer at once, and empty.
  if (answered && found.empty() && SteadyNow() - last_dht_join_ > 10) {
    for (const AgentRecord& a : registry_ptr_->Snapshot()) {
      const std::string& through = a.registration.dht_address;
      if (through.empty() || through == dht_->endpoint()) continue;
      absl::StatusOr<std::unique_ptr<DhtPeer>> peer = DhtPeer::Start(DhtOptions(through));
      last_dht_join_ = SteadyNow();
      if (!peer.ok()) {
        spdlog::warn("dht: cannot join the agents' DHT through {}: {}", through,
                     ErrorText(peer.status()));
        break;
      }
      spdlog::info("dht: joined the agents' DHT through {} ({})", through, a.registration.node_id);
      dht_->Stop();
      dht_ = *std::move(peer);
      registry_ptr_->SetDhtBootstrap({dht_->endpoint()});
      break;
    }
  }
  std::lock_guard lock(status_mu_);
  status_.dht_nodes = static_cast<int>(found.size());
}

void Manager::Impl::TakeEvents(double now_unix) {
  const std::string prefix = config_.election_key + "/events/";
  for (const IntakeEvent& in : intake_->TakeNew()) {
    const std::string id = config_.id + "-" + in.id;
    if (etcd_ != nullptr) {
      const Event& e = in.event;
      nlohmann::json j = {{"start", e.start},         {"announced", e.announced},
                          {"source", e.source},       {"category", e.category},
                          {"magnitude", e.magnitude}, {"text", e.text}};
      if (std::isfinite(e.end)) j["end"] = e.end;
      if (absl::StatusOr<std::int64_t> put = etcd_->Put(prefix + id, j.dump()); !put.ok()) {
        spdlog::warn("event {}: not shared with the other replicas: {}", id,
                     ErrorText(put.status()));
      }
    }
    UseEvent(in.event, id, in.via, now_unix);
  }
  if (etcd_ == nullptr) return;
  absl::StatusOr<std::vector<EtcdKeyValue>> shared = etcd_->GetPrefix(prefix);
  if (!shared.ok()) return;  // etcd unreachable: the election reports it
  for (const EtcdKeyValue& kv : *shared) {
    const std::string id = kv.key.substr(prefix.size());
    if (events_seen_.count(id) != 0) continue;
    absl::StatusOr<std::vector<Event>> parsed = ParseEventsJsonl(kv.value, kv.key);
    if (!parsed.ok() || parsed->size() != 1) {
      spdlog::warn("etcd {}: not an event: {}", kv.key,
                   parsed.ok() ? "several records" : ErrorText(parsed.status()));
      events_seen_.insert(id);
      continue;
    }
    UseEvent(parsed->front(), id, "etcd", now_unix);
  }
}

void Manager::Impl::OnLeadership(const Leadership& l) {
  {
    std::lock_guard lock(leader_mu_);
    const bool won = l.leader && !leadership_.leader;
    leadership_ = l;
    if (won) takeover_until_ = SteadyNow() + config_.takeover_grace;
  }
  if (l.leader) {
    spdlog::info("{} leads (fence {}): accepting agents", config_.id, l.fence);
    registry_ptr_->SetAccepting(true);
  } else {
    spdlog::info("{} stands by{}", config_.id,
                 l.leader_id.empty() ? "" : absl::StrCat(" (leader: ", l.leader_id, ")"));
    registry_ptr_->SetAccepting(
        false, l.leader_id.empty() ? "standing by" : "standing by; the leader is " + l.leader_id);
  }
  std::lock_guard lock(status_mu_);
  if (l.leader && !status_.leader) ++status_.elections_won;
  status_.leader = l.leader;
  status_.fence = l.fence;
  status_.leader_id = l.leader_id;
}

bool Manager::Impl::Leading(std::int64_t* fence) const {
  std::lock_guard lock(leader_mu_);
  if (!leadership_.leader) return false;
  // The election's own clock: leader only while the lease cannot have expired.
  if (election_ != nullptr && !election_->IsLeader()) return false;
  *fence = leadership_.fence;
  return true;
}

int Manager::Impl::TypeOf(const AgentRecord& r) const {
  const std::string& name = r.registration.capabilities.node_type;
  for (std::size_t t = 0; t < scenario().node_types.size(); ++t) {
    if (scenario().node_types[t].name == name) return static_cast<int>(t);
  }
  return pool_;  // an agent that names no known type joins the policy's pool
}

int Manager::Impl::RoleIndex(const std::string& name) const {
  for (std::size_t i = 0; i < scenario().roles.size(); ++i) {
    if (scenario().roles[i].name == name) return static_cast<int>(i);
  }
  return 0;
}

std::string Manager::Impl::RoleName(int role) const {
  if (role >= 0 && static_cast<std::size_t>(role) < scenario().roles.size()) {
    return scenario().roles[static_cast<std::size_t>(role)].name;
  }
  if (!config_.default_role.empty()) return config_.default_role;
  return scenario().roles.empty() ? RoleSpec{}.name : scenario().roles.front().name;
}

int Manager::Impl::NodeIndex(const std::string& id) {
  auto [it, added] = node_index_.emplace(id, static_cast<int>(node_index_.size()));
  if (added) node_name_[it->second] = id;
  return it->second;
}

double Manager::Impl::QueryDemand(double now_unix, const std::vector<AgentRecord>& agents) {
  if (!config_.prometheus_url.empty()) {
    PrometheusClientOptions options;
    options.read_timeout = config_.query_timeout;
    options.connect_timeout = std::min<Seconds>(config_.query_timeout, 5);
    options.tls = config_.tls.files;
    absl::StatusOr<std::vector<PrometheusSample>> samples =
        QueryRange(config_.prometheus_url, config_.demand_query, now_unix - config_.interval,
                   now_unix, std::max<Seconds>(1, config_.interval / 2), options);
    if (samples.ok() && !samples->empty()) return samples->back().value;
    const std::string why =
        samples.ok() ? "no data in the last interval" : std::string(ErrorText(samples.status()));
    spdlog::warn("demand query: {}", why);
    std::lock_guard lock(status_mu_);
    status_.last_error = "demand query: " + why;
    return std::numeric_limits<double>::quiet_NaN();
  }
  double sum = 0;
  for (const AgentRecord& a : agents) sum += a.load.requests_per_s;
  return sum;
}

Observation Manager::Impl::Observe(double now_unix, const std::vector<AgentRecord>& agents,
                                   double demand) {
  const Scenario& s = scenario();
  Observation obs;
  obs.now = now_unix - epoch_unix_;
  obs.interval = config_.interval;
  obs.demand_rps = demand;
  const std::size_t roles = std::max<std::size_t>(1, s.roles.size());
  obs.pools.resize(s.node_types.size());
  obs.roles.resize(roles);
  for (std::size_t t = 0; t < obs.pools.size(); ++t) obs.pools[t].node_type = static_cast<int>(t);
  for (std::size_t r = 0; r < roles; ++r) obs.roles[r].role = static_cast<int>(r);
  std::vector<double> cpu_sum(obs.pools.size(), 0);
  const double steady_now = SteadyNow();
  std::set<std::string> registered;
  for (const AgentRecord& a : agents) {
    registered.insert(a.registration.node_id);
    if (retired_.count(a.registration.node_id) != 0) continue;
    const int type = TypeOf(a);
    const int role = RoleIndex(a.role);
    PoolObservation& p = obs.pools[static_cast<std::size_t>(type)];
    RoleObservation& ro = obs.roles[static_cast<std::size_t>(role)];
    switch (a.state) {
      case NodeState::kReady:
        ++p.ready;
        ++ro.ready;
        cpu_sum[static_cast<std::size_t>(type)] += a.load.cpu_utilization;
        if (a.heartbeats <= 1) ++p.ready_without_metrics;
        break;
      case NodeState::kBooting:
        ++p.booting;
        ++ro.booting;
        break;
      case NodeState::kSwitching:
        ++p.switching;
        ++ro.switching;
        break;
      case NodeState::kDraining:
        ++p.draining;
        break;
      default:
        break;
    }
    NodeObservation n = ToNodeObservation(a, steady_now);
    n.id = NodeIndex(a.registration.node_id);
    n.type = type;
    n.role = role;
    n.speed_rps =
        s.node_types[static_cast<std::size_t>(type)].NodeSpeed() / s.workload.request_work;
    obs.nodes.push_back(n);
  }
  // Started but not registered yet: booting. Given up on after ten boot
  // times (the provisioner's start failed somewhere the manager cannot see).
  std::erase_if(pending_, [&](const PendingNode& p) {
    const Seconds boot = s.node_types[static_cast<std::size_t>(p.type)].boot_time;
    return registered.count(p.id) != 0 || now_unix - p.started_unix > 10 * std::max(boot, 10.0);
  });
  for (const PendingNode& p : pending_) {
    ++obs.pools[static_cast<std::size_t>(p.type)].booting;
    ++obs.roles[static_cast<std::size_t>(p.role)].booting;
  }
  double capacity = 0;
  for (std::size_t t = 0; t < obs.pools.size(); ++t) {
    PoolObservation& p = obs.pools[t];
    const double rps = s.node_types[t].NodeSpeed() / s.workload.request_work;
    capacity += p.ready * rps;
  }
  obs.capacity_rps = capacity;
  // Utilisation as the simulator defines it (demand over what the ready
  // nodes can serve) when the demand is known; the agents' CPU otherwise.
  for (std::size_t t = 0; t < obs.pools.size(); ++t) {
    PoolObservation& p = obs.pools[t];
    const double rps = s.node_types[t].NodeSpeed() / s.workload.request_work;
    if (static_cast<int>(t) == pool_ && demand > 0) {
      p.utilization = p.ready > 0 ? std::min(1.0, demand / (p.ready * rps)) : 1.0;
    } else {
      p.utilization = p.ready > 0 ? cpu_sum[t] / p.ready : 0;
    }
  }
  obs.utilization = capacity > 0 ? std::min(1.0, demand / capacity) : (demand > 0 ? 1.0 : 0.0);
  obs.roles[0].demand_rps = demand;
  for (RoleObservation& ro : obs.roles) {
    const double rps = node_rps_;
    ro.capacity_rps = ro.ready * rps;
    if (s.roles.size() > 1)
      ro.demand_rps = demand * s.roles[static_cast<std::size_t>(ro.role)].share;
    ro.utilization = ro.capacity_rps > 0 ? std::min(1.0, ro.demand_rps / ro.capacity_rps) : 0;
  }
  for (int c = 0; c < kNumClasses; ++c) {
    obs.demand_by_class[static_cast<std::size_t>(c)] =
        demand * s.workload.class_share[static_cast<std::size_t>(c)];
  }
  return obs;
}

void Manager::Impl::Tick(double now_unix) {
  const std::vector<AgentRecord> agents = registry_ptr_->Snapshot();
  TakeEvents(now_unix);

  // An unanswered query is no sample for the forecaster (a zero would teach
  // it a dip that never happened); the policy keeps the last demand it knew
  // and decides without a forecast that tick.
  const double queried = QueryDemand(now_unix, agents);
  if (std::isfinite(queried)) last_demand_ = queried;
  const double demand = last_demand_;
  Observation obs = Observe(now_unix, agents, demand);
  if (forecaster_ && std::isfinite(queried)) obs.forecast = forecaster_->Predict(obs);

  std::int64_t fence = 0;
  const bool leading = Leading(&fence);
  // The leader knows the fleet; a standby's empty list must not replace it.
  if (leading) WriteServiceDiscovery(agents);
  bool settled = true;
  {
    std::lock_guard lock(leader_mu_);
    settled = SteadyNow() >= takeover_until_;
  }
  {
    std::lock_guard lock(status_mu_);
    ++status_.ticks;
    status_.agents = static_cast<int>(agents.size());
    status_.ready = obs.pools[static_cast<std::size_t>(pool_)].ready;
    status_.demand_rps = demand;
    status_.capacity_rps = obs.capacity_rps;
    last_forecast_ = obs.forecast;
  }
  PublishChanges(now_unix, agents, obs, queried, leading, fence);
  // A standby decides nothing: its policy would see no fleet (agents report
  // to the leader) and its state would be wrong when it takes over.
  if (!leading || !settled) return;
  const Plan plan = policy_->Decide(obs);
  if (plan.actions.empty()) return;
  const auto tick = static_cast<std::int64_t>(std::floor(now_unix / config_.interval + 1e-9));
  Act(now_unix, tick, fence, obs, plan, agents);
}

void Manager::Impl::Act(double now_unix, std::int64_t tick, std::int64_t fence,
                        const Observation& obs, const Plan& plan,
                        const std::vector<AgentRecord>& agents) {
  LoggedDecision d;
  d.time_unix = now_unix;
  d.tick = tick;
  d.fence = fence;
  d.manager = config_.id;
  d.policy = std::string(policy_->name());
  d.demand_rps = obs.demand_rps;
  d.capacity_rps = obs.capacity_rps;
  d.forecast_horizons_s = obs.forecast.horizons;
  d.forecast_p50 = obs.forecast.p50;
  d.forecast_p90 = obs.forecast.p90;
  // The claim: once per tick across replicas, and only while our election
  // key is still the one etcd holds.
  bool claimed = true;
  std::string refusal;
  if (election_ != nullptr) {
    absl::StatusOr<bool> c =
        election_->FencedCreate(absl::StrCat(config_.election_key, "/ticks/", tick), config_.id);
    claimed = c.ok() && *c;
    if (!c.ok()) refusal = absl::StrCat("fenced: ", ErrorText(c.status()));
    if (c.ok() && !*c) refusal = "fenced: tick already claimed or leadership lost";
  }
  for (const Action& a : plan.actions) {
    LoggedAction& la = d.actions.emplace_back();
    la.kind = ToString(a.kind);
    la.node_type = scenario()
                       .node_types[static_cast<std::size_t>(std::clamp<int>(
                           a.node_type, 0, static_cast<int>(scenario().node_types.size()) - 1))]
                       .name;
    la.count = a.count;
    la.replicas_before = a.replicas_before;
    la.replicas_after = a.replicas_after;
    la.metric = a.metric;
    la.reason = a.reason;
    if (a.role >= 0) la.role = RoleName(a.role);
    if (a.node >= 0 && node_name_.count(a.node) != 0) la.node = node_name_[a.node];
    if (!claimed) {
      la.outcome = refusal;
    } else {
      ApplyAction(a, tick, fence, agents, &la);
    }
    const std::string key = la.kind + "/" + la.outcome.substr(0, la.outcome.find(':'));
    std::lock_guard lock(status_mu_);
    ++action_counts_[key];
    if (la.outcome == "applied") {
      ++status_.actions_applied;
    } else if (la.outcome.rfind("fenced", 0) == 0) {
      ++status_.actions_fenced;
    } else if (la.outcome.rfind("unsupported", 0) == 0) {
      ++status_.actions_unsupported;
    } else {
      ++status_.actions_failed;
      status_.last_error = la.kind + ": " + la.outcome;
    }
  }
  if (absl::Status st = log_->Append(d); !st.ok()) {
    spdlog::error("decision log {}: {}", config_.decision_log, ErrorText(st));
  }
  watch_.Publish(WatchEvent::Decision(d));
  for (const LoggedAction& la : d.actions) {
    spdlog::info("tick {} fence {}: {} {} {}{} -> {} ({})", tick, fence, la.kind, la.count,
                 la.node_type, la.node.empty() ? "" : " " + la.node, la.outcome, la.reason);
  }
  std::lock_guard lock(status_mu_);
  ++status_.decisions;
}

std::vector<std::string> Manager::Impl::PickScaleIn(int type, int role, int count,
                                                    const std::vector<AgentRecord>& agents) {
  // Nodes not serving yet first (started, not registered; then booting),
  // then the newest ready ones: what the simulator's mesh removes.
  std::vector<std::string> out;
  for (auto it = pending_.rbegin(); it != pending_.rend() && static_cast<int>(out.size()) < count;
       ++it) {
    if (it->type == type && (role < 0 || it->role == role)) out.push_back(it->id);
  }
  std::vector<const AgentRecord*> candidates;
  for (const AgentRecord& a : agents) {
    if (TypeOf(a) != type || retired_.count(a.registration.node_id) != 0) continue;
    if (role >= 0 && RoleIndex(a.role) != role) continue;
    if (a.state != NodeState::kReady && a.state != NodeState::kBooting) continue;
    candidates.push_back(&a);
  }
  std::sort(candidates.begin(), candidates.end(), [](const AgentRecord* x, const AgentRecord* y) {
    if ((x->state == NodeState::kBooting) != (y->state == NodeState::kBooting)) {
      return x->state == NodeState::kBooting;
    }
    return x->registered_at > y->registered_at;
  });
  for (const AgentRecord* a : candidates) {
    if (static_cast<int>(out.size()) >= count) break;
    out.push_back(a->registration.node_id);
  }
  return out;
}

void Manager::Impl::RetireNode(const std::string& id, std::int64_t fence,
                               const std::string& reason) {
  AgentCommand drain = AgentCommand::Drain(config_.drain, reason);
  drain.fence = fence;
  (void)registry_ptr_->SendCommand(id, drain);  // NotFound: not registered (yet); fine
  retired_.insert(id);
  std::erase_if(pending_, [&](const PendingNode& p) { return p.id == id; });
}

void Manager::Impl::ApplyAction(const Action& a, std::int64_t tick, std::int64_t fence,
                                const std::vector<AgentRecord>& agents, LoggedAction* out) {
  const std::string type_name = out->node_type;
  const int type =
      std::clamp<int>(a.node_type, 0, static_cast<int>(scenario().node_types.size()) - 1);
  auto provision = [&](const ProvisionRequest& req, bool scale_out) -> absl::Status {
    if (provisioner_ == nullptr) {
      return absl::UnimplementedError("unsupported: no actuator configured (actuator.kind none)");
    }
    if (!scale_out) return provisioner_->ScaleIn(req);
    absl::StatusOr<std::vector<std::string>> started = provisioner_->ScaleOut(req);
    if (!started.ok()) return started.status();
    for (const std::string& id : *started) {
      pending_.push_back({id, type, RoleIndex(req.role), UnixNow()});
    }
    out->nodes_started = *started;
    return absl::OkStatus();
  };
  auto outcome = [&](const absl::Status& st) {
    if (st.ok()) return std::string("applied");
    if (st.code() == absl::StatusCode::kUnimplemented) return std::string(ErrorText(st));
    return "failed: " + std::string(ErrorText(st));
  };
  ProvisionRequest req;
  req.node_type = type_name;
  req.count = a.count;
  req.replicas_after = a.replicas_after;
  req.fence = fence;
  req.tick = tick;
  req.role = RoleName(a.role);
  switch (a.kind) {
    case ActionKind::kScaleOut:
      out->outcome = outcome(provision(req, true));
      return;
    case ActionKind::kScaleIn: {
      req.node_ids = PickScaleIn(type, a.role, a.count, agents);
      for (const std::string& id : req.node_ids) RetireNode(id, fence, a.reason);
      out->node = absl::StrJoin(req.node_ids, ",");
      out->outcome = outcome(provision(req, false));
      return;
    }
    case ActionKind::kChangeRole: {
      if (out->node.empty()) {
        out->outcome = "failed: unknown node";
        return;
      }
      AgentCommand c = AgentCommand::ChangeRole(RoleName(a.role), a.reason);
      c.fence = fence;
      absl::StatusOr<std::uint64_t> seq = registry_ptr_->SendCommand(out->node, c);
      out->outcome = outcome(seq.status());
      return;
    }
    case ActionKind::kIsolate: {
      if (out->node.empty()) {
        out->outcome = "failed: unknown node";
        return;
      }
      // No new work: the agent stops its workload within the drain deadline.
      AgentCommand c = AgentCommand::Drain(config_.drain, a.reason);
      c.fence = fence;
      out->outcome = outcome(registry_ptr_->SendCommand(out->node, c).status());
      return;
    }
    case ActionKind::kReplace: {
      if (out->node.empty()) {
        out->outcome = "failed: unknown node";
        return;
      }
      // The old node goes (if its process is still there, it is stopped);
      // a new one of its type and role takes its place.
      const std::optional<AgentRecord> old = registry_ptr_->Find(out->node);
      req.count = 1;
      if (old) req.role = old->role.empty() ? req.role : old->role;
      out->role = req.role;
      RetireNode(out->node, fence, a.reason);
      registry_ptr_->Remove(out->node);
      ProvisionRequest gone = req;
      gone.node_ids = {out->node};
      absl::Status removed = provision(gone, false);
      absl::Status added = provision(req, true);
      out->outcome = outcome(added.ok() ? removed : added);
      return;
    }
    case ActionKind::kMigrate:
    case ActionKind::kSetAdmission:
      out->outcome =
          "unsupported: the live bridge carries no requests (the workload's own balancer does)";
      return;
  }
}

namespace {

LiveNode ToLiveNode(const AgentRecord& a, const std::string& node_type) {
  LiveNode n;
  n.id = a.registration.node_id;
  n.state = a.state;
  n.role = a.role;
  n.capabilities = a.registration.capabilities;
  n.capabilities.node_type = node_type;
  n.load = a.load;
  return n;
}

}  // namespace

void Manager::Impl::PublishChanges(double now_unix, const std::vector<AgentRecord>& agents,
                                   const Observation& obs, double queried, bool leading,
                                   std::int64_t fence) {
  const Scenario& s = scenario();
  std::vector<LiveNode> nodes;
  std::set<std::string> seen;
  for (const AgentRecord& a : agents) {
    LiveNode n = ToLiveNode(a, s.node_types[static_cast<std::size_t>(TypeOf(a))].name);
    seen.insert(n.id);
    auto it = published_nodes_.find(n.id);
    const bool changed =
        it == published_nodes_.end() || it->second.first != n.state || it->second.second != n.role;
    published_nodes_[n.id] = {n.state, n.role};
    watch_.Publish(WatchEvent::NodeChanged(n, now_unix), /*load_only=*/!changed);
    nodes.push_back(std::move(n));
  }
  for (auto it = published_nodes_.begin(); it != published_nodes_.end();) {
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    watch_.Publish(WatchEvent::NodeRemoved(
        it->first, retired_.count(it->first) != 0 ? "retired" : "no longer registered", now_unix));
    it = published_nodes_.erase(it);
  }
  LiveTick tick;
  tick.demand_rps = queried;
  tick.capacity_rps = obs.capacity_rps;
  tick.agents = static_cast<int>(agents.size());
  tick.ready = obs.pools[static_cast<std::size_t>(pool_)].ready;
  tick.booting = obs.pools[static_cast<std::size_t>(pool_)].booting;
  tick.leader = leading;
  tick.fence = fence;
  tick.forecast = obs.forecast;
  watch_.Publish(WatchEvent::Tick(tick, now_unix));

  // Four hours of ticks at most for snapshots.
  const auto limit = static_cast<std::size_t>(std::ceil(4 * 3600 / config_.interval));
  std::lock_guard lock(snapshot_mu_);
  if (demand_history_.empty()) history_start_unix_ = now_unix - config_.interval;
  demand_history_.push_back(queried);
  ready_history_.push_back(tick.ready);
  capacity_history_.push_back(tick.capacity_rps);
  while (demand_history_.size() > limit) {
    demand_history_.pop_front();
    ready_history_.pop_front();
    capacity_history_.pop_front();
    history_start_unix_ += config_.interval;
  }
  last_nodes_ = std::move(nodes);
}

LiveSnapshot Manager::Impl::Snapshot(Seconds history) const {
  LiveSnapshot snap;
  snap.time_unix = UnixNow();
  snap.manager_id = config_.id;
  {
    std::lock_guard lock(leader_mu_);
    snap.leader = leadership_.leader;
    snap.fence = leadership_.fence;
  }
  snap.scenario_name = scenario().name;
  snap.scenario_yaml = scenario().text;
  snap.overrides = config_.policy_overrides;
  snap.interval = config_.interval;
  {
    std::lock_guard lock(status_mu_);
    snap.forecast = last_forecast_;
  }
  std::lock_guard lock(snapshot_mu_);
  snap.nodes = last_nodes_;
  snap.events = events_;
  snap.history_step = config_.interval;
  std::size_t first = 0;
  if (history > 0) {
    const auto keep = static_cast<std::size_t>(std::ceil(history / config_.interval));
    if (demand_history_.size() > keep) first = demand_history_.size() - keep;
  }
  snap.history_start_unix = history_start_unix_ + static_cast<double>(first) * config_.interval;
  const auto from = static_cast<std::ptrdiff_t>(first);
  snap.demand_history.assign(demand_history_.begin() + from, demand_history_.end());
  snap.ready_history.assign(ready_history_.begin() + from, ready_history_.end());
  snap.capacity_history.assign(capacity_history_.begin() + from, capacity_history_.end());
  return snap;
}

void Manager::Impl::WriteServiceDiscovery(const std::vector<AgentRecord>& agents) {
  if (config_.prometheus_sd_file.empty()) return;
  nlohmann::json targets = nlohmann::json::array();
  for (const AgentRecord& a : agents) {
    if (a.registration.metrics_address.empty()) continue;
    targets.push_back({{"targets", {a.registration.metrics_address}},
                       {"labels", {{"node", a.registration.node_id}, {"role", a.role}}}});
  }
  std::string text = targets.dump(1);
  if (text == last_sd_) return;
  if (absl::Status st = WriteTextFileAtomically(config_.prometheus_sd_file, text); !st.ok()) {
    spdlog::warn("prometheus_sd {}: {}", config_.prometheus_sd_file, ErrorText(st));
    return;
  }
  last_sd_ = std::move(text);
}

absl::StatusOr<std::string> Manager::Impl::RenderMetrics() const {
  const ManagerStatus s = Status();
  Forecast f;
  std::map<std::string, std::uint64_t> counts;
  {
    std::lock_guard lock(status_mu_);
    f = last_forecast_;
    counts = action_counts_;
  }
  const MetricLabels me = {{"manager", config_.id}};
  ExpositionWriter w;
  MESHTWIN_RETURN_IF_ERROR(
      w.Gauge("meshtwin_manager_leader", "1 while this replica leads.", me, s.leader ? 1 : 0));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_manager_fence",
                                   "The election revision this replica acts under (0: none).", me,
                                   static_cast<double>(s.fence)));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_manager_agents", "Agents registered.", me, s.agents));
  MESHTWIN_RETURN_IF_ERROR(
      w.Gauge("meshtwin_manager_ready_nodes", "Ready nodes of the policy's pool.", me, s.ready));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_manager_demand_rps",
                                   "Demand over the last interval, requests/s.", me, s.demand_rps));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_manager_capacity_rps",
                                   "What the ready nodes serve at full speed, requests/s.", me,
                                   s.capacity_rps));
  for (std::size_t i = 0; i < f.horizons.size(); ++i) {
    MetricLabels l = me;
    l.emplace_back("horizon", absl::StrCat(std::llround(f.horizons[i]), "s"));
    const std::pair<const char*, double> quantiles[] = {
        {"0.1", f.p10[i]}, {"0.5", f.p50[i]}, {"0.9", f.p90[i]}};
    for (const auto& [quantile, value] : quantiles) {
      MetricLabels q = l;
      q.emplace_back("quantile", quantile);
      MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_manager_forecast_rps",
                                       "Forecast demand per horizon and quantile, requests/s.", q,
                                       value));
    }
  }
  MESHTWIN_RETURN_IF_ERROR(w.Counter("meshtwin_manager_ticks_total", "Control ticks run.", me,
                                     static_cast<double>(s.ticks)));
  MESHTWIN_RETURN_IF_ERROR(w.Counter("meshtwin_manager_decisions_total",
                                     "Ticks whose plan had actions (logged).", me,
                                     static_cast<double>(s.decisions)));
  for (const auto& [key, n] : counts) {
    MetricLabels l = me;
    l.emplace_back("kind", key.substr(0, key.find('/')));
    l.emplace_back("outcome", key.substr(key.find('/') + 1));
    MESHTWIN_RETURN_IF_ERROR(w.Counter("meshtwin_manager_actions_total",
                                       "Actions by kind and outcome.", l, static_cast<double>(n)));
  }
  if (!config_.dht_protocol.empty()) {
    MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_manager_dht_nodes",
                                     "Nodes whose capability record the DHT returned last tick.",
                                     me, s.dht_nodes));
  }
  MESHTWIN_RETURN_IF_ERROR(w.Counter("meshtwin_manager_events_total", "Global events received.", me,
                                     static_cast<double>(s.events)));
  return w.Render();
}

void Manager::Impl::Shutdown() {
  if (election_) election_->Stop();  // resign first: a standby takes over at once
  if (follower_) follower_->Stop();
  {
    std::lock_guard lock(dht_mu_);
    dht_stop_ = true;
  }
  dht_cv_.notify_all();
  if (dht_reader_.joinable()) dht_reader_.join();
  if (dht_) dht_->Stop();
  if (http_) http_->Stop();
  if (server_) server_->Shutdown(1);
}

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Manager::~Manager() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Manager>> Manager::Create(const ManagerConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  MESHTWIN_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Manager>(new Manager(std::move(impl)));
}

absl::Status Manager::Start() { return impl_->Start(); }
void Manager::Tick(double now_unix) { impl_->Tick(now_unix); }
void Manager::Shutdown() { impl_->Shutdown(); }
ManagerStatus Manager::Status() const { return impl_->Status(); }
int Manager::grpc_port() const { return impl_->grpc_port(); }
int Manager::http_port() const { return impl_->http_port(); }

absl::Status Manager::Run(const std::atomic<bool>* stop) {
  const Seconds interval = impl_->config().interval;
  const double start = UnixNow();
  const Seconds duration = impl_->config().duration;
  while (stop == nullptr || !stop->load()) {
    // The next tick on the interval grid: replicas agree on tick numbers.
    const double now = UnixNow();
    const double next = (std::floor(now / interval + 1e-9) + 1) * interval;
    while (UnixNow() < next) {
      if (stop != nullptr && stop->load()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::max<long>(1, std::min<long>(100, std::lround((next - UnixNow()) * 1000)))));
    }
    if (stop != nullptr && stop->load()) break;
    Tick(next);
    if (duration > 0 && UnixNow() - start >= duration) break;
  }
  Shutdown();
  return absl::OkStatus();
}

}  // namespace meshtwin::live
