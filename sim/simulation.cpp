// The SimGrid adapter. Everything that decides lives in twin/ and policies/;
// this file only builds the platform, runs node actors that execute their
// assigned work as SimGrid exec activities, and runs the control loop in a
// manager actor. SimGrid runs one actor at a time in one OS thread, so the
// state shared by the actors below needs no locking.
#include "sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/forecast_pipeline.h"
#include "sim/fault_injector.h"
#include "sim/mesh_discovery.h"
#include "twin/control_loop.h"
#include "twin/mesh.h"

namespace sg4 = simgrid::s4u;

namespace meshtwin {
namespace {

// One node's handle in the simulator: the host it runs on and the semaphore
// the manager releases when the node has work for the tick.
struct NodeSlot {
  sg4::Host* host = nullptr;
  sg4::SemaphorePtr wake;
  bool retired = false;
};

// Queued requests on their way from one node to another.
struct Migration {
  sg4::CommPtr comm;
  int to = 0;
  int request_class = 0;
  double requests = 0;
};

struct SimState {
  SimState(const Scenario& s, const Trace& t)
      : scenario(s),
        trace(t),
        role_traces(RoleTraces(s, t)),
        mesh(s.node_types, s.workload, s.slo,
             s.roles.empty() ? std::vector<RoleSpec>{RoleSpec{}} : s.roles) {}

  const Scenario& scenario;
  const Trace& trace;
  std::vector<Trace> role_traces;  // each role's demand (one: the total, without roles)
  MeshModel mesh;
  bool node_view = false;             // the policy reads per-node metrics
  std::vector<Migration> migrations;  // in flight
  int migrations_done = 0;
  double requests_migrated = 0;
  PerClass dropped_by_class{}, throttled_by_class{};
  std::vector<std::vector<sg4::Host*>> free_hosts;  // per node type, used as a stack
  std::deque<NodeSlot> slots;  // by node id; a deque, so node actors may keep references
  sg4::SemaphorePtr tick_done;
  int pending = 0;  // node actors still executing this tick
  Seconds tick_end = 0;
  ResultsData results;
  int snapshot_every = 0;                    // ticks between node snapshots (0: none)
  std::unique_ptr<MeshDiscovery> discovery;  // null with dht: none
  std::optional<FaultInjector> faults;       // empty without a faults section
  absl::Status error;
  std::unique_ptr<ForecastPipeline> forecasts;  // null without a forecaster
};

// A node of the mesh: each tick it executes the work the mesh assigned to it
// as one exec activity on its host, until the work is done or the tick ends,
// and reports how much it completed. Whatever else runs on the host (and, in
// later models, host failures or speed changes) slows it down through
// SimGrid's CPU sharing; a node never reports more than SimGrid executed.
class NodeActor {
 public:
  NodeActor(SimState* state, int id) : state_(state), id_(id) {}

  void operator()() const {
    NodeSlot& slot = state_->slots[static_cast<std::size_t>(id_)];
    for (;;) {
      slot.wake->acquire();
      if (slot.retired) return;
      const double work = state_->mesh.node(id_).assigned;
      sg4::ExecPtr exec = sg4::this_actor::exec_init(work);
      exec->start();
      double served = work;
      try {
        exec->wait_for(state_->tick_end - sg4::Engine::get_clock());
      } catch (const simgrid::TimeoutException&) {
        served = work - exec->get_remaining();
        exec->cancel();
      }
      state_->mesh.ReportServed(id_, served);
      if (--state_->pending == 0) state_->tick_done->release();
    }
  }

 private:
  SimState* state_;
  int id_;
};

// The control loop's view of the simulated mesh.
class SimMetrics : public MetricSource {
 public:
  explicit SimMetrics(SimState* state) : state_(state) {}
  absl::StatusOr<Observation> Observe() override {
    Observation obs = state_->mesh.Observe(sg4::Engine::get_clock(),
                                           state_->scenario.control_interval, state_->node_view);
    // With a DHT, the node view is what the manager discovered: a policy
    // moves work only between nodes it knows of.
    if (state_->discovery) {
      std::erase_if(obs.nodes, [this](const NodeObservation& n) {
        return n.state == NodeState::kReady && !state_->mesh.routable(n.id);
      });
    }
    return obs;
  }

