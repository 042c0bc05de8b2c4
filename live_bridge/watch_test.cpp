// The WatchService on loopback, over mutual TLS with certificates from our own
// CA: snapshots round-trip every field (NaN readings included) and are
// checked on arrival, streams deliver in order and filter, slow viewers are
// cut off without holding up fast ones, and only holders of a certificate
// from the CA get in. Refused clients are dialled with hand-made credentials,
// since WatchClient cannot be made without a valid certificate.
#include "live_bridge/watch.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include "live_bridge/certs.h"
#include "live_bridge/test_support/certs_dir.h"
#include "live_bridge/test_support/hand_made_channel.h"
#include "live_bridge/tls.h"
#include "live_bridge/tls_server.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {
namespace {

constexpr auto kPatience = std::chrono::seconds(30);
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Polls `done` until it holds or kPatience passes.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

LiveNode Node(const std::string& id, NodeState state) {
  LiveNode n;
  n.id = id;
  n.state = state;
  n.role = "web";
  n.capabilities.cores = 8;
  n.capabilities.core_speed = 2.5e9;
  n.capabilities.memory_gb = 32;
  n.capabilities.gpus = {{"NVIDIA T4", 2, 16}};
  n.capabilities.software = {"python3", "cuda-12"};
  n.capabilities.roles = {"web", "batch"};
  n.capabilities.node_type = "gpu-small";
  n.load.time_unix = 1.7e9 + 0.5;
  n.load.window = 5;
  n.load.cpu_utilization = 0.625;
  n.load.memory_used_gb = 12.25;
  n.load.requests_per_s = 310.5;
  n.load.latency = 0.012;
  n.load.latency_p99 = 0.08;
  n.load.error_rate = 0.001;
  n.load.queued_requests = 7;
  return n;
}

void ExpectSameNode(const LiveNode& got, const LiveNode& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.role, want.role);
  const AgentCapabilities& c = got.capabilities;
  const AgentCapabilities& w = want.capabilities;
  EXPECT_EQ(c.cores, w.cores);
  EXPECT_EQ(c.core_speed, w.core_speed);
  EXPECT_EQ(c.memory_gb, w.memory_gb);
  ASSERT_EQ(c.gpus.size(), w.gpus.size());
  for (std::size_t i = 0; i < c.gpus.size(); ++i) {
    EXPECT_EQ(c.gpus[i].model, w.gpus[i].model);
    EXPECT_EQ(c.gpus[i].count, w.gpus[i].count);
    EXPECT_EQ(c.gpus[i].memory_gb, w.gpus[i].memory_gb);
  }
  EXPECT_EQ(c.software, w.software);
  EXPECT_EQ(c.roles, w.roles);
  EXPECT_EQ(c.node_type, w.node_type);
  const LoadSample& l = got.load;
  const LoadSample& m = want.load;
  EXPECT_EQ(l.time_unix, m.time_unix);
  EXPECT_EQ(l.window, m.window);
  EXPECT_EQ(l.cpu_utilization, m.cpu_utilization);
  EXPECT_EQ(l.memory_used_gb, m.memory_used_gb);
  EXPECT_EQ(l.requests_per_s, m.requests_per_s);
  EXPECT_EQ(l.latency, m.latency);
  EXPECT_EQ(l.latency_p99, m.latency_p99);
  EXPECT_EQ(l.error_rate, m.error_rate);
  EXPECT_EQ(l.queued_requests, m.queued_requests);
}

Event Launch(double start, double end) {
  Event e;
  e.start = start;
  e.end = end;
  e.announced = start - 86400;
  e.source = "grpc:client";
  e.category = "launch";
  e.magnitude = 2.5;
  e.text = "v2 launch";
  return e;
}

