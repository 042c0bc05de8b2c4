// The shadow view's drawing: a header, the two plots, the report figures and
// the decisions; side by side in a wide window, stacked in a narrow tile.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gui/imgui_util.h"
#include "gui/plot_widget.h"
#include "gui/shadow_view.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {
namespace {

std::string SpanTooltip(const char* who, const ShadowSpan& s, double epoch) {
  return std::string(who) + " at SLO risk (demand above its capacity x the SLO's ceiling)\n" +
         FormatCalendar(epoch, s.x0) + " to " + FormatCalendar(epoch, s.x1) + " (" +
         FormatDuration(s.x1 - s.x0) + ")";
}

void Header(const ShadowPanel& p) {
  const ShadowFileAttributes& a = p.file.attributes;
  ImGui::Text("Shadow: %s on the %s pool (scenario %s, %s req/s a node)", a.policy.c_str(),
              a.node_type.c_str(), a.scenario.c_str(), FormatValue(a.node_rps).c_str());
  ImGui::SameLine(0, 16);
  ImGui::TextDisabled("%s", p.name.c_str());
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
  if (p.file.steps.size() > 0) {
    ImGui::TextWrapped("%s to %s, %d intervals of %s (%d without data); nothing was acted on",
                       FormatCalendar(p.plot.epoch, 0).c_str(),
                       FormatCalendar(p.plot.epoch, p.plot.end).c_str(), a.intervals,
                       FormatDuration(a.interval).c_str(), a.missing_intervals);
  } else {
    ImGui::TextUnformatted("no intervals recorded");
  }
  ImGui::PopStyleColor();
  // The shading has no legend entry in the plot widget: say it here.
  ImGui::TextColored(Vec4(kProductionRiskColor), "shaded: production at SLO risk");
  ImGui::SameLine(0, 16);
  ImGui::TextColored(Vec4(kWouldBeColor), "shaded: would be at SLO risk");
  ImGui::SameLine(0, 16);
  ImGui::TextDisabled("glyphs: the policy's decisions");
}

// Demand and capacity over nodes and decisions, sharing the child's height.
void Plots(ShadowPanel& p) {
  const ShadowPlotData& plot = p.plot;
  const ShadowFileSteps& s = p.file.steps;
  std::vector<PlotMarker> risk;
  for (const ShadowSpan& r : plot.production_risk) {
    risk.push_back({r.x0, r.x1, MarkerShape::kEventSpan, kProductionRiskColor,
                    SpanTooltip("production", r, plot.epoch)});
  }
  for (const ShadowSpan& r : plot.would_be_risk) {
    risk.push_back({r.x0, r.x1, MarkerShape::kEventSpan, kWouldBeColor,
                    SpanTooltip("the policy's fleet", r, plot.epoch)});
  }
  std::vector<PlotMarker> with_decisions = risk;
  for (std::size_t i = 0; i < p.file.decisions.size(); ++i) {
    const ShadowFileDecision& d = p.file.decisions[i];
    const bool out = d.action == "scale_out", in = d.action == "scale_in";
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: would %s %d x %s (%d -> %d)\nmetric %.3f  %s",
                  FormatCalendar(plot.epoch, plot.decision_x[i]).c_str(), d.action.c_str(), d.count,
                  d.node_type.c_str(), d.replicas_before, d.replicas_after, d.metric,
                  d.reason.c_str());
    with_decisions.push_back({plot.decision_x[i], std::nan(""),
                              out  ? MarkerShape::kUpTriangle
                              : in ? MarkerShape::kDownTriangle
                                   : MarkerShape::kDiamond,
                              out  ? kScaleOutColor
                              : in ? kScaleInColor
                                   : kOtherDecisionColor,
                              buf});
  }

  PlotSpec spec;
  spec.x0 = 0;
  spec.x1 = plot.end;
  spec.cursor_x = p.cursor;
  spec.epoch = plot.epoch;
  const float spacing = ImGui::GetStyle().ItemSpacing.y;
  const float h = (ImGui::GetContentRegionAvail().y - spacing) / 2;
  auto seek = [&](const PlotResult& r) {
    if (r.clicked) p.cursor = r.clicked_x;
  };
  {
    std::vector<PlotLine> lines;
    if (plot.has_forecast) {
      lines.push_back({"forecast p50", plot.x, s.forecast_p50, kForecastMedian, 1.2f});
    }
    lines.push_back({"demand", plot.x, s.demand, kDemandColor, 2.0f});
    // Production under the policy's fleet, wider: where the two agree the
    // would-be line runs inside production's, and both stay visible.
    lines.push_back({"production capacity", plot.x, s.production_capacity, kCapacityColor, 4.0f});
    lines.push_back({"would-be capacity", plot.x, s.would_be_capacity, kWouldBeColor, 1.5f});
    spec.id = "shadow_demand";
    spec.title = "Demand and capacity";
    spec.y_unit = "requests/s";
    spec.height = h;
    seek(DrawTimePlot(spec, lines, {}, risk));
  }
  {
    std::vector<PlotLine> lines = {
        {"production", plot.x, s.production_nodes, kCapacityColor, 4.0f},
        {"would be (billed)", plot.x, s.would_be_nodes, kWouldBeColor, 1.5f},
        {"would be ready", plot.x, s.would_be_ready, kWouldBeColor, 1.2f, true}};
    spec.id = "shadow_nodes";
    spec.title = "Nodes and decisions (^ out, v in)";
    spec.y_unit = "nodes";
    spec.height = std::max(60.0f, ImGui::GetContentRegionAvail().y);
    seek(DrawTimePlot(spec, lines, {}, with_decisions));
  }
}

