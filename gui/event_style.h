// How events look on the time axis (plots, scrubber, the events list): a
// colour per category and the tooltip text. Injected faults (source
// `faults`, category `fault`: twin/faults.h, listed by the simulation so
// viewers show the storm) get their own colour, every other event the
// orange of kEventColor.
//
//   dl->AddLine(a, b, Col(EventColor(e)));
//   ImGui::SetTooltip("%s", EventTooltip(e).c_str());
#pragma once

#include <string>

#include "datasets/trace.h"
#include "gui/palette.h"

namespace meshtwin::gui {

// True for an injected fault (source "faults" or category "fault").
bool IsFaultEvent(const Event& e);

// kFaultEventColor for a fault, else kEventColor.
Rgb EventColor(const Event& e);

// Several lines: the category and source, the text, then when it starts and
// ends (with its duration) or "instant". Faults are announced when they
// happen and have no meaningful magnitude, so neither is shown for them;
// other events show both.
//   "fault (faults)\nzone 2 cut off (partition)\nstarts 15:15:00, ends 15:25:00 (10m)"
std::string EventTooltip(const Event& e);

}  // namespace meshtwin::gui
