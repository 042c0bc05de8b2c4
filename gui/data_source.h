// Where the GUI's data comes from. Three kinds behind one interface:
//   * a results file (read once, complete);
//   * a running simulation: a child `meshtwin simulate ... --stream` whose
//     JSON lines (gui/sim_stream.h) grow the data tick by tick, replaced by
//     the results file it writes when it ends;
//   * a live manager: a running `meshtwin manager` followed over its
//     WatchService with mutual TLS (gui/live_source.h).
//
//   DataSourceSpec spec;
//   spec.kind = SourceKind::kRunningSimulation;
//   spec.scenario = "product-launch";
//   spec.binary = "/usr/bin/meshtwin";
//   MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> src, OpenDataSource(spec));
//   absl::Status st = src->Poll();   // once per frame, never blocks
//
// Sources are not thread-safe; the GUI polls them from its one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "twin/status.h"

namespace meshtwin::gui {

enum class SourceKind { kResultsFile, kRunningSimulation, kLiveManager };
const char* ToString(SourceKind kind);

class DataSource {
 public:
  virtual ~DataSource() = default;

  // What the user sees in the source list ("run.h5", "sim product-launch").
  virtual std::string name() const = 0;
  virtual SourceKind kind() const = 0;
  // Takes in whatever arrived since the last call; never blocks. An error
  // (a malformed stream line, a child that failed) is sticky: later calls
  // return it again and the data stays as it was.
  virtual absl::Status Poll() = 0;
  // Everything known so far. Stable between two Poll() calls.
  virtual const ResultsData& data() const = 0;
  // True while the data may still grow.
  virtual bool live() const = 0;
  // Fraction of the run the data covers, 0..1 (1 for a complete file).
  virtual double progress() const = 0;
  // Length of the whole run in simulated seconds, when known (a stream
  // knows it before its ticks arrive); 0 if unknown.
  virtual double duration() const = 0;
  // Increases whenever data() changes, so that views can cache on it.
  virtual std::uint64_t version() const = 0;
  // The results file behind the data ("" while a simulation runs).
  virtual std::string results_path() const = 0;
};

struct DataSourceSpec {
  SourceKind kind = SourceKind::kResultsFile;
  // kResultsFile: the file.
  std::string path;
  // kRunningSimulation: scenario file or library name ("" for the built-in
  // default), --set overrides, the results file to write ("" for a fresh
  // temporary one, removed with the source) and the meshtwin binary.
  std::string scenario;
  std::vector<std::string> overrides;
  std::string output;
  std::string binary;
  // Shown instead of the default name when not empty.
  std::string label;
  // kLiveManager: host:port of the manager, and the viewer's TLS files:
  // TlsFiles::InDir(tls_dir, tls_name), i.e. DIR/ca.crt, DIR/NAME.crt and
  // DIR/NAME.key as `meshtwin certs init` writes them.
  std::string address;
  std::string tls_dir;
  std::string tls_name = "client";
};

// Opens a source. A results file is read here (NotFound / InvalidArgument
// naming the file when it is missing or not a results file); a simulation
// is started here (its errors arrive through Poll()); a live manager is
// connected to and its snapshot taken here (OpenLiveManagerSource).
absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const DataSourceSpec& spec);

// A source over data already in memory (tests, and the results of a
// finished run handed over).
std::unique_ptr<DataSource> MakeInMemorySource(std::string name, ResultsData data);

}  // namespace meshtwin::gui
