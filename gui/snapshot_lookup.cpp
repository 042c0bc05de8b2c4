#include "gui/snapshot_lookup.h"

#include <algorithm>

namespace meshtwin::gui {

std::optional<std::size_t> SnapshotIndexAt(const NodeSnapshots& nodes, double t) {
  const std::vector<double>& times = nodes.time;
  if (times.empty() || nodes.offset.size() != times.size() + 1) return std::nullopt;
  const auto it = std::lower_bound(times.begin(), times.end(), t);
  if (it == times.begin()) return 0;
  if (it == times.end()) return times.size() - 1;
  const auto after = static_cast<std::size_t>(it - times.begin());
  const std::size_t before = after - 1;
  return (t - times[before] <= times[after] - t) ? before : after;
}

std::optional<std::size_t> TickIndexAt(const std::vector<double>& tick_times, double t) {
  if (tick_times.empty()) return std::nullopt;
  const auto it = std::upper_bound(tick_times.begin(), tick_times.end(), t);
  if (it == tick_times.begin()) return 0;
  return static_cast<std::size_t>(it - tick_times.begin()) - 1;
}

SnapshotRows RowsOf(const NodeSnapshots& nodes, std::size_t s) {
  SnapshotRows r;
  if (s + 1 >= nodes.offset.size()) return r;
  r.begin = static_cast<std::size_t>(nodes.offset[s]);
  r.end = static_cast<std::size_t>(nodes.offset[s + 1]);
  if (!nodes.links.empty() && s + 1 < nodes.link_offset.size()) {
    r.link_begin = static_cast<std::size_t>(nodes.link_offset[s]);
    r.link_end = static_cast<std::size_t>(nodes.link_offset[s + 1]);
  }
  return r;
}

TimeSpan SpanOf(const ResultsData& data) {
  const std::vector<double>& t = data.ticks.time;
  if (t.empty()) return {};
  double interval = data.control_interval;
  if (interval <= 0) interval = t.size() > 1 ? t[1] - t[0] : 1;
  return {t.front(), t.back() + interval};
}

}  // namespace meshtwin::gui