void ExpectSameEvent(const Event& got, const Event& want) {
  EXPECT_EQ(got.start, want.start);
  if (std::isnan(want.end)) {
    EXPECT_TRUE(std::isnan(got.end)) << "an open-ended event stays open-ended, got " << got.end;
  } else {
    EXPECT_EQ(got.end, want.end);
  }
  EXPECT_EQ(got.announced, want.announced);
  EXPECT_EQ(got.source, want.source);
  EXPECT_EQ(got.category, want.category);
  EXPECT_EQ(got.magnitude, want.magnitude);
  EXPECT_EQ(got.text, want.text);
}

Forecast SomeForecast() {
  Forecast f;
  f.horizons = {60, 300, 900};
  f.p10 = {90, 95, 80};
  f.p50 = {100, 110, 120};
  f.p90 = {115, 130, 170};
  return f;
}

void ExpectSameForecast(const Forecast& got, const Forecast& want) {
  EXPECT_EQ(got.horizons, want.horizons);
  EXPECT_EQ(got.p10, want.p10);
  EXPECT_EQ(got.p50, want.p50);
  EXPECT_EQ(got.p90, want.p90);
}

LoggedDecision SomeDecision() {
  LoggedDecision d;
  d.time_unix = 1.7e9 + 15;
  d.fence = 42;
  d.policy = "predictive";
  d.shadow = true;
  d.tick = 113333334;
  d.manager = "manager-1";
  d.demand_rps = 812.5;
  d.capacity_rps = 900;
  LoggedAction& a = d.actions.emplace_back();
  a.kind = "scale_out";
  a.node_type = "gpu-small";
  a.role = "web";
  a.count = 3;
  a.reason = "p90 above capacity in 300 s";
  a.replicas_before = 4;
  a.replicas_after = 7;
  a.metric = 0.93;
  a.outcome = "applied";
  a.nodes_started = {"node-f42-t1-0", "node-f42-t1-1", "node-f42-t1-2"};
  LoggedAction& b = d.actions.emplace_back();
  b.kind = "change_role";
  b.node = "agent-0";
  b.role = "batch";
  b.count = 1;
  b.reason = "batch backlog";
  b.outcome = "fenced: tick already claimed or leadership lost";
  return d;
}

LiveTick SomeTick(double demand) {
  LiveTick t;
  t.demand_rps = demand;
  t.capacity_rps = 900;
  t.agents = 4;
  t.ready = 3;
  t.booting = 1;
  t.leader = true;
  t.fence = 42;
  t.forecast = SomeForecast();
  return t;
}

// A tick big enough (64 KiB on the wire) that a viewer that stops reading
// fills gRPC's flow-control windows in a few dozen events.
LiveTick BigTick() {
  LiveTick t = SomeTick(500);
  const std::size_t n = 2048;
  t.forecast.horizons.assign(n, 60);
  t.forecast.p10.assign(n, 1);
  t.forecast.p50.assign(n, 2);
  t.forecast.p90.assign(n, 3);
  return t;
}

// One Watch call on its own thread, keeping what it receives.
class Viewer {
 public:
  using Hook = std::function<bool(const WatchEvent&)>;  // false: stop watching

  Viewer(std::unique_ptr<WatchClient> client, WatchRequest request, Hook hook = nullptr)
      : client_(std::move(client)), hook_(std::move(hook)) {
    done_ = std::async(std::launch::async, [this, request] {
      return client_->Watch(request, [this](const WatchEvent& e) {
        const bool more = hook_ ? hook_(e) : true;
        std::lock_guard lock(mu_);
        events_.push_back(e);
        cv_.notify_all();
        return more;
      });
    });
  }
  ~Viewer() {
    client_->Cancel();
    if (done_.valid()) done_.wait();
  }

