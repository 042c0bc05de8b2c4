#include "live_bridge/agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "live_bridge/agent_registry_client.h"
#include "live_bridge/dht_peer.h"
#include "live_bridge/metrics_http.h"
#include "live_bridge/prometheus_text.h"

namespace meshtwin::live {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double SteadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Worth another try later: the manager is down, unreachable or overloaded.
bool IsTransient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s) ||
         absl::IsAborted(s) || absl::IsCancelled(s) || absl::IsInternal(s) || absl::IsUnknown(s);
}

std::string RoleList(const std::map<std::string, std::vector<std::string>>& roles) {
  std::string out;
  for (const auto& [name, argv] : roles) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)),
      workload_(WorkloadOptions{.restart_backoff = options_.config.restart_backoff,
                                .restart_backoff_max = options_.config.restart_backoff_max}) {
  status_.heartbeat_interval = options_.config.heartbeat_interval;
}

Agent::~Agent() {
  Shutdown();
  if (commands_thread_.joinable()) commands_thread_.join();
  if (metrics_) metrics_->Stop();
  workload_.Stop(options_.config.workload_grace);
}

absl::Status Agent::Start() {
  MESHTWIN_ASSIGN_OR_RETURN(capabilities_, DetectCapabilities(options_.probe));
  for (const std::string& w : capabilities_.warnings) spdlog::warn("host probe: {}", w);
  {
    LoadSampler sampler(options_.sampler);
    absl::StatusOr<HostLoad> load = sampler.Sample();
    if (load.ok()) last_load_ = *load;
  }
  MetricsServerOptions metrics_options;
  metrics_options.bind_address = options_.config.metrics_host;
  metrics_options.port = options_.config.metrics_port;
  // Scraped over mutual TLS with the agent's own certificate, like everything
  // else the bridge serves: Prometheus presents a client certificate.
  metrics_options.tls = options_.config.tls.files;
  metrics_options.tls_refresh = options_.config.tls.refresh_interval_s;
  MESHTWIN_ASSIGN_OR_RETURN(
      metrics_, MetricsHttpServer::Start(metrics_options, [this] { return RenderMetrics(); }));
  commands_thread_ = std::thread([this] { CommandLoop(); });
  if (!options_.config.role.empty()) {
    MESHTWIN_RETURN_IF_ERROR(SwitchRole(options_.config.role, options_.config.workload_grace));
  } else {
    std::lock_guard lock(mu_);
    status_.state = NodeState::kReady;
  }
  spdlog::info("agent {}: {} usable cores, {:.1f} GiB, {} GPU(s); /metrics on {}:{}",
               options_.config.node_id, capabilities_.usable_cores, capabilities_.memory_gib,
               capabilities_.gpus.size(), options_.config.metrics_host, metrics_->port());
  return absl::OkStatus();
}

int Agent::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

bool Agent::SleepFor(Seconds seconds) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return shutdown_; });
  return !shutdown_;
}

void Agent::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

