#include "gui/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace meshtwin::gui {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Reads until the pipe is empty; closes it at end of file.
void DrainInto(int& fd, std::string* sink) {
  char buf[65536];
  while (fd >= 0) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink->append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      CloseFd(fd);
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN) CloseFd(fd);
      return;
    }
  }
}

}  // namespace

absl::StatusOr<SpawnedChild> SpawnWithPipes(const std::string& binary,
                                            const std::vector<std::string>& args,
                                            const sigset_t* child_mask) {
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]}) CloseFd(*fd);
    return absl::InternalError(std::string("cannot make pipes for a child: ") + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  short flags = POSIX_SPAWN_SETSIGDEF;
  if (child_mask != nullptr) {
    posix_spawnattr_setsigmask(&attr, child_mask);
    flags |= POSIX_SPAWN_SETSIGMASK;
  }
  posix_spawnattr_setflags(&attr, flags);

  std::vector<std::string> copies = args;
  std::string argv0 = "meshtwin";
  std::vector<char*> argv{argv0.data()};
  for (std::string& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);

  SpawnedChild child;
  const int rc = ::posix_spawn(&child.pid, binary.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (rc != 0) {
    CloseFd(out_pipe[0]);
    CloseFd(err_pipe[0]);
    return absl::InternalError("cannot start " + binary + ": " + std::strerror(rc));
  }
  child.out_fd = out_pipe[0];
  child.err_fd = err_pipe[0];
  return child;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& binary, const std::vector<std::string>& args) {
  MESHTWIN_ASSIGN_OR_RETURN(const SpawnedChild spawned, SpawnWithPipes(binary, args));
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = spawned.pid;
  child->out_fd_ = spawned.out_fd;
  child->err_fd_ = spawned.err_fd;
  ::fcntl(child->out_fd_, F_SETFL, ::fcntl(child->out_fd_, F_GETFL) | O_NONBLOCK);
  ::fcntl(child->err_fd_, F_SETFL, ::fcntl(child->err_fd_, F_GETFL) | O_NONBLOCK);
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  CloseFd(out_fd_);
  CloseFd(err_fd_);
}

void ChildProcess::ReadAvailable(std::string* out) {
  DrainInto(out_fd_, out);
  DrainInto(err_fd_, &err_);
}

std::optional<int> ChildProcess::ExitCode() {
  if (exit_code_) return exit_code_;
  if (out_fd_ >= 0 || err_fd_ >= 0) return std::nullopt;  // output still to come
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                 : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                       : 1;
  }
  return exit_code_;
}

void ChildProcess::Terminate() {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, SIGTERM);
}

}  // namespace meshtwin::gui