  // True once at least `n` events have arrived (false after kPatience).
  bool WaitCount(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return events_.size() >= n; });
  }
  std::vector<WatchEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

  // Watch's status once it returns by itself (DeadlineExceeded if it does
  // not within kPatience).
  absl::Status Join() {
    if (!done_.valid()) return status_;  // joined before
    if (done_.wait_for(kPatience) != std::future_status::ready) {
      return absl::DeadlineExceededError("Watch did not return");
    }
    status_ = done_.get();
    return status_;
  }
  absl::Status Cancel() {
    client_->Cancel();
    return Join();
  }

 private:
  std::unique_ptr<WatchClient> client_;
  Hook hook_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatchEvent> events_;
  std::future<absl::Status> done_;
  absl::Status status_;
};

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::FreshCertsDir("watch_test", 1); }
  void TearDown() override {
    if (server_) server_->Shutdown(1);
    std::filesystem::remove_all(dir_);
  }

  void Start(WatchHubOptions options = {}) {
    hub_ = std::make_unique<WatchHub>(options);
    LiveServerOptions server_options;
    server_options.address = "127.0.0.1:0";
    server_options.tls.files = TlsFiles::InDir(dir_.string(), "manager");
    server_ = std::make_unique<LiveServer>(server_options);
    server_->AddService(hub_->service());
    ASSERT_TRUE(server_->Start().ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  std::unique_ptr<WatchClient> Client() {
    TlsOptions tls;
    tls.files = TlsFiles::InDir(dir_.string(), "client");
    absl::StatusOr<std::unique_ptr<WatchClient>> client = WatchClient::Connect(address_, tls);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::unique_ptr<Viewer> Watch(WatchRequest request, Viewer::Hook hook = nullptr) {
    return std::make_unique<Viewer>(Client(), request, std::move(hook));
  }

  // A channel made by hand that trusts our CA and presents `identity`
  // (nullptr: no certificate at all).
  std::shared_ptr<grpc::Channel> RawChannel(const KeyAndCertificate* identity) {
    return testing::HandMadeChannel(address_, ReadText(dir_ / "ca.crt"), identity);
  }

  // Must outlive the server: declared first, destroyed last.
  std::unique_ptr<WatchHub> hub_;
  std::filesystem::path dir_;
  std::unique_ptr<LiveServer> server_;
  std::string address_;
};

TEST_F(WatchTest, SnapshotRoundTripsEveryFieldIncludingMissingReadings) {
  Start();
  LiveSnapshot want;
  want.time_unix = 1.7e9 + 0.25;
  want.manager_id = "manager-0";
  want.fence = 42;
  want.leader = true;
  want.scenario_name = "web-shop";
  want.scenario_yaml = "name: web-shop\nduration: 3600\n";
  want.overrides = {"policy.target=0.6", "forecast.horizon=900"};
  want.interval = 15;
  want.nodes = {Node("agent-0", NodeState::kReady), Node("agent-1", NodeState::kDraining)};
  want.nodes[1].role = "batch";
  want.nodes[1].capabilities.gpus.clear();
  want.nodes[1].load.cpu_utilization = 0.1;
  want.history_start_unix = 1.7e9 - 3600;
  want.history_step = 60;
  want.demand_history = {100, kNaN, 120.5, 0, kNaN};
  want.ready_history = {3, 3, 4, 5, 5};
  want.capacity_history = {300, 300, 400, 500, kNaN};
  want.forecast = SomeForecast();
  want.events = {Launch(1.7e9 + 600, kNaN), Launch(1.7e9 - 600, 1.7e9 + 60)};
  want.events[1].category = "news";

  std::atomic<double> asked{-1};
  hub_->SetSnapshotSource([&](Seconds history) {
    asked = history;
    return want;
  });
  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<LiveSnapshot> got = client->Snapshot(3600);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(asked.load(), 3600);

  EXPECT_EQ(got->time_unix, want.time_unix);
  EXPECT_EQ(got->manager_id, want.manager_id);
  EXPECT_EQ(got->fence, want.fence);
  EXPECT_EQ(got->leader, want.leader);
  EXPECT_EQ(got->scenario_name, want.scenario_name);
  EXPECT_EQ(got->scenario_yaml, want.scenario_yaml);
  EXPECT_EQ(got->overrides, want.overrides);
  EXPECT_EQ(got->interval, want.interval);
  ASSERT_EQ(got->nodes.size(), want.nodes.size());
  for (std::size_t i = 0; i < want.nodes.size(); ++i) ExpectSameNode(got->nodes[i], want.nodes[i]);
  EXPECT_EQ(got->history_start_unix, want.history_start_unix);
  EXPECT_EQ(got->history_step, want.history_step);
  ASSERT_EQ(got->demand_history.size(), want.demand_history.size());
  for (std::size_t i = 0; i < want.demand_history.size(); ++i) {
    if (std::isnan(want.demand_history[i])) {
      EXPECT_TRUE(std::isnan(got->demand_history[i])) << "demand_history[" << i << "]";
    } else {
      EXPECT_EQ(got->demand_history[i], want.demand_history[i]) << "demand_history[" << i << "]";
    }
  }
  EXPECT_EQ(got->ready_history, want.ready_history);
  ASSERT_EQ(got->capacity_history.size(), want.capacity_history.size());
  EXPECT_EQ(got->capacity_history[2], 400);
  EXPECT_TRUE(std::isnan(got->capacity_history[4]));
  ExpectSameForecast(got->forecast, want.forecast);
  ASSERT_EQ(got->events.size(), want.events.size());
  for (std::size_t i = 0; i < want.events.size(); ++i)
    ExpectSameEvent(got->events[i], want.events[i]);

  // An empty mesh is a valid snapshot too.
  hub_->SetSnapshotSource([](Seconds) { return LiveSnapshot{}; });
  absl::StatusOr<LiveSnapshot> empty = client->Snapshot(0);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->nodes.empty());
  EXPECT_TRUE(empty->demand_history.empty());
}

TEST_F(WatchTest, SnapshotWithoutASourceIsUnavailable) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<LiveSnapshot> got = client->Snapshot(60);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(got.status().message().find("no snapshot source"), absl::string_view::npos)
      << got.status();
  EXPECT_NE(got.status().message().find(address_), absl::string_view::npos) << got.status();
}

