#include "datasets/timestamp.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "datasets/text_util.h"

namespace meshtwin {
namespace {

using text_util::Quoted;
using text_util::TrimBlanksAndCr;

// Unix milliseconds pass 1e11 in 1973, unix seconds only in the year 5138.
constexpr double kMillisThreshold = 1e11;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`, advancing it.
bool Digits(std::string_view s, std::size_t& pos, int n, int* out) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + static_cast<std::size_t>(i)];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  *out = v;
  return true;
}

bool LooksLikeDate(std::string_view s) {
  return s.size() >= 10 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) && IsDigit(s[3]) &&
         s[4] == '-';
}

absl::StatusOr<double> ParseIso(std::string_view s) {
  auto bad = [&](const char* what) {
    return absl::InvalidArgumentError(std::string("expected an ISO-8601 timestamp such as "
                                                  "2024-03-01T12:00:00Z (") +
                                      what + "), got " + Quoted(s));
  };
  std::size_t p = 0;
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!Digits(s, p, 4, &year) || p >= s.size() || s[p++] != '-' || !Digits(s, p, 2, &month) ||
      p >= s.size() || s[p++] != '-' || !Digits(s, p, 2, &day)) {
    return bad("date");
  }
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDaysIn[month - 1] ||
      (month == 2 && day == 29 && !leap)) {
    return bad("no such date");
  }
  double fraction = 0;
  if (p < s.size() && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
    ++p;
    if (!Digits(s, p, 2, &hour) || p >= s.size() || s[p++] != ':' || !Digits(s, p, 2, &minute)) {
      return bad("time");
    }
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!Digits(s, p, 2, &second)) return bad("seconds");
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        double scale = 0.1;
        const std::size_t first = p;
        while (p < s.size() && IsDigit(s[p])) {
          fraction += (s[p] - '0') * scale;
          scale /= 10;
          ++p;
        }
        if (p == first) return bad("fraction");
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return bad("time out of range");
  }
  int offset_seconds = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      const int sign = s[p] == '-' ? -1 : 1;
      ++p;
      int oh, om = 0;
      if (!Digits(s, p, 2, &oh)) return bad("zone");
      if (p < s.size() && s[p] == ':') ++p;
      if (p < s.size() && !Digits(s, p, 2, &om)) return bad("zone");
      if (oh > 23 || om > 59) return bad("zone out of range");
      offset_seconds = sign * (oh * 3600 + om * 60);
    }
  }
  if (p != s.size()) return bad("trailing characters");
  const long long days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds) +
         fraction;
}

absl::StatusOr<double> ParseNumber(std::string_view s, TimeFormat format) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        std::string("expected a unix time in ") +
        (format == TimeFormat::kUnixMillis ? "milliseconds" : "seconds") + ", got " + Quoted(s));
  }
  return format == TimeFormat::kUnixMillis ? v / 1000.0 : v;
}

TimeFormat Detect(std::string_view s) {
  if (LooksLikeDate(s)) return TimeFormat::kIso8601;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) {
    return std::fabs(v) >= kMillisThreshold ? TimeFormat::kUnixMillis : TimeFormat::kUnixSeconds;
  }
  return TimeFormat::kAuto;  // nothing fits
}

}  // namespace

long long DaysFromCivil(int year, unsigned month, unsigned day) {
  // Howard Hinnant's days_from_civil: eras of 400 years, March-based years.
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<long long>(era) * 146097 + static_cast<long long>(doe) - 719468;
}

absl::StatusOr<TimeFormat> ParseTimeFormatName(std::string_view name) {
  if (name == "auto") return TimeFormat::kAuto;
  if (name == "iso" || name == "iso8601") return TimeFormat::kIso8601;
  if (name == "s" || name == "unix") return TimeFormat::kUnixSeconds;
  if (name == "ms" || name == "unix-ms") return TimeFormat::kUnixMillis;
  return absl::InvalidArgumentError("expected a time format auto, iso, s or ms, got '" +
                                    std::string(name) + "'");
}

const char* TimeFormatName(TimeFormat f) {
  switch (f) {
    case TimeFormat::kAuto: return "auto";
    case TimeFormat::kIso8601: return "iso";
    case TimeFormat::kUnixSeconds: return "s";
    case TimeFormat::kUnixMillis: return "ms";
  }
  return "?";
}

absl::StatusOr<double> ParseTimestamp(std::string_view text, TimeFormat format) {
  const std::string_view s = TrimBlanksAndCr(text);
  if (s.empty()) return absl::InvalidArgumentError("expected a timestamp, got an empty field");
  const TimeFormat f = format == TimeFormat::kAuto ? Detect(s) : format;
  switch (f) {
    case TimeFormat::kIso8601: return ParseIso(s);
    case TimeFormat::kUnixSeconds:
    case TimeFormat::kUnixMillis: return ParseNumber(s, f);
    case TimeFormat::kAuto: break;
  }
  return absl::InvalidArgumentError(
      "expected a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM[:SS]', unix seconds or "
      "milliseconds), got " + Quoted(s));
}

absl::StatusOr<double> TimestampParser::Parse(std::string_view text) {
  const std::string_view s = TrimBlanksAndCr(text);
  if (format_ == TimeFormat::kAuto) {
    const TimeFormat detected = s.empty() ? TimeFormat::kAuto : Detect(s);
    MESHTWIN_ASSIGN_OR_RETURN(double t, ParseTimestamp(s, detected));
    format_ = detected;
    return t;
  }
  absl::StatusOr<double> t = ParseTimestamp(s, format_);
  if (!t.ok()) {
    const TimeFormat other = s.empty() ? TimeFormat::kAuto : Detect(s);
    // A value that parses in another format: say so, it is the likelier mistake.
    const bool numeric = format_ != TimeFormat::kIso8601;
    const bool other_numeric = other != TimeFormat::kIso8601;
    if (other != TimeFormat::kAuto && numeric != other_numeric) {
      return absl::InvalidArgumentError(std::string("mixed timestamp formats: earlier rows are ") +
                                        (numeric ? "unix times" : "ISO-8601") + ", this one is " +
                                        Quoted(s));
    }
  }
  return t;
}

std::string FormatIso8601(double unix_seconds) {
  const double whole = std::floor(unix_seconds);
  const auto secs = static_cast<long long>(whole);
  long long days = secs / 86400;
  long long rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Hinnant).
  const long long z = days + 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long y = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buf[64];
  const double frac = unix_seconds - whole;
  if (frac > 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%06.3fZ", y + (m <= 2 ? 1 : 0),
                  m, d, rem / 3600, (rem / 60) % 60, static_cast<double>(rem % 60) + frac);
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y + (m <= 2 ? 1 : 0),
                  m, d, rem / 3600, (rem / 60) % 60, rem % 60);
  }
  return buf;
}

}  // namespace meshtwin
