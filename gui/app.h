// The GUI application: a GLFW window with Dear ImGui panels tiled over it
// (Debian's ImGui 1.86 has no docking; the tiles are recomputed from the
// window size each frame and the splits between them can be dragged), the
// sources, the playback clock and the command loop. Headless screenshot
// mode renders a fixed number of frames and writes the last one as a PNG.
//
//   GuiOptions options;
//   options.files = {"run.h5"};
//   options.screenshot = "out.png";
//   MESHTWIN_RETURN_IF_ERROR(RunGui(options));
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "twin/status.h"

namespace meshtwin::gui {

struct GuiOptions {
  // Results files: the first is the primary run, the others are overlaid.
  std::vector<std::string> files;
  // Start a streamed simulation of this scenario (file or library name;
  // "default" or "" with `simulate` set for the built-in one) as a source.
  bool simulate = false;
  std::string scenario;
  std::vector<std::string> overrides;  // its --set overrides
  // Follow a running manager (host:port) as a source, over mutual TLS with
  // TlsFiles::InDir(tls_dir, tls_name).
  std::string live_address;
  std::string tls_dir;
  std::string tls_name = "client";
  // A `meshtwin shadow` file to show in the shadow view: the whole window
  // when it is the only thing open, else a tab beside the plots.
  std::string shadow;
  // Re-run the primary run with these KEY=VALUE settings through the scenario
  // panel (typed into its fields, then its button: the same command a click
  // pushes). Headless, the screenshot waits for the re-run to end and shows
  // both runs overlaid; a re-run that fails fails RunGui with its error.
  std::vector<std::string> rerun;
  // The meshtwin binary, for child simulations.
  std::string binary;
  // Headless: render `frames` frames and write the last to this PNG (with
  // a running simulation: at least `frames`, and until the run has ended).
  std::string screenshot;
  int frames = 30;
  int width = 1600, height = 1000;  // window size, pixels
  std::optional<double> at;         // cursor time, run time s
  // Plot time window: 0 the whole run, 1 12 h, 2 2 h around the cursor.
  int plot_window = 0;
  // Print frame-time statistics on stderr at the end (always with a screenshot).
  bool frame_stats = false;
};

// Runs the window until it is closed (or, with a screenshot, for `frames`
// frames). Bad input (a missing or corrupt results or shadow file, an
// unwritable PNG path, a live manager that cannot be reached) fails before a
// window opens, naming the file, address or flag. A screenshot does not wait
// for a live manager (it never ends): it shows what had arrived. Headless with
// `rerun`, a re-run that cannot start or whose child fails still writes the
// PNG (it shows the error) and then returns that error.
absl::Status RunGui(const GuiOptions& options);

struct FrameStats {
  std::size_t frames = 0;
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  double fps = 0;  // 1000 / mean_ms
};
// Statistics of frame times in milliseconds (nearest-rank percentiles).
FrameStats ComputeFrameStats(std::vector<double> frame_ms);

// "WxH" -> {W, H}; InvalidArgument naming `flag` unless both are 64..16384.
absl::StatusOr<std::pair<int, int>> ParseWindowSize(const std::string& flag,
                                                    const std::string& text);

}  // namespace meshtwin::gui