TEST_F(WatchTest, UnreachableManagerIsUnavailableNamingTheAddress) {
  Start();
  server_->Shutdown(0);
  server_.reset();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<LiveSnapshot> got = client->Snapshot(60, 5);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_NE(got.status().message().find(address_), absl::string_view::npos) << got.status();
}

TEST_F(WatchTest, InconsistentSnapshotIsRefusedNamingTheField) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  LiveSnapshot good;
  good.time_unix = 1.7e9;
  good.history_step = 60;
  good.demand_history = {1, 2, 3};
  good.forecast = SomeForecast();
  good.events = {Launch(1.7e9, kNaN)};
  hub_->SetSnapshotSource([&](Seconds) { return good; });
  ASSERT_TRUE(client->Snapshot(0).ok());

  auto refusal = [&](LiveSnapshot bad) -> std::string {
    hub_->SetSnapshotSource([bad](Seconds) { return bad; });
    absl::StatusOr<LiveSnapshot> got = client->Snapshot(0);
    if (got.ok()) return "accepted";
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
    return std::string(got.status().message());
  };
  LiveSnapshot short_ready = good;
  short_ready.ready_history = {3, 3};
  EXPECT_NE(refusal(short_ready).find("ready_history: 2 values for 3 demand_history values"),
            std::string::npos)
      << refusal(short_ready);
  LiveSnapshot no_step = good;
  no_step.history_step = 0;
  EXPECT_NE(refusal(no_step).find("history_step_s"), std::string::npos) << refusal(no_step);
  LiveSnapshot short_p50 = good;
  short_p50.forecast.p50.pop_back();
  EXPECT_NE(refusal(short_p50).find("forecast_p50: 2 values for 3"), std::string::npos)
      << refusal(short_p50);
  LiveSnapshot no_p90 = good;
  no_p90.forecast.p90.clear();
  EXPECT_NE(refusal(no_p90).find("forecast_p90"), std::string::npos) << refusal(no_p90);
  LiveSnapshot nan_time = good;
  nan_time.time_unix = kNaN;
  EXPECT_NE(refusal(nan_time).find("time_unix: must be a finite number"), std::string::npos)
      << refusal(nan_time);
  LiveSnapshot inf_event = good;
  inf_event.events[0].start = std::numeric_limits<double>::infinity();
  EXPECT_NE(refusal(inf_event).find("events[0].start_unix"), std::string::npos)
      << refusal(inf_event);
  LiveSnapshot nan_horizon = good;
  nan_horizon.forecast.horizons[1] = kNaN;
  EXPECT_NE(refusal(nan_horizon).find("forecast_horizons_s[1]"), std::string::npos)
      << refusal(nan_horizon);
  // The error also says which manager answered.
  EXPECT_NE(refusal(no_step).find(address_), std::string::npos);
}

