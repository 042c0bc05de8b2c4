#include "live_bridge/workload.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace meshtwin::live {
namespace {

double SteadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// True while any process of group `pgid` exists (a zombie leader counts).
bool GroupAlive(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

}  // namespace

const char* ToString(WorkloadState state) {
  switch (state) {
    case WorkloadState::kStopped:
      return "stopped";
    case WorkloadState::kRunning:
      return "running";
    case WorkloadState::kBackoff:
      return "backoff";
    case WorkloadState::kStopping:
      return "stopping";
  }
  return "unknown";
}

WorkloadSupervisor::WorkloadSupervisor(WorkloadOptions options)
    : options_(options), backoff_(options.restart_backoff) {
  monitor_ = std::thread([this] { Monitor(); });
}

WorkloadSupervisor::~WorkloadSupervisor() {
  Stop(5);
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  monitor_.join();
}

absl::Status WorkloadSupervisor::SpawnLocked() {
  std::vector<char*> argv;
  for (std::string& a : status_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  // exec failure comes back through a close-on-exec pipe: EOF means it worked.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    // The child of a threaded process: async-signal-safe calls only. It gets
    // its own group, and none of the agent's blocked or ignored signals.
    ::setpgid(0, 0);
    // Dies with the agent: a crashed or killed agent leaves no workload
    // behind to hold the node's resources (its replacement starts its own).
    // The kernel sends this when the forking thread exits; the agent's
    // threads that start workloads live until it stops the workload itself.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the agent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
    ::execvp(argv[0], argv.data());
    const int err = errno;
    [[maybe_unused]] ssize_t n = ::write(fds[1], &err, sizeof err);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so a signal sent right after fork finds the group
  ::close(fds[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(fds[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
    return absl::FailedPreconditionError("workload " + status_.name + ": cannot run " +
                                         status_.argv[0] + ": " + std::strerror(child_errno));
  }
  status_.pid = pid;
  status_.state = WorkloadState::kRunning;
  ++status_.starts;
  started_at_ = SteadyNow();
  spdlog::info("workload {} started (pid {}): {}", status_.name, pid, JoinArgv(status_.argv));
  return absl::OkStatus();
}

absl::Status WorkloadSupervisor::Start(const std::string& name,
                                       const std::vector<std::string>& argv, Seconds grace) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("workload " + name + ": empty command line");
  }
  std::lock_guard control(control_mu_);
  StopLocked(grace);
  std::lock_guard lock(mu_);
  status_.name = name;
  status_.argv = argv;
  status_.last_exit.clear();
  backoff_ = options_.restart_backoff;
  absl::Status started = SpawnLocked();
  if (!started.ok()) {
    status_.state = WorkloadState::kStopped;
    status_.last_exit = "exec failed: " + ErrorText(started);
  }
  return started;
}

void WorkloadSupervisor::Stop(Seconds grace) {
  std::lock_guard control(control_mu_);
  StopLocked(grace);
}

void WorkloadSupervisor::StopLocked(Seconds grace) {
  pid_t pid = 0;
  {
    std::lock_guard lock(mu_);
    if (status_.state != WorkloadState::kRunning) {
      status_.state = WorkloadState::kStopped;  // also cancels a pending restart
      return;
    }
    pid = status_.pid;
    status_.state = WorkloadState::kStopping;  // the monitor leaves it alone now
  }
  spdlog::info("workload {} stopping (pid {}, grace {}s)", status_.name, pid, grace);
  ::kill(-pid, SIGTERM);
  const double deadline = SteadyNow() + std::max(0.0, grace);
  bool reaped = false;
  int wait_status = 0;
  // Wait for the leader and every other member of its group, up to the grace.
  while (true) {
    if (!reaped && ::waitpid(pid, &wait_status, WNOHANG) == pid) reaped = true;
    if (reaped && !GroupAlive(pid)) break;
    if (SteadyNow() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!reaped || GroupAlive(pid)) {
    spdlog::warn("workload {} (pid {}) still running after {}s: SIGKILL", status_.name, pid, grace);
    ::kill(-pid, SIGKILL);
  }
  if (!reaped) {
    while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  std::lock_guard lock(mu_);
  status_.state = WorkloadState::kStopped;
  status_.pid = 0;
  status_.last_exit = DescribeWaitStatus(wait_status);
}

WorkloadStatus WorkloadSupervisor::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void WorkloadSupervisor::Monitor() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    const double now = SteadyNow();
    if (status_.state == WorkloadState::kRunning) {
      int wait_status = 0;
      if (::waitpid(status_.pid, &wait_status, WNOHANG) == status_.pid) {
        ::kill(-status_.pid, SIGKILL);  // what the leader left behind in its group
        status_.last_exit = DescribeWaitStatus(wait_status);
        if (now - started_at_ >= options_.stable_after) backoff_ = options_.restart_backoff;
        restart_at_ = now + backoff_;
        spdlog::warn("workload {} (pid {}) died ({}): restarting in {}s", status_.name, status_.pid,
                     status_.last_exit, backoff_);
        backoff_ = std::min(backoff_ * 2, options_.restart_backoff_max);
        status_.pid = 0;
        status_.state = WorkloadState::kBackoff;
      }
    } else if (status_.state == WorkloadState::kBackoff && now >= restart_at_) {
      absl::Status started = SpawnLocked();
      if (started.ok()) {
        ++status_.restarts;
      } else {
        status_.last_exit = "exec failed: " + ErrorText(started);
        spdlog::warn("{}: retrying in {}s", ErrorText(started), backoff_);
        restart_at_ = now + backoff_;
        backoff_ = std::min(backoff_ * 2, options_.restart_backoff_max);
      }
    }
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

}  // namespace meshtwin::live
