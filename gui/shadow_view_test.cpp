// The shadow view's pure half (gui/shadow_view.h): where a shadow file's
// steps, risk intervals and decisions land on the run-time axis, and the
// report figures the panel shows.
#include "gui/shadow_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace meshtwin::gui {
namespace {

using ::testing::ElementsAre;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Eight 60 s steps ending at 1.8e9 + 60 .. + 480; step 5 without data.
ShadowFileData Eight() {
  ShadowFileData d;
  ShadowFileAttributes& a = d.attributes;
  a.interval = 60;
  a.production_node_hours = 12;
  a.would_be_node_hours = 13.5;
  a.production_cost = 4;
  a.would_be_cost = 4.5;
  a.production_risk_intervals = 4;
  a.would_be_risk_intervals = 1;
  ShadowFileSteps& s = d.steps;
  for (int i = 0; i < 8; ++i) s.time.push_back(1.8e9 + 60 * (i + 1));
  s.production_at_risk = {0, 1, 1, 0, 1, -1, 1, 0};
  s.would_be_at_risk = {0, 0, 1, 0, 0, -1, 0, 0};
  s.production_nodes = {10, 10, 10, 12, 12, kNaN, 14, 14};
  s.would_be_nodes = {10, 10, 15, 15, 15, 15, 15, 12};
  s.desired_nodes = {10, 15, 15, 15, 15, -1, 12, 12};
  s.demand.assign(8, 1000);
  s.forecast_p50.assign(8, kNaN);
  s.forecast_p50[7] = 900;
  d.decisions = {{1.8e9 + 120, "scale_out", "medium", 5, 10, 15, 1.2, ""},
                 {1.8e9 + 420, "scale_in", "medium", 3, 15, 12, 0.4, ""},
                 {1.8e9 + 430, "change_role", "medium", 1, 12, 12, 0, ""}};
  return d;
}

TEST(ShadowViewTest, StepsRiskRunsAndDecisionsOnTheRunTimeAxis) {
  const ShadowPlotData p = BuildShadowPlotData(Eight());
  // Run time 0 is the start of the first interval; a step is drawn from the
  // start of its interval, and the axis ends with the last interval.
  EXPECT_EQ(p.epoch, 1.8e9);
  EXPECT_THAT(p.x, ElementsAre(0, 60, 120, 180, 240, 300, 360, 420));
  EXPECT_EQ(p.end, 480);
  // Consecutive risky steps are one span; a step without data ends a run.
  EXPECT_THAT(p.production_risk,
              ElementsAre(ShadowSpan{60, 180}, ShadowSpan{240, 300}, ShadowSpan{360, 420}));
  EXPECT_THAT(p.would_be_risk, ElementsAre(ShadowSpan{120, 180}));
  // A decision sits at the end of the interval it was decided on.
  EXPECT_THAT(p.decision_x, ElementsAre(120, 420, 430));
  EXPECT_TRUE(p.has_forecast);
  // Peaks over the steps with data only.
  EXPECT_EQ(p.production_peak_nodes, 14);
  EXPECT_EQ(p.would_be_peak_nodes, 15);
}

TEST(ShadowViewTest, ReportRowsCompareBothSides) {
  const ShadowFileData d = Eight();
  const std::vector<ShadowFigure> rows = ShadowReportRows(d, BuildShadowPlotData(d));
  auto row = [&](const std::string& label) {
    for (const ShadowFigure& f : rows) {
      if (f.label == label) return f;
    }
    ADD_FAILURE() << "no row " << label;
    return ShadowFigure{};
  };
  EXPECT_EQ(row("node-hours").production, "12.0");
  EXPECT_EQ(row("node-hours").would_be, "13.5");
  EXPECT_EQ(row("node-hours").change, "+12.5 %");
  EXPECT_EQ(row("cost").change, "+12.5 %");
  EXPECT_EQ(row("intervals at SLO risk").production, "4");
  EXPECT_EQ(row("intervals at SLO risk").would_be, "1");
  EXPECT_EQ(row("intervals at SLO risk").change, "-3");
  EXPECT_EQ(row("time at SLO risk").production, "4 min");
  EXPECT_EQ(row("risk episodes").production, "3");
  EXPECT_EQ(row("risk episodes").would_be, "1");
  EXPECT_EQ(row("peak nodes").change, "+1");
  EXPECT_EQ(row("decisions").would_be, "3 (1 out, 1 in)");
}

TEST(ShadowViewTest, EmptyFileAndDurations) {
  ShadowFileData d;
  d.attributes.interval = 15;
  const ShadowPlotData p = BuildShadowPlotData(d);
  EXPECT_TRUE(p.x.empty());
  EXPECT_EQ(p.end, 1);  // a visible, if empty, axis
  EXPECT_TRUE(p.production_risk.empty());
  EXPECT_FALSE(p.has_forecast);
  EXPECT_EQ(FormatDuration(45), "45 s");
  EXPECT_EQ(FormatDuration(900), "15 min");
  EXPECT_EQ(FormatDuration(7200), "2 h");
  EXPECT_EQ(FormatDuration(9000), "2 h 30 min");
  EXPECT_EQ(FormatDuration(100800), "1 d 4 h");
  EXPECT_EQ(FormatDuration(kNaN), "-");
}

}  // namespace
}  // namespace meshtwin::gui
