#include <imgui.h>
#include <imgui_stdlib.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "gui/imgui_util.h"
#include "gui/panels.h"
#include "gui/rerun.h"
#include "gui/time_axis.h"

namespace meshtwin::gui {
namespace {

struct SummaryRow {
  const char* label;
  double (*get)(const RunSummary&);
  bool lower_is_better;
};
constexpr SummaryRow kSummaryRows[] = {
    {"node-hours", [](const RunSummary& s) { return s.node_hours; }, true},
    {"cost", [](const RunSummary& s) { return s.cost; }, true},
    {"SLO-violation min",
     [](const RunSummary& s) { return static_cast<double>(s.slo_violation_minutes); }, true},
    {"requests dropped", [](const RunSummary& s) { return s.requests_dropped; }, true},
    {"peak nodes", [](const RunSummary& s) { return static_cast<double>(s.peak_nodes); }, true},
    {"scale-ups", [](const RunSummary& s) { return static_cast<double>(s.scale_up_events); }, true},
    {"mean utilisation %", [](const RunSummary& s) { return 100 * s.mean_utilization; }, false},
    {"mean latency ms", [](const RunSummary& s) { return 1000 * s.mean_latency_s; }, true},
};

}  // namespace

void ScenarioPanel::Draw(const ViewState& view, CommandQueue* queue) {
  const SourceView* primary = view.primary();
  if (!primary) return;
  const ResultsData& data = *primary->data;
  if (seeded_from != &data) {
    // New primary run: start the edit fields from what it ran with.
    seeded_from = &data;
    overrides.clear();
    std::istringstream in(data.overrides);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("policy.name=", 0) == 0 || line.empty()) continue;
      overrides += line + "\n";
    }
    policy = 0;
    for (int i = 0; i < static_cast<int>(std::size(kRerunPolicies)); ++i) {
      if (data.policy.rfind(kRerunPolicies[i], 0) == 0) policy = i;
    }
  }

  ImGui::Text("%s", data.scenario_name.c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("policy %s, seed %llu, tick %s", data.policy.c_str(),
                      static_cast<unsigned long long>(data.seed),
                      FormatRunTimeFull(data.control_interval).c_str());

  // Edit and re-run.
  ImGui::SetNextItemWidth(140);
  ImGui::Combo("policy", &policy, kRerunPolicies, static_cast<int>(std::size(kRerunPolicies)));
  ImGui::SameLine();
  const bool can_run = !view.rerun_running && !data.scenario_text.empty() && !primary->live;
  if (!can_run) ImGui::BeginDisabled();
  if (scripted_pending && can_run) ApplyScriptedRerun(scripted, &overrides, &policy);
  const bool clicked = ImGui::Button("Re-run with these settings");
  if (clicked || (scripted_pending && can_run)) {
    queue->Push(BuildRerunCommand(overrides, kRerunPolicies[policy]));
    if (scripted_pending) scripted_clicked = true;
    scripted_pending = false;
  }
  if (!can_run) ImGui::EndDisabled();
  ImGui::TextDisabled("--set overrides, one key=value per line:");
  ImGui::InputTextMultiline("##overrides", &overrides,
                            ImVec2(-1, ImGui::GetTextLineHeight() * 3.6f));
  for (const SourceView& s : view.sources) {
    if (!s.rerun) continue;
    if (!s.error.empty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, Vec4(kFailedColor));
      ImGui::TextWrapped("%s", s.error.c_str());
      ImGui::PopStyleColor();
    } else if (s.live) {
      char overlay[64];
      std::snprintf(overlay, sizeof overlay, "%s: %.0f %%", s.name.c_str(), 100 * s.progress);
      ImGui::ProgressBar(static_cast<float>(s.progress), ImVec2(-1, 0), overlay);
    }
  }

  // The runs side by side.
  if (view.sources.size() > 1 &&
      ImGui::BeginTable("summary", static_cast<int>(view.sources.size()) + 2,
                        ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                            ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("", 0, 1.4f);
    for (const SourceView& s : view.sources) ImGui::TableSetupColumn(s.name.c_str());
    ImGui::TableSetupColumn("2nd vs 1st");
    ImGui::TableHeadersRow();
    for (const SummaryRow& row : kSummaryRows) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(row.label);
      for (std::size_t i = 0; i < view.sources.size(); ++i) {
        ImGui::TableSetColumnIndex(static_cast<int>(i) + 1);
        const SourceView& s = view.sources[i];
        if (s.live || s.data->summary.ticks == 0) {
          ImGui::TextDisabled("-");
        } else {
          ImGui::TextUnformatted(FormatValue(row.get(s.data->summary)).c_str());
        }
      }
      ImGui::TableSetColumnIndex(static_cast<int>(view.sources.size()) + 1);
      const SourceView& a = view.sources[0];
      const SourceView& b = view.sources[1];
      if (!a.live && !b.live && a.data->summary.ticks > 0 && b.data->summary.ticks > 0) {
        const double va = row.get(a.data->summary), vb = row.get(b.data->summary);
        if (va != 0) {
          const double pct = 100 * (vb - va) / std::abs(va);
          const bool better = row.lower_is_better ? pct < 0 : pct > 0;
          ImGui::TextColored(Vec4(std::abs(pct) < 0.05 ? kAxisText
                                  : better             ? kScaleOutColor
                                                       : kFailedColor),
                             "%+.1f %%", pct);
        } else {
          ImGui::TextDisabled(vb == 0 ? "=" : "new");
        }
      }
    }
    ImGui::EndTable();
  }

  // The scenario as it was run.
  if (!data.overrides.empty()) {
    ImGui::TextDisabled("ran with --set:");
    ImGui::SameLine();
    std::string one_line = data.overrides;
    for (char& c : one_line) {
      if (c == '\n') c = ' ';
    }
    ImGui::TextWrapped("%s", one_line.c_str());
  }
  if (ImGui::BeginChild("yaml", ImVec2(0, 0), true, ImGuiWindowFlags_HorizontalScrollbar)) {
    ImGui::TextUnformatted(data.scenario_text.c_str());
  }
  ImGui::EndChild();
}

}  // namespace meshtwin::gui
