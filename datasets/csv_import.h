// Import of demand series from CSV (with a header) and from the JSON of
// Prometheus' query_range API, onto a regular time axis.
//
//   CsvImportOptions o;  o.time_col = "ts";  o.value_cols = {"rps"};
//   ImportReport report;
//   absl::StatusOr<Trace> t = ImportCsvFile("export.csv", o, &report);
//
// Rows may come unsorted (sorted, with a warning); duplicate timestamps are
// aggregated; gaps are reported and kept as NaN unless a fill is asked for.
// Bad input is InvalidArgument "FILE:LINE:COLUMN: what was expected, got what".
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/timestamp.h"
#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

enum class Aggregation { kSum, kMean, kMax };
enum class GapFill { kNone, kLinear, kZero, kPrevious };
enum class DemandFrom { kFirst, kSum };  // demand = the first value series, or their sum

absl::StatusOr<Aggregation> ParseAggregation(std::string_view name);  // sum|mean|max
absl::StatusOr<GapFill> ParseGapFill(std::string_view name);          // none|linear|zero|previous

struct CsvImportOptions {
  std::string time_col;                 // empty: a column named time/timestamp/ts/date/datetime, else none
  bool no_time_col = false;             // rows are consecutive samples; `start` and `step` give the axis
  std::vector<std::string> value_cols;  // empty: every other column
  TimeFormat time_format = TimeFormat::kAuto;
  Seconds step = 0;                     // 0: the data's own spacing; else resample with `agg`
  Aggregation agg = Aggregation::kMean; // how samples falling in one step (or duplicates) combine
  double start = 0;                     // unix time of the first row, with no_time_col
  GapFill fill = GapFill::kNone;
  double scale = 1;                     // every value is multiplied by this
  std::vector<double> missing_values;   // readings that mean "no data" (e.g. -1, 101 in Alibaba's trace)
  DemandFrom demand_from = DemandFrom::kFirst;
  double max_value = 1e12;              // larger readings are rejected as absurd
};

struct ImportReport {
  std::size_t rows = 0;            // data rows read
  std::size_t duplicates = 0;      // rows whose timestamp repeated an earlier one
  std::size_t missing = 0;         // samples left NaN (or filled) on the output axis
  std::size_t gaps = 0;            // runs of missing samples
  bool sorted = false;             // rows had to be sorted
  std::vector<std::string> warnings;  // one line each, for the user
};

absl::StatusOr<Trace> ImportCsvFile(const std::string& path, const CsvImportOptions& options,
                                    ImportReport* report);
absl::StatusOr<Trace> ImportCsvText(std::string_view text, std::string_view source_name,
                                    const CsvImportOptions& options, ImportReport* report);

// Prometheus: {"status":"success","data":{"resultType":"matrix","result":[...]}}.
// Each series becomes a channel named by its labels; demand is their sum
// (options.demand_from) on the union axis. time_col/value_cols are ignored.
absl::StatusOr<Trace> ImportPrometheusFile(const std::string& path, const CsvImportOptions& options,
                                           ImportReport* report);
absl::StatusOr<Trace> ImportPrometheusText(std::string_view text, std::string_view source_name,
                                           const CsvImportOptions& options, ImportReport* report);

}  // namespace meshtwin