absl::Status Agent::Run() {
  const AgentConfig& config = options_.config;
  LoadSampler sampler(options_.sampler);
  (void)sampler.Sample();  // the baseline the first heartbeat's CPU share is measured from
  double last_sample = SteadyNow();
  Seconds backoff = options_.register_backoff;
  absl::Status fatal;

  // Replicas are tried in turn: a standby turns the agent away (UNAVAILABLE)
  // and a dead leader's stream breaks; the backoff applies once every
  // replica has been tried.
  const std::vector<std::string> managers =
      config.managers.empty() ? std::vector<std::string>{config.manager} : config.managers;
  std::size_t next_manager = 0;
  while (fatal.ok()) {
    {
      std::lock_guard lock(mu_);
      if (shutdown_) break;
    }
    const std::string& manager = managers[next_manager];
    next_manager = (next_manager + 1) % managers.size();
    const bool round_done = next_manager == 0;
    absl::StatusOr<std::unique_ptr<AgentClient>> client = AgentClient::Connect(manager, config.tls);
    if (!client.ok()) {
      fatal = client.status();  // certificate files gone bad since the config was read
      break;
    }
    absl::StatusOr<RegistrationReply> reply = (*client)->Register(MakeRegistration());
    if (!reply.ok()) {
      if (!IsTransient(reply.status())) {
        fatal = absl::Status(reply.status().code(),
                             "the manager at " + manager +
                                 " refused the registration: " + ErrorText(reply.status()));
        break;
      }
      spdlog::warn("cannot register with {}: {}{}", manager, ErrorText(reply.status()),
                   round_done ? absl::StrCat("; retrying in ", backoff, "s") : "");
      if (!round_done) continue;
      if (!SleepFor(backoff)) break;
      backoff = std::min(backoff * 2, options_.register_backoff_max);
      continue;
    }
    backoff = options_.register_backoff;
    Seconds interval = config.heartbeat_interval;
    if (!config.heartbeat_interval_set && reply->heartbeat_interval > 0) {
      interval = reply->heartbeat_interval;
    }
    {
      std::lock_guard lock(mu_);
      status_.registered = true;
      status_.manager_id = reply->manager_id;
      status_.heartbeat_interval = interval;
      ++status_.registrations;
      if (!reply->assigned_role.empty() && reply->assigned_role != status_.role) {
        // The manager's word at registration: a command without a sequence number.
        queue_.push_back(
            AgentCommand::ChangeRole(reply->assigned_role, "assigned at registration"));
        cv_.notify_all();
      }
    }
    next_manager = (next_manager + managers.size() - 1) % managers.size();
    if (!config.dht_protocol.empty() && !dht_ && !reply->dht_bootstrap.empty()) {
      StartDht(reply->dht_bootstrap.front());
    }
    spdlog::info("registered with {} at {}; heartbeat every {}s", reply->manager_id, manager,
                 interval);
    absl::Status stream =
        (*client)->StartHeartbeats([this](const AgentCommand& c) { HandleCommand(c); });
    while (stream.ok()) {
      absl::StatusOr<HostLoad> load = sampler.Sample();
      const double now = SteadyNow();
      const Seconds window = now - last_sample;
      last_sample = now;
      if (load.ok()) {
        std::lock_guard lock(mu_);
        last_load_ = *load;
      } else {
        spdlog::warn("load sample: {}", ErrorText(load.status()));
      }
      stream = (*client)->SendHeartbeat(MakeHeartbeat(load.ok() ? *load : HostLoad{}, window));
      if (!stream.ok()) break;
      {
        std::lock_guard lock(mu_);
        ++status_.heartbeats_sent;
      }
      if (!SleepFor(interval)) break;
    }
    {
      std::lock_guard lock(mu_);
      status_.registered = false;
    }
    if (!stream.ok()) {
      spdlog::warn("heartbeat stream to {} ended: {}; registering again", manager,
                   ErrorText(stream));
      if (!SleepFor(backoff)) break;
      continue;
    }
    (void)(*client)->StopHeartbeats(2);
  }

  // Shut down (or a fatal error): no more commands or records, leave the
  // DHT gracefully (its values move to their next owners), then the workload.
  Shutdown();
  if (commands_thread_.joinable()) commands_thread_.join();
  if (dht_thread_.joinable()) dht_thread_.join();
  if (dht_) dht_->Stop();
  workload_.Stop(config.workload_grace);
  {
    std::lock_guard lock(mu_);
    status_.state = NodeState::kStopped;
    status_.workload = workload_.Status();
  }
  return fatal;
}