 private:
  SimState* state_;
};

void StartNode(SimState* state, int id) {
  const Node& n = state->mesh.node(id);
  auto& pool = state->free_hosts[static_cast<std::size_t>(n.type)];
  // Hosts are built for twice a type's maximum (draining nodes keep theirs
  // while replacements boot), so the pool cannot run dry.
  if (pool.empty()) throw std::logic_error("no free host for node type " + std::to_string(n.type));
  if (state->slots.size() <= static_cast<std::size_t>(id)) state->slots.resize(id + 1);
  NodeSlot& slot = state->slots[static_cast<std::size_t>(id)];
  slot.host = pool.back();
  pool.pop_back();
  slot.wake = sg4::Semaphore::create(0);
  sg4::Actor::create("node-" + std::to_string(id), slot.host, NodeActor(state, id))->daemonize();
}

// Releases the hosts of nodes that stopped and lets their actors end.
void RetireStopped(SimState* state) {
  for (int id : state->mesh.TakeStopped()) {
    NodeSlot& slot = state->slots[static_cast<std::size_t>(id)];
    slot.retired = true;
    slot.wake->release();
    state->free_hosts[static_cast<std::size_t>(state->mesh.node(id).type)].push_back(slot.host);
  }
}

// Carries plans out on the simulated mesh and records every decision.
class SimActuator : public Actuator {
 public:
  SimActuator(SimState* state, std::string policy) : state_(state), policy_(std::move(policy)) {}

