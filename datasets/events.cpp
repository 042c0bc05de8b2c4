#include "datasets/events.h"

#include "datasets/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "datasets/text_util.h"
#include "datasets/timestamp.h"

namespace meshtwin {
namespace {

using Json = nlohmann::json;
using text_util::Cat;
using text_util::JsonTypeName;
using text_util::LineError;
using text_util::NextLine;
using text_util::Num;
using text_util::Shown;
using text_util::Str;
using text_util::TrimBlanksAndCr;

// The columns of an event file, in the order EventsToCsv writes them.
constexpr std::array<std::string_view, 7> kColumns = {
    "start", "end", "announced", "source", "category", "magnitude", "text"};
enum Column { kStart, kEnd, kAnnounced, kSource, kCategory, kMagnitude, kText };

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// A value as the user wrote it, shortened so one bad row cannot flood a
// message. Event messages keep 60 bytes (the importers' keep 40).
std::string Quoted(std::string_view s) { return text_util::Quoted(s, 60); }

std::string ExpectedColumns() {
  std::string out;
  for (std::string_view c : kColumns) out += Cat(out.empty() ? "" : ",", c);
  return out;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// A NUL byte never occurs in a text file; reporting it up front beats a
// confusing complaint about some field of a file that is not CSV at all.
absl::Status CheckText(std::string_view text, std::string_view source) {
  const std::size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return absl::OkStatus();
  const auto line =
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n');
  return LineError(source, static_cast<int>(line),
                   "expected a text file of events, got binary data (a NUL byte)");
}

std::string_view StripBom(std::string_view text) {
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  return text;
}

// The three time columns each lock onto their own format (see TimestampParser):
// a column that mixes ISO and unix times is reported, but `end` may well be
// written differently from `start`.
struct TimeParsers {
  TimestampParser start, end, announced;
};

// The raw fields of one event, before validation.
struct RawEvent {
  std::string start, end, announced;  // empty: absent
  std::string magnitude;              // empty: 0
  std::string source, category, text;
};

absl::StatusOr<double> ParseMagnitude(std::string_view raw) {
  std::string_view s = TrimBlanksAndCr(raw);
  if (s.empty()) return 0.0;
  if (s.front() == '+') s.remove_prefix(1);  // from_chars does not take a '+'
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        Cat("magnitude: expected a finite number, got ", Quoted(raw)));
  }
  return v;
}

// Validates one event; errors are "COLUMN: expected..., got ..." for the
// caller to prefix with FILE:LINE.
absl::StatusOr<Event> BuildEvent(const RawEvent& raw, TimeParsers& parsers) {
  Event e;
  if (TrimBlanksAndCr(raw.start).empty()) {
    return absl::InvalidArgumentError("start: expected a timestamp, got an empty field");
  }
  auto time = [](TimestampParser& p, std::string_view value,
                 std::string_view column) -> absl::StatusOr<double> {
    absl::StatusOr<double> t = p.Parse(value);
    if (!t.ok()) return absl::InvalidArgumentError(Str(column) + ": " + ErrorText(t.status()));
    return *t;
  };
  MESHTWIN_ASSIGN_OR_RETURN(e.start, time(parsers.start, raw.start, "start"));
  if (!TrimBlanksAndCr(raw.end).empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(e.end, time(parsers.end, raw.end, "end"));
    if (e.end < e.start) {
      return absl::InvalidArgumentError(Cat("end: expected a time at or after start (",
                                            FormatIso8601(e.start), "), got ", FormatIso8601(e.end),
                                            " (", Quoted(TrimBlanksAndCr(raw.end)), ")"));
    }
  }
  // An event may become known after it began (a flash crowd noticed late):
  // `announced` > `start` is allowed, the forecaster just learns of it late.
  e.announced = e.start;
  if (!TrimBlanksAndCr(raw.announced).empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(e.announced, time(parsers.announced, raw.announced, "announced"));
  }
  MESHTWIN_ASSIGN_OR_RETURN(e.magnitude, ParseMagnitude(raw.magnitude));
  e.source = raw.source;
  e.category = raw.category;
  e.text = raw.text;
  return e;
}

// ---------------------------------------------------------------- CSV

// One CSV record and the physical line it starts on.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};

// RFC 4180 records: quoted fields may hold commas, newlines and "" for a
// quote. Unquoted fields are trimmed of surrounding blanks (hand-written files
// often put a space after the comma); quoted ones are kept exactly, except that
// a CRLF inside them becomes LF, as the file's line ending is not part of the
// text. Blank lines are skipped.
class CsvReader {
 public:
  CsvReader(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  // False at the end of the text.
  absl::StatusOr<bool> Next(CsvRecord& record) {
    SkipBlankLines();
    if (pos_ >= text_.size()) return false;
    record.line = line_;
    record.fields.clear();
    while (true) {
      std::string field;
      // A blank after the comma (`a, "b, c"`) must not hide the opening quote.
      std::size_t first = pos_;
      while (first < text_.size() && (text_[first] == ' ' || text_[first] == '\t')) ++first;
      if (first < text_.size() && text_[first] == '"') {
        pos_ = first;
        MESHTWIN_RETURN_IF_ERROR(ReadQuoted(field));
      } else {
        ReadUnquoted(field);
      }
      record.fields.push_back(std::move(field));
      if (pos_ >= text_.size()) break;
      const char c = text_[pos_++];
      if (c == '\n') {
        ++line_;
        break;
      }
      // c == ',': another field follows (possibly empty, at the end of text).
      if (pos_ >= text_.size()) {
        record.fields.emplace_back();
        break;
      }
    }
    return true;
  }

 private:
  void SkipBlankLines() {
    while (pos_ < text_.size()) {
      std::size_t eol = text_.find('\n', pos_);
      if (eol == std::string_view::npos) eol = text_.size();
      if (!IsBlank(text_.substr(pos_, eol - pos_))) return;
      pos_ = eol == text_.size() ? eol : eol + 1;
      if (eol != text_.size()) ++line_;
    }
  }

  void ReadUnquoted(std::string& field) {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') ++pos_;
    field = Str(TrimBlanksAndCr(text_.substr(begin, pos_ - begin)));
  }

  absl::Status ReadQuoted(std::string& field) {
    const int first_line = line_;
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ >= text_.size()) {
        return LineError(
            source_, first_line,
            "expected a closing quote for the field opened on this line, got the end of "
            "the file");
      }
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          field += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        ++pos_;
        continue;
      }
      if (c == '\n') ++line_;
      field += c;
      ++pos_;
    }
    // Only blanks may separate the closing quote from the next comma.
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') {
      return LineError(
          source_, line_,
          std::string("expected ',' or the end of the line after a closing quote, got '") +
              text_[pos_] + "'");
    }
    return absl::OkStatus();
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// Maps the header's names to column positions; every name must be one of the
// seven, each exactly once.
absl::StatusOr<std::array<std::size_t, 7>> MapHeader(const CsvRecord& header,
                                                     std::string_view source) {
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::array<std::size_t, 7> index;
  index.fill(kNone);
  std::vector<std::string> unknown, twice, missing;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    std::string name = header.fields[i];
    // Column names are matched case-insensitively: "Start" is no typo worth failing on.
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto it = std::find(kColumns.begin(), kColumns.end(), name);
    if (it == kColumns.end()) {
      unknown.push_back(Quoted(header.fields[i]));
    } else if (std::size_t& slot = index[static_cast<std::size_t>(it - kColumns.begin())];
               slot != kNone) {
      twice.push_back(Quoted(header.fields[i]));
    } else {
      slot = i;
    }
  }
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    if (index[c] == kNone) missing.push_back(Quoted(kColumns[c]));
  }
  if (unknown.empty() && twice.empty() && missing.empty()) return index;
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  };
  std::string got;
  auto add = [&](const std::string& part) { got += (got.empty() ? "" : "; ") + part; };
  if (!unknown.empty()) {
    add(Cat(unknown.size() == 1 ? "unknown column " : "unknown columns ", join(unknown)));
  }
  if (!twice.empty()) add(Cat("repeated column ", join(twice)));
  if (!missing.empty()) add(Cat(missing.size() == 1 ? "no column " : "no columns ", join(missing)));
  return LineError(
      source, header.line,
      Cat("header: expected the columns ", ExpectedColumns(), " (in any order), got ", got));
}

