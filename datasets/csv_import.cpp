// CSV import, and the axis building shared with the Prometheus import
// (import_internal::BuildTrace).
//
// Error positions are "FILE:LINE:COLUMN": LINE is the 1-based physical line
// (the header is line 1; a quoted field spanning lines counts every line),
// COLUMN is the 1-based character column (UTF-8 code points, as editors count
// them) where the offending field starts, or where the missing field should
// have started. Together they are what editors and IDEs jump to.
//
// Speed: the file is read in one piece and parsed in place. Fields are
// string_views into the buffer (the per-row field vector is reused), numbers
// go through std::from_chars and timestamps through TimestampParser, so the
// hot loop allocates nothing: a million ISO-timestamped rows (33 MB) import in
// about 0.1 s on one core (bench/bench_csv_import.cpp).

#include "datasets/csv_import.h"
#include "datasets/import_internal.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "datasets/text_util.h"

namespace meshtwin {
namespace {

using text_util::Absl;
using text_util::EqualsIgnoreCase;
using text_util::Num;
using text_util::Quoted;
using text_util::TrimBlanks;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A trace longer than this is almost surely a wrong --step or a bad time
// column (a stray year-1970 row); refusing beats allocating gigabytes.
constexpr std::size_t kMaxSamples = 100'000'000;

// Readings within this fraction of a step of a sample boundary count as on
// it, so 59.9999999 s (float noise of unix-ms timestamps) lands in sample 1.
constexpr double kGridTolerance = 1e-6;

// Gap runs listed one per warning before the rest are summarised.
constexpr std::size_t kMaxGapWarnings = 10;

constexpr char kTimeColumnNames[][10] = {"time", "timestamp", "ts", "date", "datetime"};

const char* AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kSum:
      return "sum";
    case Aggregation::kMean:
      return "mean";
    case Aggregation::kMax:
      return "max";
  }
  return "?";
}

const char* GapFillName(GapFill f) {
  switch (f) {
    case GapFill::kNone:
      return "none";
    case GapFill::kLinear:
      return "linear";
    case GapFill::kZero:
      return "zero";
    case GapFill::kPrevious:
      return "previous";
  }
  return "?";
}

// Byte offset of the first byte of `s` that breaks UTF-8, or npos.
std::size_t InvalidUtf8At(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// ---------------------------------------------------------------------------
// Locating errors. Only the error path computes positions, so the hot loop
// carries nothing but the line number of the record it is on.

class CsvErrors {
 public:
  CsvErrors(std::string_view source, const char* text_begin)
      : source_(source), text_begin_(text_begin) {}

  // "FILE:LINE:COLUMN: what" for position `at` of the record that starts at
  // `record` on line `record_line`.
  absl::Status At(const char* record, std::size_t record_line, const char* at,
                  std::string_view what) const {
    std::size_t line = record_line;
    for (const char* p = record; p < at; ++p) line += *p == '\n' ? 1 : 0;
    const char* line_start = at;
    while (line_start > text_begin_ && line_start[-1] != '\n') --line_start;
    std::size_t column = 1;
    for (const char* p = line_start; p < at; ++p) {
      column += (static_cast<unsigned char>(*p) & 0xC0) != 0x80 ? 1 : 0;  // code points
    }
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(source_), ":", line, ":", column, ": ", Absl(what)));
  }

  absl::Status Line(std::size_t line, std::size_t column, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(source_), ":", line, ":", column, ": ", Absl(what)));
  }

  // An error about the file as a whole or the options: "FILE: what".
  absl::Status File(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(Absl(source_), ": ", Absl(what)));
  }

 private:
  std::string_view source_;
  const char* text_begin_;
};

// ---------------------------------------------------------------------------
// Splitting records.

struct Field {
  const char* raw = nullptr;      // where the field starts (its opening quote, if quoted)
  const char* raw_end = nullptr;  // just past it (its closing quote; before any '\r')
  std::string_view text;          // contents, without quotes; "" escapes still doubled
  bool escaped = false;           // contains "" escapes
};

