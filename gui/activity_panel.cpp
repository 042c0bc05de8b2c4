#include <imgui.h>

#include <cmath>

#include "gui/event_style.h"
#include "gui/imgui_util.h"
#include "gui/panels.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {

void ActivityPanel::Draw(const ViewState& view, CommandQueue* queue) {
  const SourceView* primary = view.primary();
  if (!primary) return;
  const ResultsData& data = *primary->data;
  if (!ImGui::BeginTabBar("activity")) return;
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable;
  char label[64];
  std::snprintf(label, sizeof label, "Decisions (%zu)###decisions", data.decisions.size());
  if (ImGui::BeginTabItem(label)) {
    if (ImGui::BeginTable("decisions", 4, flags)) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("time", ImGuiTableColumnFlags_WidthFixed, 90);
      ImGui::TableSetupColumn("action", ImGuiTableColumnFlags_WidthFixed, 150);
      ImGui::TableSetupColumn("nodes", ImGuiTableColumnFlags_WidthFixed, 70);
      ImGui::TableSetupColumn("why", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableHeadersRow();
      ImGuiListClipper clipper;
      clipper.Begin(static_cast<int>(data.decisions.size()));
      while (clipper.Step()) {
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
          const DecisionRecord& d = data.decisions[static_cast<std::size_t>(i)];
          ImGui::TableNextRow();
          ImGui::TableSetColumnIndex(0);
          ImGui::PushID(i);
          if (ImGui::Selectable(FormatRunTimeFull(d.time).c_str(), false,
                                ImGuiSelectableFlags_SpanAllColumns)) {
            queue->Push(SeekCommand{d.time});
          }
          ImGui::PopID();
          ImGui::TableSetColumnIndex(1);
          const Rgb c = d.action == "scale_out"  ? kScaleOutColor
                        : d.action == "scale_in" ? kScaleInColor
                                                 : kOtherDecisionColor;
          ImGui::TextColored(Vec4(c), "%s %d %s", d.action.c_str(), d.count, d.node_type.c_str());
          ImGui::TableSetColumnIndex(2);
          ImGui::Text("%d -> %d", d.replicas_before, d.replicas_after);
          ImGui::TableSetColumnIndex(3);
          ImGui::TextUnformatted(d.reason.c_str());
        }
      }
      ImGui::EndTable();
    }
    ImGui::EndTabItem();
  }
  std::snprintf(label, sizeof label, "Events (%zu)###events", data.events.size());
  if (ImGui::BeginTabItem(label)) {
    if (ImGui::BeginTable("events", 4, flags)) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("start", ImGuiTableColumnFlags_WidthFixed, 90);
      ImGui::TableSetupColumn("category", ImGuiTableColumnFlags_WidthFixed, 80);
      ImGui::TableSetupColumn("magnitude", ImGuiTableColumnFlags_WidthFixed, 70);
      ImGui::TableSetupColumn("text", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableHeadersRow();
      for (std::size_t i = 0; i < data.events.size(); ++i) {
        const Event& e = data.events[i];
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        ImGui::PushID(static_cast<int>(i));
        if (ImGui::Selectable(FormatRunTimeFull(e.start).c_str(), false,
                              ImGuiSelectableFlags_SpanAllColumns)) {
          queue->Push(SeekCommand{e.start});
        }
        ImGui::PopID();
        if (ImGui::IsItemHovered()) {
          ImGui::SetTooltip("%s\n%s", EventTooltip(e).c_str(),
                            FormatCalendar(data.trace_epoch, e.start).c_str());
        }
        ImGui::TableSetColumnIndex(1);
        ImGui::TextColored(Vec4(EventColor(e)), "%s", e.category.c_str());
        ImGui::TableSetColumnIndex(2);
        ImGui::Text("%.2f", e.magnitude);
        ImGui::TableSetColumnIndex(3);
        ImGui::TextUnformatted(e.text.c_str());
      }
      ImGui::EndTable();
    }
    ImGui::EndTabItem();
  }
  ImGui::EndTabBar();
}

}  // namespace meshtwin::gui