// ---------------------------------------------------------------- JSON lines

// A time as text for the column's TimestampParser: numbers go through their
// JSON spelling, so a column mixing strings and numbers is caught like any
// other mix of formats. Null and "" mean absent.
absl::StatusOr<std::string> JsonTime(const Json& v, std::string_view key) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return absl::InvalidArgumentError(
      Str(key) + ": expected a timestamp (a string or a number), got " + Shown(v));
}

absl::StatusOr<std::string> JsonText(const Json& v, std::string_view key) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  return absl::InvalidArgumentError(Str(key) + ": expected a string, got " + Shown(v));
}

absl::StatusOr<std::string> JsonMagnitude(const Json& v) {
  if (v.is_null()) return std::string();
  if (v.is_number()) return v.dump();
  if (v.is_string()) {
    // A number written as a string (some exporters do) is still a number;
    // ParseMagnitude rejects anything else.
    const std::string s = v.get<std::string>();
    if (TrimBlanksAndCr(s).empty()) {
      return absl::InvalidArgumentError("magnitude: expected a finite number, got \"\"");
    }
    return s;
  }
  return absl::InvalidArgumentError(Cat("magnitude: expected a finite number, got ", Shown(v)));
}

absl::StatusOr<RawEvent> RawFromJson(const Json& obj) {
  RawEvent raw;
  const auto start = obj.find("start");
  if (start == obj.end()) {
    return absl::InvalidArgumentError("start: expected a timestamp, got no \"start\" key");
  }
  if (start->is_null()) return absl::InvalidArgumentError("start: expected a timestamp, got null");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "start") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.start, JsonTime(v, key));
    } else if (key == "end") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.end, JsonTime(v, key));
    } else if (key == "announced") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.announced, JsonTime(v, key));
    } else if (key == "magnitude") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.magnitude, JsonMagnitude(v));
    } else if (key == "source") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.source, JsonText(v, key));
    } else if (key == "category") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.category, JsonText(v, key));
    } else if (key == "text") {
      MESHTWIN_ASSIGN_OR_RETURN(raw.text, JsonText(v, key));
    } else {
      // Unknown keys are errors, as unknown CSV columns are: a misspelt
      // "announced" silently defaulting to `start` would leak the future to a
      // forecaster.
      return absl::InvalidArgumentError(
          Cat("expected only the keys ", ExpectedColumns(), ", got unknown key ", Quoted(key)));
    }
  }
  return raw;
}