TEST_F(WatchTest, WatchDeliversEveryEventInOrderWithIncreasingSeq) {
  Start();
  auto viewer = Watch({.include_decisions = true, .include_load = false});
  ASSERT_TRUE(WaitFor([&] { return hub_->subscribers() == 1; }));

  const LiveNode node = Node("agent-0", NodeState::kBooting);
  const Event open_event = Launch(1.7e9 + 100, kNaN);
  const LoggedDecision decision = SomeDecision();
  std::vector<std::uint64_t> seqs;
  const int kRounds = 40;
  for (int i = 0; i < kRounds; ++i) {
    const double t = 1.7e9 + i;
    seqs.push_back(hub_->Publish(WatchEvent::NodeChanged(node, t)));
    seqs.push_back(hub_->Publish(WatchEvent::Tick(SomeTick(i % 2 ? kNaN : 400.0 + i), t)));
    seqs.push_back(hub_->Publish(WatchEvent::GlobalEvent(open_event, t)));
    seqs.push_back(hub_->Publish(WatchEvent::Decision(decision)));
    seqs.push_back(hub_->Publish(WatchEvent::NodeRemoved("agent-9", "scaled in", t)));
  }
  ASSERT_TRUE(viewer->WaitCount(seqs.size()));
  EXPECT_TRUE(viewer->Cancel().ok());
  const std::vector<WatchEvent> got = viewer->events();
  ASSERT_EQ(got.size(), seqs.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].seq, seqs[i]) << "event " << i;
    if (i > 0) {
      EXPECT_GT(seqs[i], seqs[i - 1]);
    }
  }
  using Kind = WatchEvent::Kind;
  const Kind order[] = {Kind::kNodeChanged, Kind::kTick, Kind::kGlobalEvent, Kind::kDecision,
                        Kind::kNodeRemoved};
  for (std::size_t i = 0; i < got.size(); ++i) {
    const WatchEvent& e = got[i];
    ASSERT_EQ(e.kind, order[i % 5]) << "event " << i;
    const int round = static_cast<int>(i / 5);
    switch (e.kind) {
      case Kind::kNodeChanged:
        EXPECT_EQ(e.time_unix, 1.7e9 + round);
        ExpectSameNode(e.node, node);
        break;
      case Kind::kTick:
        if (round % 2) {
          EXPECT_TRUE(std::isnan(e.tick.demand_rps)) << "a tick without a reading stays NaN";
        } else {
          EXPECT_EQ(e.tick.demand_rps, 400.0 + round);
        }
        EXPECT_EQ(e.tick.capacity_rps, 900);
        EXPECT_EQ(e.tick.agents, 4);
        EXPECT_EQ(e.tick.ready, 3);
        EXPECT_EQ(e.tick.booting, 1);
        EXPECT_TRUE(e.tick.leader);
        EXPECT_EQ(e.tick.fence, 42);
        ExpectSameForecast(e.tick.forecast, SomeForecast());
        break;
      case Kind::kGlobalEvent:
        ExpectSameEvent(e.event, open_event);
        break;
      case Kind::kDecision: {
        EXPECT_EQ(e.time_unix, decision.time_unix);
        EXPECT_EQ(e.decision.time_unix, decision.time_unix);
        EXPECT_EQ(e.decision.policy, decision.policy);
        EXPECT_EQ(e.decision.fence, decision.fence);
        EXPECT_EQ(e.decision.shadow, decision.shadow);
        EXPECT_EQ(e.decision.tick, decision.tick);
        EXPECT_EQ(e.decision.manager, decision.manager);
        EXPECT_EQ(e.decision.demand_rps, decision.demand_rps);
        EXPECT_EQ(e.decision.capacity_rps, decision.capacity_rps);
        ASSERT_EQ(e.decision.actions.size(), decision.actions.size());
        for (std::size_t a = 0; a < decision.actions.size(); ++a) {
          EXPECT_EQ(e.decision.actions[a].kind, decision.actions[a].kind);
          EXPECT_EQ(e.decision.actions[a].node_type, decision.actions[a].node_type);
          EXPECT_EQ(e.decision.actions[a].count, decision.actions[a].count);
          EXPECT_EQ(e.decision.actions[a].role, decision.actions[a].role);
          EXPECT_EQ(e.decision.actions[a].node, decision.actions[a].node);
          EXPECT_EQ(e.decision.actions[a].reason, decision.actions[a].reason);
          EXPECT_EQ(e.decision.actions[a].replicas_before, decision.actions[a].replicas_before);
          EXPECT_EQ(e.decision.actions[a].replicas_after, decision.actions[a].replicas_after);
          EXPECT_EQ(e.decision.actions[a].metric, decision.actions[a].metric);
          EXPECT_EQ(e.decision.actions[a].outcome, decision.actions[a].outcome);
          EXPECT_EQ(e.decision.actions[a].nodes_started, decision.actions[a].nodes_started);
        }
        break;
      }
      case Kind::kNodeRemoved:
        EXPECT_EQ(e.removed_node, "agent-9");
        EXPECT_EQ(e.reason, "scaled in");
        break;
    }
  }
}

