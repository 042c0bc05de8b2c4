// The node table's rows: one snapshot's nodes filtered by a text query and
// sorted by one or more columns, as row indexes into NodeSnapshots' flat
// arrays. Pure, so the table panel only draws what this returns.
//
//   std::vector<std::size_t> rows =
//       FilterAndSortNodes(data, s, "medium failed util>0.5", {{NodeColumn::kQueued, true}});
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/results_file.h"

namespace meshtwin::gui {

enum class NodeColumn { kId, kType, kRole, kState, kUtilization, kQueued };
inline constexpr int kNumNodeColumns = 6;

struct NodeSort {
  NodeColumn column = NodeColumn::kId;
  bool descending = false;
};

// True when row `r` of `data.nodes` matches every whitespace-separated term
// of `filter` (case-insensitive). A term is either a comparison on a number
// column, `util>0.8`, `queued>=10`, `id<100` (util in 0..1 or as a percentage
// with '%': `util>80%`), or text found in the node's id, type, role or state.
bool NodeMatches(const ResultsData& data, std::size_t r, std::string_view filter);

// The rows of snapshot `s` that match `filter`, ordered by `sort` (the first
// entry first; ties broken by the next, then by ascending id). An unknown
// snapshot gives no rows.
std::vector<std::size_t> FilterAndSortNodes(const ResultsData& data, std::size_t s,
                                            std::string_view filter,
                                            const std::vector<NodeSort>& sort);

// The display names of a row's type, role and state ("?" when out of range).
std::string NodeTypeName(const ResultsData& data, std::size_t r);
std::string NodeRoleName(const ResultsData& data, std::size_t r);
std::string NodeStateName(const ResultsData& data, std::size_t r);

}  // namespace meshtwin::gui