// nlohmann's messages read "[json.exception.parse_error.101] parse error at
// line 1, column 9: syntax error ..."; the file and line are ours to give, so
// keep the column and the reason.
std::string JsonParseReason(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    const std::size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  const std::size_t col = what.find("column ");
  const std::size_t colon = what.find(": ");
  if (what.rfind("parse error", 0) == 0 && col != std::string_view::npos &&
      colon != std::string_view::npos && col < colon) {
    return Cat(what.substr(col, colon - col), what.substr(colon));
  }
  return Str(what);
}

// A CSV field, quoted when a reader would otherwise split, unquote or trim it.
std::string CsvField(std::string_view s) {
  const bool quote = s.find_first_of(",\"\n\r") != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' ||
                                     s.back() == '\t'));
  if (!quote) return Str(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvTime(double t) { return std::isfinite(t) ? FormatIso8601(t) : std::string(); }

}  // namespace

absl::StatusOr<std::vector<Event>> ParseEventsCsv(std::string_view text,
                                                  std::string_view source_name) {
  MESHTWIN_RETURN_IF_ERROR(CheckText(text, source_name));
  text = StripBom(text);
  if (IsBlank(text)) {
    return LineError(source_name, 1,
                     Cat("expected the header ", ExpectedColumns(), ", got an empty file"));
  }
  CsvReader reader(text, source_name);
  CsvRecord record;
  MESHTWIN_ASSIGN_OR_RETURN(bool has_header, reader.Next(record));
  (void)has_header;  // a non-blank text always has a first record
  MESHTWIN_ASSIGN_OR_RETURN(const auto index, MapHeader(record, source_name));
  const std::size_t columns = record.fields.size();

  std::vector<Event> events;
  TimeParsers parsers;
  while (true) {
    MESHTWIN_ASSIGN_OR_RETURN(bool more, reader.Next(record));
    if (!more) break;
    if (record.fields.size() != columns) {
      return LineError(source_name, record.line,
                       Cat("expected ", std::to_string(columns), " fields as in the header, got ",
                           std::to_string(record.fields.size())));
    }
    RawEvent raw;
    raw.start = record.fields[index[kStart]];
    raw.end = record.fields[index[kEnd]];
    raw.announced = record.fields[index[kAnnounced]];
    raw.source = record.fields[index[kSource]];
    raw.category = record.fields[index[kCategory]];
    raw.magnitude = record.fields[index[kMagnitude]];
    raw.text = record.fields[index[kText]];
    absl::StatusOr<Event> e = BuildEvent(raw, parsers);
    if (!e.ok()) return LineError(source_name, record.line, ErrorText(e.status()));
    events.push_back(std::move(*e));
  }
  return events;
}