void Agent::HandleCommand(const AgentCommand& command) {
  std::lock_guard lock(mu_);
  // Fencing: a command from a leader older than one already obeyed is from a
  // deposed leader that has not noticed yet; it is refused. A newer leader
  // numbers its commands afresh.
  if (command.fence < highest_fence_seen_) {
    ++status_.commands_fenced;
    spdlog::warn("command {} ({}) carries fence {} below {}: from a deposed leader, refused",
                 command.seq, ToString(command.kind), command.fence, highest_fence_seen_);
    return;
  }
  if (command.fence > highest_fence_seen_) {
    highest_fence_seen_ = command.fence;
    highest_seq_seen_ = 0;
  }
  if (command.seq <= highest_seq_seen_) {
    ++status_.commands_ignored;
    spdlog::info("command {} ({}) already received: ignored", command.seq, ToString(command.kind));
    return;
  }
  highest_seq_seen_ = command.seq;
  queue_.push_back(command);
  cv_.notify_all();
}

void Agent::CommandLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return shutdown_ || !queue_.empty(); });
    if (shutdown_) return;
    const AgentCommand command = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Apply(command);
    lock.lock();
    ++status_.commands_applied;
    status_.last_command_seq = std::max(status_.last_command_seq, command.seq);
  }
}

void Agent::Apply(const AgentCommand& command) {
  const AgentConfig& config = options_.config;
  spdlog::info("command {}: {}{}{}", command.seq, ToString(command.kind),
               command.reason.empty() ? "" : ": ", command.reason);
  absl::Status result;
  switch (command.kind) {
    case AgentCommandKind::kChangeRole:
      result = SwitchRole(command.role, config.workload_grace);
      break;
    case AgentCommandKind::kDrain: {
      {
        std::lock_guard lock(mu_);
        status_.state = NodeState::kDraining;
      }
      workload_.Stop(command.seconds > 0 ? command.seconds : config.workload_grace);
      std::lock_guard lock(mu_);
      status_.state = NodeState::kStopped;
      break;
    }
    case AgentCommandKind::kStartWorkload: {
      std::string name = command.workload;
      if (name.empty()) {
        std::lock_guard lock(mu_);
        name = status_.role;
      }
      auto it = config.roles.find(name);
      if (it == config.roles.end()) {
        result = absl::FailedPreconditionError("no workload named '" + name +
                                               "' (configured: " + RoleList(config.roles) + ")");
        break;
      }
      std::vector<std::string> argv = it->second;
      argv.insert(argv.end(), command.args.begin(), command.args.end());
      result = workload_.Start(name, argv, config.workload_grace);
      std::lock_guard lock(mu_);
      status_.state = result.ok() ? NodeState::kReady : NodeState::kFailed;
      break;
    }
    case AgentCommandKind::kStopWorkload: {
      const WorkloadStatus current = workload_.Status();
      if (!command.workload.empty() && command.workload != current.name) {
        result = absl::FailedPreconditionError("workload '" + command.workload +
                                               "' is not the one running ('" + current.name + "')");
        break;
      }
      workload_.Stop(command.seconds > 0 ? command.seconds : config.workload_grace);
      break;
    }
  }
  if (!result.ok()) {
    spdlog::warn("command {} ({}) failed: {}", command.seq, ToString(command.kind),
                 ErrorText(result));
    std::lock_guard lock(mu_);
    ++status_.commands_failed;
  }
}

absl::Status Agent::SwitchRole(const std::string& role, Seconds grace) {
  const AgentConfig& config = options_.config;
  auto it = config.roles.find(role);
  if (it == config.roles.end()) {
    return absl::FailedPreconditionError("no role named '" + role +
                                         "' (configured: " + RoleList(config.roles) + ")");
  }
  {
    std::lock_guard lock(mu_);
    status_.state = NodeState::kSwitching;
  }
  // Start stops the previous role's process group first (SIGTERM, grace, SIGKILL).
  absl::Status started = workload_.Start(role, it->second, grace);
  std::lock_guard lock(mu_);
  status_.role = role;
  status_.state = started.ok() ? NodeState::kReady : NodeState::kFailed;
  return started;
}

