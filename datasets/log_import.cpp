#include "datasets/log_import.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "datasets/text_util.h"

namespace meshtwin {
namespace {

using Json = nlohmann::json;
using text_util::Cat;
using text_util::EqualsIgnoreCase;
using text_util::JsonTypeName;
using text_util::NextLine;
using text_util::Num;
using text_util::Shown;
using text_util::Str;
using text_util::TrimBlanksAndCr;

constexpr std::size_t kMaxWarnings = 20;
// A stray timestamp (a 1970 line in a 2024 log) would otherwise ask for
// millions of empty steps; this many is 19 years of minutes.
constexpr double kMaxSteps = 1e7;

// The level names of the common loggers (syslog, Python, log4j, zap, logrus)
// that mean a failed request.
bool IsErrorLevelName(std::string_view level) {
  for (std::string_view name : {"error", "err", "fatal", "critical", "crit", "alert", "emerg",
                                "emergency", "panic", "dpanic"}) {
    if (EqualsIgnoreCase(level, name)) return true;
  }
  return false;
}

// One request as a valid line describes it.
struct Request {
  double time = 0;
  double latency_ms = std::numeric_limits<double>::quiet_NaN();  // NaN: not logged
  bool error = false;
};

// Reads one line into `out`; an error is the reason the line is broken.
absl::Status ParseLine(std::string_view line, const LogImportOptions& options,
                       TimestampParser& times, Request& out) {
  // No exceptions on this path: a log with many broken lines must stay fast.
  const Json obj = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) {
    constexpr std::size_t kMax = 40;
    return absl::InvalidArgumentError(Cat("expected a JSON object, got invalid JSON '",
                                          line.substr(0, kMax), line.size() > kMax ? "...'" : "'"));
  }
  if (!obj.is_object()) {
    return absl::InvalidArgumentError(std::string("expected a JSON object, got ") +
                                      JsonTypeName(obj));
  }
  const auto time = obj.find(options.time_field);
  if (time == obj.end() || time->is_null()) {
    return absl::InvalidArgumentError(
        time == obj.end() ? Cat(options.time_field, ": expected a timestamp, got no \"",
                                options.time_field, "\" key")
                          : Cat(options.time_field, ": expected a timestamp, got null"));
  }
  absl::StatusOr<double> t = absl::InvalidArgumentError("");
  if (time->is_string()) {
    t = times.Parse(time->get_ref<const std::string&>());
  } else if (time->is_number()) {
    // Through the text, so the column's format lock sees numbers too.
    t = times.Parse(time->dump());
  } else {
    return absl::InvalidArgumentError(
        options.time_field + ": expected a timestamp (a string or a number), got " + Shown(*time));
  }
  if (!t.ok()) return absl::InvalidArgumentError(options.time_field + ": " + ErrorText(t.status()));
  out.time = *t;

  out.latency_ms = std::numeric_limits<double>::quiet_NaN();
  if (const auto latency = obj.find(options.latency_field);
      latency != obj.end() && !latency->is_null()) {
    const double v = latency->is_number() ? latency->get<double>() : -1;
    if (!latency->is_number() || !(v >= 0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(options.latency_field +
                                        ": expected a non-negative number of milliseconds, got " +
                                        Shown(*latency));
    }
    out.latency_ms = v;
  }

  out.error = false;
  if (const auto status = obj.find(options.status_field);
      status != obj.end() && !status->is_null()) {
    long long code = -1;
    if (status->is_number_integer()) {
      code = status->get<long long>();
    } else if (status->is_string()) {
      const std::string_view s = TrimBlanksAndCr(status->get_ref<const std::string&>());
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), code);
      if (ec != std::errc() || ptr != s.data() + s.size()) code = -1;
    }
    if (code < 0) {
      return absl::InvalidArgumentError(options.status_field +
                                        ": expected an HTTP status code, got " + Shown(*status));
    }
    out.error = code >= 500;
  }
  if (const auto level = obj.find(options.level_field); level != obj.end() && !level->is_null()) {
    if (level->is_string()) {
      out.error = out.error || IsErrorLevelName(level->get_ref<const std::string&>());
    } else if (level->is_number()) {
      // pino and bunyan write levels as numbers: 50 is error, 60 fatal.
      out.error = out.error || level->get<double>() >= 50;
    } else {
      return absl::InvalidArgumentError(options.level_field + ": expected a level name, got " +
                                        Shown(*level));
    }
  }
  return absl::OkStatus();
}

// The p-quantile of sorted values, linear between order statistics:
// h = (n - 1) p, x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])
// (Hyndman & Fan type 7, numpy's and Excel PERCENTILE.INC's default).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double h = (static_cast<double>(sorted.size()) - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

absl::StatusOr<BadLinePolicy> ParseBadLinePolicy(std::string_view name) {
  if (name == "fail") return BadLinePolicy::kFail;
  if (name == "skip") return BadLinePolicy::kSkip;
  if (name == "report") return BadLinePolicy::kReport;
  return absl::InvalidArgumentError(
      Cat("expected a bad-line policy fail, skip or report, got '", name, "'"));
}