absl::StatusOr<std::vector<Event>> ParseEventsJsonl(std::string_view text,
                                                    std::string_view source_name) {
  MESHTWIN_RETURN_IF_ERROR(CheckText(text, source_name));
  text = StripBom(text);
  if (IsBlank(text)) {
    return LineError(source_name, 1, "expected JSON lines of events, got an empty file");
  }
  std::vector<Event> events;
  TimeParsers parsers;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::string_view line = NextLine(text, pos);
    ++line_no;
    if (IsBlank(line)) continue;
    Json obj;
    try {
      obj = Json::parse(line);
    } catch (const Json::exception& e) {
      return LineError(
          source_name, line_no,
          Cat("expected a JSON object, got invalid JSON (", JsonParseReason(e.what()), ")"));
    }
    if (!obj.is_object()) {
      return LineError(source_name, line_no,
                       std::string("expected a JSON object, got ") + JsonTypeName(obj));
    }
    absl::StatusOr<RawEvent> raw = RawFromJson(obj);
    if (!raw.ok()) return LineError(source_name, line_no, ErrorText(raw.status()));
    absl::StatusOr<Event> e = BuildEvent(*raw, parsers);
    if (!e.ok()) return LineError(source_name, line_no, ErrorText(e.status()));
    events.push_back(std::move(*e));
  }
  return events;
}

absl::StatusOr<std::vector<Event>> ReadEventsFile(const std::string& path) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, text_util::ReadTextFile(path));
  const std::string_view body = StripBom(text);
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '{') return ParseEventsJsonl(text, path);
  return ParseEventsCsv(text, path);
}

std::string EventsToCsv(const std::vector<Event>& events) {
  std::string out = ExpectedColumns() + "\n";
  for (const Event& e : events) {
    out += CsvTime(e.start);
    out += ',';
    out += std::isnan(e.end) ? std::string() : CsvTime(e.end);
    out += ',';
    out += CsvTime(e.announced);
    out += ',';
    out += CsvField(e.source);
    out += ',';
    out += CsvField(e.category);
    out += ',';
    out += Num(e.magnitude);
    out += ',';
    out += CsvField(e.text);
    out += '\n';
  }
  return out;
}

absl::Status WriteEventsCsv(const std::string& path, const std::vector<Event>& events) {
  // Refuse what the reader would refuse, before touching the disk.
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const std::string where = path + ": event " + std::to_string(i + 1) + ": ";
    if (!std::isfinite(e.start) || !std::isfinite(e.announced)) {
      return absl::InvalidArgumentError(where + "start and announced must be finite times, got " +
                                        Num(e.start) + " and " + Num(e.announced));
    }
    if (!std::isnan(e.end) && !(std::isfinite(e.end) && e.end >= e.start)) {
      return absl::InvalidArgumentError(
          Cat(where, "end must be NaN or a finite time at or after start, got ", Num(e.end)));
    }
    if (!std::isfinite(e.magnitude)) {
      return absl::InvalidArgumentError(where + "magnitude must be finite, got " +
                                        Num(e.magnitude));
    }
  }
  return WriteTextFileAtomically(path, EventsToCsv(events));
}

void AttachEvents(Trace& trace, const std::vector<Event>& absolute_events) {
  trace.events.reserve(trace.events.size() + absolute_events.size());
  for (Event e : absolute_events) {
    e.start -= trace.epoch;
    e.end -= trace.epoch;  // NaN stays NaN: still an instant event
    e.announced -= trace.epoch;
    trace.events.push_back(std::move(e));
  }
  // NaN starts (never produced by the readers) sort last instead of breaking
  // the ordering.
  auto key = [](const Event& e) {
    return std::isnan(e.start) ? std::numeric_limits<double>::infinity() : e.start;
  };
  std::stable_sort(trace.events.begin(), trace.events.end(),
                   [&](const Event& a, const Event& b) { return key(a) < key(b); });
}

}  // namespace meshtwin