  absl::Status Apply(const Plan& plan, const Observation& obs) override {
    MeshModel& mesh = state_->mesh;
    const int types = static_cast<int>(state_->scenario.node_types.size());
    const int nodes = static_cast<int>(mesh.nodes().size());
    for (const Action& a : plan.actions) {
      bool done = true;
      switch (a.kind) {
        case ActionKind::kScaleOut:
        case ActionKind::kScaleIn:
          if (a.node_type < 0 || a.node_type >= types || a.count <= 0) return Invalid(a);
          if (a.kind == ActionKind::kScaleOut) {
            for (int i = 0; i < a.count; ++i) {
              StartNode(state_, mesh.Provision(a.node_type, obs.now, a.role));
            }
          } else {
            for (int id : mesh.PickForRemoval(a.node_type, a.count, a.role)) {
              mesh.Remove(id, obs.now);
            }
          }
          break;
        case ActionKind::kChangeRole:
          if (a.node < 0 || a.node >= nodes) return Invalid(a);
          done = mesh.ChangeRole(a.node, a.role, obs.now);
          break;
        case ActionKind::kMigrate:
          if (a.node < 0 || a.node >= nodes || a.target_node < 0 || a.target_node >= nodes ||
              a.node == a.target_node || a.request_class < 0 || a.request_class >= kNumClasses) {
            return Invalid(a);
          }
          done = StartMigration(a);
          break;
        case ActionKind::kSetAdmission:
          mesh.SetAdmission(a.rate_limit, a.burst);
          break;
        case ActionKind::kIsolate:
          if (a.node < 0 || a.node >= nodes) return Invalid(a);
          done = mesh.node(a.node).state != NodeState::kStopped && !mesh.node(a.node).isolated;
          if (done) {
            mesh.Isolate(a.node);
            if (state_->faults) state_->faults->OnAction(a, -1, obs.now);
          }
          break;
        case ActionKind::kReplace: {
          if (a.node < 0 || a.node >= nodes) return Invalid(a);
          const Node& old = mesh.node(a.node);
          done = old.state != NodeState::kStopped;
          if (!done) break;
          const int type = old.type;
          const int role = old.state == NodeState::kSwitching ? old.next_role : old.role;
          mesh.Kill(a.node, obs.now);
          const int fresh = mesh.Provision(type, obs.now, role);
          StartNode(state_, fresh);
          if (state_->faults) state_->faults->OnAction(a, fresh, obs.now);
          break;
        }
      }
      if (done) Record(a, obs);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Invalid(const Action& a) const {
    return absl::InternalError("policy " + policy_ + " planned an invalid " + ToString(a.kind) +
                               " action");
  }

  // The requests' state crosses the network from the source host to the
  // target host as a SimGrid communication; they are in neither queue until
  // it lands (DeliverMigrations).
  bool StartMigration(const Action& a) {
    const double moved = state_->mesh.TakeQueued(a.node, a.request_class, a.requests);
    if (moved <= 0) return false;
    const double bytes = moved * state_->scenario.workload.request_bytes;
    Migration m;
    m.comm = sg4::Comm::sendto_async(state_->slots[static_cast<std::size_t>(a.node)].host,
                                     state_->slots[static_cast<std::size_t>(a.target_node)].host,
                                     static_cast<std::uint64_t>(std::llround(bytes)));
    m.to = a.target_node;
    m.request_class = a.request_class;
    m.requests = moved;
    state_->migrations.push_back(std::move(m));
    ++state_->migrations_done;
    state_->requests_migrated += moved;
    return true;
  }

  void Record(const Action& a, const Observation& obs) {
    DecisionRecord d;
    d.time = obs.now;
    d.policy = policy_;
    const bool sized = a.kind == ActionKind::kScaleOut || a.kind == ActionKind::kScaleIn;
    const int type = sized ? a.node_type : a.node >= 0 ? state_->mesh.node(a.node).type : -1;
    d.node_type = type >= 0 ? state_->scenario.node_types[static_cast<std::size_t>(type)].name : "";
    d.action = ToString(a.kind);
    d.count = sized ? a.count : a.kind == ActionKind::kSetAdmission ? 0 : 1;
    d.replicas_before = a.replicas_before;
    d.replicas_after = a.replicas_after;
    d.metric = a.kind == ActionKind::kMigrate ? a.requests : a.metric;
    d.reason = a.reason;
    state_->results.decisions.push_back(std::move(d));
  }

  SimState* state_;
  std::string policy_;
};

// Hands landed migrations to their target nodes. Waits at most `budget`
// seconds of simulated time for transfers still in flight; the rest land at
// a later tick.
void DeliverMigrations(SimState* state, Seconds budget) {
  auto& in_flight = state->migrations;
  if (in_flight.empty()) return;
  const Seconds deadline = sg4::Engine::get_clock() + budget;
  std::vector<sg4::CommPtr> comms;
  for (const Migration& m : in_flight) comms.push_back(m.comm);
  while (!comms.empty()) {
    const Seconds left = deadline - sg4::Engine::get_clock();
    if (left <= 0 || sg4::Comm::wait_any_for(comms, left) < 0) break;
    std::erase_if(comms, [](const sg4::CommPtr& c) {
      return c->get_state() == sg4::Activity::State::FINISHED;
    });
  }
  std::erase_if(in_flight, [state](Migration& m) {
    if (m.comm->get_state() != sg4::Activity::State::FINISHED) return false;
    state->mesh.AddQueued(m.to, m.request_class, m.requests);
    return true;
  });
}

void Record(const TickRecord& r, TickSeries& s) {
  s.time.push_back(r.time);
  s.demand.push_back(r.demand_rps);
  s.arrived.push_back(r.arrived);
  s.capacity.push_back(r.capacity_rps);
  s.served.push_back(r.served);
  s.dropped.push_back(r.dropped);
  s.queued.push_back(r.queued);
  s.utilization.push_back(r.utilization);
  s.latency.push_back(r.latency);
  s.slo_violated.push_back(r.slo_violated ? 1 : 0);
  s.nodes_ready.push_back(r.ready);
  s.nodes_booting.push_back(r.booting);
  s.nodes_draining.push_back(r.draining);
  s.nodes_failed.push_back(r.failed);
  s.lost.push_back(r.lost);
  for (int c : r.active_by_type) s.nodes_by_type.push_back(c);
  s.nodes_switching.push_back(r.switching);
  s.migrating.push_back(r.migrating);
  for (int c = 0; c < kNumClasses; ++c) {
    s.served_by_class.push_back(r.served_by_class[c]);
    s.dropped_by_class.push_back(r.dropped_by_class[c]);
    s.throttled_by_class.push_back(r.throttled_by_class[c]);
    s.queued_by_class.push_back(r.queued_by_class[c]);
  }
  for (std::size_t i = 0; i < r.demand_by_role.size(); ++i) {
    s.demand_by_role.push_back(r.demand_by_role[i]);
    s.utilization_by_role.push_back(r.utilization_by_role[i]);
    s.nodes_by_role.push_back(r.ready_by_role[i]);
  }
}

// Appends the fleet as it stands at the end of the tick [now, now + dt).
void SnapshotNodes(SimState& st, Seconds now, Seconds dt) {
  NodeSnapshots& ns = st.results.nodes;
  if (ns.offset.empty()) ns.offset.push_back(0);
  const Observation obs = st.mesh.Observe(now + dt, dt, /*with_nodes=*/true);
  ns.time.push_back(now);
  for (const NodeObservation& n : obs.nodes) {
    ns.id.push_back(n.id);
    ns.type.push_back(static_cast<std::int16_t>(n.type));
    ns.role.push_back(static_cast<std::int16_t>(n.role));
    ns.state.push_back(
        static_cast<std::uint8_t>(st.mesh.node(n.id).state));  // not the manager's view
    ns.utilization.push_back(static_cast<float>(std::clamp(n.utilization, 0.0, 1.0)));
    ns.queued.push_back(static_cast<float>(n.queued[0] + n.queued[1] + n.queued[2]));
    if (st.faults) {
      const Node& node = st.mesh.node(n.id);
      ns.rack.push_back(static_cast<std::int16_t>(node.rack));
      ns.zone.push_back(static_cast<std::int16_t>(node.zone));
      ns.reachable.push_back(node.unreachable ? 0 : 1);
    }
  }
  ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
  if (st.discovery) {
    if (ns.link_offset.empty()) ns.link_offset.push_back(0);
    st.discovery->AppendLinks(
        std::vector<std::int32_t>(ns.id.begin() + ns.offset[ns.offset.size() - 2], ns.id.end()),
        &ns);
    ns.link_offset.push_back(static_cast<std::int64_t>(ns.link_from.size()));
  }
}

// Runs the control loop once per interval and paces the node actors.
class ManagerActor {
 public:
  ManagerActor(SimState* state, Policy* policy, const SimulationOptions* options)
      : state_(state), policy_(policy), options_(options) {}

  void operator()() const {
    SimState& st = *state_;
    const Seconds dt = st.scenario.control_interval;
    const Seconds duration = st.scenario.duration;
    const auto ticks = static_cast<std::int64_t>(std::ceil(duration / dt - 1e-9));
    SimMetrics metrics(state_);
    SimActuator actuator(state_, std::string(policy_->name()));
    ControlLoop loop(metrics, st.forecasts.get(), *policy_, actuator);
    std::vector<double> role_demand(st.role_traces.size(), 0);
    const std::function<sg4::Host*(int)> host_of = [&st](int id) {
      return st.slots[static_cast<std::size_t>(id)].host;
    };
    if (st.discovery) {
      st.discovery->Start(sg4::this_actor::get_host(), st.mesh, host_of);
      st.mesh.SetRoutable(&st.discovery->discovered());
    }

    for (std::int64_t k = 0; k < ticks; ++k) {
      const Seconds now = static_cast<double>(k) * dt;
      const Seconds end = std::min(now + dt, duration);
      st.mesh.PromoteBooted(now);
      if (st.faults) st.faults->Apply(st.mesh, now);
      if (st.discovery) st.discovery->Sync(st.mesh, host_of, now);
      // Like the HPA, nothing is decided before the first metrics exist;
      // nothing at all while the manager is down.
      if (k > 0 && !(st.faults && st.faults->ManagerDown(now))) {
        absl::StatusOr<Plan> plan = loop.Step();
        if (!plan.ok()) {
          st.error = plan.status();
          return;
        }
      }
      // Work moved this tick lands before the tick's work starts if its
      // transfer takes less than a tenth of the interval (milliseconds, for
      // queued requests on a LAN); longer transfers land at a later tick.
      DeliverMigrations(state_, 0.1 * dt);
      RetireStopped(state_);
      for (std::size_t r = 0; r < st.role_traces.size(); ++r) {
        const Trace& t = st.role_traces[r];
        role_demand[r] = t.MeanRate(t.start + now, t.start + end);
      }
      st.mesh.BeginTick(now, end - now, role_demand);
      st.tick_end = end;
      st.pending = static_cast<int>(st.mesh.working_nodes().size());
      for (int id : st.mesh.working_nodes()) st.slots[static_cast<std::size_t>(id)].wake->release();
      if (st.pending > 0) st.tick_done->acquire();
      if (sg4::Engine::get_clock() < end) sg4::this_actor::sleep_until(end);
      const TickRecord rec = st.mesh.EndTick();
      for (int c = 0; c < kNumClasses; ++c) {
        st.dropped_by_class[c] += rec.dropped_by_class[c];
        st.throttled_by_class[c] += rec.throttled_by_class[c];
      }
      Record(rec, st.results.ticks);
      if (st.snapshot_every > 0 && k % st.snapshot_every == 0) SnapshotNodes(st, now, end - now);
      RetireStopped(state_);
      if (options_->on_tick) options_->on_tick(st.results, static_cast<std::size_t>(k));
      if (options_->on_progress) options_->on_progress(end / duration);
    }
  }

 private:
  SimState* state_;
  Policy* policy_;
  const SimulationOptions* options_;
};

// One host per potential node, star-connected through one link each. A node
// is a single aggregated CPU of cores x core_speed: the flow-level model runs
// a node's tick as one activity, and per-core queueing is in the twin's M/M/c
// latency estimate. (The core count is kept as the host property "cores".)
void BuildPlatform(SimState& st, sg4::Host** manager_host) {
  const Scenario& s = st.scenario;
  sg4::NetZone* zone = sg4::create_star_zone("mesh");
  auto add_host = [&](const std::string& name, double speed, int cores) {
    sg4::Host* h = zone->create_host(name, speed);
    h->set_property("cores", std::to_string(cores));
    sg4::Link* l = zone->create_link(name + "-link", s.platform.link_bandwidth)
                       ->set_latency(s.platform.link_latency);
    zone->add_route(h->get_netpoint(), nullptr, nullptr, nullptr,
                    {sg4::LinkInRoute(l, sg4::LinkInRoute::Direction::NONE)}, true);
    return h;
  };
  *manager_host = add_host("manager", 1e9, 1);
  st.free_hosts.resize(s.node_types.size());
  for (std::size_t t = 0; t < s.node_types.size(); ++t) {
    const NodeTypeSpec& nt = s.node_types[t];
    const int hosts = 2 * std::max(nt.max, nt.initial);
    for (int i = hosts - 1; i >= 0; --i) {  // reversed: the stack hands out host 0 first
      st.free_hosts[t].push_back(
          add_host(nt.name + "-" + std::to_string(i), nt.NodeSpeed(), nt.cores));
    }
  }
  zone->seal();
}

// The scenario's forecaster (scenarios/scenario.h), with the trace's events
// in absolute times, as histories carry them.
absl::StatusOr<std::unique_ptr<ForecastPipeline>> MakeForecastPipeline(const Scenario& scenario,
                                                                       const Trace& trace) {
  std::vector<Event> events = trace.events;
  for (Event& e : events) {
    e.start += trace.epoch;
    e.end += trace.epoch;
    e.announced += trace.epoch;
  }
  return MakeForecastPipeline(scenario, trace.epoch + trace.start, std::move(events));
}

// What the pipeline forecast, next to the demand that came.
void RecordForecasts(const ForecastPipeline& p, const Trace& trace, Seconds duration,
                     ResultsData& r) {
  ForecastSeries& f = r.forecasts;
  f.model = p.model().name();
  f.horizons = p.horizons();
  const Seconds step = p.step();
  for (const ForecastRecord& rec : p.records()) {
    if (rec.origin < 0) continue;  // made while warming on history before the run
    f.time.push_back(rec.origin);
    for (std::size_t i = 0; i < f.horizons.size(); ++i) {
      f.p10.push_back(rec.p10[i]);
      f.p50.push_back(rec.p50[i]);
      f.p90.push_back(rec.p90[i]);
      const Seconds target = rec.origin + f.horizons[i];
      f.actual.push_back(target <= duration + 1e-9
                             ? trace.MeanRate(trace.start + target - step, trace.start + target)
                             : std::numeric_limits<double>::quiet_NaN());
    }
  }
  for (const RetrainRecord& rt : p.retrains()) {
    r.retrains.push_back({rt.time, static_cast<std::int32_t>(rt.samples), rt.old_mae, rt.new_mae,
                          rt.accepted ? 1 : 0, rt.reason});
  }
}

// "1800 s", not std::to_string's "1800.000000".
std::string SecondsText(Seconds s) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g s", s);
  return text;
}

RunSummary Summarize(const SimState& st) {
  const TickSeries& t = st.results.ticks;
  RunSummary s;
  s.scenario = st.scenario.name;
  s.policy = st.results.policy;
  s.seed = st.scenario.seed;
  s.duration = st.scenario.duration;
  s.ticks = static_cast<int>(t.size());
  double util_time = 0, time = 0, latency_weighted = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double dt = (i + 1 < t.size() ? t.time[i + 1] : st.scenario.duration) - t.time[i];
    s.requests_total += t.arrived[i];
    s.requests_served += t.served[i];
    s.requests_dropped += t.dropped[i];
    s.peak_nodes =
        std::max(s.peak_nodes, t.nodes_ready[i] + t.nodes_booting[i] + t.nodes_draining[i]);
    util_time += t.utilization[i] * dt;
    time += dt;
    latency_weighted += t.latency[i] * t.served[i];
  }
  s.requests_queued_at_end = t.size() ? t.queued.back() : 0;
  s.mean_utilization = time > 0 ? util_time / time : 0;
  s.mean_latency_s = s.requests_served > 0 ? latency_weighted / s.requests_served : 0;
  s.slo_violation_minutes = st.mesh.slo_violation_minutes();
  s.node_hours = st.mesh.node_hours();
  s.cost = st.mesh.cost();
  for (const DecisionRecord& d : st.results.decisions) {
    if (d.action == ToString(ActionKind::kScaleOut)) ++s.scale_up_events;
    if (d.action == ToString(ActionKind::kScaleIn)) ++s.scale_down_events;
  }
  for (int c = 0; c < kNumClasses; ++c) {
    s.dropped_by_class[c] = st.dropped_by_class[c];
    s.throttled_by_class[c] = st.throttled_by_class[c];
  }
  s.migrations = st.migrations_done;
  s.requests_migrated = st.requests_migrated;
  s.role_switches = st.mesh.role_switches();
  for (const DecisionRecord& d : st.results.decisions) {
    if (d.action == ToString(ActionKind::kIsolate)) ++s.isolations;
    if (d.action == ToString(ActionKind::kReplace)) ++s.replacements;
  }
  s.requests_lost_to_failures = st.mesh.requests_lost_to_failures();
  if (st.faults) {
    const FaultStats f = st.faults->Finish();
    s.node_failures = f.node_failures;
    s.domain_failures = f.domain_failures;
    s.gray_failures = f.gray_failures;
    s.partitions = f.partitions;
    s.manager_outages = f.manager_outages;
    s.failures_undetected = f.undetected;
    auto mean_max = [](const std::vector<double>& v, double* mean, double* max) {
      if (v.empty()) return;
      double sum = 0;
      for (double x : v) {
        sum += x;
        *max = std::max(*max, x);
      }
      *mean = sum / static_cast<double>(v.size());
    };
    mean_max(f.detection_delays, &s.detection_delay_mean_s, &s.detection_delay_max_s);
    mean_max(f.recovery_times, &s.recovery_mean_s, &s.recovery_max_s);
  }
  s.dht = st.scenario.dht.protocol;
  if (st.discovery) {
    const DiscoveryStats& d = st.discovery->stats();
    s.dht_messages = static_cast<double>(d.messages);
    s.dht_queries = static_cast<int>(d.queries);
    s.dht_queries_failed = static_cast<int>(d.queries_failed);
    s.dht_rejoins = static_cast<int>(d.rejoins);
    s.nodes_discovered = static_cast<int>(d.discovery_delays.size());
    if (!d.discovery_delays.empty()) {
      double sum = 0;
      for (double x : d.discovery_delays) {
        sum += x;
        s.discovery_delay_max_s = std::max(s.discovery_delay_max_s, x);
      }
      s.discovery_delay_mean_s = sum / static_cast<double>(d.discovery_delays.size());
    }
  }
  return s;
}

}  // namespace

namespace {

std::string DomainText(const FailureDomain& d) {
  switch (d.kind) {
    case FailureDomain::Kind::kZone:
      return "zone " + std::to_string(d.index);
    case FailureDomain::Kind::kRack:
      return "rack " + std::to_string(d.index);
    case FailureDomain::Kind::kAggregation:
      return "aggregation switch " + std::to_string(d.switch_index) + " of zone " +
             std::to_string(d.index);
  }
  return "";
}

// The injected faults as events of the run (source "faults"), so that
// viewers show them on the time axis next to the global events. Events are
// written, never read back by the run: they change nothing simulated.
void AppendFaultEvents(const Scenario& scenario, std::vector<Event>& events) {
  const FaultsSpec& f = scenario.faults;
  if (!f.enabled) return;
  auto add = [&](Seconds start, Seconds duration, double magnitude, std::string text) {
    Event e;
    e.start = start;
    e.end = std::isfinite(duration) ? start + duration : std::numeric_limits<double>::quiet_NaN();
    e.announced = start;
    e.source = "faults";
    e.category = "fault";
    e.magnitude = magnitude;
    e.text = std::move(text);
    events.push_back(std::move(e));
  };
  auto type_name = [&](int type) {
    return type < 0 ? std::string("any") : scenario.node_types[static_cast<std::size_t>(type)].name;
  };
  for (const CrashSpec& c : f.crashes) {
    add(c.at, kForever, c.count,
        std::to_string(c.count) + " " + type_name(c.node_type) + " node(s) crash");
  }
  for (const DomainFailureSpec& d : f.domains) {
    add(d.at, d.duration, 0, DomainText(d.domain) + " lost (every node on it crashes)");
  }
  for (const GraySpec& g : f.gray) {
    add(g.at, g.duration, g.count,
        std::to_string(g.count) + " " + type_name(g.node_type) + " node(s) turn gray (speed x" +
            absl::StrCat(g.speed) + ", " + absl::StrCat(100 * g.error_rate) + " % errors)");
  }
  for (const LinkFaultSpec& l : f.links) {
    std::string what = l.cut ? "cut off (partition)" : "links degraded";
    if (!l.cut && l.latency != 1) what += ": latency x" + absl::StrCat(l.latency);
    if (l.loss > 0) what += ", " + absl::StrCat(100 * l.loss) + " % loss";
    add(l.at, l.duration, l.latency, DomainText(l.domain) + " " + what);
  }
  for (const ManagerCrashSpec& m : f.manager) add(m.at, m.duration, 0, "manager down");
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.start < b.start; });
}

}  // namespace