absl::StatusOr<Trace> ImportLogsText(std::string_view text, std::string_view source_name,
                                     const LogImportOptions& options, LogImportReport* report) {
  LogImportReport local;
  LogImportReport& r = report != nullptr ? *report : local;
  r = LogImportReport();
  const std::string source = Str(source_name);
  if (!(options.step > 0) || !std::isfinite(options.step)) {
    return absl::InvalidArgumentError(
        Cat("step: expected a positive number of seconds, got ", Num(options.step)));
  }
  if (options.time_field.empty()) {
    return absl::InvalidArgumentError("time field: expected a key name, got an empty one");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::vector<Request> requests;
  TimestampParser times(options.time_format);
  std::string first_problem;  // for the error when no line is valid
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    const std::string_view line = NextLine(text, pos);
    ++line_no;
    if (line.empty()) continue;
    ++r.lines;
    Request request;
    const absl::Status status = ParseLine(line, options, times, request);
    if (status.ok()) {
      requests.push_back(request);
      continue;
    }
    const std::string where = source + ":" + std::to_string(line_no) + ": " + ErrorText(status);
    if (options.bad_lines == BadLinePolicy::kFail) return absl::InvalidArgumentError(where);
    ++r.bad_lines;
    if (first_problem.empty()) first_problem = where;
    if (options.bad_lines == BadLinePolicy::kReport && r.bad_lines <= kMaxWarnings) {
      r.warnings.push_back(where);
    }
  }
  if (options.bad_lines == BadLinePolicy::kReport && r.bad_lines > kMaxWarnings) {
    r.warnings.push_back(
        Cat("... ", std::to_string(r.bad_lines - kMaxWarnings), " more broken lines"));
  }
  if (requests.empty()) {
    if (r.lines == 0) {
      return absl::InvalidArgumentError(source + ": expected JSON lines of log records, got " +
                                        (text.empty() ? "an empty file" : "only blank lines"));
    }
    return absl::InvalidArgumentError(source + ": expected at least one valid log line, got " +
                                      std::to_string(r.bad_lines) +
                                      " broken ones; the first: " + first_problem);
  }

  // Lines may come in any order; the axis starts at the earliest request,
  // floored to the step so 60 s buckets sit on whole minutes.
  const auto [earliest, latest] =
      std::minmax_element(requests.begin(), requests.end(),
                          [](const Request& a, const Request& b) { return a.time < b.time; });
  const double step = options.step;
  const double epoch = std::floor(earliest->time / step) * step;
  const double span_steps = std::floor((latest->time - epoch) / step) + 1;
  if (span_steps > kMaxSteps) {
    return absl::InvalidArgumentError(
        Cat(source, ": expected the requests to span at most ",
            std::to_string(static_cast<long long>(kMaxSteps)), " steps of ", Num(step), " s, got ",
            FormatIso8601(earliest->time), " to ", FormatIso8601(latest->time),
            " (a stray timestamp, or a larger step needed?)"));
  }
  const auto n = static_cast<std::size_t>(span_steps);

  std::vector<double> count(n, 0), errors(n, 0);
  std::vector<std::vector<double>> latencies(n);
  for (const Request& q : requests) {
    // The clamp guards the last bucket against rounding in the division.
    const auto i = std::min(static_cast<std::size_t>(std::floor((q.time - epoch) / step)), n - 1);
    count[i] += 1;
    if (q.error) errors[i] += 1;
    if (!std::isnan(q.latency_ms)) latencies[i].push_back(q.latency_ms);
  }

  Trace trace;
  trace.start = 0;
  trace.step = step;
  trace.epoch = epoch;
  trace.unit = "requests/s";
  trace.provenance = "logs:" + source + " step=" + Num(step);
  trace.demand.resize(n);
  TraceChannel error_rate{"error_rate", "series", "requests/s", std::vector<double>(n)};
  TraceChannel p50{"latency_p50_ms", "series", "ms", std::vector<double>(n)};
  TraceChannel p95{"latency_p95_ms", "series", "ms", std::vector<double>(n)};
  TraceChannel p99{"latency_p99_ms", "series", "ms", std::vector<double>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    trace.demand[i] = count[i] / step;
    error_rate.values[i] = errors[i] / step;
    std::vector<double>& l = latencies[i];
    std::sort(l.begin(), l.end());
    p50.values[i] = Percentile(l, 0.50);
    p95.values[i] = Percentile(l, 0.95);
    p99.values[i] = Percentile(l, 0.99);
  }
  trace.channels = {std::move(error_rate), std::move(p50), std::move(p95), std::move(p99)};
  return trace;
}

absl::StatusOr<Trace> ImportLogsFile(const std::string& path, const LogImportOptions& options,
                                     LogImportReport* report) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, text_util::ReadTextFile(path));
  return ImportLogsText(text, path, options, report);
}

}  // namespace meshtwin
