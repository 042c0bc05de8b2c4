// Parsers for the unit-suffixed values of scenario files: durations, amounts
// of work (flop, flop/s) and link bandwidths. The syntax is written out in
// scenarios/README.md ("Units").
//
// None of them accepts a sign: every quantity a scenario states this way is
// >= 0, and a leading '-' is far more often a typo than an intent. A key that
// needs "never" (a spike's `announced`) says so with YAML null instead.
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <system_error>

#include "scenarios/scenario.h"

namespace meshtwin {
namespace {

// "got ..." part of a message: empty text would otherwise read "got ".
// (Plain string concatenation: Debian's absl::StrCat takes absl::string_view,
// a different type from std::string_view.)
std::string Got(std::string_view text) {
  if (text.empty()) return "got an empty value";
  return "got " + std::string(text);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Takes a leading unsigned decimal number ("15", "2.5", ".5", "1e9") off the
// front of `text`. Requiring a digit or '.' first keeps out signs, "inf" and
// "nan", which std::from_chars would otherwise accept.
bool TakeNumber(std::string_view& text, double* value) {
  if (text.empty()) return false;
  const char c = text.front();
  if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  if (ec != std::errc() || !std::isfinite(*value)) return false;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return true;
}

// Takes an SI prefix (k/K, M, G, T, P) off the front of `text`; 1 if none.
double TakeSiPrefix(std::string_view& text) {
  if (text.empty()) return 1;
  double factor = 1;
  switch (text.front()) {
    case 'k':
    case 'K':
      factor = 1e3;
      break;
    case 'M':
      factor = 1e6;
      break;
    case 'G':
      factor = 1e9;
      break;
    case 'T':
      factor = 1e12;
      break;
    case 'P':
      factor = 1e15;
      break;
    default:
      return 1;
  }
  text.remove_prefix(1);
  return factor;
}

// Seconds per duration unit, 0 if `unit` is not one.
double DurationUnit(std::string_view unit) {
  if (unit == "d") return 86400;
  if (unit == "h") return 3600;
  if (unit == "m") return 60;
  if (unit == "s") return 1;
  if (unit == "ms") return 1e-3;
  if (unit == "us" || unit == "\xC2\xB5s") return 1e-6;  // also "µs" (UTF-8)
  if (unit == "ns") return 1e-9;
  return 0;
}

}  // namespace

absl::StatusOr<Seconds> ParseDuration(std::string_view text) {
  const std::string_view original = Trim(text);
  auto error = [&] {
    return absl::InvalidArgumentError(
        "expected a duration >= 0 such as 15s, 250ms, 50us, 5m, 2h, 1d or 1h30m (a plain number "
        "is seconds), " +
        Got(original));
  };
  std::string_view rest = original;
  double total = 0;
  bool first = true;
  while (first || !rest.empty()) {
    double value = 0;
    if (!TakeNumber(rest, &value)) return error();
    // Unit letters run up to the next digit: "1h30m" is two components.
    std::size_t n = 0;
    while (n < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[n])) &&
           rest[n] != '.') {
      ++n;
    }
    const std::string_view unit = rest.substr(0, n);
    rest.remove_prefix(n);
    if (unit.empty()) {
      // A bare number is seconds, but only on its own: "1h30" is a typo.
      if (!first || !rest.empty()) return error();
      total = value;
      break;
    }
    const double factor = DurationUnit(unit);
    if (factor == 0) return error();
    total += value * factor;
    first = false;
  }
  if (!std::isfinite(total)) return error();
  return total;
}

absl::StatusOr<double> ParseFlops(std::string_view text) {
  const std::string_view original = Trim(text);
  std::string_view rest = original;
  double value = 0;
  bool ok = TakeNumber(rest, &value);
  if (ok) {
    value *= TakeSiPrefix(rest);
    ok = rest.empty() || rest == "f" || rest == "flop" || rest == "flops";
  }
  if (!ok || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        "expected an amount of flop >= 0 such as 2.5Gf, 100Mf, 2k or 1e9 (SI prefix k, M, G, T or "
        "P, then optionally f or flops), " +
        Got(original));
  }
  return value;
}

absl::StatusOr<double> ParseBandwidth(std::string_view text) {
  const std::string_view original = Trim(text);
  std::string_view rest = original;
  double value = 0;
  bool ok = TakeNumber(rest, &value);
  if (ok) {
    const double prefix = TakeSiPrefix(rest);
    value *= prefix;
    if (rest == "bps" || rest == "bit/s") {
      value /= 8;
    } else if (rest == "Bps" || rest == "B/s") {
      // bytes/s already
    } else {
      // A bare number is bytes/s; "10G" alone is refused because network
      // people read it as bits and storage people as bytes.
      ok = rest.empty() && prefix == 1;
    }
  }
  if (!ok || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        "expected a bandwidth >= 0 such as 10Gbps (bits/s), 1GBps or 125MBps (bytes/s), or a "
        "plain number of bytes/s, " +
        Got(original));
  }
  return value;
}

}  // namespace meshtwin
