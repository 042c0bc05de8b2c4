// gui_png_check: checks a `meshtwin gui --screenshot` PNG for the headless
// test. Usage: gui_png_check FILE WIDTH HEIGHT [--overlay N] [--failed N] [--cut N]
// [--shadow N].
// Exit 0 when the PNG decodes, has that size, is not a single colour, and
// shows the demand line, the capacity line and the forecast band in their
// palette colours (enough pixels of each that it is the plot, not only the
// legend swatch). --overlay N also wants at least N pixels of the first
// overlaid run's colour (its dashed lines: a re-run or a second file), and
// --failed N at least N pixels of the error / failed colour (a re-run's
// error shown in red), and --cut N at least N pixels of the cut-off colour
// (the topology panel's racks and links a partition cut off). --shadow N is
// for the shadow view, which has no forecast band: instead of the band it
// wants at least N pixels of the would-be colour (the policy's capacity and
// node lines).
#include <stb_image.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "gui/palette.h"

namespace {

using meshtwin::gui::Rgb;

int CountPixels(const unsigned char* p, int n, Rgb c) {
  int count = 0;
  for (int i = 0; i < n; ++i) {
    if (p[3 * i] == c.r && p[3 * i + 1] == c.g && p[3 * i + 2] == c.b) ++count;
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  struct Want {
    const char* name;
    Rgb colour;
    int min_pixels;
  };
  std::vector<Want> wants = {{"demand line", meshtwin::gui::kDemandColor, 300},
                             {"capacity line", meshtwin::gui::kCapacityColor, 300},
                             {"forecast band", meshtwin::gui::kForecastBand, 600}};
  const char* usage =
      "usage: gui_png_check FILE WIDTH HEIGHT [--overlay N] [--failed N] [--cut N] "
      "[--shadow N]\n";
  if (argc < 4) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  for (int i = 4; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc ||
        (flag != "--overlay" && flag != "--failed" && flag != "--cut" && flag != "--shadow")) {
      std::fprintf(stderr, "%s", usage);
      return 2;
    }
    const int n = std::atoi(argv[i + 1]);
    if (flag == "--overlay") {
      wants.push_back({"overlay run", meshtwin::gui::kOverlayColors[0], n});
    } else if (flag == "--failed") {
      wants.push_back({"error/failed", meshtwin::gui::kFailedColor, n});
    } else if (flag == "--shadow") {
      std::erase_if(wants, [](const Want& w) { return w.colour == meshtwin::gui::kForecastBand; });
      wants.push_back({"would-be", meshtwin::gui::kWouldBeColor, n});
    } else {
      wants.push_back({"cut off", meshtwin::gui::kCutColor, n});
    }
  }
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load(argv[1], &w, &h, &channels, 3);
  if (!pixels) {
    std::fprintf(stderr, "%s: does not decode as an image: %s\n", argv[1], stbi_failure_reason());
    return 1;
  }
  int failures = 0;
  if (w != std::atoi(argv[2]) || h != std::atoi(argv[3])) {
    std::fprintf(stderr, "%s: is %dx%d, expected %sx%s\n", argv[1], w, h, argv[2], argv[3]);
    ++failures;
  }
  std::set<unsigned> colours;
  for (int i = 0; i < w * h && colours.size() < 64; ++i) {
    colours.insert(unsigned{pixels[3 * i]} << 16 | unsigned{pixels[3 * i + 1]} << 8 |
                   pixels[3 * i + 2]);
  }
  if (colours.size() < 2) {
    std::fprintf(stderr, "%s: a single colour\n", argv[1]);
    ++failures;
  }
  for (const Want& want : wants) {
    const int n = CountPixels(pixels, w * h, want.colour);
    std::printf("%-14s rgb(%3d,%3d,%3d): %d pixels\n", want.name, want.colour.r, want.colour.g,
                want.colour.b, n);
    if (n < want.min_pixels) {
      std::fprintf(stderr, "%s: only %d pixels of the %s colour, expected at least %d\n", argv[1],
                   n, want.name, want.min_pixels);
      ++failures;
    }
  }
  stbi_image_free(pixels);
  return failures == 0 ? 0 : 1;
}