void Agent::StartDht(const std::string& bootstrap) {
  const AgentConfig& config = options_.config;
  DhtPeerOptions o;
  o.protocol = config.dht_protocol;
  o.listen = config.dht_listen;
  o.tls = config.tls;
  o.bootstrap = bootstrap;
  o.name = config.node_id;
  absl::StatusOr<std::unique_ptr<DhtPeer>> peer = DhtPeer::Start(o);
  if (!peer.ok()) {
    // Not fatal: the node serves without advertising; the next registration retries.
    spdlog::warn("dht: cannot join through {}: {}", bootstrap, ErrorText(peer.status()));
    return;
  }
  dht_ = *std::move(peer);
  dht_thread_ = std::thread([this] { PublishLoop(); });
}

void Agent::PublishLoop() {
  const AgentConfig& config = options_.config;
  do {
    dht::CapabilityRecord record = ToCapabilityRecord(capabilities_);
    record.node = dht_->id();
    record.name = config.node_id;
    record.software = config.software;
    record.roles.clear();
    for (const auto& [name, argv] : config.roles) record.roles.push_back(name);
    {
      std::lock_guard lock(mu_);
      record.role = status_.role;
      record.load = last_load_ ? std::clamp(last_load_->cpu_utilization, 0.0, 1.0) : 0.0;
      status_.dht_joined = dht_->joined();
    }
    record.spare_cores = record.cores * (1 - record.load);
    record.spare_memory_gb = record.memory_gb;
    if (record.role.empty()) continue;
    // Under the class a manager reads: role:<role>.
    absl::StatusOr<dht::OpResult> put = dht_->Put(
        dht::ClassKey("role:" + record.role), dht::EncodeCapabilityRecord(record), config.dht_ttl);
    std::lock_guard lock(mu_);
    if (put.ok() && put->ok) {
      ++status_.dht_publishes;
    } else {
      ++status_.dht_publish_failures;
    }
  } while (SleepFor(config.dht_refresh));
}

AgentStatus Agent::Status() const {
  std::lock_guard lock(mu_);
  AgentStatus s = status_;
  s.workload = workload_.Status();
  return s;
}

AgentRegistration Agent::MakeRegistration() const {
  const AgentConfig& config = options_.config;
  const dht::CapabilityRecord record = ToCapabilityRecord(capabilities_);
  AgentRegistration r;
  r.node_id = config.node_id;
  r.capabilities.cores = record.cores;
  r.capabilities.memory_gb = record.memory_gb;
  for (const GpuInfo& gpu : capabilities_.gpus) {
    auto same = std::find_if(r.capabilities.gpus.begin(), r.capabilities.gpus.end(),
                             [&](const GpuGroup& g) { return g.model == gpu.name; });
    if (same == r.capabilities.gpus.end()) {
      r.capabilities.gpus.push_back({gpu.name, 1, gpu.memory_gib});
    } else {
      ++same->count;
    }
  }
  r.capabilities.software = config.software;
  for (const auto& [name, argv] : config.roles) r.capabilities.roles.push_back(name);
  {
    std::lock_guard lock(mu_);
    r.role = status_.role;
  }
  r.metrics_address = config.metrics_host + ":" + std::to_string(metrics_port());
  if (dht_) r.dht_address = dht_->endpoint();
  r.agent_version = options_.agent_version;
  return r;
}

AgentHeartbeat Agent::MakeHeartbeat(const HostLoad& load, Seconds window) const {
  AgentHeartbeat beat;
  beat.node_id = options_.config.node_id;
  {
    std::lock_guard lock(mu_);
    beat.state = status_.state;
    beat.role = status_.role;
    beat.last_command_seq = status_.last_command_seq;
  }
  beat.load.time_unix = UnixNow();
  beat.load.window = window;
  beat.load.cpu_utilization = load.cpu_utilization;
  beat.load.memory_used_gb = std::max(0.0, load.mem_total_gib - load.mem_available_gib);
  return beat;
}

