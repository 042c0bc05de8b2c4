// The manager's audit trail: every decision it takes (shadow or not, acted on
// or fenced off), one JSON object per line, appended and flushed to disk
// before Append returns, so that what a manager did survives its crash.
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto log, DecisionLog::Open("decisions.jsonl"));
//   MESHTWIN_RETURN_IF_ERROR(log->Append(decision));
//   ... later, a tool or a test:
//   bool torn = false;
//   MESHTWIN_ASSIGN_OR_RETURN(std::vector<LoggedDecision> all, ReadDecisionLog(path, &torn));
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "twin/status.h"

namespace meshtwin::live {

// One action of a decision and what became of it.
struct LoggedAction {
  std::string kind;       // ToString(ActionKind): "scale_out", "scale_in", ...
  std::string node_type;  // names, "" when not relevant
  std::string role;
  std::string node;
  int count = 0;
  int replicas_before = 0;
  int replicas_after = 0;
  double metric = 0;  // non-finite values are written as null and read back as NaN
  std::string reason;
  // "applied", "fenced" (refused: no longer leader, or already applied),
  // "failed: ...", "unsupported".
  std::string outcome;
  std::vector<std::string> nodes_started;  // node ids a provisioner started
};

// One control tick of one manager replica.
struct LoggedDecision {
  double time_unix = 0;
  std::int64_t tick = 0;   // floor(time / interval): the same on every replica
  std::int64_t fence = 0;  // the leader's election revision (0: no election configured)
  std::string manager;     // replica id
  std::string policy;
  bool shadow = false;
  double demand_rps = 0;
  double capacity_rps = 0;
  std::vector<double> forecast_horizons_s;
  std::vector<double> forecast_p50;
  std::vector<double> forecast_p90;
  std::vector<LoggedAction> actions;
};

// An open log file. Thread-safe: Append serialises writers. One DecisionLog
// per file: Open takes an exclusive lock on it (flock), so a second writer,
// in this process or another, is refused rather than interleaved.
class DecisionLog {
 public:
  // Opens `path` for appending, creating it (mode 0640) if missing; its
  // directory must exist and be writable (the error names the path
  // otherwise). A last line left without its newline by a crash mid-write is
  // cut off (with a warning), so that the next record starts on a line of its
  // own. FailedPrecondition when another DecisionLog holds the file.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(const std::string& path);
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Writes ToJsonLine(d) and a newline, then fdatasync. On a failed write the
  // partial line is truncated away, so the file stays one record per line.
  absl::Status Append(const LoggedDecision& d);

  const std::string& path() const { return path_; }

 private:
  DecisionLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  const std::string path_;
  const int fd_;
  std::mutex mu_;  // one record written and synced at a time
};

// Reads a log back. InvalidArgument naming PATH:LINE and the field for a
// malformed line (NotFound for a missing file). A last line without its
// newline (a crash mid-write) is not an error: it is skipped and *torn_tail
// set (cleared otherwise).
absl::StatusOr<std::vector<LoggedDecision>> ReadDecisionLog(const std::string& path,
                                                            bool* torn_tail = nullptr);

// The decision as one line of JSON, without a trailing newline. Fields keep
// the names of the structs above; a "version" field (1) comes first.
std::string ToJsonLine(const LoggedDecision& d);

}  // namespace meshtwin::live
