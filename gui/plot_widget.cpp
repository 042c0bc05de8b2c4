#include "gui/plot_widget.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gui/imgui_util.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {

void AddDashedLine(ImDrawList* dl, ImVec2 a, ImVec2 b, ImU32 color, float thickness, float* phase,
                   float dash, float gap) {
  const float dx = b.x - a.x, dy = b.y - a.y;
  const float len = std::sqrt(dx * dx + dy * dy);
  if (len <= 0) return;
  const float period = dash + gap;
  float t = 0;
  while (t < len) {
    const float in_period = std::fmod(*phase + t, period);
    if (in_period < dash) {
      const float run = std::min(dash - in_period, len - t);
      dl->AddLine(ImVec2(a.x + dx * t / len, a.y + dy * t / len),
                  ImVec2(a.x + dx * (t + run) / len, a.y + dy * (t + run) / len), color, thickness);
      t += run;
    } else {
      t += period - in_period;
    }
  }
  *phase = std::fmod(*phase + len, period);
}

void AddLabel(ImDrawList* dl, ImVec2 pos, ImU32 color, const char* text) {
  const ImVec2 size = ImGui::CalcTextSize(text);
  dl->AddRectFilled(ImVec2(pos.x - 2, pos.y - 1), ImVec2(pos.x + size.x + 2, pos.y + size.y + 1),
                    Col(kPlotBackground, 220), 2.0f);
  dl->AddText(pos, color, text);
}

namespace {

std::string YLabel(double v, bool percent) {
  if (percent) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
    return buf;
  }
  return FormatValue(v);
}

// The y value of the line at x (the sample at or before x), NaN outside.
double ValueAt(const PlotLine& line, double x) {
  const std::size_t n = std::min(line.x.size(), line.y.size());
  if (n == 0 || x < line.x[0]) return std::nan("");
  auto it = std::upper_bound(line.x.begin(), line.x.begin() + static_cast<long>(n), x);
  const auto i = static_cast<std::size_t>(it - line.x.begin()) - 1;
  return line.y[i];
}

}  // namespace

