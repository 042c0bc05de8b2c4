// Internal to scenarios/: the located YAML reading every scenario section is
// written with. An Item is a YAML node with the key path messages call it by
// and its position; a Reporter turns "expected ..., got ..." into
// "FILE:LINE:COL: key.path: expected ..., got ..." (or "--set KEY: ..." when
// an override wrote the value); a Section is a mapping whose keys were checked.
//
// Internals take absl::string_view, not std::string_view: Debian's abseil is
// built with its own string_view type, the only one absl::StrCat accepts.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "scenarios/scenario.h"
#include "twin/status.h"

namespace meshtwin::scenario_yaml {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr Seconds kMaxDuration = 400 * 86400.0;
inline constexpr int kMaxNodesPerType = 100000;

// ---------------------------------------------------------------------------
// Formatting helpers.

// A scalar as it appears in a message; long values are cut so one bad line
// cannot flood a terminal.
inline std::string Shorten(absl::string_view text) {
  constexpr std::size_t kMax = 60;
  if (text.size() <= kMax) return std::string(text);
  return absl::StrCat(text.substr(0, kMax), "...");
}

// What a node is, for the "got ..." half of a message.
inline std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return node.Scalar().empty() ? "an empty string" : Shorten(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Seconds in the unit syntax of ParseDuration, for range bounds in messages.
inline std::string FormatDuration(Seconds s) {
  if (s == 0) return "0s";
  if (std::fmod(s, 86400) == 0) return absl::StrCat(s / 86400, "d");
  if (std::fmod(s, 3600) == 0) return absl::StrCat(s / 3600, "h");
  if (std::fmod(s, 60) == 0) return absl::StrCat(s / 60, "m");
  return absl::StrCat(s, "s");
}

// Levenshtein distance, to suggest the key a typo meant.
inline std::size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// An allowed interval of a numeric key.
struct Range {
  double lo = -kInf;
  double hi = kInf;
  bool lo_open = false;
  bool hi_open = false;

  bool Contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
  // " >= 1", " in (0, 1]", or "" when unbounded; durations print with units.
  std::string Describe(bool duration) const {
    auto num = [duration](double v) { return duration ? FormatDuration(v) : absl::StrCat(v); };
    const bool has_lo = lo > -kInf;
    const bool has_hi = hi < kInf;
    if (has_lo && has_hi) {
      return absl::StrCat(" in ", lo_open ? "(" : "[", num(lo), ", ", num(hi), hi_open ? ")" : "]");
    }
    if (has_lo) return absl::StrCat(lo_open ? " > " : " >= ", num(lo));
    if (has_hi) return absl::StrCat(hi_open ? " < " : " <= ", num(hi));
    return "";
  }
};

inline Range AtLeast(double lo) { return Range{lo, kInf, false, false}; }
inline Range Above(double lo) { return Range{lo, kInf, true, false}; }
inline Range Closed(double lo, double hi) { return Range{lo, hi, false, false}; }

// ---------------------------------------------------------------------------
// Locations.

// A --set that was applied: errors at or below `path` are blamed on it.
struct AppliedOverride {
  std::string key;   // as the user wrote it: "node_types.medium.max"
  std::string path;  // as messages spell it: "node_types[1].max"
};

// True when `path` is `prefix` itself or lies below it.
inline bool PathWithin(absl::string_view path, absl::string_view prefix) {
  if (prefix.empty()) return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

// A node with the path messages call it by and the position to report.
struct Item {
  YAML::Node node;
  std::string path;  // "" for the document itself
  YAML::Mark mark;
};

// Turns items into located errors.
class Reporter {
 public:
  Reporter(std::string source, std::vector<AppliedOverride> overrides)
      : source_(std::move(source)), overrides_(std::move(overrides)) {}

  // `what` reads "expected ..., got ...".
  absl::Status Fail(const YAML::Mark& mark, absl::string_view path, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(mark, path), ": ", path.empty() ? "(top level)" : path, ": ", what));
  }
  absl::Status Fail(const Item& item, absl::string_view what) const {
    return Fail(item.mark, item.path, what);
  }

  // For a check between keys (min <= max): when the value at `path` is as the
  // file says but one of `others` was overridden, that --set is what broke it.
  absl::Status FailAgainst(const YAML::Mark& mark, absl::string_view path,
                           const std::vector<std::string>& others, absl::string_view what) const {
    if (Covering(path) == nullptr) {
      for (const std::string& other : others) {
        if (const AppliedOverride* o = Covering(other)) {
          return absl::InvalidArgumentError(absl::StrCat("--set ", o->key, ": ", path, ": ", what));
        }
      }
    }
    return Fail(mark, path, what);
  }

  const std::string& source() const { return source_; }
  bool Overridden(absl::string_view path) const { return Covering(path) != nullptr; }

 private:
  // The latest override that wrote `path` (or a section holding it).
  const AppliedOverride* Covering(absl::string_view path) const {
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
      if (PathWithin(path, it->path)) return &*it;
    }
    return nullptr;
  }

