#include "apps/import_flags.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "apps/cli_util.h"
#include "datasets/events.h"
#include "datasets/timestamp.h"
#include "datasets/trace_file.h"

namespace meshtwin {

void ImportFlags::Add(CLI::App* cmd) {
  cmd->add_option("--format", format, "Input format: auto, csv, hdf5 or prometheus-json")
      ->capture_default_str();
  cmd->add_option("--time-col", time_col, "Time column (default: time/timestamp/ts/date)");
  cmd->add_option("--value-col", value_cols, "Value column(s) (default: all others)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-time-col", no_time_col,
                "Rows are consecutive samples: --start and --step give the time axis");
  cmd->add_option("--start", start,
                  "Time of the first row with --no-time-col (default 1970-01-01)");
  cmd->add_option("--step", step, "Sample spacing (e.g. 60s); resamples when the data is finer");
  cmd->add_option("--agg", agg, "How samples in one step combine: sum, mean or max")
      ->capture_default_str();
  cmd->add_option("--fill", fill, "Gaps: none (kept as NaN), linear, zero or previous")
      ->capture_default_str();
  cmd->add_option("--time-format", time_format, "auto, iso, s (unix seconds) or ms")
      ->capture_default_str();
  cmd->add_option("--scale", scale, "Multiply every value (e.g. CPU share -> requests/s)")
      ->capture_default_str();
  cmd->add_option("--missing", missing,
                  "A reading that means 'no data'; repeat for more (--missing -1 --missing 101)")
      ->allow_extra_args(false);
  cmd->add_option("--demand", demand, "Demand is the first value column or the sum: first|sum")
      ->capture_default_str();
  cmd->add_option("--events", events, "Events to attach (CSV or JSON lines)");
  cmd->add_option("--unit", unit, "Unit of the values (default requests/s, what simulate replays)");
}

absl::StatusOr<CsvImportOptions> ImportFlags::Options() const {
  CsvImportOptions o;
  o.time_col = time_col;
  o.value_cols = value_cols;
  o.no_time_col = no_time_col;
  if (!start.empty()) {
    absl::StatusOr<double> t = ParseTimestamp(start);
    if (!t.ok()) return absl::InvalidArgumentError("--start: " + ErrorText(t.status()));
    o.start = *t;
  }
  if (!step.empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(o.step, ParseDurationFlag("--step", step));
  }
  absl::StatusOr<Aggregation> a = ParseAggregation(agg);
  if (!a.ok()) return absl::InvalidArgumentError("--agg: " + ErrorText(a.status()));
  o.agg = *a;
  absl::StatusOr<GapFill> f = ParseGapFill(fill);
  if (!f.ok()) return absl::InvalidArgumentError("--fill: " + ErrorText(f.status()));
  o.fill = *f;
  absl::StatusOr<TimeFormat> tf = ParseTimeFormatName(time_format);
  if (!tf.ok()) return absl::InvalidArgumentError("--time-format: " + ErrorText(tf.status()));
  o.time_format = *tf;
  if (!(scale > 0) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError(fmt::format("--scale: expected a number > 0, got {}", scale));
  }
  o.scale = scale;
  o.missing_values = missing;
  if (demand != "first" && demand != "sum") {
    return absl::InvalidArgumentError("--demand: expected first or sum, got '" + demand + "'");
  }
  o.demand_from = demand == "sum" ? DemandFrom::kSum : DemandFrom::kFirst;
  return o;
}

absl::StatusOr<Trace> ImportFlags::Load(const std::string& path, ImportReport* report) const {
  if (format != "auto" && format != "csv" && format != "hdf5" && format != "prometheus-json") {
    return absl::InvalidArgumentError(
        "--format: expected auto, csv, hdf5 or prometheus-json, got '" + format + "'");
  }
  MESHTWIN_ASSIGN_OR_RETURN(CsvImportOptions o, Options());
  std::string f = format;
  if (f == "auto") {
    f = LooksLikeHdf5(path)                                  ? "hdf5"
        : std::filesystem::path(path).extension() == ".json" ? "prometheus-json"
                                                             : "csv";
  }
  absl::StatusOr<Trace> trace;
  if (f == "hdf5") {
    trace = ReadTraceFile(path);
  } else if (f == "prometheus-json") {
    if (demand == "first" && value_cols.empty()) o.demand_from = DemandFrom::kSum;
    trace = ImportPrometheusFile(path, o, report);
  } else {
    trace = ImportCsvFile(path, o, report);
  }
  if (!trace.ok()) return trace.status();
  if (!unit.empty()) trace->unit = unit;
  if (!events.empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Event> ev, ReadEventsFile(events));
    AttachEvents(*trace, ev);
  }
  return trace;
}

}  // namespace meshtwin
