// The GUI's colours, in one place so that panels agree and the headless
// screenshot test can look for the exact pixels of a plot line or band.
//
//   ImU32 c = ToImU32(kDemandColor);        // in a .cpp that includes imgui.h
//   EXPECT_TRUE(HasPixel(png, kDemandColor));  // in a test
#pragma once

#include <cstdint>

namespace meshtwin::gui {

// An opaque sRGB colour; `Alpha` makes a translucent variant for drawing.
struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  constexpr bool operator==(const Rgb&) const = default;
};

// Packs `c` with alpha `a` (0..255) in Dear ImGui's ImU32 layout (ABGR).
constexpr std::uint32_t Packed(Rgb c, std::uint8_t a = 255) {
  return (std::uint32_t{a} << 24) | (std::uint32_t{c.b} << 16) | (std::uint32_t{c.g} << 8) |
         std::uint32_t{c.r};
}

// Window and plot chrome (a dark theme).
inline constexpr Rgb kBackground{24, 26, 31};
inline constexpr Rgb kPlotBackground{30, 33, 40};
inline constexpr Rgb kGrid{52, 56, 66};
inline constexpr Rgb kAxisText{170, 176, 188};
inline constexpr Rgb kCursor{255, 255, 255};

// Plot series. The forecast band is drawn opaque (not blended), so its exact
// colour appears in screenshots wherever no line crosses it.
inline constexpr Rgb kDemandColor{79, 163, 255};      // demand, requests/s
inline constexpr Rgb kCapacityColor{255, 176, 59};    // ready capacity
inline constexpr Rgb kForecastBand{58, 84, 72};       // p10..p90 band
inline constexpr Rgb kForecastMedian{120, 220, 160};  // p50
inline constexpr Rgb kUtilizationColor{199, 132, 255};
// Request classes: critical, standard, best effort.
inline constexpr Rgb kClassColors[3] = {{255, 92, 92}, {255, 196, 87}, {110, 200, 255}};
// Overlaid comparison runs (the second, third ... source).
inline constexpr Rgb kOverlayColors[3] = {{255, 120, 200}, {150, 230, 90}, {240, 240, 120}};

// Timeline annotations.
inline constexpr Rgb kEventColor{236, 120, 60};
// Injected faults (events of source `faults`): their own colour on the axis.
inline constexpr Rgb kFaultEventColor{240, 72, 110};
inline constexpr Rgb kScaleOutColor{90, 210, 120};
inline constexpr Rgb kScaleInColor{240, 150, 70};
inline constexpr Rgb kOtherDecisionColor{180, 180, 220};

// Topology: one colour per role (cycled), failed nodes, edges and hubs.
inline constexpr Rgb kRoleColors[8] = {{79, 163, 255},  {120, 220, 160}, {255, 176, 59},
                                       {199, 132, 255}, {255, 120, 200}, {110, 200, 255},
                                       {240, 240, 120}, {200, 160, 120}};
inline constexpr Rgb kFailedColor{255, 50, 50};
inline constexpr Rgb kBootingColor{150, 150, 150};
inline constexpr Rgb kEdgeColor{90, 100, 120};
inline constexpr Rgb kHubColor{220, 220, 230};
// The real network (a faults topology): switch-to-switch links, and what a
// partition cut off (racks, their uplinks, a zone's core links; dashed).
inline constexpr Rgb kSwitchLinkColor{120, 132, 156};
inline constexpr Rgb kCutColor{255, 40, 72};

// The shadow view: the policy's would-be fleet (its capacity and nodes, and
// its intervals at SLO risk, shaded) next to production's (kCapacityColor,
// its risk shaded in kProductionRiskColor).
inline constexpr Rgb kWouldBeColor{64, 224, 208};
inline constexpr Rgb kProductionRiskColor{255, 84, 84};

}  // namespace meshtwin::gui
