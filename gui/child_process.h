// One child process whose stdout the GUI reads without ever blocking a
// frame: both pipes are non-blocking and polled once per frame. Used for the
// streamed `meshtwin simulate --stream` runs (SimGrid runs once per process,
// so a run the GUI starts is a process, not a thread).
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(binary, {"simulate", "--stream"}));
//   std::string out;
//   child->ReadAvailable(&out);           // each frame
//   if (std::optional<int> code = child->ExitCode()) ...
//
// The destructor sends SIGTERM to a child still running and reaps it. Not
// thread-safe.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twin/status.h"

namespace meshtwin::gui {

// A started child and the read ends of its stdout and stderr pipes.
struct SpawnedChild {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
};

// Starts `binary args...` (argv[0] "meshtwin", stdin /dev/null) with stdout
// and stderr on new pipes, close-on-exec in the parent so that no child
// inherits another's pipes. SIGINT and SIGTERM are reset to their defaults in
// the child, and its signal mask is `child_mask` when given (callers that
// block signals while they wait pass their original mask). Shared by the
// GUI's ChildProcess and the CLI's parallel runs (apps/child_runs).
absl::StatusOr<SpawnedChild> SpawnWithPipes(const std::string& binary,
                                            const std::vector<std::string>& args,
                                            const sigset_t* child_mask = nullptr);

class ChildProcess {
 public:
  // Starts `binary args...` (argv[0] "meshtwin", stdin /dev/null).
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& binary,
                                                             const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Appends what the child wrote on stdout since the last call to `out`, and
  // keeps what it wrote on stderr (see err()). Never blocks.
  void ReadAvailable(std::string* out);

  // The exit code (128 + signal if killed) once the child has ended and both
  // pipes are drained; nullopt while it runs. Never blocks.
  std::optional<int> ExitCode();

  // Everything the child wrote on stderr so far.
  const std::string& err() const { return err_; }

  // Sends SIGTERM (if still running).
  void Terminate();

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string err_;
  std::optional<int> exit_code_;
};

}  // namespace meshtwin::gui