TEST_F(WatchTest, DecisionsAndLoadOnlyChangesGoOnlyToThoseWhoAskedForThem) {
  Start();
  auto decisions = Watch({.include_decisions = true, .include_load = false});
  auto load = Watch({.include_decisions = false, .include_load = true});
  ASSERT_TRUE(WaitFor([&] { return hub_->subscribers() == 2; }));

  using Kind = WatchEvent::Kind;
  const LiveNode node = Node("agent-0", NodeState::kReady);
  LiveNode busier = node;
  busier.load.cpu_utilization = 0.95;
  const std::uint64_t changed = hub_->Publish(WatchEvent::NodeChanged(node, 1.7e9));
  const std::uint64_t decided = hub_->Publish(WatchEvent::Decision(SomeDecision()));
  const std::uint64_t loaded = hub_->Publish(WatchEvent::NodeChanged(busier, 1.7e9 + 1), true);
  const std::uint64_t event =
      hub_->Publish(WatchEvent::GlobalEvent(Launch(1.7e9, kNaN), 1.7e9 + 2));
  const std::uint64_t removed = hub_->Publish(WatchEvent::NodeRemoved("agent-0", "failed", 1.7e9));
  // Both get the tick; once it is in, nothing else is on its way.
  const std::uint64_t ticked = hub_->Publish(WatchEvent::Tick(SomeTick(100), 1.7e9 + 3));
  ASSERT_TRUE(decisions->WaitCount(5));
  ASSERT_TRUE(load->WaitCount(5));
  EXPECT_TRUE(decisions->Cancel().ok());
  EXPECT_TRUE(load->Cancel().ok());

  auto seqs = [](const std::vector<WatchEvent>& events) {
    std::vector<std::uint64_t> out;
    for (const WatchEvent& e : events) out.push_back(e.seq);
    return out;
  };
  const std::vector<WatchEvent> d = decisions->events();
  EXPECT_EQ(seqs(d), (std::vector<std::uint64_t>{changed, decided, event, removed, ticked}));
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[1].kind, Kind::kDecision);
  const std::vector<WatchEvent> l = load->events();
  EXPECT_EQ(seqs(l), (std::vector<std::uint64_t>{changed, loaded, event, removed, ticked}));
  ASSERT_EQ(l.size(), 5u);
  EXPECT_EQ(l[1].kind, Kind::kNodeChanged);
  EXPECT_EQ(l[1].node.load.cpu_utilization, 0.95);
}