// Splits the record starting at `p` into `fields` and moves `p` past its line
// end. `newlines` receives the line breaks consumed (quoted fields may hold
// some). A '\r' before the line end belongs to the line end (CRLF files).
absl::Status SplitRecord(const char*& p, const char* end, const CsvErrors& errors,
                         std::size_t record_line, std::vector<Field>& fields,
                         std::size_t* newlines) {
  const char* const record = p;
  fields.clear();
  *newlines = 0;
  for (;;) {
    Field f;
    f.raw = p;
    if (p < end && *p == '"') {
      const char* const content = ++p;
      for (;;) {
        if (p == end) {
          return errors.At(record, record_line, f.raw,
                           "expected a closing quote for the field that starts here, got the end "
                           "of the file");
        }
        if (*p == '"') {
          if (p + 1 < end && p[1] == '"') {
            f.escaped = true;
            p += 2;
            continue;
          }
          break;
        }
        *newlines += *p == '\n' ? 1 : 0;
        ++p;
      }
      f.text = std::string_view(content, static_cast<std::size_t>(p - content));
      ++p;  // the closing quote
      f.raw_end = p;
      if (p < end && *p == '\r' && (p + 1 == end || p[1] == '\n')) ++p;
      if (p < end && *p != ',' && *p != '\n') {
        return errors.At(record, record_line, p,
                         absl::StrCat("expected ',' or the end of the line after a closing "
                                      "quote, got ",
                                      Quoted(std::string_view(p, 1))));
      }
    } else {
      const char* const start = p;
      while (p < end && *p != ',' && *p != '\n') ++p;
      const char* stop = p;
      if (stop > start && stop[-1] == '\r' && (p == end || *p == '\n')) --stop;
      f.text = std::string_view(start, static_cast<std::size_t>(stop - start));
      f.raw_end = stop;
    }
    fields.push_back(f);
    if (p == end) return absl::OkStatus();
    if (*p == ',') {
      ++p;
      continue;
    }
    ++p;  // '\n'
    ++*newlines;
    return absl::OkStatus();
  }
}

// A header cell: quotes resolved, surrounding blanks dropped.
std::string HeaderName(const Field& f) {
  std::string name(TrimBlanks(f.text));
  if (f.escaped) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
      out += name[i];
      if (name[i] == '"' && i + 1 < name.size() && name[i + 1] == '"') ++i;
    }
    name = std::move(out);
  }
  return name;
}

// Index of the header column called `name` (exact match first, then ignoring
// case if that is unambiguous), or -1.
int FindColumn(const std::vector<std::string>& header, std::string_view name) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  int found = -1;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (EqualsIgnoreCase(header[i], name)) {
      if (found >= 0) return -1;
      found = static_cast<int>(i);
    }
  }
  return found;
}

std::string HeaderList(const std::vector<std::string>& header) {
  std::string out;
  for (const std::string& h : header) absl::StrAppend(&out, out.empty() ? "" : ", ", h);
  return out;
}

