// Internal to gui/*.cpp (includes imgui.h, so never from a public header):
// colour conversion and a few drawing helpers shared by the panels.
#pragma once

#include <imgui.h>

#include <cstdint>

#include "gui/palette.h"

namespace meshtwin::gui {

inline ImU32 Col(Rgb c, std::uint8_t alpha = 255) { return Packed(c, alpha); }
inline ImVec4 Vec4(Rgb c, float alpha = 1.0f) {
  return ImVec4(c.r / 255.0f, c.g / 255.0f, c.b / 255.0f, alpha);
}

// A dashed polyline segment from a to b; `phase` carries the dash pattern
// across consecutive segments (pixels into the current period).
void AddDashedLine(ImDrawList* dl, ImVec2 a, ImVec2 b, ImU32 color, float thickness, float* phase,
                   float dash = 6.0f, float gap = 4.0f);

// Text with a dark outline-free background box, for labels over busy plots.
void AddLabel(ImDrawList* dl, ImVec2 pos, ImU32 color, const char* text);

}  // namespace meshtwin::gui
