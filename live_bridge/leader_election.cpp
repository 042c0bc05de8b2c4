#include "live_bridge/leader_election.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace meshtwin::live {
namespace {

using Clock = std::chrono::steady_clock;

// How long before etcd could expire our lease we stop calling ourselves
// leader: covers the time a keepalive spends in flight and clock-rate
// differences between us and etcd.
constexpr Seconds kSafetyMargin = 1;
// Retry pace after a failed renewal, while leadership has time left.
constexpr Seconds kRenewRetry = 0.1;
// Bounds on one renewal's timeout: long enough for a TLS handshake on a busy
// machine, short enough that a hung etcd cannot hold us past our deadline.
constexpr Seconds kMinRenewTimeout = 0.05;
// Revoking is a courtesy that frees the key early: never wait long for it.
constexpr Seconds kRevokeTimeout = 0.5;

Clock::duration ToDuration(Seconds s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

Seconds SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

class LeaderElection::Impl {
 public:
  Impl(EtcdClient& client, ElectionOptions options)
      : client_(client), options_(std::move(options)) {}

  void Start(std::function<void(const Leadership&)> on_change) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (started_) return;
    if (absl::Status valid = Validate(options_); !valid.ok()) {
      spdlog::error("leader election not started: {}", ErrorText(valid));
      return;
    }
    started_ = true;
    on_change_ = std::move(on_change);
    thread_ = std::thread([this] { Run(); });
  }

  // Stops the thread; `resign`: revoke the lease on the way out.
  void Stop(bool resign) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!thread_.joinable()) return;
      stop_requested_ = true;
      resign_ = resign;
    }
    wake_.notify_all();
    thread_.join();
  }

  Leadership Current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (published_.leader && Clock::now() >= valid_until_) return Leadership{};
    return published_;
  }

  bool IsLeader() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return published_.leader && Clock::now() < valid_until_;
  }

  absl::StatusOr<bool> FencedCreate(const std::string& key, const std::string& value) {
    std::int64_t fence = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!published_.leader || Clock::now() >= valid_until_) {
        return absl::FailedPreconditionError("fenced create of " + key + ": " + options_.candidate +
                                             " is not the leader");
      }
      fence = published_.fence;
    }
    // etcd checks the fence itself: if we were deposed between the check
    // above and this call, the transaction fails rather than writing.
    return client_.FencedCreate(options_.key, fence, key, value);
  }

 private:
  void Run() {
    while (!StopRequested()) {
      if (lease_ == 0) {
        FollowOnce();
      } else {
        LeadOnce();
      }
    }
    bool resign = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      resign = resign_;
    }
    if (resign) Resign();
  }

  // Follower: look at the key, campaign if nobody holds it.
  void FollowOnce() {
    absl::StatusOr<std::optional<EtcdKeyValue>> holder = client_.Get(options_.key);
    if (!holder.ok()) {
      Failed("reading " + options_.key, holder.status());
      Publish(Leadership{}, {});
      WaitFor(options_.poll);
      return;
    }
    Recovered();
    if (holder->has_value()) {
      Publish(Leadership{.leader_id = (*holder)->value}, {});
      WaitFor(options_.poll);
      return;
    }
    Campaign();
  }

  void Campaign() {
    // The lease starts on etcd after we send the grant: measuring from here
    // can only make our deadline earlier than etcd's expiry, never later.
    const Clock::time_point sent = Clock::now();
    absl::StatusOr<std::int64_t> lease = client_.GrantLease(options_.lease_ttl);
    if (!lease.ok()) {
      Failed("granting a lease", lease.status());
      WaitFor(options_.poll);
      return;
    }
    absl::StatusOr<std::int64_t> revision =
        client_.TryCreate(options_.key, options_.candidate, *lease);
    if (!revision.ok() || *revision == 0) {
      if (!revision.ok()) Failed("creating " + options_.key, revision.status());
      // Lost the race, or do not know whether the put happened: revoking
      // deletes the key if it did, so no leader is left that nobody renews.
      RevokeQuietly(*lease);
      if (!revision.ok()) WaitFor(options_.poll);
      return;
    }
    Recovered();
    lease_ = *lease;
    fence_ = *revision;
    next_renewal_ = sent + ToDuration(options_.lease_ttl / 3);
    spdlog::info("leader election: {} is leader of {} (fence {})", options_.candidate, options_.key,
                 fence_);
    Publish(Leadership{.leader = true, .fence = fence_, .leader_id = options_.candidate},
            sent + ToDuration(options_.lease_ttl - kSafetyMargin));
  }

  // Leader: renew the lease on time, give up when it could have expired.
  void LeadOnce() {
    const Clock::time_point deadline = ValidUntil();
    if (WaitUntil(std::min(next_renewal_, deadline))) return;
    Clock::time_point now = Clock::now();
    if (now >= deadline) {
      StepDown("no renewal succeeded in time; the lease may expire on etcd's side");
      return;
    }
    if (now < next_renewal_) return;

    const Clock::time_point sent = now;
    const Seconds timeout = std::max(SecondsBetween(sent, deadline) / 3, kMinRenewTimeout);
    absl::StatusOr<Seconds> ttl = client_.KeepAlive(lease_, timeout);
    if (absl::IsNotFound(ttl.status())) {
      StepDown("lease expired or was revoked");
      return;
    }
    if (!ttl.ok()) {
      Failed("renewing the lease", ttl.status());
      next_renewal_ = Clock::now() + ToDuration(kRenewRetry);
      return;
    }
    Recovered();
    next_renewal_ = sent + ToDuration(options_.lease_ttl / 3);
    const Clock::time_point valid_until = sent + ToDuration(*ttl - kSafetyMargin);

    // The lease is alive, but the key may not be ours any more (deleted by
    // hand, then taken by another replica): check before claiming more time.
    absl::StatusOr<std::optional<EtcdKeyValue>> holder = client_.Get(options_.key);
    if (holder.ok() && (!holder->has_value() || (*holder)->create_revision != fence_)) {
      StepDown(holder->has_value() ? "the key was replaced by " + (*holder)->value
                                   : "the key was deleted");
      return;
    }
    Publish(Leadership{.leader = true, .fence = fence_, .leader_id = options_.candidate},
            valid_until);
  }

  void StepDown(const std::string& why) {
    spdlog::warn("leader election: {} steps down as leader of {} (fence {}): {}",
                 options_.candidate, options_.key, fence_, why);
    const std::int64_t lease = lease_;
    lease_ = 0;
    fence_ = 0;
    Publish(Leadership{}, {});
    // Frees the key now if etcd can hear us, rather than after the TTL.
    RevokeQuietly(lease);
  }

  void Resign() {
    if (lease_ == 0) return;
    spdlog::info("leader election: {} resigns as leader of {} (fence {})", options_.candidate,
                 options_.key, fence_);
    const std::int64_t lease = lease_;
    lease_ = 0;
    fence_ = 0;
    // Not leader before the key goes: nobody acts on our fence once another
    // replica can win.
    Publish(Leadership{}, {});
    if (absl::Status s = client_.Revoke(lease); !s.ok() && !absl::IsNotFound(s)) {
      spdlog::warn(
          "leader election: cannot revoke our lease on resigning ({}); {} is free "
          "once it expires",
          ErrorText(s), options_.key);
    }
  }

  void RevokeQuietly(std::int64_t lease) {
    if (absl::Status s = client_.Revoke(lease, kRevokeTimeout); !s.ok() && !absl::IsNotFound(s)) {
      spdlog::debug("leader election: revoking lease: {}", ErrorText(s));
    }
  }

  // Records the new leadership; tells on_change if it changed.
  void Publish(const Leadership& now, Clock::time_point valid_until) {
    bool changed = false;
    std::function<void(const Leadership&)> on_change;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      changed = !(published_ == now);
      published_ = now;
      valid_until_ = valid_until;
      on_change = on_change_;
    }
    // Outside the lock: the callback may call Current() or IsLeader().
    if (changed && on_change) on_change(now);
  }

  Clock::time_point ValidUntil() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return valid_until_;
  }

  // One warning per run of failures, then quiet until etcd answers again.
  void Failed(const std::string& what, const absl::Status& status) {
    if (!failing_) {
      spdlog::warn("leader election: {} failed: {}", what, ErrorText(status));
    } else {
      spdlog::debug("leader election: {} failed: {}", what, ErrorText(status));
    }
    failing_ = true;
  }
  void Recovered() {
    if (failing_) spdlog::info("leader election: etcd answers again");
    failing_ = false;
  }

  bool StopRequested() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stop_requested_;
  }
  // Sleeps until `when` or a stop request; true if stopping.
  bool WaitUntil(Clock::time_point when) {
    std::unique_lock<std::mutex> lock(mutex_);
    return wake_.wait_until(lock, when, [this] { return stop_requested_; });
  }
  bool WaitFor(Seconds s) { return WaitUntil(Clock::now() + ToDuration(s)); }

  EtcdClient& client_;
  const ElectionOptions options_;

  mutable std::mutex mutex_;  // guards the members below, up to thread_
  std::condition_variable wake_;
  bool started_ = false;
  bool stop_requested_ = false;
  bool resign_ = true;
  Leadership published_;
  Clock::time_point valid_until_{};  // leadership holds strictly before this
  std::function<void(const Leadership&)> on_change_;
  std::thread thread_;

  // The election thread's own state.
  std::int64_t lease_ = 0;  // non-zero while leader
  std::int64_t fence_ = 0;
  Clock::time_point next_renewal_{};
  bool failing_ = false;
};