absl::Status CheckOptions(const CsvErrors& errors, const CsvImportOptions& options) {
  if (!(options.step >= 0) || !std::isfinite(options.step)) {
    return errors.File(absl::StrCat("expected a step > 0 seconds (or 0 to infer it), got ",
                                    Num(options.step)));
  }
  if (!std::isfinite(options.scale)) {
    return errors.File(absl::StrCat("expected a finite scale, got ", Num(options.scale)));
  }
  if (options.no_time_col) {
    if (!options.time_col.empty()) {
      return errors.File(absl::StrCat("got both a time column ('", options.time_col,
                                      "') and no_time_col; give one of --time-col and "
                                      "--no-time-col"));
    }
    if (options.step <= 0) {
      return errors.File(
          "expected a step (--step SECONDS) with --no-time-col: the rows carry no times");
    }
    if (!std::isfinite(options.start)) {
      return errors.File(
          absl::StrCat("expected a finite start time, got ", Num(options.start)));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Axis building, aggregation, gaps and fill (shared with Prometheus).

// Fills the NaN samples of `v` in place. Leading and trailing runs (one
// neighbour only) take the nearest known value for kLinear and kPrevious, so
// a filled series has no NaN left unless it had no value at all.
void FillGaps(std::vector<double>& v, GapFill fill) {
  if (fill == GapFill::kNone) return;
  if (fill == GapFill::kZero) {
    for (double& x : v) x = std::isnan(x) ? 0.0 : x;
    return;
  }
  const std::size_t n = v.size();
  std::size_t first = 0;
  while (first < n && std::isnan(v[first])) ++first;
  if (first == n) return;  // nothing to fill from
  std::fill(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(first), v[first]);
  std::size_t last_known = first;
  for (std::size_t i = first + 1; i < n; ++i) {
    if (std::isnan(v[i])) continue;
    if (i > last_known + 1) {
      const double a = v[last_known];
      const double b = v[i];
      const double span = static_cast<double>(i - last_known);
      for (std::size_t k = last_known + 1; k < i; ++k) {
        v[k] = fill == GapFill::kPrevious
                   ? a
                   : a + (b - a) * static_cast<double>(k - last_known) / span;
      }
    }
    last_known = i;
  }
  std::fill(v.begin() + static_cast<std::ptrdiff_t>(last_known) + 1, v.end(), v[last_known]);
}

// Runs of NaN in `v`: (first index, length).
std::vector<std::pair<std::size_t, std::size_t>> MissingRuns(const std::vector<double>& v) {
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::size_t i = 0; i < v.size();) {
    if (!std::isnan(v[i])) {
      ++i;
      continue;
    }
    const std::size_t first = i;
    while (i < v.size() && std::isnan(v[i])) ++i;
    runs.emplace_back(first, i - first);
  }
  return runs;
}

}  // namespace

namespace import_internal {

absl::StatusOr<double> CheckReading(double reading, std::string_view text, std::string_view where,
                                    const CsvImportOptions& options) {
  for (const double m : options.missing_values) {
    if (reading == m) return kNaN;
  }
  if (!std::isfinite(reading)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a finite number in ", Absl(where), ", got ", Quoted(text),
                     " (leave the field empty for a missing sample)"));
  }
  const double v = reading * options.scale;
  if (v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a non-negative number in ", Absl(where), ", got ", Quoted(text),
                     options.scale != 1 ? " after scaling" : "", " (negative demand)"));
  }
  if (v > options.max_value) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected at most ", Num(options.max_value), " in ", Absl(where),
                     ", got ", Quoted(text), options.scale != 1 ? " after scaling" : "",
                     " (absurd value; raise the maximum if it is real)"));
  }
  return v;
}

