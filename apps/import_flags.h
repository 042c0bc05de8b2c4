// The import flags several subcommands share (`trace import`, `trace
// inspect`, `train`, `backtest`): how to read a CSV, Prometheus JSON or HDF5
// trace, and which events to attach.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "datasets/csv_import.h"
#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

struct ImportFlags {
  std::string format = "auto";
  std::string time_col;
  std::vector<std::string> value_cols;
  bool no_time_col = false;
  std::string start;
  std::string step;
  std::string agg = "mean";
  std::string fill = "none";
  std::string time_format = "auto";
  double scale = 1;
  std::vector<double> missing;
  std::string demand = "first";
  std::string events;
  std::string unit;

  // Adds the flags to `cmd`.
  void Add(CLI::App* cmd);
  // The CSV/Prometheus options the flags describe (InvalidArgument naming a bad flag).
  absl::StatusOr<CsvImportOptions> Options() const;
  // Reads `path` in the chosen (or detected) format and attaches --events.
  absl::StatusOr<Trace> Load(const std::string& path, ImportReport* report) const;
};

}  // namespace meshtwin
