// The sim-to-GUI stream: `meshtwin simulate --stream` writes one JSON object
// per line on stdout (schema in gui/README.md, "The simulation stream"), and
// the GUI's running-simulation source decodes it back into a growing
// ResultsData. Both ends live here so that they cannot drift apart.
//
//   // writer (simulate --stream)
//   std::puts(StreamHeaderLine(meta, duration).c_str());
//   options.on_tick = [&](const ResultsData& d, std::size_t k) {
//     std::puts(StreamTickLine(d, k, sent_decisions, progress).c_str()); };
//   std::puts(StreamDoneLine("run.h5").c_str());
//
//   // reader (the GUI), fed whatever bytes the pipe had
//   StreamDecoder decoder("sim: product-launch");
//   MESHTWIN_RETURN_IF_ERROR(decoder.Feed(bytes));
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "datasets/results_file.h"
#include "twin/status.h"

namespace meshtwin::gui {

// The first line: run metadata (scenario, policy, seed, control interval,
// calendar epoch, node types, roles, events, snapshot interval) from `meta`,
// whose series are ignored, and the run's length in simulated seconds.
std::string StreamHeaderLine(const ResultsData& meta, double duration);

// One line for tick `tick` of `so_far`: its series values, the decisions
// from index `*decisions_sent` on (which then advances to the end), the node
// snapshot taken at that tick if any, and the fraction of the run done.
std::string StreamTickLine(const ResultsData& so_far, std::size_t tick, std::size_t* decisions_sent,
                           double progress);

// The last line, written after the results file `results_path` is complete.
std::string StreamDoneLine(const std::string& results_path);

class StreamDecoder {
 public:
  // `source_name` prefixes error messages ("sim product-launch: stream line 3: ...").
  explicit StreamDecoder(std::string source_name) : source_name_(std::move(source_name)) {}

  // Appends `bytes` and applies every complete line. On a malformed line
  // returns InvalidArgument naming the source and the line number, and
  // ignores everything after it.
  absl::Status Feed(std::string_view bytes);

  // Applies one line (without its newline). Blank lines are skipped.
  absl::Status ApplyLine(std::string_view line);

  const ResultsData& data() const { return data_; }
  bool has_header() const { return has_header_; }
  bool done() const { return done_; }
  double progress() const { return progress_; }
  double duration() const { return duration_; }
  const std::string& results_path() const { return results_path_; }
  std::size_t lines() const { return line_; }

 private:
  std::string source_name_;
  std::string pending_;
  absl::Status error_;
  ResultsData data_;
  bool has_header_ = false;
  bool done_ = false;
  double progress_ = 0;
  double duration_ = 0;
  std::string results_path_;
  std::size_t line_ = 0;
};

}  // namespace meshtwin::gui
