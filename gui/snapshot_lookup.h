// Finding what to show at a time: the tick and the node snapshot nearest the
// timeline cursor, and a light view of one snapshot's rows.
//
//   std::optional<std::size_t> s = SnapshotIndexAt(data.nodes, cursor_time);
//   if (s) for (std::size_t r = 0; r < SnapshotRows(data.nodes, *s).size(); ++r) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "datasets/results_file.h"

namespace meshtwin::gui {

// The snapshot whose time is nearest `t` (the earlier one on a tie); none when
// there are no snapshots. Snapshot times are ascending. O(log snapshots).
std::optional<std::size_t> SnapshotIndexAt(const NodeSnapshots& nodes, double t);

// The tick whose interval [time[i], time[i+1]) holds `t`, clamped to the first
// and last tick; none when there are no ticks.
std::optional<std::size_t> TickIndexAt(const std::vector<double>& tick_times, double t);

// The rows [begin, end) of snapshot `s` in the flat per-node arrays, and its
// overlay links [link_begin, link_end) (empty without links).
struct SnapshotRows {
  std::size_t begin = 0, end = 0;
  std::size_t link_begin = 0, link_end = 0;
  std::size_t size() const { return end - begin; }
};
SnapshotRows RowsOf(const NodeSnapshots& nodes, std::size_t s);

// The time span the data covers: first tick start to the end of the last
// tick (one control interval past its start). {0, 0} without ticks.
struct TimeSpan {
  double begin = 0, end = 0;
};
TimeSpan SpanOf(const ResultsData& data);

}  // namespace meshtwin::gui
