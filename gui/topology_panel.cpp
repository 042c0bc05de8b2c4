#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>

#include "gui/imgui_util.h"
#include "gui/network_layout.h"
#include "gui/node_table_model.h"
#include "gui/panels.h"
#include "gui/snapshot_lookup.h"
#include "gui/time_axis.h"
#include "twin/types.h"

namespace meshtwin::gui {
namespace {

Rgb RoleColor(int role) {
  return kRoleColors[static_cast<std::size_t>(std::max(0, role)) % std::size(kRoleColors)];
}

// A square of half-size r: 4 vertices, no anti-aliasing (the far-out level
// of detail, where a node is a couple of pixels).
void PrimSquare(ImDrawList* dl, ImVec2 c, float r, ImU32 col) {
  dl->PrimRect(ImVec2(c.x - r, c.y - r), ImVec2(c.x + r, c.y + r), col);
}

}  // namespace

void TopologyPanel::Draw(const ViewState& view, CommandQueue* queue) {
  const SourceView* primary = view.primary();
  if (!primary) {
    ImGui::TextDisabled("No run loaded.");
    return;
  }
  const ResultsData& data = *primary->data;
  if (layout_data != &data) {
    layout.Reset();
    network.Reset();
    layout_version = network_version = net_state_version = ~std::uint64_t{0};
    layout_data = &data;
  }
  // The real network when the run has a faults topology; with a DHT as well,
  // the user picks (the overlay by default, as before topologies existed).
  if (data.nodes.zones > 0 && network_version != primary->version) {
    network.Extend(data);
    network_version = primary->version;
  }
  const bool has_dht = !data.nodes.links.empty();
  const bool net = network.built() && (!has_dht || view_mode == 0);
  if (!net && layout_version != primary->version) {
    layout.Extend(data);
    layout_version = primary->version;
  }
  const std::optional<std::size_t> snap = SnapshotIndexAt(data.nodes, view.time);

  // Controls.
  if (network.built() && has_dht) {
    ImGui::SetNextItemWidth(90);
    const char* view_names[] = {"network", "DHT"};
    if (ImGui::Combo("##view", &view_mode, view_names, 2)) {
      zoom = 1;
      pan_x = pan_y = 0;
    }
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip(
          "network: switches and racks (the faults topology)\nDHT: the overlay links");
    }
    ImGui::SameLine();
  }
  if (colour_by < 0) colour_by = data.roles.size() > 1 ? 0 : 1;
  ImGui::SetNextItemWidth(90);
  const char* colour_names[] = {"role", "node type"};
  ImGui::Combo("colour", &colour_by, colour_names, 2);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  const char* size_names[] = {"utilisation", "queued"};
  ImGui::Combo("size", &size_by, size_names, 2);
  ImGui::SameLine();
  ImGui::Checkbox("edges", &show_edges);
  ImGui::SameLine();
  if (ImGui::Button("Fit")) {
    zoom = 1;
    pan_x = pan_y = 0;
  }
  if (!snap) {
    ImGui::SameLine();
    ImGui::TextDisabled(data.nodes.every == 0 ? "no node snapshots in this run"
                                              : "no snapshot yet");
    return;
  }
  const SnapshotRows rows = RowsOf(data.nodes, *snap);
  const NodeSnapshots& ns = data.nodes;
  auto node_colour = [&](std::size_t r) {
    return RoleColor(colour_by == 0 ? ns.role[r] : ns.type[r]);
  };
  ImGui::SameLine();
  ImGui::TextDisabled("%zu nodes at %s", rows.size(), FormatRunTimeFull(ns.time[*snap]).c_str());
  // Racks cut off in this snapshot (a partition), and the zones wholly cut off.
  std::vector<RackStatus> racks;
  int cut_racks = 0;
  if (net) {
    racks = RackStatuses(ns, *snap);
    const std::vector<FailureDomain> cuts = ActiveCuts(data.events, ns.time[*snap]);
    if (net_state_snapshot != *snap || net_state_version != primary->version ||
        !std::equal(cuts.begin(), cuts.end(), net_state_cuts.begin(), net_state_cuts.end(),
                    [](const FailureDomain& a, const FailureDomain& b) {
                      return a.kind == b.kind && a.index == b.index &&
                             a.switch_index == b.switch_index;
                    })) {
      net_state = network.StateAt(racks, cuts);
      net_state_snapshot = *snap;
      net_state_version = primary->version;
      net_state_cuts = cuts;
    }
    cut_racks = net_state.cut_racks;
  }
  auto pos_of = [&](std::int32_t id) {
    return net ? network.PositionOf(id) : layout.PositionOf(id);
  };

