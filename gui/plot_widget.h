// A small time-series plot drawn on Dear ImGui's ImDrawList (ImPlot is not
// packaged): axes with nice ticks and units, a legend, lines (solid or
// dashed), a filled band, event spans and decision markers on the time axis,
// a cursor line, and a hover readout. The x axis is always run time in
// seconds; labels show run time, the hover readout calendar time too.
//
//   PlotSpec spec{.id = "demand", .title = "Demand", .y_unit = "req/s", .x0 = 0, .x1 = 86400};
//   PlotResult r = DrawTimePlot(spec, {{"demand", t, demand, kDemandColor}}, {}, {});
//   if (r.clicked) queue.Push(SeekCommand{r.clicked_x});
//
// Call between ImGui::Begin/End; the pure helpers below need no window.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "gui/palette.h"

namespace meshtwin::gui {

struct PlotLine {
  std::string label;
  std::span<const double> x, y;  // same length; x ascending; NaN y breaks the line
  Rgb color;
  float thickness = 1.5f;
  bool dashed = false;
  bool in_legend = true;
};

struct PlotBand {
  std::string label;
  std::span<const double> x, lo, hi;
  Rgb color;
};

enum class MarkerShape { kEventSpan, kUpTriangle, kDownTriangle, kDiamond };

// Something that happened at a time: an event (a vertical line at `x0`,
// shaded to `x1` when that is not NaN) or a decision (a glyph on the axis).
struct PlotMarker {
  double x0 = 0;
  double x1 = std::numeric_limits<double>::quiet_NaN();
  MarkerShape shape = MarkerShape::kEventSpan;
  Rgb color;
  std::string tooltip;
};

struct PlotSpec {
  const char* id = "plot";
  std::string title;
  std::string y_unit;     // shown after the title: "Demand (req/s)"
  double x0 = 0, x1 = 1;  // visible run time, s
  double y_min = 0;       // lower bound (NaN: from the data)
  double y_max = std::numeric_limits<double>::quiet_NaN();  // NaN: from the data
  bool percent = false;                                     // y in 0..1, labelled as %
  double cursor_x = std::numeric_limits<double>::quiet_NaN();
  double epoch = 0;  // for calendar time in the readout
  float height = 160;
  bool x_labels = true;  // time labels under the axis
};

struct PlotResult {
  bool clicked = false;  // left click in the plot area
  double clicked_x = 0;
  bool hovered = false;
  double hover_x = 0;
};

PlotResult DrawTimePlot(const PlotSpec& spec, const std::vector<PlotLine>& lines,
                        const std::vector<PlotBand>& bands, const std::vector<PlotMarker>& markers);

// --- Pure helpers (no window needed) ---

// The points of (x, y) to draw for the x range [x0, x1] on `columns` pixel
// columns: every point when they are few, else per column the first, the
// lowest, the highest and the last point (in x order), so that spikes
// survive. One point either side of the range is kept so lines reach the
// edges. NaN y values are kept (they break the line).
struct XY {
  double x, y;
};
std::vector<XY> DecimateMinMax(std::span<const double> x, std::span<const double> y, double x0,
                               double x1, int columns);

// A y-axis top for data peaking at `peak`: a little headroom, rounded up to
// a nice number (1 for an empty or all-zero plot).
double NiceCeil(double peak);

// The largest finite y in [x0, x1] (NaN if none).
double PeakIn(std::span<const double> x, std::span<const double> y, double x0, double x1);

}  // namespace meshtwin::gui