int AutoSnapshotEvery(const Scenario& scenario) {
  double max_nodes = 0;
  for (const NodeTypeSpec& t : scenario.node_types) max_nodes += t.max;
  const double ticks = std::ceil(scenario.duration / scenario.control_interval - 1e-9);
  const double every =
      std::ceil(ticks * std::max(1.0, max_nodes) / SimulationOptions::kSnapshotBudget);
  return static_cast<int>(std::clamp(every, 1.0, 1e9));
}

absl::StatusOr<ResultsData> RunSimulation(const Scenario& scenario, const Trace& trace,
                                          const SimulationOptions& options) {
  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, MakePolicy(scenario, trace));
  SimState st(scenario, trace);
  st.node_view = policy->wants_node_view();
  st.snapshot_every = options.node_snapshot_every == SimulationOptions::kAutoSnapshots
                          ? AutoSnapshotEvery(scenario)
                          : std::max(0, options.node_snapshot_every);
  st.results.nodes.every = st.snapshot_every;
  if (scenario.dht.enabled()) {
    DiscoveryOptions d;
    d.protocol = scenario.dht.protocol;
    d.refresh = scenario.dht.refresh;
    d.ttl = scenario.dht.ttl;
    d.query_every = scenario.dht.query_every;
    d.control_interval = scenario.control_interval;
    d.seed = scenario.seed;
    for (const RoleSpec& role : st.mesh.roles()) d.roles.push_back(role.name);
    d.node_types = scenario.node_types;
    st.discovery = std::make_unique<MeshDiscovery>(std::move(d));
    st.results.nodes.links = scenario.dht.protocol;
  }
  if (scenario.faults.enabled) {
    absl::StatusOr<FaultInjector> f =
        FaultInjector::Create(scenario.faults, scenario.node_types, scenario.seed);
    if (!f.ok()) {
      return absl::InvalidArgumentError(scenario.source + ": " + std::string(f.status().message()));
    }
    st.faults.emplace(*std::move(f));
    st.results.nodes.zones = scenario.faults.topology.zones;
    st.results.nodes.racks_per_zone = scenario.faults.topology.racks_per_zone;
  }
  if (scenario.forecast.enabled) {
    MESHTWIN_ASSIGN_OR_RETURN(st.forecasts, MakeForecastPipeline(scenario, trace));
    if (!options.history.empty()) {
      if (absl::Status warm = st.forecasts->Warm(options.history, options.history_step);
          !warm.ok()) {
        return absl::InvalidArgumentError(scenario.source +
                                          ": forecast: " + std::string(warm.message()));
      }
    }
  }

  // Nodes are single aggregated CPUs (see BuildPlatform), which lets SimGrid
  // use its TI CPU model: 13 % faster than the default on large fleets, with
  // identical results.
  std::vector<std::string> args = {"meshtwin", "--log=root.thres:warning", "--cfg=cpu/optim:TI"};
  args.insert(args.end(), options.simgrid_args.begin(), options.simgrid_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);

  try {
    sg4::Engine engine(&argc, argv.data());
    sg4::Host* manager_host = nullptr;
    BuildPlatform(st, &manager_host);
    st.tick_done = sg4::Semaphore::create(0);
    st.mesh.AddInitialNodes();
    for (const Node& n : st.mesh.nodes()) StartNode(&st, n.id);
    sg4::Actor::create("manager", manager_host, ManagerActor(&st, policy.get(), &options));
    engine.run();
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("simulation failed: ") + e.what());
  }
  MESHTWIN_RETURN_IF_ERROR(st.error);
  if (st.forecasts && st.forecasts->warmup_failed()) {
    return absl::InvalidArgumentError(scenario.source + ": forecast.warmup: the first " +
                                      SecondsText(scenario.forecast.warmup) +
                                      " of the run could not train " + scenario.forecast.model +
                                      ": " + st.forecasts->warmup_error());
  }

  ResultsData& r = st.results;
  r.scenario_name = scenario.name;
  r.scenario_text = scenario.text;
  for (const std::string& o : scenario.overrides) r.overrides += o + "\n";
  r.policy = std::string(policy->name());
  r.seed = scenario.seed;
  r.control_interval = scenario.control_interval;
  r.trace_epoch = trace.epoch + trace.start;
  for (const NodeTypeSpec& t : scenario.node_types) r.node_types.push_back(t.name);
  for (const RoleSpec& role : st.mesh.roles()) r.roles.push_back(role.name);
  // Events in run time, like every other time in the results.
  r.events = trace.events;
  for (Event& e : r.events) {
    e.start -= trace.start;
    e.end -= trace.start;
    e.announced -= trace.start;
  }
  AppendFaultEvents(scenario, r.events);
  if (st.forecasts) RecordForecasts(*st.forecasts, trace, scenario.duration, r);
  r.summary = Summarize(st);
  return std::move(st.results);
}

}  // namespace meshtwin
