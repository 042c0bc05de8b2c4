// The shadow view's pure half: plot data and report rows from a shadow file.
// Drawing is in shadow_panel.cpp.
#include "gui/shadow_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace meshtwin::gui {
namespace {

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The policy's figure against production's, relative: "+12.5 %".
std::string Percent(double production, double would_be) {
  if (!std::isfinite(production) || !std::isfinite(would_be) || production == 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f %%", 100 * (would_be - production) / production);
  return buf;
}

// The policy's count against production's, absolute: "-3".
std::string Difference(double production, double would_be) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.0f", would_be - production);
  return buf;
}

std::vector<ShadowSpan> Runs(const std::vector<std::int32_t>& flags, const std::vector<double>& x,
                             double interval) {
  std::vector<ShadowSpan> spans;
  bool open = false;
  for (std::size_t i = 0; i < flags.size() && i < x.size(); ++i) {
    if (flags[i] == 1) {
      if (open && std::abs(spans.back().x1 - x[i]) < 1e-6 * interval) {
        spans.back().x1 = x[i] + interval;  // the run goes on
      } else {
        spans.push_back({x[i], x[i] + interval});
      }
      open = true;
    } else {
      open = false;
    }
  }
  return spans;
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld min", s / 60);
  } else if (s < 86400) {
    if (s % 3600 / 60 == 0) {
      std::snprintf(buf, sizeof buf, "%lld h", s / 3600);
    } else {
      std::snprintf(buf, sizeof buf, "%lld h %lld min", s / 3600, s % 3600 / 60);
    }
  } else if (s % 86400 / 3600 == 0) {
    std::snprintf(buf, sizeof buf, "%lld d", s / 86400);
  } else {
    std::snprintf(buf, sizeof buf, "%lld d %lld h", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

ShadowPlotData BuildShadowPlotData(const ShadowFileData& file) {
  ShadowPlotData p;
  const ShadowFileSteps& s = file.steps;
  p.interval = file.attributes.interval;
  p.epoch = s.time.empty() ? 0 : s.time.front() - p.interval;
  p.x.reserve(s.size());
  for (const double t : s.time) p.x.push_back(t - p.interval - p.epoch);
  p.end = std::max(1.0, s.time.empty() ? 0 : s.time.back() - p.epoch);
  p.production_risk = Runs(s.production_at_risk, p.x, p.interval);
  p.would_be_risk = Runs(s.would_be_at_risk, p.x, p.interval);
  for (const ShadowFileDecision& d : file.decisions) p.decision_x.push_back(d.time - p.epoch);
  p.has_forecast = std::any_of(s.forecast_p50.begin(), s.forecast_p50.end(),
                               [](double v) { return std::isfinite(v); });
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.desired_nodes[i] < 0) continue;  // no data: not part of the report either
    if (std::isfinite(s.production_nodes[i])) {
      p.production_peak_nodes = std::max(p.production_peak_nodes, s.production_nodes[i]);
    }
    if (std::isfinite(s.would_be_nodes[i])) {
      p.would_be_peak_nodes = std::max(p.would_be_peak_nodes, s.would_be_nodes[i]);
    }
  }
  return p;
}

std::vector<ShadowFigure> ShadowReportRows(const ShadowFileData& file, const ShadowPlotData& plot) {
  const ShadowFileAttributes& a = file.attributes;
  std::vector<ShadowFigure> rows;
  rows.push_back({"node-hours", Fixed(a.production_node_hours, 1), Fixed(a.would_be_node_hours, 1),
                  Percent(a.production_node_hours, a.would_be_node_hours)});
  rows.push_back({"cost", Fixed(a.production_cost, 2), Fixed(a.would_be_cost, 2),
                  Percent(a.production_cost, a.would_be_cost)});
  rows.push_back({"intervals at SLO risk", std::to_string(a.production_risk_intervals),
                  std::to_string(a.would_be_risk_intervals),
                  Difference(a.production_risk_intervals, a.would_be_risk_intervals)});
  rows.push_back({"time at SLO risk", FormatDuration(a.production_risk_intervals * a.interval),
                  FormatDuration(a.would_be_risk_intervals * a.interval), ""});
  rows.push_back({"risk episodes", std::to_string(plot.production_risk.size()),
                  std::to_string(plot.would_be_risk.size()),
                  Difference(static_cast<double>(plot.production_risk.size()),
                             static_cast<double>(plot.would_be_risk.size()))});
  rows.push_back({"peak nodes", Fixed(plot.production_peak_nodes, 0),
                  Fixed(plot.would_be_peak_nodes, 0),
                  Difference(plot.production_peak_nodes, plot.would_be_peak_nodes)});
  int out = 0, in = 0;
  for (const ShadowFileDecision& d : file.decisions) {
    out += d.action == "scale_out";
    in += d.action == "scale_in";
  }
  char decisions[64];
  std::snprintf(decisions, sizeof decisions, "%zu (%d out, %d in)", file.decisions.size(), out, in);
  rows.push_back({"decisions", "", decisions, ""});
  return rows;
}

void ShadowPanel::Load(std::string file_name, ShadowFileData data) {
  name = std::move(file_name);
  file = std::move(data);
  plot = BuildShadowPlotData(file);
  cursor = std::numeric_limits<double>::quiet_NaN();
  loaded = true;
}

}  // namespace meshtwin::gui
