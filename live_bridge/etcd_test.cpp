// The etcd client, the fence and leader election against a real etcd with
// mutual TLS (Debian's /usr/bin/etcd, started per test; skipped if missing).
// Timing assertions compare against lease TTLs, never against tight budgets.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "live_bridge/certs.h"
#include "live_bridge/etcd_client.h"
#include "live_bridge/leader_election.h"
#include "live_bridge/test_support/etcd_server.h"

namespace meshtwin::live {
namespace {

using Clock = std::chrono::steady_clock;

Seconds Since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// For RecordProperty: the figures land in the test's XML report.
int Millis(Clock::time_point from, Clock::time_point to) {
  return static_cast<int>(Since(from, to) * 1000);
}

// Every on_change, with the time it arrived.
class LeadershipLog {
 public:
  struct Event {
    Clock::time_point at;
    Leadership leadership;
  };

  std::function<void(const Leadership&)> Callback() {
    return [this](const Leadership& l) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back({Clock::now(), l});
      changed_.notify_all();
    };
  }

  // The next event (after those already returned) that satisfies `pred`,
  // waiting up to `timeout`.
  std::optional<Event> Await(const std::function<bool(const Leadership&)>& pred, Seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeout));
    while (true) {
      for (; next_ < events_.size(); ++next_) {
        if (pred(events_[next_].leadership)) return events_[next_++];
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
          next_ == events_.size()) {
        return std::nullopt;
      }
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::size_t next_ = 0;
};

bool IsLeader(const Leadership& l) { return l.leader; }
bool IsFollower(const Leadership& l) { return !l.leader; }

// Polls IsLeader() of each election every millisecond or so, from its own
// thread, as a control loop would.
class LeadershipSampler {
 public:
  explicit LeadershipSampler(std::vector<const LeaderElection*> elections)
      : elections_(std::move(elections)), transitions_(elections_.size()) {
    thread_ = std::thread([this] { Run(); });
  }
  ~LeadershipSampler() { Stop(); }

  void Stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }

