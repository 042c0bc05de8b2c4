// The shadow view (`meshtwin gui --shadow shadow.h5`): what a policy run by
// `meshtwin shadow` would have done, against what production did. Demand
// with production's capacity and the would-be capacity; production's nodes
// against the would-be fleet with the policy's decisions as glyphs; the
// intervals at SLO risk on either side shaded; and the report's figures
// (node-hours, cost, intervals at risk, both sides).
//
//   MESHTWIN_ASSIGN_OR_RETURN(ShadowFileData file, ReadShadowFile("shadow.h5"));
//   ShadowPanel panel;
//   panel.Load("shadow.h5", std::move(file));
//   ... each frame, inside an ImGui window: panel.Draw();
//
// The x axis is run time as elsewhere in the GUI: 0 is the start of the
// first recorded interval (unix time ShadowPlotData::epoch), and a step's
// values are drawn from the start of the interval they cover.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "datasets/shadow_file.h"

namespace meshtwin::gui {

// [x0, x1) in run time.
struct ShadowSpan {
  double x0 = 0, x1 = 0;
  bool operator==(const ShadowSpan&) const = default;
};

// What the plots need, derived once from the file. Pure.
struct ShadowPlotData {
  double epoch = 0;       // unix time of x = 0
  double interval = 0;    // s
  double end = 0;         // x of the end of the last interval (>= 1)
  std::vector<double> x;  // start of each step's interval
  // Runs of consecutive steps at risk (flag 1); a step without data ends a run.
  std::vector<ShadowSpan> production_risk, would_be_risk;
  std::vector<double> decision_x;  // per decision: the end of the interval it was decided on
  bool has_forecast = false;       // some forecast_p50 is finite
  // The fleet's peak over the steps with data.
  double production_peak_nodes = 0, would_be_peak_nodes = 0;
};
ShadowPlotData BuildShadowPlotData(const ShadowFileData& file);

// One line of the report table: a figure for production, for the policy,
// and how the policy's compares ("+12.5 %", "-3", "" when not comparable).
struct ShadowFigure {
  std::string label, production, would_be, change;
};
std::vector<ShadowFigure> ShadowReportRows(const ShadowFileData& file, const ShadowPlotData& plot);

// A duration in words for the report: "45 s", "15 min", "2 h 30 min", "1 d 4 h".
std::string FormatDuration(double seconds);

// The panel: one loaded file, drawn into the current ImGui window. Not
// thread-safe (GUI thread only).
struct ShadowPanel {
  std::string name;  // shown in the header (the file's name)
  ShadowFileData file;
  ShadowPlotData plot;
  double cursor = std::numeric_limits<double>::quiet_NaN();  // x of the last click
  bool loaded = false;

  void Load(std::string file_name, ShadowFileData data);
  void Draw();
};

}  // namespace meshtwin::gui
