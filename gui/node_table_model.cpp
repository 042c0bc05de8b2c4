#include "gui/node_table_model.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include "gui/snapshot_lookup.h"
#include "twin/types.h"

namespace meshtwin::gui {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `key OP number` terms: returns false when `term` is not one.
bool ParseComparison(std::string_view term, std::string* key, std::string* op, double* value) {
  const std::size_t at = term.find_first_of("<>=");
  if (at == std::string_view::npos || at == 0) return false;
  *key = Lower(term.substr(0, at));
  std::size_t rest = at + 1;
  if (rest < term.size() && term[rest] == '=') ++rest;
  *op = std::string(term.substr(at, rest - at));
  std::string number(term.substr(rest));
  bool percent = false;
  if (!number.empty() && number.back() == '%') {
    percent = true;
    number.pop_back();
  }
  if (number.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(number.c_str(), &end);
  if (end == nullptr || *end != '\0') return false;
  if (percent) *value /= 100;
  return *key == "util" || *key == "utilization" || *key == "queued" || *key == "id";
}

bool Compare(double a, const std::string& op, double b) {
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  return a == b;  // "=" or "=="
}

}  // namespace

std::string NodeTypeName(const ResultsData& data, std::size_t r) {
  const auto t = static_cast<std::size_t>(data.nodes.type[r]);
  return t < data.node_types.size() ? data.node_types[t] : "?";
}

std::string NodeRoleName(const ResultsData& data, std::size_t r) {
  const auto t = static_cast<std::size_t>(data.nodes.role[r]);
  return t < data.roles.size() ? data.roles[t] : "?";
}

std::string NodeStateName(const ResultsData& data, std::size_t r) {
  const std::uint8_t s = data.nodes.state[r];
  return s < kNumNodeStates ? ToString(static_cast<NodeState>(s)) : "?";
}

bool NodeMatches(const ResultsData& data, std::size_t r, std::string_view filter) {
  const NodeSnapshots& ns = data.nodes;
  std::string text;  // built lazily: most filters are empty
  std::size_t i = 0;
  while (i < filter.size()) {
    while (i < filter.size() && std::isspace(static_cast<unsigned char>(filter[i]))) ++i;
    std::size_t j = i;
    while (j < filter.size() && !std::isspace(static_cast<unsigned char>(filter[j]))) ++j;
    if (j == i) break;
    const std::string_view term = filter.substr(i, j - i);
    i = j;
    std::string key, op;
    double value = 0;
    if (ParseComparison(term, &key, &op, &value)) {
      const double v = key == "id"       ? ns.id[r]
                       : key == "queued" ? static_cast<double>(ns.queued[r])
                                         : static_cast<double>(ns.utilization[r]);
      if (!Compare(v, op, value)) return false;
      continue;
    }
    if (text.empty()) {
      text = std::to_string(ns.id[r]) + " " + Lower(NodeTypeName(data, r)) + " " +
             Lower(NodeRoleName(data, r)) + " " + Lower(NodeStateName(data, r));
    }
    if (text.find(Lower(term)) == std::string::npos) return false;
  }
  return true;
}

std::vector<std::size_t> FilterAndSortNodes(const ResultsData& data, std::size_t s,
                                            std::string_view filter,
                                            const std::vector<NodeSort>& sort) {
  std::vector<std::size_t> rows;
  const NodeSnapshots& ns = data.nodes;
  if (s >= ns.size()) return rows;
  const SnapshotRows span = RowsOf(ns, s);
  rows.reserve(span.size());
  const bool all = filter.find_first_not_of(" \t") == std::string_view::npos;
  for (std::size_t r = span.begin; r < span.end; ++r) {
    if (all || NodeMatches(data, r, filter)) rows.push_back(r);
  }
  if (sort.empty()) return rows;  // snapshots hold ascending ids already
  // Names compare by text, not by index, so that the order is what a user reads.
  auto key_compare = [&](NodeColumn c, std::size_t a, std::size_t b) -> int {
    auto cmp = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
    switch (c) {
      case NodeColumn::kId:
        return cmp(ns.id[a], ns.id[b]);
      case NodeColumn::kType:
        return cmp(NodeTypeName(data, a), NodeTypeName(data, b));
      case NodeColumn::kRole:
        return cmp(NodeRoleName(data, a), NodeRoleName(data, b));
      case NodeColumn::kState:
        return cmp(std::string(NodeStateName(data, a)), std::string(NodeStateName(data, b)));
      case NodeColumn::kUtilization:
        return cmp(ns.utilization[a], ns.utilization[b]);
      case NodeColumn::kQueued:
        return cmp(ns.queued[a], ns.queued[b]);
    }
    return 0;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) {
    for (const NodeSort& k : sort) {
      const int c = key_compare(k.column, a, b);
      if (c != 0) return k.descending ? c > 0 : c < 0;
    }
    return ns.id[a] < ns.id[b];
  });
  return rows;
}

}  // namespace meshtwin::gui