  // Samples in which two elections both said IsLeader().
  int overlaps() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return overlaps_;
  }
  int samples() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return samples_;
  }

  // When election i was first seen not leading at or after `after`, having
  // led before: the clock read after the IsLeader() call, so an upper bound
  // on when it stopped claiming leadership.
  std::optional<Clock::time_point> SteppedDownAfter(std::size_t i, Clock::time_point after) const {
    std::lock_guard<std::mutex> lock(mutex_);
    bool was_leader = false;
    for (const auto& [at, leader] : transitions_[i]) {
      if (!leader && was_leader && at >= after) return at;
      was_leader = leader;
    }
    return std::nullopt;
  }

 private:
  void Run() {
    while (running_) {
      std::vector<bool> leading(elections_.size());
      for (std::size_t i = 0; i < elections_.size(); ++i) leading[i] = elections_[i]->IsLeader();
      // Read the first again: two claims count as overlapping only if the
      // first still held after the second was read (the sampler itself may
      // be descheduled between calls on a busy machine).
      const bool first_again = !elections_.empty() && elections_[0]->IsLeader();
      const Clock::time_point at = Clock::now();
      int claims = 0;
      for (std::size_t i = 1; i < leading.size(); ++i) claims += leading[i] ? 1 : 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++samples_;
        if (claims > 1 || (claims == 1 && leading[0] && first_again)) ++overlaps_;
        for (std::size_t i = 0; i < leading.size(); ++i) {
          if (transitions_[i].empty() || transitions_[i].back().second != leading[i]) {
            transitions_[i].emplace_back(at, leading[i]);
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }

  std::vector<const LeaderElection*> elections_;
  std::atomic<bool> running_{true};
  mutable std::mutex mutex_;
  int overlaps_ = 0;
  int samples_ = 0;
  std::vector<std::vector<std::pair<Clock::time_point, bool>>> transitions_;
  std::thread thread_;
};

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::EtcdServer>> etcd = testing::EtcdServer::Start();
    if (!etcd.ok()) {
      if (absl::IsUnavailable(etcd.status()) &&
          etcd.status().message().find("not found") != absl::string_view::npos) {
        GTEST_SKIP() << etcd.status().message();
      }
      FAIL() << etcd.status();
    }
    etcd_ = std::move(*etcd);
  }

  std::unique_ptr<EtcdClient> Client(const std::string& name) {
    EtcdOptions options;
    options.endpoint = etcd_->endpoint();
    options.tls = etcd_->ClientTls(name);
    absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  static ElectionOptions Election(const std::string& candidate, Seconds ttl) {
    ElectionOptions options;
    options.key = "/meshtwin/test/leader";
    options.candidate = candidate;
    options.lease_ttl = ttl;
    options.poll = 0.05;
    return options;
  }

  std::unique_ptr<testing::EtcdServer> etcd_;
};

TEST_F(EtcdTest, PutGetPrefixAndDelete) {
  std::unique_ptr<EtcdClient> etcd = Client("client");
  ASSERT_NE(etcd, nullptr);
  // Bytes JSON cannot carry as text: the gateway's base64 must round-trip them.
  const std::string binary("v\0\xff\x01", 4);
  absl::StatusOr<std::int64_t> first = etcd->Put("/t/a", binary);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(etcd->Put("/t/b", "two").ok());
  ASSERT_TRUE(etcd->Put("/u/c", "other prefix").ok());
  absl::StatusOr<std::int64_t> rewrite = etcd->Put("/t/a", "again");
  ASSERT_TRUE(rewrite.ok()) << rewrite.status();
  EXPECT_GT(*rewrite, *first);

  absl::StatusOr<std::optional<EtcdKeyValue>> a = etcd->Get("/t/a");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->key, "/t/a");
  EXPECT_EQ((*a)->value, "again");
  EXPECT_EQ((*a)->create_revision, *first);  // created by the first put
  EXPECT_EQ((*a)->mod_revision, *rewrite);
  EXPECT_EQ((*a)->lease, 0);

  absl::StatusOr<std::vector<EtcdKeyValue>> t = etcd->GetPrefix("/t/");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].key, "/t/a");
  EXPECT_EQ((*t)[1].key, "/t/b");
  EXPECT_EQ((*t)[1].value, "two");
  absl::StatusOr<std::vector<EtcdKeyValue>> all = etcd->GetPrefix("");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);

  ASSERT_TRUE(etcd->Put("/t/bin", binary).ok());
  absl::StatusOr<std::optional<EtcdKeyValue>> bin = etcd->Get("/t/bin");
  ASSERT_TRUE(bin.ok() && bin->has_value()) << bin.status();
  EXPECT_EQ((*bin)->value, binary);

  ASSERT_TRUE(etcd->Delete("/t/a").ok());
  absl::StatusOr<std::optional<EtcdKeyValue>> gone = etcd->Get("/t/a");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(etcd->Delete("/t/a").ok()) << "deleting a missing key is not an error";
}

