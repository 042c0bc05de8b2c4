// The agent's workload: one supervised child process (a role's command line)
// in its own process group. It is restarted with backoff when it dies on its
// own and left stopped after a deliberate Stop, which signals the whole group
// (SIGTERM, then SIGKILL after a grace period) so a shell script's children
// go with it.
//
//   WorkloadSupervisor supervisor({.restart_backoff = 1});
//   MESHTWIN_RETURN_IF_ERROR(supervisor.Start("web", {"python3", "-m", "http.server", "8080"}));
//   ...
//   supervisor.Stop(/*grace=*/10);  // returns once the group is gone
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

enum class WorkloadState : std::uint8_t {
  kStopped,   // none, or stopped deliberately
  kRunning,   // the process is alive
  kBackoff,   // it died on its own; waiting to restart it
  kStopping,  // signalled, waiting for the group to exit
};
const char* ToString(WorkloadState state);

struct WorkloadOptions {
  Seconds restart_backoff = 1;       // first wait before restarting a dead workload
  Seconds restart_backoff_max = 30;  // the wait doubles up to this
  // A run at least this long resets the backoff: it was up, not crash-looping.
  Seconds stable_after = 10;
};

// What the supervisor is doing, for heartbeats and /metrics.
struct WorkloadStatus {
  std::string name;  // the role or workload name; empty when none was started
  std::vector<std::string> argv;
  WorkloadState state = WorkloadState::kStopped;
  pid_t pid = 0;               // while running (also the process group id)
  std::uint64_t starts = 0;    // processes started, restarts included
  std::uint64_t restarts = 0;  // after an unexpected exit
  std::string last_exit;       // "exit 1", "signal 9", "exec failed: ..."
};

// Thread-safe. Owns a monitor thread that reaps the child and restarts it.
class WorkloadSupervisor {
 public:
  explicit WorkloadSupervisor(WorkloadOptions options = {});
  ~WorkloadSupervisor();  // stops the workload (grace 5 s) and the monitor
  WorkloadSupervisor(const WorkloadSupervisor&) = delete;
  WorkloadSupervisor& operator=(const WorkloadSupervisor&) = delete;

  // Starts `argv` (argv[0] looked up on $PATH) as `name`; a workload already
  // running is stopped first with `grace`. InvalidArgument for an empty argv,
  // FailedPrecondition when exec fails (not found, not executable): nothing
  // is left running and no restart is attempted.
  absl::Status Start(const std::string& name, const std::vector<std::string>& argv,
                     Seconds grace = 10);

  // Deliberately stops the workload: SIGTERM to its process group, SIGKILL
  // after `grace` seconds if any of it is left, then reaps it. Not restarted.
  // Returns once the process is reaped. A no-op when nothing runs.
  void Stop(Seconds grace);

  WorkloadStatus Status() const;

 private:
  // Forks and execs status_.argv; mu_ held.
  absl::Status SpawnLocked();
  // Signals, waits for and reaps the current process; control_mu_ held.
  void StopLocked(Seconds grace);
  void Monitor();

  const WorkloadOptions options_;
  std::mutex control_mu_;  // one Start or Stop at a time
  mutable std::mutex mu_;  // status_ and the monitor's state
  std::condition_variable cv_;
  WorkloadStatus status_;
  double started_at_ = 0;  // steady seconds of the current process's start
  double restart_at_ = 0;  // steady seconds; kBackoff only
  Seconds backoff_ = 0;    // the next wait
  bool quit_ = false;
  std::thread monitor_;
};

}  // namespace meshtwin::live
