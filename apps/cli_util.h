// Small pieces every subcommand shares: reporting a failed status with the
// right exit code, and refusing an unusable output path before any work.
#pragma once

#include <string>

#include "twin/status.h"

namespace meshtwin {

// Logs the error and returns its exit code: 2 for bad input, 1 otherwise.
int ReportError(const absl::Status& status);

// OK if `path` can be written: its directory exists and it is not a
// directory itself. `flag` names the option in the message ("--out").
absl::Status CheckOutputPath(const std::string& flag, const std::string& path);

// A duration flag value ("60s", "5m", "1h"): InvalidArgument naming the flag.
absl::StatusOr<double> ParseDurationFlag(const std::string& flag, const std::string& text);

}  // namespace meshtwin