  // Canvas.
  const ImVec2 c0 = ImGui::GetCursorScreenPos();
  ImVec2 size = ImGui::GetContentRegionAvail();
  size.x = std::max(size.x, 50.0f);
  size.y = std::max(size.y, 50.0f);
  const ImVec2 c1(c0.x + size.x, c0.y + size.y);
  ImGui::InvisibleButton("canvas", size);
  const bool hovered = ImGui::IsItemHovered();
  ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(0)) {
    pan_x += io.MouseDelta.x;
    pan_y += io.MouseDelta.y;
  }
  // World -> screen: fit the layout's box, then zoom about the canvas centre and pan.
  const Vec2 lo = net ? network.min_corner() : layout.min_corner();
  const Vec2 hi = net ? network.max_corner() : layout.max_corner();
  const float margin = 16;
  // The network view keeps its top lines (size, zones, cut racks) clear.
  const float top = net ? 2 * (ImGui::GetTextLineHeight() + 4) : 0;
  const float mid_y = c0.y + top + (size.y - top) * 0.5f;
  const float fit = std::min((size.x - 2 * margin) / std::max(1e-3f, hi.x - lo.x + 1),
                             (size.y - top - 2 * margin) / std::max(1e-3f, hi.y - lo.y + 1));
  const float wx = 0.5f * (lo.x + hi.x), wy = 0.5f * (lo.y + hi.y);
  if (hovered && io.MouseWheel != 0) {
    const float factor = std::pow(1.2f, io.MouseWheel);
    const float new_zoom = std::clamp(zoom * factor, 0.2f, 200.0f);
    // Keep the point under the mouse where it is.
    const float k = new_zoom / zoom;
    pan_x = (io.MousePos.x - (c0.x + size.x * 0.5f)) * (1 - k) + pan_x * k;
    pan_y = (io.MousePos.y - mid_y) * (1 - k) + pan_y * k;
    zoom = new_zoom;
  }
  const float scale = fit * zoom;
  const ImVec2 ctr(c0.x + size.x * 0.5f + pan_x, mid_y + pan_y);
  auto to_screen = [&](Vec2 p) {
    return ImVec2(ctr.x + (p.x - wx) * scale, ctr.y + (p.y - wy) * scale);
  };

  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRect(c0, c1, Col(kGrid));
  dl->PushClipRect(c0, c1, true);

  // Size metric, normalised over the snapshot.
  float max_queued = 1;
  if (size_by == 1) {
    for (std::size_t r = rows.begin; r < rows.end; ++r)
      max_queued = std::max(max_queued, ns.queued[r]);
  }
  const float base = std::clamp(0.42f * scale, 1.0f, 10.0f);  // one spacing is 1 layout unit
  const bool points = base < 2.5f;                            // level of detail
  const float cull = base * 2 + 2;
  auto visible = [&](ImVec2 p) {
    return p.x >= c0.x - cull && p.x <= c1.x + cull && p.y >= c0.y - cull && p.y <= c1.y + cull;
  };

  // Edges: overlay links, or each node to its role's hub. Star edges are
  // skipped when zoomed out on a large fleet (a solid fan says nothing);
  // overlay links are drawn up to 40,000, fainter the more there are, so
  // that a 1,000-node DHT shows its structure rather than a grey sheet; of
  // more than 4,000 only the short ones (under a seventh of the layout's
  // width, whatever the zoom), the local structure: long fingers across the
  // whole disc say little and cost most of the fill (llvmpipe blends every
  // pixel: 6,000 of them took 17 ms a frame).
  const std::size_t links = net ? 0 : rows.link_end - rows.link_begin;
  const bool linked = links > 0;
  const std::size_t edge_count = linked ? links : rows.size();
  if (show_edges && (edge_count <= 4000 || !points || (linked && edge_count <= 40000))) {
    const auto link_alpha = static_cast<std::uint8_t>(
        std::clamp(90.0 * std::sqrt(2000.0 / static_cast<double>(edge_count)), 18.0, 90.0));
    const ImU32 ec = Col(kEdgeColor, linked ? link_alpha : 60);
    if (linked) {
      const float max_len =
          edge_count > 4000 ? scale * std::max(hi.x - lo.x, hi.y - lo.y) / 7 : FLT_MAX;
      for (std::size_t l = rows.link_begin; l < rows.link_end; ++l) {
        const Vec2* a = pos_of(ns.link_from[l]);
        const Vec2* b = pos_of(ns.link_to[l]);
        if (!a || !b) continue;
        const ImVec2 pa = to_screen(*a), pb = to_screen(*b);
        if (!visible(pa) && !visible(pb)) continue;
        if (std::abs(pa.x - pb.x) + std::abs(pa.y - pb.y) > max_len) continue;
        dl->AddLine(pa, pb, ec);
      }
    } else {
      for (std::size_t r = rows.begin; r < rows.end; ++r) {
        const Vec2* a = pos_of(ns.id[r]);
        if (!a) continue;
        const ImVec2 pa = to_screen(*a);
        const ImVec2 pb = to_screen(net ? network.RackPosition(network.RackOf(ns.id[r]))
                                        : layout.HubPosition(static_cast<std::size_t>(ns.role[r])));
        if (!visible(pa) && !visible(pb)) continue;
        dl->AddLine(pa, pb, ec);
      }
    }
  }

  // The switch graph's links (core - aggregation - rack), under the nodes;
  // the ones a partition cut are drawn later, over them.
  auto link_cut = [&](std::size_t i) {
    return i < net_state.link_cut.size() && net_state.link_cut[i] != 0;
  };
  if (net) {
    for (std::size_t i = 0; i < network.links().size(); ++i) {
      const NetworkLayout::Link& l = network.links()[i];
      if (link_cut(i)) continue;
      dl->AddLine(to_screen(network.switches()[static_cast<std::size_t>(l.from)].pos),
                  to_screen(network.switches()[static_cast<std::size_t>(l.to)].pos),
                  Col(kSwitchLinkColor, 170), 1.5f);
    }
  }

  // Nodes, in two passes: the bulk as squares or circles, then markers.
  std::int32_t hovered_row = -1;
  float best = 1e9f;
  const ImVec2 mouse = io.MousePos;
  if (points) {
    // Reserve once for the whole batch: 4 vertices and 6 indices per node.
    std::size_t n_visible = 0;
    std::vector<ImVec2> screen(rows.size());
    for (std::size_t r = rows.begin; r < rows.end; ++r) {
      const Vec2* p = pos_of(ns.id[r]);
      screen[r - rows.begin] = p ? to_screen(*p) : ImVec2(-1e9f, -1e9f);
      if (visible(screen[r - rows.begin])) ++n_visible;
    }
    // PrimReserve caps at 65535 vertices per call with 16-bit indices.
    std::size_t done = 0;
    std::size_t r = rows.begin;
    while (done < n_visible) {
      const std::size_t batch = std::min<std::size_t>(n_visible - done, 16000);
      dl->PrimReserve(static_cast<int>(batch * 6), static_cast<int>(batch * 4));
      std::size_t emitted = 0;
      for (; r < rows.end && emitted < batch; ++r) {
        const ImVec2 p = screen[r - rows.begin];
        if (!visible(p)) continue;
        const float metric = size_by == 0 ? ns.utilization[r] : ns.queued[r] / max_queued;
        const float rad = base * (0.6f + 0.6f * std::sqrt(std::clamp(metric, 0.0f, 1.0f)));
        const auto state = static_cast<NodeState>(ns.state[r]);
        const Rgb c = state == NodeState::kFailed    ? kFailedColor
                      : state == NodeState::kBooting ? kBootingColor
                                                     : node_colour(r);
        PrimSquare(dl, p, std::max(0.75f, rad), Col(c, state == NodeState::kDraining ? 130 : 255));
        ++emitted;
        if (hovered) {
          const float d = std::abs(p.x - mouse.x) + std::abs(p.y - mouse.y);
          if (d < best && d <= rad + 3) {
            best = d;
            hovered_row = static_cast<std::int32_t>(r);
          }
        }
      }
      done += emitted;
      if (emitted == 0) break;
    }
  } else {
    const int segments = base > 6 ? 16 : 10;
    for (std::size_t r = rows.begin; r < rows.end; ++r) {
      const Vec2* wp = pos_of(ns.id[r]);
      if (!wp) continue;
      const ImVec2 p = to_screen(*wp);
      if (!visible(p)) continue;
      const float metric = size_by == 0 ? ns.utilization[r] : ns.queued[r] / max_queued;
      const float rad = base * (0.6f + 0.6f * std::sqrt(std::clamp(metric, 0.0f, 1.0f)));
      const auto state = static_cast<NodeState>(ns.state[r]);
      const Rgb role_color = node_colour(r);
      if (state == NodeState::kBooting) {
        dl->AddCircle(p, rad, Col(role_color), segments, 1.5f);
      } else {
        dl->AddCircleFilled(p, rad, Col(role_color, state == NodeState::kDraining ? 120 : 255),
                            segments);
      }
      if (state == NodeState::kSwitching)
        dl->AddCircle(p, rad + 1.5f, Col(kCursor), segments, 1.0f);
      if (hovered) {
        const float dx = p.x - mouse.x, dy = p.y - mouse.y;
        const float d = std::sqrt(dx * dx + dy * dy);
        if (d < best && d <= rad + 3) {
          best = d;
          hovered_row = static_cast<std::int32_t>(r);
        }
      }
    }
  }
  // Failed nodes: a red ring and cross over whatever is there, at any zoom.
  for (std::size_t r = rows.begin; r < rows.end; ++r) {
    if (static_cast<NodeState>(ns.state[r]) != NodeState::kFailed) continue;
    const Vec2* wp = pos_of(ns.id[r]);
    if (!wp) continue;
    const ImVec2 p = to_screen(*wp);
    if (!visible(p)) continue;
    const float m = std::max(4.0f, base * 1.3f);
    dl->AddCircle(p, m + 1, Col(kFailedColor), 12, 1.5f);
    dl->AddLine(ImVec2(p.x - m * 0.7f, p.y - m * 0.7f), ImVec2(p.x + m * 0.7f, p.y + m * 0.7f),
                Col(kFailedColor), 1.5f);
    dl->AddLine(ImVec2(p.x - m * 0.7f, p.y + m * 0.7f), ImVec2(p.x + m * 0.7f, p.y - m * 0.7f),
                Col(kFailedColor), 1.5f);
  }
  // The real network: cut links (red, dashed) over the nodes, then the
  // switches as small squares, labelled when there is room; a cut-off rack
  // is red and says so.
  int hovered_switch = -1;
  if (net) {
    for (std::size_t i = 0; i < network.links().size(); ++i) {
      const NetworkLayout::Link& l = network.links()[i];
      if (!link_cut(i)) continue;
      float phase = 0;
      AddDashedLine(dl, to_screen(network.switches()[static_cast<std::size_t>(l.from)].pos),
                    to_screen(network.switches()[static_cast<std::size_t>(l.to)].pos),
                    Col(kCutColor), 2.5f, &phase, 7, 4);
    }
    const bool rack_labels = network.min_rack_distance() * scale >= 30;
    const Vec2 core = network.switches()[0].pos;
    for (std::size_t i = 0; i < network.switches().size(); ++i) {
      const NetworkLayout::Switch& sw = network.switches()[i];
      const ImVec2 p = to_screen(sw.pos);
      const bool is_rack = sw.kind == NetworkLayout::Kind::kRack;
      const bool cut = i < net_state.switch_cut.size() && net_state.switch_cut[i] != 0;
      const float h = sw.kind == NetworkLayout::Kind::kCore          ? 7.0f
                      : sw.kind == NetworkLayout::Kind::kAggregation ? 5.0f
                                                                     : (cut ? 5.0f : 4.0f);
      if (!visible(p)) continue;
      dl->AddRectFilled(ImVec2(p.x - h, p.y - h), ImVec2(p.x + h, p.y + h),
                        Col(cut ? kCutColor : kHubColor));
      dl->AddRect(ImVec2(p.x - h - 1, p.y - h - 1), ImVec2(p.x + h + 1, p.y + h + 1),
                  Col(kBackground));
      if (hovered && std::abs(mouse.x - p.x) <= h + 3 && std::abs(mouse.y - p.y) <= h + 3) {
        hovered_switch = static_cast<int>(i);
      }
      if (is_rack && !rack_labels && !cut) continue;
      // Labels sit outside the rack's node disc, away from the core.
      float dx = sw.pos.x - core.x, dy = sw.pos.y - core.y;
      const float len = std::sqrt(dx * dx + dy * dy);
      if (len > 1e-4f) {
        dx /= len;
        dy /= len;
      } else {
        dx = 0;
        dy = -1;
      }
      const std::string text = cut && is_rack ? sw.label + " cut off" : sw.label;
      const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
      const float out = is_rack ? std::max(network.UsedRadius(sw.index) * scale, h) + 4 : h + 4;
      // Anchor the label's nearest edge at `out` from the switch, inside the canvas.
      const ImVec2 anchor(p.x + dx * out, p.y + dy * out);
      const ImVec2 at(std::clamp(anchor.x + (dx - 1) * 0.5f * ts.x, c0.x + 4,
                                 std::max(c0.x + 4, c1.x - ts.x - 4)),
                      std::clamp(anchor.y + (dy - 1) * 0.5f * ts.y, c0.y + top + 4,
                                 std::max(c0.y + top + 4, c1.y - ts.y - 4)));
      if (is_rack && !rack_labels) {
        // Crowded: only the cut racks are named, next to their square.
        AddLabel(dl, ImVec2(std::min(p.x + h + 3, c1.x - ts.x - 4), p.y - ts.y * 0.5f),
                 Col(kCutColor), text.c_str());
      } else {
        AddLabel(dl, at, Col(cut ? kCutColor : kAxisText), text.c_str());
      }
    }
  }
  // Hubs (the switch each role's nodes hang off) in the star network.
  if (!linked && !net) {
    for (std::size_t k = 0; k < layout.hub_count(); ++k) {
      const ImVec2 p = to_screen(layout.HubPosition(k));
      dl->AddRectFilled(ImVec2(p.x - 5, p.y - 5), ImVec2(p.x + 5, p.y + 5), Col(kHubColor));
      const std::string name =
          layout.hub_count() == 1 ? "switch" : (k < data.roles.size() ? data.roles[k] : "?");
      AddLabel(dl, ImVec2(p.x + 8, p.y - 8), Col(kHubColor), name.c_str());
    }
  }
  // The selected node.
  if (view.selected_node >= 0) {
    if (const Vec2* wp = pos_of(view.selected_node)) {
      dl->AddCircle(to_screen(*wp), std::max(6.0f, base * 2), Col(kCursor), 16, 2.0f);
    }
  }

  // Legend: roles, then the state marks.
  float ly = c1.y - 8;
  auto legend_row = [&](Rgb c, const char* text, bool cross, bool dashed = false) {
    ly -= ImGui::GetTextLineHeight() + 2;
    const ImVec2 p(c0.x + 10, ly);
    const float h = ImGui::GetTextLineHeight();
    if (dashed) {
      float phase = 0;
      AddDashedLine(dl, ImVec2(p.x - 2, p.y + h * 0.5f), ImVec2(p.x + 12, p.y + h * 0.5f), Col(c),
                    2.5f, &phase, 5, 3);
    } else if (cross) {
      dl->AddCircle(ImVec2(p.x + 5, p.y + h * 0.5f), 5, Col(c), 12, 1.5f);
      dl->AddLine(ImVec2(p.x + 1, p.y + h * 0.5f - 4), ImVec2(p.x + 9, p.y + h * 0.5f + 4), Col(c),
                  1.5f);
    } else {
      dl->AddRectFilled(ImVec2(p.x, p.y + h * 0.5f - 5), ImVec2(p.x + 10, p.y + h * 0.5f + 5),
                        Col(c));
    }
    AddLabel(dl, ImVec2(p.x + 16, p.y), Col(kAxisText), text);
  };
  if (net) legend_row(kCutColor, "cut off", false, true);
  legend_row(kFailedColor, "failed", true);
  legend_row(kBootingColor, "booting", false);
  const std::vector<std::string>& names = colour_by == 0 ? data.roles : data.node_types;
  for (std::size_t k = names.size(); k-- > 0;) {
    legend_row(RoleColor(static_cast<int>(k)), names[k].c_str(), false);
  }
  AddLabel(dl, ImVec2(c0.x + 10, c0.y + 6), Col(kAxisText),
           size_by == 0 ? "size: utilisation" : "size: queued requests");
  if (net) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%d zones x %d racks", network.zones(),
                  network.racks_per_zone());
    const float th = ImGui::GetTextLineHeight() + 4;
    AddLabel(dl, ImVec2(c0.x + 10, c0.y + 6 + th), Col(kAxisText), buf);
    if (cut_racks > 0) {
      const float x = c0.x + 10 + ImGui::CalcTextSize(buf).x + 12;
      std::snprintf(buf, sizeof buf, "%d rack%s cut off", cut_racks, cut_racks == 1 ? "" : "s");
      AddLabel(dl, ImVec2(x, c0.y + 6 + th), Col(kCutColor), buf);
    }
  }
  dl->PopClipRect();

  if (hovered_switch >= 0) {
    const NetworkLayout::Switch& sw = network.switches()[static_cast<std::size_t>(hovered_switch)];
    ImGui::BeginTooltip();
    if (sw.kind == NetworkLayout::Kind::kRack) {
      const RackStatus st = sw.index < static_cast<int>(racks.size())
                                ? racks[static_cast<std::size_t>(sw.index)]
                                : RackStatus{};
      ImGui::Text("rack %d (%s)", sw.index, sw.label.c_str());
      ImGui::Separator();
      ImGui::Text("zone       %d", sw.zone);
      ImGui::Text("nodes      %d%s", st.nodes,
                  st.failed > 0 ? (" (" + std::to_string(st.failed) + " failed)").c_str() : "");
      const bool cut = net_state.switch_cut[static_cast<std::size_t>(hovered_switch)] != 0;
      if (st.nodes == 0 && cut) {
        ImGui::TextColored(Vec4(kCutColor), "reachable  no: cut off by a partition (fault event)");
      } else if (st.nodes == 0) {
        ImGui::TextDisabled("reachable  - (no nodes to tell)");
      } else if (st.cut_off()) {
        ImGui::TextColored(Vec4(kCutColor), "reachable  no: cut off from the core");
      } else if (st.reachable < st.nodes) {
        ImGui::Text("reachable  %d of %d nodes", st.reachable, st.nodes);
      } else {
        ImGui::Text("reachable  yes");
      }
    } else if (sw.kind == NetworkLayout::Kind::kAggregation) {
      ImGui::Text("aggregation switch %s", sw.label.c_str());
      ImGui::Separator();
      ImGui::Text("zone %d: racks %d to %d", sw.zone, sw.zone * network.racks_per_zone(),
                  (sw.zone + 1) * network.racks_per_zone() - 1);
      if (net_state.switch_cut[static_cast<std::size_t>(hovered_switch)] != 0) {
        ImGui::TextColored(Vec4(kCutColor), "cut off from the core");
      }
    } else {
      ImGui::Text("core (the manager)");
      ImGui::Separator();
      ImGui::Text("%d zones x %d racks, %d cut off", network.zones(), network.racks_per_zone(),
                  cut_racks);
    }
    ImGui::EndTooltip();
  } else if (hovered_row >= 0) {
    const auto r = static_cast<std::size_t>(hovered_row);
    ImGui::BeginTooltip();
    ImGui::Text("node %d", ns.id[r]);
    ImGui::Separator();
    ImGui::Text("type         %s", NodeTypeName(data, r).c_str());
    ImGui::Text("role         %s", NodeRoleName(data, r).c_str());
    ImGui::Text("state        %s", NodeStateName(data, r).c_str());
    ImGui::Text("utilisation  %.1f %%", 100.0 * ns.utilization[r]);
    ImGui::Text("queued       %s requests", FormatValue(ns.queued[r]).c_str());
    if (ns.zones > 0 && ns.rack.size() == ns.id.size() && ns.zone.size() == ns.id.size()) {
      ImGui::Text("rack         %d (zone %d)", ns.rack[r], ns.zone[r]);
      if (ns.reachable.size() == ns.id.size() && ns.reachable[r] == 0) {
        ImGui::TextColored(Vec4(kCutColor), "reachable    no: its rack is cut off");
      }
    }
    ImGui::EndTooltip();
    if (ImGui::IsMouseClicked(0)) queue->Push(SelectNodeCommand{ns.id[r]});
  }
}

}  // namespace meshtwin::gui
