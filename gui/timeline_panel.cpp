#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>

#include "gui/event_style.h"
#include "gui/imgui_util.h"
#include "gui/panels.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {
namespace {

constexpr double kSpeeds[] = {1, 10, 60, 300, 1000, 3600, 14400};
constexpr const char* kSpeedNames[] = {"x1",    "x10",           "x60 (1 min/s)", "x300 (5 min/s)",
                                       "x1000", "x3600 (1 h/s)", "x14400 (4 h/s)"};

}  // namespace

void TimelinePanel::Draw(const ViewState& view, CommandQueue* queue) {
  // Row 1: open a file, the sources, the status line.
  ImGui::SetNextItemWidth(260);
  const bool enter = ImGui::InputTextWithHint("##open", "results.h5 to open or overlay", &open_path,
                                              ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Open") || enter) && !open_path.empty()) {
    queue->Push(OpenFileCommand{open_path});
  }
  for (std::size_t i = 0; i < view.sources.size(); ++i) {
    const SourceView& s = view.sources[i];
    ImGui::SameLine();
    ImGui::TextColored(Vec4(i == 0 ? kDemandColor : s.color), i == 0 ? "[primary]" : "[overlay]");
    ImGui::SameLine(0, 4);
    if (s.live) {
      ImGui::Text("%s (%s, %.0f%%)", s.name.c_str(), ToString(s.kind), 100 * s.progress);
    } else {
      ImGui::Text("%s", s.name.c_str());
    }
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip("%s: %s\nscenario %s, policy %s, seed %llu", s.name.c_str(),
                        ToString(s.kind), s.data->scenario_name.c_str(), s.data->policy.c_str(),
                        static_cast<unsigned long long>(s.data->seed));
    }
    if (i > 0) {
      ImGui::SameLine(0, 2);
      ImGui::PushID(static_cast<int>(i));
      if (ImGui::SmallButton("x")) queue->Push(CloseSourceCommand{i});
      ImGui::PopID();
    }
  }
  if (!view.status.empty()) {
    ImGui::SameLine(0, 16);
    if (view.status_is_error) {
      ImGui::TextColored(Vec4(kFailedColor), "%s", view.status.c_str());
    } else {
      ImGui::TextDisabled("%s", view.status.c_str());
    }
  }

  // Row 2: playback and the time readout.
  if (ImGui::Button(view.playing ? "Pause" : "Play", ImVec2(64, 0))) {
    queue->Push(PlayCommand{!view.playing});
  }
  ImGui::SameLine();
  if (ImGui::Button("|<")) queue->Push(SeekCommand{view.begin});
  ImGui::SameLine();
  if (ImGui::Button(">|")) queue->Push(SeekCommand{view.end});
  ImGui::SameLine();
  int speed_index = 0;
  for (int i = 0; i < static_cast<int>(std::size(kSpeeds)); ++i) {
    if (std::abs(kSpeeds[i] - view.speed) < 1e-9) speed_index = i;
  }
  ImGui::SetNextItemWidth(150);
  if (ImGui::Combo("sim-s per s", &speed_index, kSpeedNames,
                   static_cast<int>(std::size(kSpeeds)))) {
    queue->Push(SpeedCommand{kSpeeds[speed_index]});
  }
  ImGui::SameLine(0, 24);
  const SourceView* primary = view.primary();
  ImGui::Text("run time %s", FormatRunTimeFull(view.time).c_str());
  if (primary) {
    ImGui::SameLine(0, 16);
    ImGui::TextColored(Vec4(kAxisText), "%s",
                       FormatCalendar(primary->data->trace_epoch, view.time).c_str());
  }

  // Row 3: the scrubber, with the events above it.
  ImGui::SetNextItemWidth(-1);
  double t = view.time;
  const ImVec2 slider_min = ImGui::GetCursorScreenPos();
  if (ImGui::SliderScalar("##scrub", ImGuiDataType_Double, &t, &view.begin, &view.end, "")) {
    queue->Push(SeekCommand{t});
  }
  if (primary && view.end > view.begin) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float w = ImGui::GetItemRectSize().x, h = ImGui::GetItemRectSize().y;
    // Events: a mark at the start, the span shaded to the end, in the
    // event's category colour; hovering one shows what it was.
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    const bool over = ImGui::IsItemHovered();
    const Event* hovered_event = nullptr;
    float best = 5;
    for (const Event& e : primary->data->events) {
      const float x =
          slider_min.x + static_cast<float>(MapRange(e.start, view.begin, view.end, 0, w));
      const ImU32 c = Col(EventColor(e));
      if (!std::isnan(e.end) && e.end > e.start) {
        const float x1 =
            slider_min.x + static_cast<float>(MapRange(e.end, view.begin, view.end, 0, w));
        dl->AddRectFilled(ImVec2(x, slider_min.y), ImVec2(std::max(x + 2, x1), slider_min.y + h),
                          Col(EventColor(e), 60));
        if (over && mouse.x > x && mouse.x <= x1 && !hovered_event) hovered_event = &e;
      }
      dl->AddLine(ImVec2(x, slider_min.y), ImVec2(x, slider_min.y + h), c, 2);
      if (over && std::abs(mouse.x - x) < best) {
        best = std::abs(mouse.x - x);
        hovered_event = &e;
      }
    }
    if (hovered_event) ImGui::SetTooltip("%s", EventTooltip(*hovered_event).c_str());
    const std::string label = FormatRunTimeFull(view.time) + " / " + FormatRunTimeFull(view.end);
    const ImVec2 ts = ImGui::CalcTextSize(label.c_str());
    dl->AddText(ImVec2(slider_min.x + (w - ts.x) * 0.5f, slider_min.y + (h - ts.y) * 0.5f),
                Col(kAxisText), label.c_str());
  }
}

}  // namespace meshtwin::gui