absl::StatusOr<Trace> BuildTrace(const std::vector<SeriesView>& series, double time_origin,
                                 std::string_view source_name, std::string provenance,
                                 bool always_channels, const CsvImportOptions& options,
                                 ImportReport* report) {
  const CsvErrors errors(source_name, nullptr);
  if (series.empty()) return errors.File("expected at least one value series, got none");
  if (!(options.step >= 0) || !std::isfinite(options.step)) {
    return errors.File(absl::StrCat("expected a step > 0 seconds (or 0 to infer it), got ",
                                    Num(options.step)));
  }

  // Each distinct time column once (CSV value columns share one), in order.
  struct TimeColumn {
    const double* times;
    std::size_t size;
  };
  std::vector<TimeColumn> columns;
  for (const SeriesView& s : series) {
    const bool seen = std::any_of(columns.begin(), columns.end(), [&](const TimeColumn& c) {
      return c.times == s.times && c.size == s.size;
    });
    if (!seen) columns.push_back({s.times, s.size});
  }

  // Range, order and duplicates. Samples are placed by time below, so rows
  // need no reordering: the result is what a stable sort would give.
  double t_min = std::numeric_limits<double>::infinity();
  double t_max = -std::numeric_limits<double>::infinity();
  std::size_t rows = 0;
  bool unsorted = false;
  std::size_t duplicates = 0;
  std::vector<double> scratch;
  for (const TimeColumn& c : columns) {
    rows += c.size;
    bool sorted = true;
    for (std::size_t i = 0; i < c.size; ++i) {
      t_min = std::min(t_min, c.times[i]);
      t_max = std::max(t_max, c.times[i]);
      if (i > 0 && c.times[i] < c.times[i - 1]) sorted = false;
    }
    const double* t = c.times;
    if (!sorted) {
      unsorted = true;
      scratch.assign(c.times, c.times + c.size);
      std::sort(scratch.begin(), scratch.end());
      t = scratch.data();
    }
    for (std::size_t i = 1; i < c.size; ++i) duplicates += t[i] == t[i - 1] ? 1 : 0;
  }
  if (rows == 0) return errors.File("expected samples to import, got none");

  // The step: given, or the most common spacing between distinct times
  // (rounded to the millisecond, so float noise does not split the vote; ties
  // go to the smaller spacing).
  double step = options.step;
  const bool inferred = step <= 0;
  if (inferred) {
    const double* t = columns[0].times;
    std::size_t n = columns[0].size;
    if (columns.size() > 1 || unsorted) {
      scratch.clear();
      for (const TimeColumn& c : columns) scratch.insert(scratch.end(), c.times, c.times + c.size);
      std::sort(scratch.begin(), scratch.end());
      t = scratch.data();
      n = scratch.size();
    }
    std::map<std::int64_t, std::size_t> votes;
    std::int64_t run_key = 0;
    std::size_t run = 0;
    for (std::size_t i = 1; i < n; ++i) {
      if (t[i] == t[i - 1]) continue;
      // Below half a millisecond there is nothing to vote for; beyond ~300
      // years the spacing is no step (and would not fit the integer key).
      const double ms = (t[i] - t[i - 1]) * 1000.0;
      if (!(ms >= 0.5) || ms > 1e13) continue;
      const std::int64_t key = std::llround(ms);
      if (key != run_key) {  // runs keep the map out of the common case
        if (run > 0) votes[run_key] += run;
        run_key = key;
        run = 0;
      }
      ++run;
    }
    if (run > 0) votes[run_key] += run;
    if (votes.empty()) {
      return errors.File(absl::StrCat("cannot infer the step: ",
                                      rows == 1
                                          ? "there is a single sample"
                                          : absl::StrCat("every sample has the same time (",
                                                         FormatIso8601(time_origin + t_min), ")"),
                                      "; give the step (--step SECONDS)"));
    }
    std::size_t best = 0;
    for (const auto& [key, count] : votes) {
      if (count > best) {
        best = count;
        step = static_cast<double>(key) / 1000.0;
      }
    }
  }

  const double span = (t_max - t_min) / step;
  if (span + 1 > static_cast<double>(kMaxSamples)) {
    return errors.File(absl::StrCat(
        "expected at most ", kMaxSamples, " samples, got a time axis of ", Num(span + 1),
        " (", FormatIso8601(time_origin + t_min), " to ", FormatIso8601(time_origin + t_max),
        " every ", Num(step), " s); check the step and the time column"));
  }
  const std::size_t n = static_cast<std::size_t>(std::floor(span + kGridTolerance)) + 1;
  const auto bucket = [&](double t) {
    const double k = std::floor((t - t_min) / step + kGridTolerance);
    return std::min(static_cast<std::size_t>(std::max(k, 0.0)), n - 1);
  };

  std::size_t off_grid = 0;
  if (inferred) {
    for (const TimeColumn& c : columns) {
      for (std::size_t i = 0; i < c.size; ++i) {
        const double x = (c.times[i] - t_min) / step;
        off_grid += std::fabs(x - std::round(x)) > 1e-3 ? 1 : 0;
      }
    }
  }

  // Readings into samples, per series.
  std::vector<std::vector<double>> values(series.size());
  std::vector<std::uint32_t> count(n);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const SeriesView& view = series[s];
    std::vector<double>& acc = values[s];
    acc.assign(n,
               options.agg == Aggregation::kMax ? -std::numeric_limits<double>::infinity() : 0.0);
    std::fill(count.begin(), count.end(), 0);
    for (std::size_t i = 0; i < view.size; ++i) {
      const double v = view.values[i];
      if (std::isnan(v)) continue;
      const std::size_t k = bucket(view.times[i]);
      acc[k] = options.agg == Aggregation::kMax ? std::max(acc[k], v) : acc[k] + v;
      ++count[k];
    }
    for (std::size_t k = 0; k < n; ++k) {
      if (count[k] == 0) {
        acc[k] = kNaN;
      } else if (options.agg == Aggregation::kMean) {
        acc[k] /= count[k];
      }
    }
  }

  // Demand: the first series, or the sum of those with a value.
  std::vector<double> demand;
  if (options.demand_from == DemandFrom::kFirst || series.size() == 1) {
    demand = values[0];
  } else {
    demand.assign(n, kNaN);
    for (const std::vector<double>& v : values) {
      for (std::size_t k = 0; k < n; ++k) {
        if (!std::isnan(v[k])) demand[k] = std::isnan(demand[k]) ? v[k] : demand[k] + v[k];
      }
    }
  }

  // The report, in the order a user reads it: input order, duplicates, grid,
  // then the gaps of the output.
  report->sorted = unsorted;
  report->duplicates = duplicates;
  if (unsorted) report->warnings.push_back("rows were not in time order; sorted");
  if (duplicates > 0) {
    report->warnings.push_back(absl::StrCat(duplicates, duplicates == 1 ? " row" : " rows",
                                            " repeated an earlier timestamp; combined with ",
                                            AggregationName(options.agg)));
  }
  if (off_grid > 0) {
    report->warnings.push_back(
        absl::StrCat(off_grid, off_grid == 1 ? " row was" : " rows were", " not on the inferred ",
                     Num(step), " s grid; each was combined (",
                     AggregationName(options.agg), ") into the sample it falls in"));
  }
  const double epoch = time_origin + t_min;
  const auto runs = MissingRuns(demand);
  report->gaps = runs.size();
  report->missing = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto [first, length] = runs[r];
    report->missing += length;
    if (r < kMaxGapWarnings) {
      report->warnings.push_back(absl::StrCat(
          "gap: no data for ", length, length == 1 ? " sample" : " samples", " from ",
          FormatIso8601(epoch + static_cast<double>(first) * step), " to ",
          FormatIso8601(epoch + static_cast<double>(first + length) * step), " (sample ", first,
          length == 1 ? "" : absl::StrCat("..", first + length - 1), ")"));
    }
  }
  if (runs.size() > kMaxGapWarnings) {
    report->warnings.push_back(absl::StrCat("... ", runs.size() - kMaxGapWarnings, " more gaps"));
  }
  if (report->missing > 0) {
    report->warnings.push_back(
        options.fill == GapFill::kNone
            ? absl::StrCat(report->missing, " of ", n,
                           " samples missing; kept as NaN (a fill mode would fill them)")
            : absl::StrCat(report->missing, " of ", n, " samples missing; filled (",
                           GapFillName(options.fill), ")"));
  }
  // A channel's own holes are hidden in a summed demand: say so.
  if (series.size() > 1) {
    for (std::size_t s = 0; s < series.size(); ++s) {
      if (s == 0 && options.demand_from == DemandFrom::kFirst) continue;
      const auto missing = static_cast<std::size_t>(std::count_if(
          values[s].begin(), values[s].end(), [](double v) { return std::isnan(v); }));
      if (missing > 0) {
        report->warnings.push_back(absl::StrCat("series '", Absl(series[s].name), "': no data for ",
                                                missing, " of ", n, " samples"));
      }
    }
  }

  Trace trace;
  trace.start = 0;
  trace.step = step;
  trace.epoch = epoch;
  FillGaps(demand, options.fill);
  trace.demand = std::move(demand);
  if (always_channels || series.size() > 1) {
    for (std::size_t s = 0; s < series.size(); ++s) {
      FillGaps(values[s], options.fill);
      trace.channels.push_back(
          TraceChannel{std::string(series[s].name), "series", "", std::move(values[s])});
    }
  }
  trace.provenance =
      absl::StrCat(provenance, " step=", Num(step), " agg=", AggregationName(options.agg));
  if (options.fill != GapFill::kNone) {
    absl::StrAppend(&trace.provenance, " fill=", GapFillName(options.fill));
  }
  return trace;
}

}  // namespace import_internal

