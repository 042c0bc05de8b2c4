// Application logs (JSON lines: timestamp, level, latency_ms, status, route,
// ...) into series on a regular step: request rate (the trace's demand),
// error rate, and latency percentiles.
//
//   LogImportOptions o;  o.step = 60;
//   absl::StatusOr<Trace> t = ImportLogsFile("app.jsonl", o, &report);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datasets/timestamp.h"
#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

enum class BadLinePolicy {
  kFail,    // the first broken line is an error (exit 2)
  kSkip,    // broken lines are skipped silently (counted)
  kReport,  // skipped, and each is reported as a warning (the default)
};
absl::StatusOr<BadLinePolicy> ParseBadLinePolicy(std::string_view name);  // fail|skip|report

struct LogImportOptions {
  Seconds step = 60;
  std::string time_field = "timestamp";
  std::string latency_field = "latency_ms";
  std::string status_field = "status";
  std::string level_field = "level";
  TimeFormat time_format = TimeFormat::kAuto;
  BadLinePolicy bad_lines = BadLinePolicy::kReport;
};

struct LogImportReport {
  std::size_t lines = 0;
  std::size_t bad_lines = 0;
  std::vector<std::string> warnings;  // "FILE:LINE: why", first 20 only
};

// demand = requests/s; channels: error_rate (requests/s with status >= 500 or
// level error/fatal), latency_p50_ms, latency_p95_ms, latency_p99_ms (NaN in
// steps without requests).
absl::StatusOr<Trace> ImportLogsFile(const std::string& path, const LogImportOptions& options,
                                     LogImportReport* report);
absl::StatusOr<Trace> ImportLogsText(std::string_view text, std::string_view source_name,
                                     const LogImportOptions& options, LogImportReport* report);

}  // namespace meshtwin