// The report's figures, both sides, and where the data came from.
void Report(const ShadowPanel& p) {
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV;
  if (ImGui::BeginTable("report", 4, flags)) {
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("production", ImGuiTableColumnFlags_WidthFixed, 72);
    ImGui::TableSetupColumn("would be", ImGuiTableColumnFlags_WidthFixed, 112);
    ImGui::TableSetupColumn("change", ImGuiTableColumnFlags_WidthFixed, 56);
    ImGui::TableHeadersRow();
    for (const ShadowFigure& f : ShadowReportRows(p.file, p.plot)) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(f.label.c_str());
      ImGui::TableSetColumnIndex(1);
      ImGui::TextColored(Vec4(kCapacityColor), "%s", f.production.c_str());
      ImGui::TableSetColumnIndex(2);
      ImGui::TextColored(Vec4(kWouldBeColor), "%s", f.would_be.c_str());
      ImGui::TableSetColumnIndex(3);
      ImGui::TextUnformatted(f.change.c_str());
    }
    ImGui::EndTable();
  }
  if (!p.file.attributes.about.empty()) ImGui::Spacing();
  for (const auto& [key, value] : p.file.attributes.about) {
    ImGui::TextDisabled("%s:", key.c_str());
    ImGui::SameLine();
    ImGui::TextWrapped("%s", value.c_str());
  }
}

// The policy's decisions; a click puts the plots' cursor there.
void Decisions(ShadowPanel& p) {
  ImGui::Text("Decisions the policy would have taken (%zu)", p.file.decisions.size());
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable;
  if (!ImGui::BeginTable("shadow_decisions", 3, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("time", ImGuiTableColumnFlags_WidthFixed, 80);
  ImGui::TableSetupColumn("would have", ImGuiTableColumnFlags_WidthFixed, 170);
  ImGui::TableSetupColumn("why", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(p.file.decisions.size()));
  while (clipper.Step()) {
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const ShadowFileDecision& d = p.file.decisions[k];
      const double x = p.plot.decision_x[k];
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::PushID(i);
      if (ImGui::Selectable(FormatRunTimeFull(x).c_str(), x == p.cursor,
                            ImGuiSelectableFlags_SpanAllColumns)) {
        p.cursor = x;
      }
      ImGui::PopID();
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("%s", FormatCalendar(p.plot.epoch, x).c_str());
      }
      ImGui::TableSetColumnIndex(1);
      const Rgb c = d.action == "scale_out"  ? kScaleOutColor
                    : d.action == "scale_in" ? kScaleInColor
                                             : kOtherDecisionColor;
      ImGui::TextColored(Vec4(c), "%s %d (%d -> %d)", d.action.c_str(), d.count, d.replicas_before,
                         d.replicas_after);
      ImGui::TableSetColumnIndex(2);
      ImGui::TextUnformatted(d.reason.c_str());
    }
  }
  ImGui::EndTable();
}

}  // namespace

void ShadowPanel::Draw() {
  if (!loaded) return;
  Header(*this);
  // Side by side when there is room (the whole window); stacked in a
  // narrower tile (the tab beside a run's panels), where a side column would
  // squeeze the figures.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImGuiWindowFlags fixed = ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse;
  if (avail.x >= 1000) {
    const float side = std::clamp(avail.x * 0.3f, 360.0f, 460.0f);
    ImGui::BeginChild("shadow_plots", ImVec2(avail.x - side - 8, avail.y), false, fixed);
    Plots(*this);
    ImGui::EndChild();
    ImGui::SameLine(0, 8);
    ImGui::BeginChild("shadow_side", ImVec2(0, avail.y));
    Report(*this);
    ImGui::Spacing();
    Decisions(*this);
    ImGui::EndChild();
    return;
  }
  ImGui::BeginChild("shadow_plots", ImVec2(avail.x, std::max(200.0f, avail.y * 0.62f)), false,
                    fixed);
  Plots(*this);
  ImGui::EndChild();
  const float rest = std::max(80.0f, ImGui::GetContentRegionAvail().y);
  ImGui::BeginChild("shadow_report", ImVec2(std::max(360.0f, avail.x * 0.56f - 4), rest));
  Report(*this);
  ImGui::EndChild();
  ImGui::SameLine(0, 8);
  ImGui::BeginChild("shadow_decisions", ImVec2(0, rest));
  Decisions(*this);
  ImGui::EndChild();
}

}  // namespace meshtwin::gui
