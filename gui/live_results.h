// A running manager as a growing ResultsData: the live source's mapping from
// the watch API (live_bridge/watch.h: one LiveSnapshot, then WatchEvents) to
// what the panels draw. Pure: no network, no threads, no clock, so that tests
// feed it synthetic events (gui/live_source.cpp feeds it the real stream).
//
//   LiveResults live;
//   live.Reset(snapshot);                        // history, nodes, events, forecast
//   for (const live::WatchEvent& e : drained) live.Apply(e);
//   live.FlushNodes(SteadySeconds());            // node table -> snapshot, <= 1/s
//   DrawPlots(live.data());
//
// Time: run time 0 (ResultsData::trace_epoch) is the start of the demand
// history (or of the tick before the snapshot when there is none), and a
// tick's time is the start of the interval it measured, as in a simulation.
// The history carries demand only: its capacity and node counts are unknown
// (NaN, and 0 for the integer counts) until the first live tick. What the
// stream never says (dropped, queued, latency, per class) is NaN.
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "datasets/results_file.h"
#include "live_bridge/watch.h"

namespace meshtwin::gui {

struct LiveResultsOptions {
  // Seconds (of the clock passed to FlushNodes) between two node snapshots
  // at most: a fleet in churn would otherwise add one per event.
  double snapshot_every = 1;
};

class LiveResults {
 public:
  explicit LiveResults(LiveResultsOptions options = {}) : options_(options) {}

  // Starts over from `snapshot`: scenario, policy, node types and roles (from
  // the scenario text when it parses, else as nodes show them), the demand
  // history as ticks, the nodes as the first node snapshot, the events, and
  // the forecast as the first forecast origin.
  void Reset(const live::LiveSnapshot& snapshot);

  // Applies one event: a tick appends a tick (and its forecast); a node
  // change or removal updates the node table (see FlushNodes); a decision
  // appends one DecisionRecord per action; a global event appends an Event.
  // A tick that does not start after the last one (the snapshot's history
  // already had it) is ignored. Returns true when data() changed.
  bool Apply(const live::WatchEvent& event);

  // Appends the node table as a node snapshot if it changed since the last
  // one and the last was appended at least options.snapshot_every before
  // `now` (any monotonic seconds). Stamped with the newest event time seen.
  // Returns true when it appended (or replaced a snapshot at the same time).
  bool FlushNodes(double now);

  const ResultsData& data() const { return data_; }
  // Nodes in the table now (stopped ones included until removed).
  std::size_t node_count() const { return nodes_.size(); }
  // The numeric id a node name got in the node snapshots.
  std::int32_t IdOf(const std::string& name) const;

 private:
  double RunTime(double time_unix) const { return time_unix - data_.trace_epoch; }
  std::int16_t TypeIndex(const std::string& name);
  std::int16_t RoleIndex(const std::string& name);
  std::int32_t AssignId(const std::string& name);
  void AppendForecast(double origin_unix, const Forecast& f);
  void AppendSnapshot(double time);

  LiveResultsOptions options_;
  ResultsData data_;
  std::map<std::string, live::LiveNode> nodes_;  // by name
  std::map<std::string, std::int32_t> ids_;
  std::set<std::int32_t> used_ids_;
  bool nodes_dirty_ = false;
  double last_flush_ = 0;
  bool flushed_once_ = false;
  double newest_event_unix_ = 0;
};

}  // namespace meshtwin::gui