absl::StatusOr<std::string> Agent::RenderMetrics() const {
  const AgentStatus s = Status();
  std::optional<HostLoad> load;
  {
    std::lock_guard lock(mu_);
    load = last_load_;
  }
  const MetricLabels node = {{"node", options_.config.node_id}};
  auto with = [&](std::string name, std::string value) {
    MetricLabels labels = node;
    labels.emplace_back(std::move(name), std::move(value));
    return labels;
  };
  ExpositionWriter w;
  const HostCapabilities& caps = capabilities_;
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_online_cpus",
                                   "Logical CPUs the agent may run on.", node, caps.online_cpus));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_usable_cores",
                                   "CPU cores usable (online CPUs capped by the cgroup limit).",
                                   node, caps.usable_cores));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_memory_gib",
                                   "Usable memory, GiB (MemTotal capped by the cgroup limit).",
                                   node, caps.memory_gib));
  std::map<std::string, int> gpus;
  for (const GpuInfo& g : caps.gpus) ++gpus[GpuModelTag(g.name)];
  for (const auto& [model, count] : gpus) {
    MESHTWIN_RETURN_IF_ERROR(
        w.Gauge("meshtwin_agent_gpus", "GPUs by model.", with("model", model), count));
  }
  if (load) {
    MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_cpu_utilization",
                                     "Busy share of all CPUs over the last heartbeat, 0..1.", node,
                                     load->cpu_utilization));
    const std::pair<const char*, double> averages[] = {
        {"1m", load->load1}, {"5m", load->load5}, {"15m", load->load15}};
    for (const auto& [window, value] : averages) {
      MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_load_average", "The load average.",
                                       with("window", window), value));
    }
    MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_memory_available_gib", "MemAvailable, GiB.",
                                     node, load->mem_available_gib));
    MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_memory_utilization",
                                     "1 - MemAvailable / MemTotal.", node,
                                     load->MemoryUtilization()));
  }
  for (const auto& [role, argv] : options_.config.roles) {
    MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_role",
                                     "1 for the role the node holds, 0 for its other roles.",
                                     with("role", role), role == s.role ? 1 : 0));
  }
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_state", "1 for the node's state.",
                                   with("state", ToString(s.state)), 1));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_registered",
                                   "1 while registered and heartbeating.", node,
                                   s.registered ? 1 : 0));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge(
      "meshtwin_agent_workload_running", "1 while the workload process is alive.",
      with("workload", s.workload.name), s.workload.state == WorkloadState::kRunning ? 1 : 0));
  MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_agent_workload_state",
                                   "1 for the workload supervisor's state.",
                                   with("state", ToString(s.workload.state)), 1));
  // The agent's counters: name, help, value.
  const std::tuple<const char*, const char*, std::uint64_t> counters[] = {
      {"meshtwin_agent_workload_restarts_total", "Workload restarts after an unexpected exit.",
       s.workload.restarts},
      {"meshtwin_agent_heartbeats_total", "Heartbeats sent.", s.heartbeats_sent},
      {"meshtwin_agent_registrations_total", "Successful registrations with the manager.",
       s.registrations},
      {"meshtwin_agent_commands_applied_total", "Manager commands carried out (once each).",
       s.commands_applied},
      {"meshtwin_agent_commands_failed_total", "Commands carried out that could not be done.",
       s.commands_failed},
      {"meshtwin_agent_commands_ignored_total",
       "Commands received again (a sequence already seen).", s.commands_ignored},
      {"meshtwin_agent_commands_fenced_total", "Commands refused as coming from a deposed leader.",
       s.commands_fenced},
  };
  for (const auto& [name, help, value] : counters) {
    MESHTWIN_RETURN_IF_ERROR(w.Counter(name, help, node, static_cast<double>(value)));
  }
  return w.Render();
}

}  // namespace meshtwin::live