  std::string Where(const YAML::Mark& mark, absl::string_view path) const {
    if (const AppliedOverride* o = Covering(path)) return absl::StrCat("--set ", o->key);
    if (!mark.is_null()) {
      return absl::StrCat(source_, ":", mark.line + 1, ":", mark.column + 1);
    }
    // A section an override created on its way down has no mark of its own.
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
      if (PathWithin(it->path, path)) return absl::StrCat("--set ", it->key);
    }
    return absl::StrCat(source_, ":1:1");
  }

  std::string source_;
  std::vector<AppliedOverride> overrides_;
};

inline std::string ChildPath(absl::string_view parent, absl::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
}

// A map value is reported at the value when it is a scalar (most precise) and
// otherwise at its key: a block section's own mark is the line after the key.
inline Item MapChild(const Item& parent, const YAML::Node& key, const YAML::Node& value) {
  const bool use_value = value.IsScalar() && !value.Mark().is_null();
  const YAML::Mark mark = use_value || key.Mark().is_null() ? value.Mark() : key.Mark();
  return Item{value, ChildPath(parent.path, key.Scalar()), mark};
}

inline Item ListElement(const Item& parent, std::size_t index, const YAML::Node& value) {
  return Item{value, absl::StrCat(parent.path, "[", index, "]"), value.Mark()};
}

// ---------------------------------------------------------------------------
// Scalar readers. Each reads one value, range-checks it and reports errors at
// the item.

inline absl::Status ExpectScalar(const Reporter& r, const Item& item, absl::string_view expected) {
  if (item.node.IsScalar()) return absl::OkStatus();
  return r.Fail(item, absl::StrCat("expected ", expected, ", got ", Describe(item.node)));
}

inline absl::Status ReadString(const Reporter& r, const Item& item, std::string* out) {
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(r, item, "a string"));
  *out = item.node.Scalar();
  return absl::OkStatus();
}

inline absl::Status ReadBool(const Reporter& r, const Item& item, bool* out) {
  constexpr absl::string_view kExpected = "true or false";
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(r, item, kExpected));
  const std::string& s = item.node.Scalar();
  // YAML 1.2 core schema spellings only: "yes"/"no"/"on" are YAML 1.1 traps.
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
  } else if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
  } else {
    return r.Fail(item, absl::StrCat("expected ", kExpected, ", got ", Describe(item.node)));
  }
  return absl::OkStatus();
}

