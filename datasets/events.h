// Global events (news, social trends, markets, launches) as users supply
// them: CSV with the header `start,end,announced,source,category,magnitude,text`
// or JSON lines with the same fields. Times may be any format of
// datasets/timestamp.h; `announced` defaults to `start`; an empty `end` is an
// instant event. In files times are absolute (UTC unix seconds); inside a
// trace they are trace time (see AttachEvents).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

// Dispatches on content: a first non-blank character '{' means JSON lines.
absl::StatusOr<std::vector<Event>> ReadEventsFile(const std::string& path);
absl::StatusOr<std::vector<Event>> ParseEventsCsv(std::string_view text, std::string_view source_name);
absl::StatusOr<std::vector<Event>> ParseEventsJsonl(std::string_view text,
                                                    std::string_view source_name);

// CSV with the standard header, times as ISO-8601; atomic (temp + rename).
absl::Status WriteEventsCsv(const std::string& path, const std::vector<Event>& events);
std::string EventsToCsv(const std::vector<Event>& events);

// Converts absolute events to the trace's time (subtracting trace.epoch) and
// appends them, sorted by start.
void AttachEvents(Trace& trace, const std::vector<Event>& absolute_events);

}  // namespace meshtwin