TEST_F(WatchTest, SlowViewerIsCutOffWhileAFastOneKeepsReceiving) {
  Start({.queue_limit = 8});
  auto fast = Watch({});
  // Sleeps in its first callback until the hub has let go of it, reading
  // nothing meanwhile, then drains what reached it before the cut-off.
  auto slow = Watch({}, [this, slept = false](const WatchEvent&) mutable {
    if (!slept) {
      slept = true;
      WaitFor([&] { return hub_->subscribers() < 2; });
    }
    return true;
  });
  ASSERT_TRUE(WaitFor([&] { return hub_->subscribers() == 2; }));

  // Published in batches below the limit, each one waited for: the fast
  // viewer never has more than 4 events queued.
  std::vector<std::uint64_t> seqs;
  const LiveTick big = BigTick();
  const std::size_t kMaxEvents = 20000;  // about 1.3 GB on the wire: far more than any window
  while (hub_->subscribers() == 2 && seqs.size() < kMaxEvents) {
    for (int i = 0; i < 4; ++i) seqs.push_back(hub_->Publish(WatchEvent::Tick(big, 1.7e9)));
    ASSERT_TRUE(fast->WaitCount(seqs.size())) << "the fast viewer fell behind at " << seqs.size();
  }
  ASSERT_EQ(hub_->subscribers(), 1) << "the slow viewer was never cut off";
  const std::size_t at_cut_off = seqs.size();
  // The fast viewer carries on, at the same pace.
  for (int i = 0; i < 40; ++i) {
    seqs.push_back(hub_->Publish(WatchEvent::Tick(SomeTick(i), 1.7e9 + i)));
    if (i % 4 == 3) {
      ASSERT_TRUE(fast->WaitCount(seqs.size()));
    }
  }
  EXPECT_EQ(hub_->subscribers(), 1);

  const absl::Status slow_status = slow->Join();
  EXPECT_EQ(slow_status.code(), absl::StatusCode::kResourceExhausted) << slow_status;
  EXPECT_NE(slow_status.message().find("too slow; reconnect"), absl::string_view::npos)
      << slow_status;
  EXPECT_NE(slow_status.message().find(address_), absl::string_view::npos) << slow_status;
  EXPECT_LT(slow->events().size(), at_cut_off);
  EXPECT_GT(slow->events().size(), 0u);

  EXPECT_TRUE(fast->Cancel().ok());
  const std::vector<WatchEvent> got = fast->events();
  ASSERT_EQ(got.size(), seqs.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].seq, seqs[i]) << "event " << i;
  std::printf("[ measure  ] slow viewer cut off after %zu events of 64 KiB (%zu delivered)\n",
              at_cut_off, slow->events().size());
}