TEST_F(EtcdTest, CreateIfAbsentAndFencedCreate) {
  std::unique_ptr<EtcdClient> etcd = Client("manager-0");
  ASSERT_NE(etcd, nullptr);
  absl::StatusOr<bool> created = etcd->CreateIfAbsent("/f/leader", "m0");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(*created);
  absl::StatusOr<bool> again = etcd->CreateIfAbsent("/f/leader", "m1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again) << "a second create of the same key must be refused";
  absl::StatusOr<std::optional<EtcdKeyValue>> leader = etcd->Get("/f/leader");
  ASSERT_TRUE(leader.ok() && leader->has_value());
  EXPECT_EQ((*leader)->value, "m0") << "the refused create must not overwrite";
  const std::int64_t fence = (*leader)->create_revision;

  absl::StatusOr<bool> fenced = etcd->FencedCreate("/f/leader", fence, "/f/jobs/1", "run");
  ASSERT_TRUE(fenced.ok()) << fenced.status();
  EXPECT_TRUE(*fenced);
  absl::StatusOr<bool> duplicate = etcd->FencedCreate("/f/leader", fence, "/f/jobs/1", "twice");
  ASSERT_TRUE(duplicate.ok()) << duplicate.status();
  EXPECT_FALSE(*duplicate) << "the fenced key already exists";
  absl::StatusOr<std::optional<EtcdKeyValue>> job = etcd->Get("/f/jobs/1");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->value, "run");

  // A new election: the key is re-created at a higher revision; the old
  // leader's fence is stale and its writes are refused by etcd.
  ASSERT_TRUE(etcd->Delete("/f/leader").ok());
  absl::StatusOr<bool> absent_fence = etcd->FencedCreate("/f/leader", fence, "/f/jobs/2", "x");
  ASSERT_TRUE(absent_fence.ok()) << absent_fence.status();
  EXPECT_FALSE(*absent_fence) << "no fence key: no write";
  absl::StatusOr<std::int64_t> new_fence = etcd->TryCreate("/f/leader", "m1");
  ASSERT_TRUE(new_fence.ok()) << new_fence.status();
  EXPECT_GT(*new_fence, fence);
  absl::StatusOr<bool> stale = etcd->FencedCreate("/f/leader", fence, "/f/jobs/2", "stale");
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(*stale) << "a stale fence must be refused";
  absl::StatusOr<std::optional<EtcdKeyValue>> job2 = etcd->Get("/f/jobs/2");
  ASSERT_TRUE(job2.ok());
  EXPECT_FALSE(job2->has_value());
  absl::StatusOr<bool> current = etcd->FencedCreate("/f/leader", *new_fence, "/f/jobs/2", "new");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_TRUE(*current);

  absl::StatusOr<bool> no_fence = etcd->FencedCreate("/f/leader", 0, "/f/jobs/3", "x");
  EXPECT_EQ(no_fence.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EtcdTest, LeaseExpiryAndRevokeRemoveKeys) {
  std::unique_ptr<EtcdClient> etcd = Client("client");
  ASSERT_NE(etcd, nullptr);
  absl::StatusOr<std::int64_t> lease = etcd->GrantLease(2);
  ASSERT_TRUE(lease.ok()) << lease.status();
  absl::StatusOr<bool> created = etcd->CreateIfAbsent("/l/expiring", "x", *lease);
  ASSERT_TRUE(created.ok() && *created) << created.status();
  absl::StatusOr<std::optional<EtcdKeyValue>> kv = etcd->Get("/l/expiring");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->lease, *lease);
  absl::StatusOr<Seconds> ttl = etcd->KeepAlive(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 2);
  absl::StatusOr<Seconds> left = etcd->TimeToLive(*lease);
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_GE(*left, 0);
  EXPECT_LE(*left, 2);

  // Not renewed: etcd deletes the key when the lease runs out.
  const Clock::time_point start = Clock::now();
  bool gone = false;
  while (!gone && Since(start, Clock::now()) < 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<std::optional<EtcdKeyValue>> now = etcd->Get("/l/expiring");
    ASSERT_TRUE(now.ok()) << now.status();
    gone = !now->has_value();
  }
  EXPECT_TRUE(gone) << "the key outlived its 2 s lease by 10 s";
  EXPECT_EQ(etcd->KeepAlive(*lease).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(etcd->TimeToLive(*lease).status().code(), absl::StatusCode::kNotFound);

  // Revoking deletes at once.
  absl::StatusOr<std::int64_t> second = etcd->GrantLease(30);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(etcd->CreateIfAbsent("/l/revoked", "y", *second).ok());
  ASSERT_TRUE(etcd->Revoke(*second).ok());
  absl::StatusOr<std::optional<EtcdKeyValue>> revoked = etcd->Get("/l/revoked");
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(revoked->has_value());
  absl::Status twice = etcd->Revoke(*second);
  EXPECT_EQ(twice.code(), absl::StatusCode::kNotFound) << twice;

  EXPECT_EQ(etcd->GrantLease(0).status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status unknown_lease = etcd->Put("/l/z", "z", 12345).status();
  EXPECT_EQ(unknown_lease.code(), absl::StatusCode::kNotFound) << unknown_lease;
  EXPECT_NE(unknown_lease.message().find("lease not found"), absl::string_view::npos)
      << unknown_lease;
}

TEST_F(EtcdTest, OneLeaderAtATimeAndStopHandsOverAtOnce) {
  std::unique_ptr<EtcdClient> c0 = Client("manager-0");
  std::unique_ptr<EtcdClient> c1 = Client("manager-1");
  ASSERT_TRUE(c0 && c1);
  // A long TTL: a handover faster than it proves the key was freed by the
  // resignation, not by the lease running out.
  constexpr Seconds kTtl = 6;
  // The logs outlive the elections: a resigning election still reports.
  LeadershipLog log0;
  LeadershipLog log1;
  LeaderElection e0(*c0, Election("manager-0", kTtl));
  LeaderElection e1(*c1, Election("manager-1", kTtl));
  LeadershipSampler sampler({&e0, &e1});
  e0.Start(log0.Callback());
  // Started second so that manager-0 (almost surely) wins; the test works
  // either way.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  e1.Start(log1.Callback());

  const Clock::time_point start = Clock::now();
  while (!e0.IsLeader() && !e1.IsLeader() && Since(start, Clock::now()) < 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(e0.IsLeader() || e1.IsLeader()) << "nobody was elected within 10 s";
  LeaderElection& leader = e0.IsLeader() ? e0 : e1;
  LeaderElection& follower = e0.IsLeader() ? e1 : e0;
  LeadershipLog& follower_log = e0.IsLeader() ? log1 : log0;
  const std::string leader_id = e0.IsLeader() ? "manager-0" : "manager-1";
  const Leadership first = leader.Current();
  EXPECT_TRUE(first.leader);
  EXPECT_EQ(first.leader_id, leader_id);
  EXPECT_GT(first.fence, 0);

  // The follower sees who leads, and cannot write.
  ASSERT_TRUE(follower_log.Await([&](const Leadership& l) { return l.leader_id == leader_id; }, 5))
      << "the follower never saw the leader";
  EXPECT_FALSE(follower.Current().leader);
  EXPECT_EQ(follower.FencedCreate("/jobs/a", "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<bool> write = leader.FencedCreate("/jobs/a", "by the leader");
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_TRUE(*write);

  // Leadership holds across several renewals.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(leader.IsLeader());
  EXPECT_EQ(leader.Current().fence, first.fence);
  EXPECT_FALSE(follower.IsLeader());

  const Clock::time_point stopped = Clock::now();
  leader.Stop();
  EXPECT_FALSE(leader.IsLeader());
  std::optional<LeadershipLog::Event> took_over = follower_log.Await(IsLeader, 10);
  ASSERT_TRUE(took_over.has_value()) << "nobody took over after the leader resigned";
  RecordProperty("handover_after_stop_ms", Millis(stopped, took_over->at));
  EXPECT_LT(Since(stopped, took_over->at), kTtl - 1)
      << "the handover waited for the lease to expire instead of the resignation";
  const Leadership second = follower.Current();
  EXPECT_TRUE(second.leader);
  EXPECT_GT(second.fence, first.fence) << "fences must increase with every election";
  leader.Stop();  // idempotent

  // The deposed leader's fence is stale: etcd refuses it.
  absl::StatusOr<bool> stale =
      c0->FencedCreate("/meshtwin/test/leader", first.fence, "/jobs/b", "x");
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(*stale);
  absl::StatusOr<bool> fresh = follower.FencedCreate("/jobs/b", "by the new leader");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(*fresh);

  sampler.Stop();
  EXPECT_GT(sampler.samples(), 100);
  EXPECT_EQ(sampler.overlaps(), 0) << "two replicas claimed leadership at the same time";
}

TEST_F(EtcdTest, LeaderWhoseLeaseIsRevokedStepsDown) {
  std::unique_ptr<EtcdClient> c0 = Client("manager-0");
  std::unique_ptr<EtcdClient> admin = Client("client");
  ASSERT_TRUE(c0 && admin);
  constexpr Seconds kTtl = 3;
  LeadershipLog log;  // outlives the election, which reports when it resigns
  LeaderElection e0(*c0, Election("manager-0", kTtl));
  LeadershipSampler sampler({&e0});
  e0.Start(log.Callback());
  std::optional<LeadershipLog::Event> elected = log.Await(IsLeader, 10);
  ASSERT_TRUE(elected.has_value()) << "not elected within 10 s";
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past a renewal

  absl::StatusOr<std::optional<EtcdKeyValue>> key = admin->Get("/meshtwin/test/leader");
  ASSERT_TRUE(key.ok() && key->has_value()) << key.status();
  ASSERT_NE((*key)->lease, 0);
  const Clock::time_point revoked = Clock::now();
  ASSERT_TRUE(admin->Revoke((*key)->lease).ok());

  std::optional<LeadershipLog::Event> stepped_down = log.Await(IsFollower, 10);
  ASSERT_TRUE(stepped_down.has_value()) << "the leader never noticed its lease was gone";
  RecordProperty("step_down_after_revoke_ms", Millis(revoked, stepped_down->at));
  // Its lease is gone from the moment of the revoke; it can have renewed it
  // no later than that, so by its own reckoning it must stop within a TTL.
  EXPECT_LT(Since(revoked, stepped_down->at), kTtl);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the sampler catch up
  std::optional<Clock::time_point> seen_down = sampler.SteppedDownAfter(0, revoked);
  ASSERT_TRUE(seen_down.has_value());
  EXPECT_LT(Since(revoked, *seen_down), kTtl)
      << "IsLeader() stayed true after the lease could have expired";

  // Nobody else runs: it campaigns again and wins a new, higher fence.
  std::optional<LeadershipLog::Event> again = log.Await(IsLeader, 10);
  ASSERT_TRUE(again.has_value()) << "not re-elected";
  EXPECT_GT(again->leadership.fence, elected->leadership.fence);
  EXPECT_TRUE(e0.IsLeader());
}

TEST_F(EtcdTest, LeaderCutOffFromEtcdStepsDownBeforeItsLeaseCanExpire) {
  std::unique_ptr<EtcdClient> c0 = Client("manager-0");
  ASSERT_TRUE(c0);
  constexpr Seconds kTtl = 3;
  LeadershipLog log;  // outlives the election, which reports when it resigns
  LeaderElection e0(*c0, Election("manager-0", kTtl));
  LeadershipSampler sampler({&e0});
  e0.Start(log.Callback());
  std::optional<LeadershipLog::Event> elected = log.Await(IsLeader, 10);
  ASSERT_TRUE(elected.has_value()) << "not elected within 10 s";
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));

  // A hung etcd: connections open, nothing answers. Every renewal that
  // succeeded was received before this point, so the lease can expire on
  // etcd's side as early as a TTL after it, never later.
  ASSERT_TRUE(etcd_->Pause().ok());
  const Clock::time_point paused = Clock::now();
  std::optional<LeadershipLog::Event> stepped_down = log.Await(IsFollower, 3 * kTtl);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the sampler catch up
  std::optional<Clock::time_point> seen_down = sampler.SteppedDownAfter(0, elected->at);
  const bool leader_while_paused = e0.IsLeader();
  ASSERT_TRUE(etcd_->Resume().ok());

  ASSERT_TRUE(stepped_down.has_value()) << "the leader never stepped down while cut off";
  RecordProperty("step_down_after_pause_ms", Millis(paused, stepped_down->at));
  EXPECT_GT(Since(paused, stepped_down->at), 0) << "it stepped down while etcd still answered";
  EXPECT_LT(Since(paused, stepped_down->at), kTtl);
  ASSERT_TRUE(seen_down.has_value());
  EXPECT_LT(Since(paused, *seen_down), kTtl)
      << "IsLeader() stayed true after the lease could have expired";
  EXPECT_FALSE(leader_while_paused);

  // etcd back: the old lease runs out and it is elected again.
  std::optional<LeadershipLog::Event> again = log.Await(IsLeader, kTtl + 10);
  ASSERT_TRUE(again.has_value()) << "not re-elected after etcd came back";
  EXPECT_GT(again->leadership.fence, elected->leadership.fence);
}

TEST_F(EtcdTest, CrashedLeaderIsReplacedWhenItsLeaseExpires) {
  std::unique_ptr<EtcdClient> c0 = Client("manager-0");
  std::unique_ptr<EtcdClient> c1 = Client("manager-1");
  ASSERT_TRUE(c0 && c1);
  constexpr Seconds kTtl = 3;
  // The logs outlive the elections: a resigning election still reports.
  LeadershipLog log0;
  LeadershipLog log1;
  LeaderElection e0(*c0, Election("manager-0", kTtl));
  LeaderElection e1(*c1, Election("manager-1", kTtl));
  LeadershipSampler sampler({&e0, &e1});
  e0.Start(log0.Callback());
  ASSERT_TRUE(log0.Await(IsLeader, 10).has_value()) << "manager-0 not elected within 10 s";
  bool old_leader_claimed_at_handover = true;
  e1.Start([&](const Leadership& l) {
    // The moment the new leader is told: the crashed one must already have
    // given up by its own clock.
    if (l.leader) old_leader_claimed_at_handover = e0.IsLeader();
    log1.Callback()(l);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const std::int64_t old_fence = e0.Current().fence;
  ASSERT_GT(old_fence, 0);
  EXPECT_FALSE(e1.IsLeader());

  const Clock::time_point crashed = Clock::now();
  e0.AbandonForTesting();  // no more renewals, no revoke
  std::optional<LeadershipLog::Event> took_over = log1.Await(IsLeader, kTtl + 10);
  ASSERT_TRUE(took_over.has_value()) << "nobody took over from the crashed leader";
  RecordProperty("handover_after_crash_ms", Millis(crashed, took_over->at));
  EXPECT_LT(Since(crashed, took_over->at), kTtl + 2);
  EXPECT_FALSE(old_leader_claimed_at_handover);
  EXPECT_FALSE(e0.IsLeader());
  EXPECT_GT(took_over->leadership.fence, old_fence);
  e0.Stop();  // a no-op after abandoning

  sampler.Stop();
  EXPECT_EQ(sampler.overlaps(), 0) << "two replicas claimed leadership at the same time";
}

TEST_F(EtcdTest, ClientsWithoutTheRightCertificateAreRefused) {
  const std::string dir = etcd_->certs_dir();
  // Another CA, and a client certificate from it.
  absl::StatusOr<KeyAndCertificate> foreign_ca = MakeCertificateAuthority("some other CA");
  ASSERT_TRUE(foreign_ca.ok()) << foreign_ca.status();
  CertificateSpec spec;
  spec.common_name = "manager-0";
  spec.server = false;
  absl::StatusOr<KeyAndCertificate> intruder = IssueCertificate(*foreign_ca, spec);
  ASSERT_TRUE(intruder.ok()) << intruder.status();
  ASSERT_TRUE(WriteKeyAndCertificate(dir, "foreign-ca", {"", foreign_ca->cert_pem}).ok());
  ASSERT_TRUE(WriteKeyAndCertificate(dir, "intruder", *intruder).ok());
  {
    // A bundle that trusts etcd's CA too, so only etcd's check can refuse us.
    std::ofstream bundle(dir + "/bundle.crt");
    std::ifstream real(dir + "/ca.crt");
    bundle << foreign_ca->cert_pem << real.rdbuf();
  }
  const std::string endpoint = etcd_->endpoint();

  // etcd refuses a certificate its CA did not sign.
  EtcdOptions refused;
  refused.endpoint = endpoint;
  refused.tls = {
      .ca_cert = dir + "/bundle.crt", .cert = dir + "/intruder.crt", .key = dir + "/intruder.key"};
  absl::StatusOr<std::unique_ptr<EtcdClient>> c = EtcdClient::Connect(refused);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
  EXPECT_NE(c.status().message().find(endpoint), absl::string_view::npos) << c.status();
  EXPECT_NE(c.status().message().find("intruder.crt"), absl::string_view::npos) << c.status();

  // We refuse an etcd our CA did not sign.
  EtcdOptions untrusting;
  untrusting.endpoint = endpoint;
  untrusting.tls = {.ca_cert = dir + "/foreign-ca.crt",
                    .cert = dir + "/intruder.crt",
                    .key = dir + "/intruder.key"};
  c = EtcdClient::Connect(untrusting);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
  EXPECT_NE(c.status().message().find("not trusted"), absl::string_view::npos) << c.status();

  // Files that do not fit together never reach the network.
  EtcdOptions mismatched;
  mismatched.endpoint = endpoint;
  mismatched.tls = {
      .ca_cert = dir + "/ca.crt", .cert = dir + "/intruder.crt", .key = dir + "/intruder.key"};
  c = EtcdClient::Connect(mismatched);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_NE(c.status().message().find("intruder.crt"), absl::string_view::npos) << c.status();

  EtcdOptions no_cert;
  no_cert.endpoint = endpoint;
  no_cert.tls.ca_cert = dir + "/ca.crt";
  c = EtcdClient::Connect(no_cert);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();

  EtcdOptions plaintext;
  plaintext.endpoint = "http://127.0.0.1:2379";
  plaintext.tls = etcd_->ClientTls("client");
  c = EtcdClient::Connect(plaintext);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_NE(c.status().message().find("plaintext"), absl::string_view::npos) << c.status();

  // Dialled by hand: no certificate at all, or the other CA's, is refused;
  // the right one answers (so the refusals are about the certificate). etcd
  // closes refused connections, and a raw client's write would raise SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  auto status_call = [&](httplib::SSLClient& client) {
    client.set_ca_cert_path(dir + "/ca.crt");
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(2));
    return client.Post("/v3/maintenance/status", "{}", "application/json");
  };
  httplib::SSLClient anonymous("127.0.0.1", port);
  httplib::Result r = status_call(anonymous);
  EXPECT_TRUE(!r || r->status != 200) << "etcd answered a client without a certificate";
  httplib::SSLClient foreign("127.0.0.1", port, dir + "/intruder.crt", dir + "/intruder.key");
  r = status_call(foreign);
  EXPECT_TRUE(!r || r->status != 200) << "etcd answered a certificate from another CA";
  httplib::SSLClient good("127.0.0.1", port, dir + "/client.crt", dir + "/client.key");
  r = status_call(good);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
}

TEST_F(EtcdTest, UnreachableEndpointAndBadOptionsAreOneClearError) {
  EtcdOptions nobody;
  nobody.endpoint = "https://127.0.0.1:1";  // nothing listens on port 1
  nobody.tls = etcd_->ClientTls("client");
  absl::StatusOr<std::unique_ptr<EtcdClient>> c = EtcdClient::Connect(nobody);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
  EXPECT_NE(c.status().message().find("https://127.0.0.1:1"), absl::string_view::npos)
      << c.status();

  EtcdOptions bad_port = nobody;
  bad_port.endpoint = "https://127.0.0.1:99999";
  c = EtcdClient::Connect(bad_port);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_NE(c.status().message().find("99999"), absl::string_view::npos) << c.status();

  EtcdOptions no_timeout = nobody;
  no_timeout.endpoint = etcd_->endpoint();
  no_timeout.timeout = 0;
  c = EtcdClient::Connect(no_timeout);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_NE(c.status().message().find("timeout"), absl::string_view::npos) << c.status();

  ElectionOptions options;
  options.candidate = "manager-0";
  EXPECT_TRUE(LeaderElection::Validate(options).ok());
  options.lease_ttl = 1;
  absl::Status short_ttl = LeaderElection::Validate(options);
  EXPECT_EQ(short_ttl.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(short_ttl.message().find("lease_ttl"), absl::string_view::npos) << short_ttl;
  options.lease_ttl = 5;
  options.candidate.clear();
  absl::Status no_candidate = LeaderElection::Validate(options);
  EXPECT_NE(no_candidate.message().find("candidate"), absl::string_view::npos) << no_candidate;

  // Invalid options start nothing: never a leader.
  std::unique_ptr<EtcdClient> etcd = Client("client");
  ASSERT_NE(etcd, nullptr);
  LeaderElection idle(*etcd, options);
  idle.Start([](const Leadership&) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(idle.IsLeader());
  absl::StatusOr<std::optional<EtcdKeyValue>> key = etcd->Get(options.key);
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
}

}  // namespace
}  // namespace meshtwin::live
