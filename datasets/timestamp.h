// Timestamps as users write them, to and from UTC unix seconds: ISO-8601 with
// or without a zone ("2024-03-01T12:00:00Z", "2024-03-01T14:00:00+02:00",
// "2024-03-01T12:00:00.250"), "YYYY-MM-DD HH:MM[:SS]", a bare date, unix
// seconds or milliseconds. Times without a zone are UTC. Fast enough for
// million-row files (no regex, no locale).
//
//   TimestampParser p(TimeFormat::kAuto);      // locks onto the first format seen
//   absl::StatusOr<double> t = p.Parse("2024-03-01 12:00");   // 1709294400
#pragma once

#include <string>
#include <string_view>

#include "twin/status.h"

namespace meshtwin {

enum class TimeFormat {
  kAuto,         // detect: ISO-8601 / "YYYY-MM-DD HH:MM", or a number (ms if >= 1e11, else s)
  kIso8601,      // ISO-8601 or "YYYY-MM-DD HH:MM[:SS]" (with or without a zone)
  kUnixSeconds,  // a number of seconds since 1970-01-01T00:00:00Z
  kUnixMillis,   // a number of milliseconds since then
};

// "auto", "iso", "s" (or "unix"), "ms" (or "unix-ms"); for --time-format.
absl::StatusOr<TimeFormat> ParseTimeFormatName(std::string_view name);
const char* TimeFormatName(TimeFormat f);

// Parses one timestamp in the given format (kAuto: whichever fits). Errors
// say what was expected; callers add the file and line.
absl::StatusOr<double> ParseTimestamp(std::string_view text, TimeFormat format = TimeFormat::kAuto);

// Parses a column of timestamps: the first value fixes the format (unless one
// was forced), and a later value in another format is an error ("mixed
// timestamp formats"), since a column that mixes them is almost always a
// broken export. Not thread-safe.
class TimestampParser {
 public:
  explicit TimestampParser(TimeFormat format = TimeFormat::kAuto) : format_(format) {}
  absl::StatusOr<double> Parse(std::string_view text);
  TimeFormat format() const { return format_; }

 private:
  TimeFormat format_;
};

// "2024-03-01T12:00:00Z", with fractional seconds only when there are any.
std::string FormatIso8601(double unix_seconds);

// Days since 1970-01-01 of a proleptic Gregorian date (any year).
long long DaysFromCivil(int year, unsigned month, unsigned day);

}  // namespace meshtwin