TEST_F(WatchTest, CancelOrTheCallbackEndsWatchWithOk) {
  Start();
  auto viewer = Watch({});
  ASSERT_TRUE(WaitFor([&] { return hub_->subscribers() == 1; }));
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(viewer->Cancel().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - before, kPatience);
  EXPECT_TRUE(WaitFor([&] { return hub_->subscribers() == 0; }));

  // The callback says it has had enough.
  auto once = Watch({}, [](const WatchEvent&) { return false; });
  ASSERT_TRUE(WaitFor([&] { return hub_->subscribers() == 1; }));
  hub_->Publish(WatchEvent::Tick(SomeTick(1), 1.7e9));
  EXPECT_TRUE(once->Join().ok());
  EXPECT_EQ(once->events().size(), 1u);
  EXPECT_TRUE(WaitFor([&] { return hub_->subscribers() == 0; }));

  // A Cancel with no Watch in progress ends the next one at once.
  auto client = Client();
  ASSERT_NE(client, nullptr);
  client->Cancel();
  EXPECT_TRUE(client->Watch({}, [](const WatchEvent&) { return true; }).ok());
  EXPECT_EQ(hub_->subscribers(), 0);
}

TEST_F(WatchTest, SubscribersCountsOpenStreams) {
  Start();
  EXPECT_EQ(hub_->subscribers(), 0);
  // With nobody watching, Publish still numbers events.
  const std::uint64_t first = hub_->Publish(WatchEvent::Tick(SomeTick(1), 1.7e9));
  EXPECT_GT(hub_->Publish(WatchEvent::Tick(SomeTick(1), 1.7e9)), first);
  const int kIdle = 100000;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t last = 0;
  for (int i = 0; i < kIdle; ++i) last = hub_->Publish(WatchEvent::NodeRemoved("agent-0", "", i));
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(last, first + 1 + kIdle);
  std::printf("[ measure  ] Publish with no subscriber: %.0f ns per event\n", ns / kIdle);

  auto a = Watch({});
  auto b = Watch({.include_decisions = false});
  auto c = Watch({.include_load = true});
  ASSERT_TRUE(WaitFor([&] { return hub_->subscribers() == 3; }));
  EXPECT_TRUE(b->Cancel().ok());
  EXPECT_TRUE(WaitFor([&] { return hub_->subscribers() == 2; }));
  EXPECT_TRUE(a->Cancel().ok());
  EXPECT_TRUE(c->Cancel().ok());
  EXPECT_TRUE(WaitFor([&] { return hub_->subscribers() == 0; }));
}

TEST_F(WatchTest, ClientsWithoutACertificateFromTheCaAreRefused) {
  Start();
  std::atomic<int> asked{0};
  hub_->SetSnapshotSource([&](Seconds) {
    ++asked;
    return LiveSnapshot{};
  });
  absl::StatusOr<KeyAndCertificate> other_ca = MakeCertificateAuthority("someone else's CA");
  ASSERT_TRUE(other_ca.ok());
  CertificateSpec spec;
  spec.common_name = "client";
  absl::StatusOr<KeyAndCertificate> intruder = IssueCertificate(*other_ca, spec);
  ASSERT_TRUE(intruder.ok());

  for (const KeyAndCertificate* identity : {static_cast<const KeyAndCertificate*>(nullptr),
                                            static_cast<const KeyAndCertificate*>(&*intruder)}) {
    SCOPED_TRACE(identity == nullptr ? "no certificate" : "another CA's certificate");
    auto stub = v1::WatchService::NewStub(RawChannel(identity));
    {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kPatience);
      v1::MeshSnapshot response;
      const grpc::Status status = stub->Snapshot(&context, v1::SnapshotRequest(), &response);
      EXPECT_FALSE(status.ok());
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    }
    {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kPatience);
      auto reader = stub->Watch(&context, v1::WatchRequest());
      v1::WatchEvent event;
      EXPECT_FALSE(reader->Read(&event));
      EXPECT_FALSE(reader->Finish().ok());
    }
  }
  EXPECT_EQ(asked.load(), 0);
  EXPECT_EQ(hub_->subscribers(), 0);

  // The same calls with the CA's client certificate get in.
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->Snapshot(0).ok());
  EXPECT_EQ(asked.load(), 1);
}

}  // namespace
}  // namespace meshtwin::live
