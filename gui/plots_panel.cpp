#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gui/event_style.h"
#include "gui/imgui_util.h"
#include "gui/panels.h"
#include "gui/plot_widget.h"
#include "gui/time_axis.h"
#include "twin/types.h"

namespace meshtwin::gui {
namespace {

constexpr double kWindows[] = {0, 6 * 3600.0, 3600.0};
constexpr const char* kWindowNames[] = {"whole run", "12 h around cursor", "2 h around cursor"};

std::string HorizonName(double s) {
  char buf[32];
  if (s >= 3600 && std::fmod(s, 3600) == 0) {
    std::snprintf(buf, sizeof buf, "%.0f h ahead", s / 3600);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%.0f min ahead", s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f s ahead", s);
  }
  return buf;
}

void Rebuild(PlotsPanel::Derived& d, const SourceView& s, int horizon) {
  const ResultsData& data = *s.data;
  d.data = s.data;
  d.version = s.version;
  d.horizon = horizon;
  const ForecastSeries& f = data.forecasts;
  const std::size_t h_count = f.horizons.size();
  d.fc_time.clear();
  d.fc_p10.clear();
  d.fc_p50.clear();
  d.fc_p90.clear();
  if (h_count > 0 && horizon >= 0 && static_cast<std::size_t>(horizon) < h_count) {
    const auto h = static_cast<std::size_t>(horizon);
    for (std::size_t o = 0; o < f.size(); ++o) {
      if (o * h_count + h >= f.p90.size()) break;
      // Plotted at the time it is a forecast for, next to the demand that came.
      d.fc_time.push_back(f.time[o] + f.horizons[h]);
      d.fc_p10.push_back(f.p10[o * h_count + h]);
      d.fc_p50.push_back(f.p50[o * h_count + h]);
      d.fc_p90.push_back(f.p90[o * h_count + h]);
    }
  }
  const TickSeries& t = data.ticks;
  const double interval = data.control_interval > 0 ? data.control_interval : 1;
  for (int c = 0; c < kNumClasses; ++c) {
    d.dropped[c].assign(t.size(), 0);
    d.queued[c].assign(t.size(), 0);
    for (std::size_t i = 0; i < t.size(); ++i) {
      const std::size_t k = i * kNumClasses + static_cast<std::size_t>(c);
      if (k < t.dropped_by_class.size()) d.dropped[c][i] = t.dropped_by_class[k] / interval;
      if (k < t.queued_by_class.size()) d.queued[c][i] = t.queued_by_class[k];
    }
  }
  d.nodes.resize(t.size());
  d.utilization_pct.resize(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    d.nodes[i] = t.nodes_ready[i] + t.nodes_booting[i];
    d.utilization_pct[i] = t.utilization[i];
  }
}

}  // namespace

