// Internal to datasets/: the small text helpers the importers, the event
// readers and the generators share (building messages, trimming, reading a
// whole file). Not part of the public API.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "nlohmann/json_fwd.hpp"
#include "twin/status.h"

namespace meshtwin::text_util {

inline std::string Str(std::string_view s) { return std::string(s); }

// Debian's abseil has its own absl::string_view, which absl::StrCat takes
// and std::string_view does not convert to.
inline absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Concatenates text pieces. (operator+ on a literal and a temporary string
// trips a false -Wrestrict in g++ 12 at -O3.)
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  out.reserve((std::string_view(parts).size() + ...));
  (out.append(std::string_view(parts)), ...);
  return out;
}

// Shortest text that reads back as the same double ("300", "0.1",
// "1709294400"), whatever the locale.
std::string Num(double v);

// `s` in single quotes as users see it in a message, cut after `max_size`
// bytes ("...") so one bad value cannot flood the message.
std::string Quoted(std::string_view s, std::size_t max_size = 40);

// `s` without spaces and tabs at either end.
std::string_view TrimBlanks(std::string_view s);

// `s` without spaces and tabs at either end, nor '\r' at the end: a line
// (or the last field of one) from a file with CRLF line endings.
std::string_view TrimBlanksAndCr(std::string_view s);

// The line of `text` that starts at `pos`, trimmed by TrimBlanksAndCr; moves
// `pos` past its '\n'.
std::string_view NextLine(std::string_view text, std::size_t& pos);

// ASCII case-insensitive equality ("ERROR" equals "error").
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// InvalidArgument "SOURCE:LINE: what", for errors in line-oriented input.
absl::Status LineError(std::string_view source, int line, std::string_view what);

// A JSON value's type for "expected ..., got <this>": "an object", "a string".
const char* JsonTypeName(const nlohmann::json& v);

// A JSON value as it appears in the input, cut after 60 bytes ("...").
std::string Shown(const nlohmann::json& v);

// The whole file; NotFound "PATH: cannot read: <strerror>" if it cannot be
// read (a directory included).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// The whole file, told apart the way users of the event, keyword and log
// commands see it: NotFound "PATH: no such file", InvalidArgument "PATH:
// expected a file, got a directory", InvalidArgument "PATH: cannot read:
// <strerror>".
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace meshtwin::text_util