absl::StatusOr<Aggregation> ParseAggregation(std::string_view name) {
  if (name == "sum") return Aggregation::kSum;
  if (name == "mean") return Aggregation::kMean;
  if (name == "max") return Aggregation::kMax;
  return absl::InvalidArgumentError(
      absl::StrCat("expected an aggregation sum, mean or max, got ", Quoted(name)));
}

absl::StatusOr<GapFill> ParseGapFill(std::string_view name) {
  if (name == "none") return GapFill::kNone;
  if (name == "linear") return GapFill::kLinear;
  if (name == "zero") return GapFill::kZero;
  if (name == "previous") return GapFill::kPrevious;
  return absl::InvalidArgumentError(
      absl::StrCat("expected a gap fill none, linear, zero or previous, got ", Quoted(name)));
}

absl::StatusOr<Trace> ImportCsvText(std::string_view text, std::string_view source_name,
                                    const CsvImportOptions& options, ImportReport* report) {
  ImportReport local;
  if (report == nullptr) report = &local;
  *report = ImportReport();

  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  const char* const begin = text.data();
  const char* end = begin + text.size();
  const CsvErrors errors(source_name, begin);
  MESHTWIN_RETURN_IF_ERROR(CheckOptions(errors, options));

  // Blank trailing lines are not rows (editors and exporters add them).
  while (end > begin && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) {
    --end;
  }
  if (begin == end) return errors.At(begin, 1, begin, "expected a header line, got an empty file");
  if (const void* nul = std::memchr(begin, '\0', static_cast<std::size_t>(end - begin))) {
    return errors.At(begin, 1, static_cast<const char*>(nul),
                     "not a text CSV file: expected text, got a NUL byte (binary data?)");
  }

  // The header.
  const char* p = begin;
  std::vector<Field> fields;
  std::size_t newlines = 0;
  MESHTWIN_RETURN_IF_ERROR(SplitRecord(p, end, errors, 1, fields, &newlines));
  if (const std::size_t bad =
          InvalidUtf8At(std::string_view(begin, static_cast<std::size_t>(p - begin)));
      bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(begin[bad]));
    return errors.At(begin, 1, begin + bad,
                     absl::StrCat("not a text CSV file: expected a UTF-8 header, got byte ", byte));
  }
  std::vector<std::string> header;
  for (const Field& f : fields) header.push_back(HeaderName(f));
  const std::size_t width = header.size();
  std::size_t line = 1 + newlines;
  if (p == end) return errors.Line(2, 1, "expected data rows after the header, got none");

  // Which column is the time, which are values.
  int time_index = -1;
  if (!options.no_time_col) {
    if (!options.time_col.empty()) {
      time_index = FindColumn(header, options.time_col);
      if (time_index < 0) {
        return errors.At(begin, 1, begin,
                         absl::StrCat("expected the time column '", options.time_col,
                                      "' in the header, got columns ", HeaderList(header)));
      }
    } else {
      for (std::size_t i = 0; i < width && time_index < 0; ++i) {
        for (const char* name : kTimeColumnNames) {
          if (EqualsIgnoreCase(header[i], name)) {
            time_index = static_cast<int>(i);
            break;
          }
        }
      }
      if (time_index < 0) {
        return errors.At(begin, 1, begin,
                         absl::StrCat("expected a time column (named time, timestamp, ts, date or "
                                      "datetime), got columns ",
                                      HeaderList(header),
                                      "; name it with --time-col, or use --no-time-col with "
                                      "--step (and --start) if rows are equally spaced samples"));
      }
    }
  }
  std::vector<std::size_t> value_index;
  if (!options.value_cols.empty()) {
    for (const std::string& name : options.value_cols) {
      const int i = FindColumn(header, name);
      if (i < 0) {
        return errors.At(begin, 1, begin,
                         absl::StrCat("expected a value column of the header, got unknown column '",
                                      name, "' (columns: ", HeaderList(header), ")"));
      }
      if (i == time_index) {
        return errors.At(begin, 1, begin,
                         absl::StrCat("expected a value column, got the time column '", name, "'"));
      }
      value_index.push_back(static_cast<std::size_t>(i));
    }
  } else {
    for (std::size_t i = 0; i < width; ++i) {
      if (static_cast<int>(i) != time_index) value_index.push_back(i);
    }
  }
  if (value_index.empty()) {
    return errors.At(begin, 1, begin,
                     absl::StrCat("expected at least one value column besides the time column, "
                                  "got columns ",
                                  HeaderList(header)));
  }
  for (std::size_t a = 0; a < value_index.size(); ++a) {
    for (std::size_t b = 0; b < a; ++b) {
      if (header[value_index[a]] == header[value_index[b]]) {
        return errors.At(
            begin, 1, begin,
            absl::StrCat("expected distinct value column names, got '", header[value_index[a]],
                         "' twice (columns ", value_index[b] + 1, " and ", value_index[a] + 1,
                         "); pick the columns to import"));
      }
    }
  }

  // The rows.
  const std::size_t expected_rows =
      static_cast<std::size_t>(std::count(p, static_cast<const char*>(end), '\n')) + 1;
  std::vector<double> times;
  times.reserve(expected_rows);
  std::vector<std::vector<double>> values(value_index.size());
  for (std::vector<double>& v : values) v.reserve(expected_rows);
  TimestampParser parser(options.time_format);
  // Built once: the hot loop below must not allocate.
  std::vector<std::string> where;
  for (const std::size_t i : value_index) where.push_back(absl::StrCat("column '", header[i], "'"));
  const std::string time_name = time_index >= 0 ? header[static_cast<std::size_t>(time_index)] : "";

  while (p < end) {
    const char* const record = p;
    const std::size_t record_line = line;
    MESHTWIN_RETURN_IF_ERROR(SplitRecord(p, end, errors, record_line, fields, &newlines));
    line += newlines;
    if (fields.size() != width) {
      if (fields.size() == 1 && fields[0].text.empty()) {
        return errors.At(record, record_line, record,
                         absl::StrCat("expected ", width,
                                      " fields like the header, got an "
                                      "empty line"));
      }
      // Too few: where the next field should start; too many: the first extra one.
      const char* at = fields.size() < width ? fields.back().raw_end : fields[width].raw;
      return errors.At(
          record, record_line, at,
          absl::StrCat("expected ", width, " fields like the header, got ", fields.size()));
    }
    if (time_index >= 0) {
      const Field& f = fields[static_cast<std::size_t>(time_index)];
      absl::StatusOr<double> t = parser.Parse(f.text);
      if (!t.ok()) {
        return errors.At(record, record_line, f.raw,
                         absl::StrCat("column '", time_name, "': ", ErrorText(t.status())));
      }
      times.push_back(*t);
    }
    for (std::size_t c = 0; c < value_index.size(); ++c) {
      const Field& f = fields[value_index[c]];
      const std::string_view s = TrimBlanks(f.text);
      if (s.empty()) {
        values[c].push_back(kNaN);
        continue;
      }
      // from_chars takes no '+'; some exporters write one.
      const char* first = s.data();
      const char* const last = s.data() + s.size();
      if (*first == '+' && s.size() > 1) ++first;
      double reading = 0;
      const auto [ptr, ec] = std::from_chars(first, last, reading);
      if (ec != std::errc() || ptr != last) {
        return errors.At(
            record, record_line, f.raw,
            absl::StrCat("expected a number in ", where[c], ", got ", Quoted(s),
                         ec == std::errc::result_out_of_range ? " (out of range)" : ""));
      }
      absl::StatusOr<double> v = import_internal::CheckReading(reading, s, where[c], options);
      if (!v.ok()) return errors.At(record, record_line, f.raw, ErrorText(v.status()));
      values[c].push_back(*v);
    }
  }

  const std::size_t rows = values[0].size();
  report->rows = rows;
  double time_origin = 0;
  if (options.no_time_col) {
    // Offsets from `start` rather than absolute times: i*step is exact where
    // start + i*step would round at unix-time magnitudes.
    time_origin = options.start;
    times.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) times[i] = static_cast<double>(i) * options.step;
  }

  std::vector<import_internal::SeriesView> series;
  std::string value_names;
  for (std::size_t c = 0; c < value_index.size(); ++c) {
    const std::string& name = header[value_index[c]];
    series.push_back({name, times.data(), values[c].data(), rows});
    absl::StrAppend(&value_names, c == 0 ? "" : ",", name);
  }
  std::string provenance = absl::StrCat("csv:", Absl(source_name),
                                        " time_col=", options.no_time_col ? "(none)" : time_name);
  if (options.no_time_col) absl::StrAppend(&provenance, " start=", Num(options.start));
  absl::StrAppend(&provenance, " value_cols=", value_names);
  if (options.scale != 1) absl::StrAppend(&provenance, " scale=", Num(options.scale));
  if (!options.missing_values.empty()) {
    absl::StrAppend(&provenance, " missing=");
    for (std::size_t i = 0; i < options.missing_values.size(); ++i) {
      absl::StrAppend(&provenance, i == 0 ? "" : ",", Num(options.missing_values[i]));
    }
  }
  return import_internal::BuildTrace(series, time_origin, source_name, std::move(provenance),
                                     /*always_channels=*/false, options, report);
}

absl::StatusOr<Trace> ImportCsvFile(const std::string& path, const CsvImportOptions& options,
                                    ImportReport* report) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, text_util::ReadWholeFile(path));
  return ImportCsvText(text, path, options, report);
}

}  // namespace meshtwin