// Parses a whole string as T with std::from_chars, allowing a leading '+'.
template <typename T>
inline bool ParseWhole(absl::string_view text, T* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

inline absl::Status ReadInt(const Reporter& r, const Item& item, Range range, int* out) {
  const std::string expected = absl::StrCat("an integer", range.Describe(false));
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(r, item, expected));
  long long value = 0;
  if (!ParseWhole(item.node.Scalar(), &value) || !range.Contains(static_cast<double>(value))) {
    return r.Fail(item, absl::StrCat("expected ", expected, ", got ", Describe(item.node)));
  }
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

inline absl::Status ReadSeed(const Reporter& r, const Item& item, std::uint64_t* out) {
  constexpr absl::string_view kExpected = "an integer in [0, 2^64)";
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(r, item, kExpected));
  if (!ParseWhole(item.node.Scalar(), out)) {
    return r.Fail(item, absl::StrCat("expected ", kExpected, ", got ", Describe(item.node)));
  }
  return absl::OkStatus();
}

inline absl::Status ReadNumber(const Reporter& r, const Item& item, Range range, double* out) {
  const std::string expected = absl::StrCat("a number", range.Describe(false));
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(r, item, expected));
  double value = 0;
  // isfinite: from_chars accepts "inf" and "nan", which no key means.
  if (!ParseWhole(item.node.Scalar(), &value) || !std::isfinite(value) || !range.Contains(value)) {
    return r.Fail(item, absl::StrCat("expected ", expected, ", got ", Describe(item.node)));
  }
  *out = value;
  return absl::OkStatus();
}

// A value in one of the unit syntaxes of units.cpp. Syntax errors keep the
// parser's own message, which lists the accepted forms.
using UnitParser = absl::StatusOr<double> (*)(std::string_view);

inline absl::Status ReadUnit(const Reporter& r, const Item& item, UnitParser parse, absl::string_view noun,
                      bool duration, Range range, double* out) {
  const std::string expected = absl::StrCat(noun, range.Describe(duration));
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(r, item, expected));
  absl::StatusOr<double> value = parse(item.node.Scalar());
  if (!value.ok()) return r.Fail(item, value.status().message());
  if (!range.Contains(*value)) {
    return r.Fail(item, absl::StrCat("expected ", expected, ", got ", Describe(item.node)));
  }
  *out = *value;
  return absl::OkStatus();
}

inline absl::Status ReadDuration(const Reporter& r, const Item& item, Range range, Seconds* out) {
  return ReadUnit(r, item, &ParseDuration, "a duration", true, range, out);
}
inline absl::Status ReadFlops(const Reporter& r, const Item& item, Range range, double* out) {
  return ReadUnit(r, item, &ParseFlops, "an amount of flop", false, range, out);
}
inline absl::Status ReadBandwidth(const Reporter& r, const Item& item, Range range, double* out) {
  return ReadUnit(r, item, &ParseBandwidth, "a bandwidth in bytes/s", false, range, out);
}

// ---------------------------------------------------------------------------
// Sections.

