#include <imgui.h>
#include <imgui_stdlib.h>

#include "gui/imgui_util.h"
#include "gui/panels.h"
#include "gui/snapshot_lookup.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {

void NodeTablePanel::Draw(const ViewState& view, CommandQueue* queue) {
  const SourceView* primary = view.primary();
  if (!primary) return;
  const ResultsData& data = *primary->data;
  const std::optional<std::size_t> snap = SnapshotIndexAt(data.nodes, view.time);
  ImGui::SetNextItemWidth(-200);
  ImGui::InputTextWithHint("##filter", "filter: medium failed util>80% queued>10 id<100", &filter);
  ImGui::SameLine();
  if (!snap) {
    ImGui::TextDisabled("no snapshot");
    return;
  }
  const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_SortMulti |
                                ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_Resizable | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_SizingStretchProp;
  // The table is drawn after the count, but its sort specs are read inside
  // it; rows are recomputed there when anything changed.
  const std::size_t total = RowsOf(data.nodes, *snap).size();
  ImGui::Text("%zu of %zu nodes", rows.size(), total);
  if (!ImGui::BeginTable("nodes", kNumNodeColumns, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("id", ImGuiTableColumnFlags_DefaultSort, 0.6f, 0);
  ImGui::TableSetupColumn("type", 0, 1.0f, 1);
  ImGui::TableSetupColumn("role", 0, 1.0f, 2);
  ImGui::TableSetupColumn("state", 0, 1.0f, 3);
  ImGui::TableSetupColumn("util %", ImGuiTableColumnFlags_PreferSortDescending, 0.8f, 4);
  ImGui::TableSetupColumn("queued", ImGuiTableColumnFlags_PreferSortDescending, 0.8f, 5);
  ImGui::TableHeadersRow();
  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsDirty) {
    sort.clear();
    for (int i = 0; i < specs->SpecsCount; ++i) {
      const ImGuiTableColumnSortSpecs& s = specs->Specs[i];
      sort.push_back({static_cast<NodeColumn>(s.ColumnUserID),
                      s.SortDirection == ImGuiSortDirection_Descending});
    }
    specs->SpecsDirty = false;
  }
  const bool same_sort = sort.size() == rows_sort.size() &&
                         std::equal(sort.begin(), sort.end(), rows_sort.begin(),
                                    [](const NodeSort& a, const NodeSort& b) {
                                      return a.column == b.column && a.descending == b.descending;
                                    });
  if (rows_data != &data || rows_version != primary->version || rows_snapshot != *snap ||
      rows_filter != filter || !same_sort) {
    rows = FilterAndSortNodes(data, *snap, filter, sort);
    rows_data = &data;
    rows_version = primary->version;
    rows_snapshot = *snap;
    rows_filter = filter;
    rows_sort = sort;
  }
  const NodeSnapshots& ns = data.nodes;
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(rows.size()));
  while (clipper.Step()) {
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const std::size_t r = rows[static_cast<std::size_t>(i)];
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      char id[32];
      std::snprintf(id, sizeof id, "%d", ns.id[r]);
      if (ImGui::Selectable(id, view.selected_node == ns.id[r],
                            ImGuiSelectableFlags_SpanAllColumns)) {
        queue->Push(SelectNodeCommand{ns.id[r]});
      }
      ImGui::TableSetColumnIndex(1);
      ImGui::TextUnformatted(NodeTypeName(data, r).c_str());
      ImGui::TableSetColumnIndex(2);
      ImGui::TextUnformatted(NodeRoleName(data, r).c_str());
      ImGui::TableSetColumnIndex(3);
      const std::string state = NodeStateName(data, r);
      if (state == "failed") {
        ImGui::TextColored(Vec4(kFailedColor), "%s", state.c_str());
      } else {
        ImGui::TextUnformatted(state.c_str());
      }
      ImGui::TableSetColumnIndex(4);
      ImGui::Text("%.1f", 100.0 * ns.utilization[r]);
      ImGui::TableSetColumnIndex(5);
      ImGui::TextUnformatted(FormatValue(ns.queued[r]).c_str());
    }
  }
  ImGui::EndTable();
}

}  // namespace meshtwin::gui
