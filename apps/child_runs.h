// Running meshtwin child processes (one simulation each) for `compare` and
// `sweep`: at most `jobs` at a time, stdout and stderr captured, a callback
// as each one ends. A SimGrid engine is one per process, which is why runs go
// to processes rather than threads.
//
//   ChildRunOptions options;
//   options.jobs = 2;
//   options.on_done = [&](std::size_t i, const ChildResult& r) { bar.Update(...); };
//   absl::StatusOr<std::vector<ChildResult>> results =
//       RunChildren({{"simulate", "a.yaml", "--json"}, {"simulate", "b.yaml", "--json"}}, options);
//
// Not thread-safe: one RunChildren at a time per process (it owns the
// SIGINT/SIGTERM handlers while it runs).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "twin/status.h"

namespace meshtwin {

struct ChildResult {
  bool started = false;  // false: never started (the parent was interrupted first)
  int exit_code = -1;    // the exit status, or 128 + signal number if it was killed
  std::string out;       // everything it wrote on stdout
  std::string err;       // ... and on stderr
  double wall_seconds = 0;
};

struct ChildRunOptions {
  // Children running at once (at least 1).
  int jobs = 1;
  // The program to run; empty means this one (/proc/self/exe).
  std::string binary;
  // Called in the parent, in completion order, as each child ends.
  std::function<void(std::size_t index, const ChildResult& result)> on_done;
};

// Runs `binary ARGS...` for each entry of `runs` (stdin from /dev/null) and
// returns one result per run, in the order of `runs`. A child that fails is
// not an error here: its exit code says so. An error status means the runs
// could not be carried out: a spawn failure (Internal), or a SIGINT/SIGTERM
// to the parent (Cancelled, "interrupted by SIGINT"), after which every child
// still running has been sent SIGTERM and reaped.
absl::StatusOr<std::vector<ChildResult>> RunChildren(
    const std::vector<std::vector<std::string>>& runs, const ChildRunOptions& options);

// The signal that interrupted the last RunChildren (SIGINT or SIGTERM), or 0.
// Commands exit with 128 + it after cleaning up, as shells expect.
int InterruptingSignal();

// CPUs this process may run on (its affinity mask), at least 1.
int AvailableCpus();

// A fresh directory for the children's results files under $TMPDIR (or
// /tmp), removed with everything in it when the object goes.
class ScratchDirectory {
 public:
  // `prefix` names the directory ("meshtwin-sweep-" -> /tmp/meshtwin-sweep-Ab12Cd).
  static absl::StatusOr<ScratchDirectory> Create(const std::string& prefix);
  ScratchDirectory(ScratchDirectory&& other) noexcept;
  ScratchDirectory& operator=(ScratchDirectory&&) = delete;
  ScratchDirectory(const ScratchDirectory&) = delete;
  ~ScratchDirectory();

  const std::string& path() const { return path_; }

 private:
  explicit ScratchDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The first line of `text` (without the newline), for one-line error reports.
std::string FirstLine(const std::string& text);

// The line of a child's stderr that says what went wrong: the first one with
// "error:" in it (warnings may come before it), else the first line.
std::string ErrorLine(const std::string& err);

}  // namespace meshtwin
