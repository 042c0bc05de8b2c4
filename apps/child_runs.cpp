#include "apps/child_runs.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <utility>

#include "gui/child_process.h"

namespace meshtwin {
namespace {

using Clock = std::chrono::steady_clock;

// Set by the handler; read by the loop after ppoll returns. The signals are
// blocked everywhere except inside ppoll, so a signal cannot slip in between
// the check and the wait.
volatile std::sig_atomic_t g_signal = 0;

void OnSignal(int sig) { g_signal = sig; }

// Installs the handlers and blocks the signals for the lifetime of the
// object; restores both afterwards.
class SignalGuard {
 public:
  SignalGuard() {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old_mask_);
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: ppoll must return EINTR
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    wait_mask_ = old_mask_;
    sigdelset(&wait_mask_, SIGINT);
    sigdelset(&wait_mask_, SIGTERM);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

  const sigset_t& old_mask() const { return old_mask_; }
  const sigset_t& wait_mask() const { return wait_mask_; }

 private:
  sigset_t old_mask_{}, wait_mask_{};
  struct sigaction old_int_ {
  }, old_term_{};
};

struct Running {
  std::size_t index = 0;
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  Clock::time_point start;
};

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string SelfPath() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<std::size_t>(n));
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Starts `binary args...` with its output on pipes (gui/child_process.h);
// the child gets the parent's original signal mask, not the blocked signals
// of the wait loop.
absl::StatusOr<Running> Spawn(const std::string& binary, const std::vector<std::string>& args,
                              const SignalGuard& signals) {
  MESHTWIN_ASSIGN_OR_RETURN(const gui::SpawnedChild spawned,
                            gui::SpawnWithPipes(binary, args, &signals.old_mask()));
  Running r;
  r.pid = spawned.pid;
  r.out_fd = spawned.out_fd;
  r.err_fd = spawned.err_fd;
  r.start = Clock::now();
  return r;
}

// Reads what is available on `fd` into `sink`; closes it at end of file.
void Drain(int& fd, std::string& sink) {
  char buf[65536];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    sink.append(buf, static_cast<std::size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    CloseFd(fd);
  }
}

void KillAll(std::vector<Running>& running, std::vector<ChildResult>& results) {
  for (Running& r : running) ::kill(r.pid, SIGTERM);
  for (Running& r : running) {
    int status = 0;
    while (::waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
    }
    CloseFd(r.out_fd);
    CloseFd(r.err_fd);
    results[r.index].exit_code = ExitCode(status);
  }
  running.clear();
}

}  // namespace

absl::StatusOr<std::vector<ChildResult>> RunChildren(
    const std::vector<std::vector<std::string>>& runs, const ChildRunOptions& options) {
  const std::string binary = options.binary.empty() ? SelfPath() : options.binary;
  const std::size_t jobs = static_cast<std::size_t>(std::max(1, options.jobs));
  std::vector<ChildResult> results(runs.size());
  std::vector<Running> running;
  std::size_t next = 0;
  g_signal = 0;
  const SignalGuard signals;

  while (next < runs.size() || !running.empty()) {
    if (g_signal != 0) {
      KillAll(running, results);
      return absl::CancelledError(g_signal == SIGINT ? "interrupted by SIGINT"
                                                     : "interrupted by SIGTERM");
    }
    while (running.size() < jobs && next < runs.size()) {
      absl::StatusOr<Running> r = Spawn(binary, runs[next], signals);
      if (!r.ok()) {
        KillAll(running, results);
        return r.status();
      }
      r->index = next;
      results[next].started = true;
      running.push_back(*r);
      ++next;
    }

    std::vector<pollfd> fds;
    for (const Running& r : running) {
      if (r.out_fd >= 0) fds.push_back({r.out_fd, POLLIN, 0});
      if (r.err_fd >= 0) fds.push_back({r.err_fd, POLLIN, 0});
    }
    if (!fds.empty()) {
      const int n = ::ppoll(fds.data(), fds.size(), nullptr, &signals.wait_mask());
      if (n < 0 && errno != EINTR) {
        const int e = errno;
        KillAll(running, results);
        return absl::InternalError(std::string("poll failed: ") + std::strerror(e));
      }
      if (n <= 0) continue;  // a signal: handled at the top of the loop
      for (const pollfd& p : fds) {
        if (p.revents == 0) continue;
        for (Running& r : running) {
          if (r.out_fd == p.fd) Drain(r.out_fd, results[r.index].out);
          if (r.err_fd == p.fd) Drain(r.err_fd, results[r.index].err);
        }
      }
    }

    // A child whose pipes are both closed has exited (or is about to): reap it.
    for (auto it = running.begin(); it != running.end();) {
      if (it->out_fd >= 0 || it->err_fd >= 0) {
        ++it;
        continue;
      }
      int status = 0;
      while (::waitpid(it->pid, &status, 0) < 0 && errno == EINTR) {
      }
      ChildResult& result = results[it->index];
      result.exit_code = ExitCode(status);
      result.wall_seconds = std::chrono::duration<double>(Clock::now() - it->start).count();
      const std::size_t index = it->index;
      it = running.erase(it);
      if (options.on_done) options.on_done(index, result);
    }
  }
  return results;
}

int InterruptingSignal() { return g_signal; }

int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
}

absl::StatusOr<ScratchDirectory> ScratchDirectory::Create(const std::string& prefix) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("cannot make a temporary directory " + pattern + ": " +
                               std::strerror(errno));
  }
  return ScratchDirectory(pattern);
}

ScratchDirectory::ScratchDirectory(ScratchDirectory&& other) noexcept
    : path_(std::exchange(other.path_, std::string())) {}

ScratchDirectory::~ScratchDirectory() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string FirstLine(const std::string& text) {
  std::size_t start = 0;
  // Skip leading blank lines: the first line that says something.
  while (start < text.size() && (text[start] == '\n' || text[start] == '\r')) ++start;
  const std::size_t end = text.find('\n', start);
  std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string ErrorLine(const std::string& err) {
  for (std::size_t start = 0; start < err.size();) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    const std::string line = err.substr(start, end - start);
    if (line.find("error:") != std::string::npos) return FirstLine(line);
    start = end + 1;
  }
  return FirstLine(err);
}

}  // namespace meshtwin