void PlotsPanel::Draw(const ViewState& view, CommandQueue* queue) {
  const SourceView* primary = view.primary();
  if (!primary) {
    ImGui::TextDisabled("Open a results file, or start one with: meshtwin gui --sim SCENARIO");
    return;
  }
  const ResultsData& data = *primary->data;
  const ForecastSeries& f = data.forecasts;

  // Controls: forecast horizon, time window.
  if (!f.horizons.empty()) {
    // The middle horizon by default: far enough ahead to show how sure the model is.
    if (horizon < 0) horizon = static_cast<int>(f.horizons.size()) / 2;
    horizon = std::clamp(horizon, 0, static_cast<int>(f.horizons.size()) - 1);
    ImGui::SetNextItemWidth(150);
    if (ImGui::BeginCombo("forecast", HorizonName(f.horizons[horizon]).c_str())) {
      for (int h = 0; h < static_cast<int>(f.horizons.size()); ++h) {
        if (ImGui::Selectable(HorizonName(f.horizons[h]).c_str(), h == horizon)) horizon = h;
      }
      ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::TextDisabled("(%s)", f.model.c_str());
    ImGui::SameLine(0, 20);
  } else {
    ImGui::TextDisabled(primary->live ? "forecasts arrive when the run ends" : "no forecaster");
    ImGui::SameLine(0, 20);
  }
  ImGui::SetNextItemWidth(170);
  ImGui::Combo("window", &window, kWindowNames, static_cast<int>(std::size(kWindowNames)));

  derived.resize(view.sources.size());
  for (std::size_t i = 0; i < view.sources.size(); ++i) {
    const SourceView& s = view.sources[i];
    if (derived[i].data != s.data || derived[i].version != s.version ||
        derived[i].horizon != horizon) {
      Rebuild(derived[i], s, horizon);
    }
  }

  double x0 = view.begin, x1 = view.end;
  if (window > 0) {
    const double half = kWindows[window];
    x0 = std::max(view.begin, view.time - half);
    x1 = std::min(view.end, x0 + 2 * half);
    x0 = std::max(view.begin, x1 - 2 * half);
  }

  // Events (spans) and decisions (glyphs) of the primary run.
  std::vector<PlotMarker> events;
  for (const Event& e : data.events) {
    events.push_back({e.start, e.end, MarkerShape::kEventSpan, EventColor(e), EventTooltip(e)});
  }
  std::vector<PlotMarker> with_decisions = events;
  for (const DecisionRecord& d : data.decisions) {
    if (d.time < x0 || d.time > x1) continue;
    const bool out = d.action == "scale_out";
    const bool in = d.action == "scale_in";
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: %s %d x %s (%d -> %d)\nmetric %.3f  %s",
                  FormatRunTimeFull(d.time).c_str(), d.action.c_str(), d.count, d.node_type.c_str(),
                  d.replicas_before, d.replicas_after, d.metric, d.reason.c_str());
    with_decisions.push_back({d.time, std::nan(""),
                              out  ? MarkerShape::kUpTriangle
                              : in ? MarkerShape::kDownTriangle
                                   : MarkerShape::kDiamond,
                              out  ? kScaleOutColor
                              : in ? kScaleInColor
                                   : kOtherDecisionColor,
                              buf});
  }

  const float avail = ImGui::GetContentRegionAvail().y;
  const float spacing = ImGui::GetStyle().ItemSpacing.y;
  // Demand gets the most room; the others share the rest.
  const float unit = (avail - 4 * spacing) / 5.4f;
  PlotSpec spec;
  spec.x0 = x0;
  spec.x1 = x1;
  spec.cursor_x = view.time;
  spec.epoch = data.trace_epoch;
  auto seek = [&](const PlotResult& r) {
    if (r.clicked) queue->Push(SeekCommand{r.clicked_x});
  };
  const TickSeries& t = data.ticks;
  const Derived& d0 = derived[0];

  // 1. Demand, capacity, forecast.
  {
    std::vector<PlotLine> lines;
    std::vector<PlotBand> bands;
    if (!d0.fc_time.empty()) {
      bands.push_back({"forecast p10-p90", d0.fc_time, d0.fc_p10, d0.fc_p90, kForecastBand});
      lines.push_back({"p50", d0.fc_time, d0.fc_p50, kForecastMedian, 1.2f});
    }
    lines.push_back({"demand", t.time, t.demand, kDemandColor, 2.0f});
    lines.push_back({"capacity", t.time, t.capacity, kCapacityColor, 2.0f});
    for (std::size_t i = 1; i < view.sources.size(); ++i) {
      const SourceView& s = view.sources[i];
      lines.push_back({"capacity (" + s.name + ")", s.data->ticks.time, s.data->ticks.capacity,
                       s.color, 2.0f, true});
    }
    spec.id = "demand";
    spec.title = "Demand, capacity, forecast";
    spec.y_unit = "requests/s";
    spec.height = unit * 1.4f;
    seek(DrawTimePlot(spec, lines, bands, events));
  }
  // 2. Utilisation.
  {
    std::vector<PlotLine> lines = {{"fleet", t.time, d0.utilization_pct, kUtilizationColor, 1.5f}};
    for (std::size_t i = 1; i < view.sources.size(); ++i) {
      lines.push_back({view.sources[i].name, derived[i].data->ticks.time,
                       derived[i].utilization_pct, view.sources[i].color, 1.5f, true});
    }
    spec.id = "util";
    spec.title = "Utilisation of ready nodes";
    spec.y_unit = "";
    spec.percent = true;
    spec.y_max = 1;
    spec.height = unit;
    seek(DrawTimePlot(spec, lines, {}, events));
    spec.percent = false;
    spec.y_max = std::nan("");
  }
  // 3, 4. Dropped and queued per class.
  const char* class_names[] = {"critical", "standard", "best effort"};
  for (int which = 0; which < 2; ++which) {
    std::vector<PlotLine> lines;
    for (int c = 0; c < kNumClasses; ++c) {
      const auto& series = which == 0 ? d0.dropped[c] : d0.queued[c];
      lines.push_back({class_names[c], t.time, series, kClassColors[c], 1.5f});
    }
    for (std::size_t i = 1; i < view.sources.size(); ++i) {
      // The overlay's standard class (the busiest in most scenarios).
      lines.push_back({std::string("standard (") + view.sources[i].name + ")",
                       derived[i].data->ticks.time,
                       which == 0 ? derived[i].dropped[1] : derived[i].queued[1],
                       view.sources[i].color, 1.5f, true});
    }
    spec.id = which == 0 ? "dropped" : "queued";
    spec.title = which == 0 ? "Dropped per class" : "Queued per class";
    spec.y_unit = which == 0 ? "requests/s" : "requests";
    spec.height = unit;
    seek(DrawTimePlot(spec, lines, {}, events));
  }
  // 5. Nodes, with the policy's decisions on the axis.
  {
    std::vector<PlotLine> lines = {{"ready + booting", t.time, d0.nodes, kCapacityColor, 1.5f}};
    for (std::size_t i = 1; i < view.sources.size(); ++i) {
      lines.push_back({view.sources[i].name, derived[i].data->ticks.time, derived[i].nodes,
                       view.sources[i].color, 1.5f, true});
    }
    spec.id = "nodes";
    spec.title = "Nodes and decisions (^ scale out, v scale in)";
    spec.y_unit = "nodes";
    spec.height = std::max(60.0f, ImGui::GetContentRegionAvail().y);
    seek(DrawTimePlot(spec, lines, {}, with_decisions));
  }
}

}  // namespace meshtwin::gui
