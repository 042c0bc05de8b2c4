// The live source end to end, without a manager process: a real WatchHub
// behind a real mutual-TLS LiveServer on 127.0.0.1 (port 0), the source
// opened through OpenDataSource as `meshtwin gui --live` opens it. What a
// user would notice: the snapshot shows at once, published events appear
// after a Poll, a manager that goes away is one sticky error naming its
// address (the data kept), and bad TLS settings are refused naming the file
// or flag.
#include "gui/live_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "live_bridge/certs.h"
#include "live_bridge/tls_server.h"
#include "live_bridge/watch.h"

namespace meshtwin::gui {
namespace {

using ::testing::HasSubstr;

constexpr double kT0 = 1.8e9;

// Polls `source` until `done` holds or ten seconds pass (generous: machines
// are shared); true if it held.
bool PollUntil(DataSource& source, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    (void)source.Poll();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class LiveSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_gui_live_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    live::CertsInitOptions init;
    init.dir = dir_.string();
    init.nodes = 1;
    ASSERT_TRUE(live::InitCertsDir(init).ok());
    hub_ = std::make_unique<live::WatchHub>();
    hub_->SetSnapshotSource([](Seconds) {
      live::LiveSnapshot s;
      s.time_unix = kT0 + 600;
      s.manager_id = "manager-0";
      s.scenario_name = "web";
      s.interval = 15;
      s.history_start_unix = kT0;
      s.history_step = 15;
      s.demand_history.assign(40, 1200);
      live::LiveNode n;
      n.id = "agent-0";
      n.state = NodeState::kReady;
      n.role = "default";
      n.capabilities.node_type = "medium";
      s.nodes = {n};
      return s;
    });
    live::LiveServerOptions options;
    options.address = "127.0.0.1:0";
    options.tls.files = live::TlsFiles::InDir(dir_.string(), "manager");
    server_ = std::make_unique<live::LiveServer>(options);
    server_->AddService(hub_->service());
    ASSERT_TRUE(server_->Start().ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(1);
    std::filesystem::remove_all(dir_);
  }

  DataSourceSpec Spec() const {
    DataSourceSpec spec;
    spec.kind = SourceKind::kLiveManager;
    spec.address = address_;
    spec.tls_dir = dir_.string();
    return spec;
  }

  // Must outlive the server: declared first, destroyed last.
  std::unique_ptr<live::WatchHub> hub_;
  std::filesystem::path dir_;
  std::unique_ptr<live::LiveServer> server_;
  std::string address_;
};

TEST_F(LiveSourceTest, SnapshotThenStreamedEventsThenAStickyErrorWhenTheManagerGoes) {
  absl::StatusOr<std::unique_ptr<DataSource>> opened = OpenDataSource(Spec());
  ASSERT_TRUE(opened.ok()) << opened.status();
  DataSource& src = **opened;
  EXPECT_EQ(src.kind(), SourceKind::kLiveManager);
  EXPECT_EQ(src.name(), "live " + address_);
  EXPECT_TRUE(src.live());
  // The snapshot, before any Poll: 10 minutes of history and the node.
  EXPECT_EQ(src.data().ticks.size(), 40u);
  EXPECT_EQ(src.data().trace_epoch, kT0);
  EXPECT_EQ(src.data().nodes.size(), 1u);

  ASSERT_TRUE(PollUntil(src, [&] { return hub_->subscribers() == 1; }));
  const std::uint64_t version = src.version();
  live::LiveTick tick;
  tick.demand_rps = 1500;
  tick.capacity_rps = 2000;
  tick.ready = 1;
  live::LiveNode n;
  n.id = "agent-1";
  n.state = NodeState::kBooting;
  n.capabilities.node_type = "medium";
  hub_->Publish(live::WatchEvent::NodeChanged(n, kT0 + 614));
  hub_->Publish(live::WatchEvent::Tick(tick, kT0 + 615));
  live::LoggedDecision d;
  d.time_unix = kT0 + 615;
  d.policy = "hpa";
  live::LoggedAction a;
  a.kind = "scale_out";
  a.count = 1;
  a.outcome = "applied";
  d.actions = {a};
  hub_->Publish(live::WatchEvent::Decision(d));
  ASSERT_TRUE(PollUntil(src, [&] {
    return src.data().ticks.size() == 41 && src.data().decisions.size() == 1 &&
           src.data().nodes.size() == 2;
  }));
  EXPECT_GT(src.version(), version);
  EXPECT_EQ(src.data().ticks.demand.back(), 1500);
  EXPECT_DOUBLE_EQ(src.data().ticks.time.back(), 600);
  EXPECT_EQ(src.data().decisions[0].action, "scale_out");
  EXPECT_TRUE(src.live());

  // The manager goes away: one error naming the address, again on the next
  // Poll, the data as it was.
  server_->Shutdown(0);
  absl::Status st;
  ASSERT_TRUE(PollUntil(src, [&] {
    st = src.Poll();
    return !st.ok();
  }));
  EXPECT_THAT(std::string(st.message()), HasSubstr(address_));
  EXPECT_FALSE(src.live());
  EXPECT_EQ(src.Poll(), st);
  EXPECT_EQ(src.data().ticks.size(), 41u);
}

TEST_F(LiveSourceTest, BadSettingsAndAnUnreachableManagerAreNamed) {
  DataSourceSpec spec = Spec();
  spec.tls_dir.clear();
  absl::StatusOr<std::unique_ptr<DataSource>> s = OpenDataSource(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("--tls-dir"));

  spec = Spec();
  spec.tls_name = "nobody";
  s = OpenDataSource(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("nobody.crt"));

  spec = Spec();
  spec.address.clear();
  s = OpenDataSource(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("host:port"));

  // Nothing listens there any more.
  server_->Shutdown(0);
  s = OpenDataSource(Spec());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(address_));
}

}  // namespace
}  // namespace meshtwin::gui
