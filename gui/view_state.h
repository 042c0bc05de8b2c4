// What the panels see and say. Each frame the app builds an immutable
// ViewState (the sources' data, the cursor time, playback); panels draw from
// it and push Commands (seek, play, re-run ...) that the app loop carries out
// after drawing. Panels never start processes or touch files themselves.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "datasets/results_file.h"
#include "gui/data_source.h"
#include "gui/palette.h"

namespace meshtwin::gui {

struct SourceView {
  std::string name;
  SourceKind kind = SourceKind::kResultsFile;
  const ResultsData* data = nullptr;  // never null in a ViewState
  bool live = false;
  double progress = 1;
  std::uint64_t version = 0;
  std::string error;   // the source's error, if any
  Rgb color;           // its colour when overlaid
  bool rerun = false;  // started from the scenario panel
};

struct ViewState {
  std::vector<SourceView> sources;  // [0] is the primary run; the rest are overlaid
  double time = 0;                  // the timeline cursor, run time s
  double begin = 0, end = 1;        // the timeline's range
  bool playing = false;
  double speed = 60;  // simulated seconds per wall second
  std::int32_t selected_node = -1;
  std::string status;  // the last message (errors in red)
  bool status_is_error = false;
  bool rerun_running = false;

  const SourceView* primary() const { return sources.empty() ? nullptr : &sources.front(); }
};

struct SeekCommand {
  double time = 0;
};
struct PlayCommand {
  bool playing = false;
};
struct SpeedCommand {
  double speed = 60;
};
struct OpenFileCommand {
  std::string path;
};
struct CloseSourceCommand {
  std::size_t index = 0;
};
// Re-run the primary run's scenario with these --set overrides (policy
// included as policy.name=...), as a streamed child simulation.
struct RerunCommand {
  std::vector<std::string> overrides;
  std::string label;
};
struct SelectNodeCommand {
  std::int32_t id = -1;
};

using Command = std::variant<SeekCommand, PlayCommand, SpeedCommand, OpenFileCommand,
                             CloseSourceCommand, RerunCommand, SelectNodeCommand>;

// Filled by panels while drawing, emptied by the app loop after the frame.
class CommandQueue {
 public:
  template <typename T>
  void Push(T c) {
    commands_.emplace_back(std::in_place_type<T>, std::move(c));
  }
  std::vector<Command> Take() { return std::exchange(commands_, {}); }
  bool empty() const { return commands_.empty(); }

 private:
  std::vector<Command> commands_;
};

}  // namespace meshtwin::gui
