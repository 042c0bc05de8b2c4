// Error values for meshtwin: absl::Status / absl::StatusOr everywhere, and two
// helpers that keep error paths short.
//
//   absl::StatusOr<Scenario> s = LoadScenario(path);
//   MESHTWIN_ASSIGN_OR_RETURN(Scenario s, LoadScenario(path));
//   MESHTWIN_RETURN_IF_ERROR(WriteResults(out, data));
//
// Bad user input is absl::InvalidArgumentError (or NotFound for a missing
// file) and its message names the file and line or field; the CLI maps it to
// exit code 2. Anything else is an internal error (exit code 1).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MESHTWIN_CONCAT_INNER(a, b) a##b
#define MESHTWIN_CONCAT(a, b) MESHTWIN_CONCAT_INNER(a, b)

#define MESHTWIN_RETURN_IF_ERROR(expr)            \
  do {                                            \
    if (absl::Status _st = (expr); !_st.ok()) {   \
      return _st;                                 \
    }                                             \
  } while (0)

#define MESHTWIN_ASSIGN_OR_RETURN(lhs, expr) \
  MESHTWIN_ASSIGN_OR_RETURN_IMPL(MESHTWIN_CONCAT(_statusor_, __LINE__), lhs, expr)
#define MESHTWIN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

namespace meshtwin {

// The message of a status as a std::string. Debian's abseil has its own
// absl::string_view (not std::string_view), which fmt and std APIs don't take.
inline std::string ErrorText(const absl::Status& s) { return std::string(s.message()); }

// True when the status describes bad user input (exit code 2 at the CLI).
inline bool IsBadInput(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kNotFound ||
         s.code() == absl::StatusCode::kOutOfRange ||
         s.code() == absl::StatusCode::kDataLoss;
}

}  // namespace meshtwin
