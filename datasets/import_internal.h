// Internal to datasets/: the axis building, gap handling and reading checks
// that the CSV and Prometheus importers share. Not part of the public API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datasets/csv_import.h"

namespace meshtwin {

namespace import_internal {

// One imported series: its readings at `times` (seconds after the `time_origin`
// given to BuildTrace; NaN value = no reading). Series that share one time
// column (CSV) pass the same `times` span, so rows are counted once.
struct SeriesView {
  std::string_view name;
  const double* times = nullptr;
  const double* values = nullptr;
  std::size_t size = 0;
};

// Puts the series on a regular axis (options.step, else the most common
// spacing), combines readings per sample with options.agg, derives demand per
// options.demand_from, reports and fills gaps, and names the result
// `provenance` + " step=... agg=...". `always_channels`: a channel per series
// even when there is only one. Fills report->{duplicates,missing,gaps,sorted,
// warnings}; the caller sets report->rows.
absl::StatusOr<Trace> BuildTrace(const std::vector<SeriesView>& series, double time_origin,
                                 std::string_view source_name, std::string provenance,
                                 bool always_channels, const CsvImportOptions& options,
                                 ImportReport* report);

// A reading after options.missing_values, options.scale and the sanity checks:
// the value to store, NaN for "no data", or InvalidArgument with what was
// expected (no location; the caller adds it). `where` names the series in
// the message, e.g. "column 'rps'".
absl::StatusOr<double> CheckReading(double reading, std::string_view text, std::string_view where,
                                    const CsvImportOptions& options);

}  // namespace import_internal

}  // namespace meshtwin