// A mapping whose keys have been checked against the keys it may have.
class Section {
 public:
  // Checks that `item` is a mapping (null counts as an empty one: "slo:" with
  // nothing under it means "all defaults") with only `allowed` keys, each once.
  static absl::StatusOr<Section> Open(const Reporter& r, const Item& item,
                                      std::vector<absl::string_view> allowed) {
    Section section(r, item);
    if (item.node.IsNull()) return section;
    if (!item.node.IsMap()) {
      return r.Fail(item,
                    absl::StrCat("expected a mapping with keys ", absl::StrJoin(allowed, ", "),
                                 ", got ", Describe(item.node)));
    }
    for (auto it = item.node.begin(); it != item.node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        return r.Fail(key.Mark(), item.path,
                      absl::StrCat("expected a key name, got ", Describe(key)));
      }
      Item child = MapChild(item, key, it->second);
      const std::string& name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string hint;
        for (absl::string_view candidate : allowed) {
          // Up to 2 edits, fewer for short keys: "foo" is not a typo of "slo".
          const std::size_t limit = std::clamp<std::size_t>(candidate.size() / 3, 1, 2);
          if (EditDistance(name, candidate) <= limit) {
            hint = absl::StrCat(" (did you mean ", candidate, "?)");
            break;
          }
        }
        return r.Fail(key.Mark(), child.path,
                      absl::StrCat("expected one of ", absl::StrJoin(allowed, ", "),
                                   ", got an unknown key", hint));
      }
      for (const auto& [seen_name, seen] : section.children_) {
        if (seen_name == name) {
          return r.Fail(key.Mark(), child.path,
                        absl::StrCat("expected each key once, got a second ", name,
                                     seen.mark.is_null() ? std::string()
                                                         : absl::StrCat(" (first on line ",
                                                                        seen.mark.line + 1, ")")));
        }
      }
      section.children_.emplace_back(name, std::move(child));
    }
    return section;
  }

  // The value of `key`, if present.
  const Item* Find(absl::string_view key) const {
    for (const auto& [name, item] : children_) {
      if (name == key) return &item;
    }
    return nullptr;
  }

  // Where and how to complain about `key` when it is absent: at the mapping.
  absl::Status Missing(absl::string_view key, absl::string_view expected) const {
    return reporter_->Fail(self_.mark, ChildPath(self_.path, key),
                           absl::StrCat("expected ", expected, " (required), got nothing"));
  }
  absl::Status Fail(absl::string_view key, absl::string_view what) const {
    return FailAgainst(key, {}, what);
  }
  // An error at `key` that depends on the values of `other_keys` too.
  absl::Status FailAgainst(absl::string_view key, std::vector<absl::string_view> other_keys,
                           absl::string_view what) const {
    std::vector<std::string> others;
    for (absl::string_view other : other_keys) others.push_back(ChildPath(self_.path, other));
    if (const Item* item = Find(key)) {
      return reporter_->FailAgainst(item->mark, item->path, others, what);
    }
    return reporter_->FailAgainst(self_.mark, ChildPath(self_.path, key), others, what);
  }

  const Item& self() const { return self_; }

  // Optional keys: leave *out alone (the struct default) when absent.
  absl::Status String(absl::string_view key, std::string* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadString(*reporter_, *item, out);
  }
  absl::Status Bool(absl::string_view key, bool* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadBool(*reporter_, *item, out);
  }
  absl::Status Int(absl::string_view key, Range range, int* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadInt(*reporter_, *item, range, out);
  }
  absl::Status Number(absl::string_view key, Range range, double* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadNumber(*reporter_, *item, range, out);
  }
  absl::Status Duration(absl::string_view key, Range range, Seconds* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadDuration(*reporter_, *item, range, out);
  }
  absl::Status Flops(absl::string_view key, Range range, double* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadFlops(*reporter_, *item, range, out);
  }
  absl::Status Bandwidth(absl::string_view key, Range range, double* out) const {
    const Item* item = Find(key);
    return item == nullptr ? absl::OkStatus() : ReadBandwidth(*reporter_, *item, range, out);
  }

 private:
  Section(const Reporter& r, Item self) : reporter_(&r), self_(std::move(self)) {}

  const Reporter* reporter_;
  Item self_;
  std::vector<std::pair<std::string, Item>> children_;
};

// The elements of a list-valued item (null counts as an empty list).
inline absl::StatusOr<std::vector<Item>> ListItems(const Reporter& r, const Item& item,
                                            absl::string_view expected) {
  std::vector<Item> items;
  if (item.node.IsNull()) return items;
  if (!item.node.IsSequence()) {
    return r.Fail(item, absl::StrCat("expected ", expected, ", got ", Describe(item.node)));
  }
  for (std::size_t i = 0; i < item.node.size(); ++i) {
    items.push_back(ListElement(item, i, item.node[i]));
  }
  return items;
}

// One YAML document from `text`; a syntax error is InvalidArgument at
// source:line:column. For configs read with this reader (agent, shadow).
inline absl::StatusOr<YAML::Node> LoadDocument(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1,
                                                   ": (syntax): expected valid YAML, got ", e.msg));
  }
}

}  // namespace meshtwin::scenario_yaml