PlotResult DrawTimePlot(const PlotSpec& spec, const std::vector<PlotLine>& lines,
                        const std::vector<PlotBand>& bands,
                        const std::vector<PlotMarker>& markers) {
  PlotResult result;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float width = std::max(50.0f, ImGui::GetContentRegionAvail().x);
  const float height = std::max(40.0f, spec.height);
  const float line_h = ImGui::GetTextLineHeight();
  const float left = 56, right = 8, top = line_h + 6, bottom = spec.x_labels ? line_h + 4 : 4;
  const ImVec2 p0(origin.x + left, origin.y + top);
  const ImVec2 p1(origin.x + width - right, origin.y + height - bottom);
  ImGui::InvisibleButton(spec.id, ImVec2(width, height));
  const bool hovered = ImGui::IsItemHovered();
  const double x0 = spec.x0, x1 = spec.x1 > spec.x0 ? spec.x1 : spec.x0 + 1;

  // Y range: the data's peak over the visible time, rounded to a nice top.
  double y0 = std::isnan(spec.y_min) ? 0 : spec.y_min;
  double y1 = spec.y_max;
  if (std::isnan(y1)) {
    double peak = std::nan("");
    for (const PlotLine& l : lines) {
      const double p = PeakIn(l.x, l.y, x0, x1);
      if (!std::isnan(p)) peak = std::isnan(peak) ? p : std::max(peak, p);
    }
    for (const PlotBand& b : bands) {
      const double p = PeakIn(b.x, b.hi, x0, x1);
      if (!std::isnan(p)) peak = std::isnan(peak) ? p : std::max(peak, p);
    }
    y1 = spec.percent ? std::max(1.0, NiceCeil(peak)) : NiceCeil(peak);
  }
  if (y1 <= y0) y1 = y0 + 1;
  auto sx = [&](double x) { return static_cast<float>(MapRange(x, x0, x1, p0.x, p1.x)); };
  auto sy = [&](double y) { return static_cast<float>(MapRange(y, y0, y1, p1.y, p0.y)); };

  // Frame, grid and axes.
  dl->AddRectFilled(p0, p1, Col(kPlotBackground));
  const int y_target = std::max(2, static_cast<int>((p1.y - p0.y) / (line_h * 2.2f)));
  for (const AxisTick& t : ValueTicks(y0, y1, y_target)) {
    const float y = sy(t.value);
    dl->AddLine(ImVec2(p0.x, y), ImVec2(p1.x, y), Col(kGrid));
    const std::string label = YLabel(t.value, spec.percent);
    const ImVec2 ts = ImGui::CalcTextSize(label.c_str());
    dl->AddText(ImVec2(p0.x - ts.x - 6, y - ts.y * 0.5f), Col(kAxisText), label.c_str());
  }
  const int x_target = std::max(2, static_cast<int>((p1.x - p0.x) / 90));
  for (const AxisTick& t : TimeTicks(x0, x1, x_target)) {
    const float x = sx(t.value);
    dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), Col(kGrid));
    if (spec.x_labels) {
      const ImVec2 ts = ImGui::CalcTextSize(t.label.c_str());
      const float lx = std::clamp(x - ts.x * 0.5f, origin.x + left - 10, p1.x - ts.x);
      dl->AddText(ImVec2(lx, p1.y + 3), Col(kAxisText), t.label.c_str());
    }
  }
  dl->PushClipRect(p0, p1, true);

  // Event spans first, under the data.
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const PlotMarker* hovered_marker = nullptr;
  for (const PlotMarker& m : markers) {
    if (m.shape != MarkerShape::kEventSpan) continue;
    const float a = sx(m.x0);
    if (!std::isnan(m.x1) && m.x1 > m.x0) {
      dl->AddRectFilled(ImVec2(a, p0.y), ImVec2(std::max(a + 1, sx(m.x1)), p1.y), Col(m.color, 24));
    }
    float phase = 0;
    AddDashedLine(dl, ImVec2(a, p0.y), ImVec2(a, p1.y), Col(m.color, 200), 1.0f, &phase, 4, 3);
    if (hovered && std::abs(mouse.x - a) <= 4) hovered_marker = &m;
  }
  // Inside a span, away from any start line: that span's tooltip.
  for (const PlotMarker& m : markers) {
    if (hovered_marker || !hovered || m.shape != MarkerShape::kEventSpan || std::isnan(m.x1)) {
      continue;
    }
    if (mouse.x > sx(m.x0) && mouse.x <= sx(m.x1)) hovered_marker = &m;
  }

  // Bands: opaque trapezoids without anti-aliased fringes (seams otherwise).
  const int columns = static_cast<int>(p1.x - p0.x);
  const ImDrawListFlags saved_flags = dl->Flags;
  dl->Flags &= ~ImDrawListFlags_AntiAliasedFill;
  for (const PlotBand& b : bands) {
    const std::vector<XY> lo = DecimateMinMax(b.x, b.lo, x0, x1, columns);
    const std::vector<XY> hi = DecimateMinMax(b.x, b.hi, x0, x1, columns);
    const std::size_t n = std::min(lo.size(), hi.size());
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (std::isnan(lo[i].y) || std::isnan(hi[i].y) || std::isnan(lo[i + 1].y) ||
          std::isnan(hi[i + 1].y))
        continue;
      const float xa = sx(lo[i].x), xb = sx(lo[i + 1].x);
      dl->AddQuadFilled(ImVec2(xa, sy(lo[i].y)), ImVec2(xa, sy(hi[i].y)),
                        ImVec2(xb + 0.5f, sy(hi[i + 1].y)), ImVec2(xb + 0.5f, sy(lo[i + 1].y)),
                        Col(b.color));
    }
  }
  dl->Flags = saved_flags;

  // Lines.
  std::vector<ImVec2> pts;
  for (const PlotLine& l : lines) {
    const std::vector<XY> xy = DecimateMinMax(l.x, l.y, x0, x1, columns);
    pts.clear();
    auto flush = [&] {
      if (pts.size() >= 2) {
        if (l.dashed) {
          float phase = 0;
          for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
            AddDashedLine(dl, pts[i], pts[i + 1], Col(l.color), l.thickness, &phase);
          }
        } else {
          dl->AddPolyline(pts.data(), static_cast<int>(pts.size()), Col(l.color), 0, l.thickness);
        }
      }
      pts.clear();
    };
    for (const XY& p : xy) {
      if (std::isnan(p.y)) {
        flush();
        continue;
      }
      pts.emplace_back(sx(p.x), sy(std::clamp(p.y, y0 - (y1 - y0), y1 + (y1 - y0))));
    }
    flush();
  }

  // Decision glyphs along the bottom edge.
  for (const PlotMarker& m : markers) {
    if (m.shape == MarkerShape::kEventSpan) continue;
    const float x = sx(m.x0);
    if (x < p0.x - 6 || x > p1.x + 6) continue;
    const float y = p1.y - 7, r = 5;
    const ImU32 c = Col(m.color);
    if (m.shape == MarkerShape::kUpTriangle) {
      dl->AddTriangleFilled(ImVec2(x, y - r), ImVec2(x - r, y + r), ImVec2(x + r, y + r), c);
    } else if (m.shape == MarkerShape::kDownTriangle) {
      dl->AddTriangleFilled(ImVec2(x - r, y - r), ImVec2(x + r, y - r), ImVec2(x, y + r), c);
    } else {
      dl->AddQuadFilled(ImVec2(x, y - r), ImVec2(x + r, y), ImVec2(x, y + r), ImVec2(x - r, y), c);
    }
    if (hovered && std::abs(mouse.x - x) <= r && std::abs(mouse.y - y) <= r + 2) {
      hovered_marker = &m;
    }
  }

  // Cursor.
  if (!std::isnan(spec.cursor_x) && spec.cursor_x >= x0 && spec.cursor_x <= x1) {
    const float x = sx(spec.cursor_x);
    dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), Col(kCursor, 230), 1.5f);
  }
  dl->PopClipRect();
  dl->AddRect(p0, p1, Col(kGrid));

  // Title with unit, and the legend: in the band above the plot area when
  // it fits beside the title, else as a boxed list in the plot's top-left.
  std::string title = spec.title;
  if (!spec.y_unit.empty()) title += " (" + spec.y_unit + ")";
  dl->AddText(ImVec2(origin.x + 4, origin.y + 2), Col(kAxisText), title.c_str());
  struct Entry {
    const std::string* label;
    Rgb color;
    int kind;  // 0 line, 1 dashed line, 2 band
  };
  std::vector<Entry> entries;
  for (const PlotBand& b : bands) {
    if (!b.label.empty()) entries.push_back({&b.label, b.color, 2});
  }
  for (const PlotLine& l : lines) {
    if (l.in_legend && !l.label.empty()) entries.push_back({&l.label, l.color, l.dashed ? 1 : 0});
  }
  const float swatch = 18, pad = 8;
  float legend_w = 0, widest = 0;
  for (const Entry& e : entries) {
    const float w = ImGui::CalcTextSize(e.label->c_str()).x;
    legend_w += swatch + 4 + w + pad;
    widest = std::max(widest, w);
  }
  const float title_end = origin.x + 4 + ImGui::CalcTextSize(title.c_str()).x + 16;
  const bool inline_legend = p1.x - legend_w >= title_end;
  auto draw_swatch = [&](const Entry& e, float x, float y) {
    const float mid = y + line_h * 0.5f;
    if (e.kind == 2) {
      dl->AddRectFilled(ImVec2(x, y + 2), ImVec2(x + swatch, y + line_h - 2), Col(e.color));
    } else if (e.kind == 1) {
      float phase = 0;
      AddDashedLine(dl, ImVec2(x, mid), ImVec2(x + swatch, mid), Col(e.color), 2.0f, &phase, 5, 3);
    } else {
      dl->AddRectFilled(ImVec2(x, mid - 2), ImVec2(x + swatch, mid + 2), Col(e.color));
    }
  };
  if (inline_legend) {
    float x = p1.x - legend_w + pad;
    for (const Entry& e : entries) {
      draw_swatch(e, x, origin.y + 2);
      dl->AddText(ImVec2(x + swatch + 4, origin.y + 2), Col(kAxisText), e.label->c_str());
      x += swatch + 4 + ImGui::CalcTextSize(e.label->c_str()).x + pad;
    }
  } else if (!entries.empty()) {
    const ImVec2 b0(p0.x + 6, p0.y + 6);
    const ImVec2 b1(b0.x + swatch + 4 + widest + 10,
                    b0.y + 4 + static_cast<float>(entries.size()) * (line_h + 1) + 2);
    dl->AddRectFilled(b0, b1, Col(kPlotBackground, 225), 3);
    dl->AddRect(b0, b1, Col(kGrid), 3);
    float y = b0.y + 3;
    for (const Entry& e : entries) {
      draw_swatch(e, b0.x + 5, y);
      dl->AddText(ImVec2(b0.x + 5 + swatch + 4, y), Col(kAxisText), e.label->c_str());
      y += line_h + 1;
    }
  }

  // Hover: a guide line and the values under the mouse; click seeks.
  if (hovered && mouse.x >= p0.x && mouse.x <= p1.x) {
    const double hx = MapRange(mouse.x, p0.x, p1.x, x0, x1);
    result.hovered = true;
    result.hover_x = hx;
    if (ImGui::IsMouseClicked(0)) {
      result.clicked = true;
      result.clicked_x = hx;
    }
    dl->AddLine(ImVec2(mouse.x, p0.y), ImVec2(mouse.x, p1.y), Col(kAxisText, 90));
    ImGui::BeginTooltip();
    if (hovered_marker) {
      ImGui::TextUnformatted(hovered_marker->tooltip.c_str());
      ImGui::Separator();
    }
    ImGui::Text("%s   %s", FormatRunTimeFull(hx).c_str(), FormatCalendar(spec.epoch, hx).c_str());
    for (const PlotLine& l : lines) {
      if (l.label.empty()) continue;
      const double v = ValueAt(l, hx);
      ImGui::TextColored(Vec4(l.color), "%s: %s%s", l.label.c_str(),
                         spec.percent ? YLabel(v, true).c_str() : FormatValue(v).c_str(),
                         spec.percent || spec.y_unit.empty() ? "" : (" " + spec.y_unit).c_str());
    }
    for (const PlotBand& b : bands) {
      const double lo = ValueAt({b.label, b.x, b.lo, b.color}, hx);
      const double hi = ValueAt({b.label, b.x, b.hi, b.color}, hx);
      ImGui::TextColored(Vec4(kForecastMedian), "%s: %s .. %s", b.label.c_str(),
                         FormatValue(lo).c_str(), FormatValue(hi).c_str());
    }
    ImGui::EndTooltip();
  }
  return result;
}

}  // namespace meshtwin::gui
