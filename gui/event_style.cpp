#include "gui/event_style.h"

#include <cmath>
#include <cstdio>

#include "gui/time_axis.h"

namespace meshtwin::gui {
namespace {

// "10m", "2h 30m", "45s", "1d 2h".
std::string Duration(double s) {
  const auto total = static_cast<long long>(std::llround(s));
  const long long d = total / 86400, h = total % 86400 / 3600, m = total % 3600 / 60,
                  sec = total % 60;
  std::string out;
  auto part = [&](long long v, const char* unit) {
    if (v == 0) return;
    if (!out.empty()) out += ' ';
    out += std::to_string(v) + unit;
  };
  part(d, "d");
  part(h, "h");
  part(m, "m");
  part(sec, "s");
  return out.empty() ? "0s" : out;
}

}  // namespace

bool IsFaultEvent(const Event& e) { return e.source == "faults" || e.category == "fault"; }

Rgb EventColor(const Event& e) { return IsFaultEvent(e) ? kFaultEventColor : kEventColor; }

std::string EventTooltip(const Event& e) {
  std::string out = e.category.empty() ? std::string("event") : e.category;
  if (!e.source.empty()) out += " (" + e.source + ")";
  if (!IsFaultEvent(e)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", magnitude %.2f", e.magnitude);
    out += buf;
  }
  out += "\n" + e.text + "\nstarts " + FormatRunTimeFull(e.start);
  if (std::isnan(e.end)) {
    out += ", instant";
  } else {
    out += ", ends " + FormatRunTimeFull(e.end) + " (" + Duration(e.end - e.start) + ")";
  }
  if (!IsFaultEvent(e)) out += "\nannounced at " + FormatRunTimeFull(e.announced);
  return out;
}

}  // namespace meshtwin::gui