LeaderElection::LeaderElection(EtcdClient& client, ElectionOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {}

LeaderElection::~LeaderElection() { Stop(); }

absl::Status LeaderElection::Validate(const ElectionOptions& options) {
  if (options.key.empty()) return absl::InvalidArgumentError("election options: key is empty");
  if (options.candidate.empty()) {
    return absl::InvalidArgumentError(
        "election options: candidate is empty (it must be this replica's id)");
  }
  if (!(options.lease_ttl >= 2)) {
    return absl::InvalidArgumentError("election options: lease_ttl " +
                                      std::to_string(options.lease_ttl) +
                                      " s is below 2 s (the leader steps down 1 s before its "
                                      "lease can expire and needs time to renew it)");
  }
  if (!(options.poll > 0)) {
    return absl::InvalidArgumentError("election options: poll must be > 0 s");
  }
  return absl::OkStatus();
}

void LeaderElection::Start(std::function<void(const Leadership&)> on_change) {
  impl_->Start(std::move(on_change));
}

void LeaderElection::Stop() { impl_->Stop(/*resign=*/true); }

void LeaderElection::AbandonForTesting() { impl_->Stop(/*resign=*/false); }

Leadership LeaderElection::Current() const { return impl_->Current(); }

bool LeaderElection::IsLeader() const { return impl_->IsLeader(); }

absl::StatusOr<bool> LeaderElection::FencedCreate(const std::string& key,
                                                  const std::string& value) {
  return impl_->FencedCreate(key, value);
}

}  // namespace meshtwin::live
