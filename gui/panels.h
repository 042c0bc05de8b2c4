// The GUI's panels. One panel = one state struct with Draw(view, queue):
// it reads the frame's immutable ViewState, keeps only its own view state
// and caches, and asks for changes by pushing Commands. Drawing code makes
// no SimGrid, LibTorch or gRPC calls (the gui library links gRPC only behind
// the live source's WatchClient).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gui/network_layout.h"
#include "gui/node_table_model.h"
#include "gui/topology_layout.h"
#include "gui/view_state.h"

namespace meshtwin::gui {

// Sources, open field, play/pause, speed, the scrubber and the time readout.
struct TimelinePanel {
  std::string open_path;
  void Draw(const ViewState& view, CommandQueue* queue);
};

// The mesh at the snapshot nearest the cursor: nodes by role colour, sized by
// load, failed ones marked; with a faults topology the real network (core,
// aggregation and rack switches, nodes round their rack, what a partition cut
// off in red), else hubs per role (the star network) or overlay links.
struct TopologyPanel {
  TopologyLayout layout;                     // the star / DHT overlay
  NetworkLayout network;                     // the faults topology
  const ResultsData* layout_data = nullptr;  // what the layouts were built from
  std::uint64_t layout_version = ~std::uint64_t{0};
  std::uint64_t network_version = ~std::uint64_t{0};
  int view_mode = 1;  // with both a topology and a DHT: 0 the network, 1 the DHT overlay
  // What is cut off in the snapshot shown (cached: a snapshot, its cuts).
  NetworkLayout::State net_state;
  std::size_t net_state_snapshot = ~std::size_t{0};
  std::uint64_t net_state_version = ~std::uint64_t{0};
  std::vector<FailureDomain> net_state_cuts;
  float zoom = 1;              // 1: the whole layout fits
  float pan_x = 0, pan_y = 0;  // pixels
  int size_by = 0;             // 0 utilisation, 1 queued requests
  int colour_by = -1;          // 0 role, 1 node type; -1: role when there are several, else type
  bool show_edges = true;
  void Draw(const ViewState& view, CommandQueue* queue);
};

// Demand / capacity / forecast band, utilisation, dropped and queued per
// class, and nodes, with events and decisions on the time axis.
struct PlotsPanel {
  int horizon = -1;  // index into the forecast's horizons (-1: the middle one)
  int window = 0;    // 0 the whole run, else +- kWindows[window] around the cursor
  // Derived series per source, rebuilt when its data changes.
  struct Derived {
    const ResultsData* data = nullptr;
    std::uint64_t version = ~std::uint64_t{0};
    int horizon = -1;
    std::vector<double> fc_time, fc_p10, fc_p50, fc_p90;
    std::vector<double> dropped[3], queued[3];
    std::vector<double> nodes, utilization_pct;
  };
  std::vector<Derived> derived;
  void Draw(const ViewState& view, CommandQueue* queue);
};

// The nodes of the current snapshot: sortable, filterable, clipped.
struct NodeTablePanel {
  std::string filter;
  std::vector<NodeSort> sort;
  // Cache key and rows.
  const ResultsData* rows_data = nullptr;
  std::uint64_t rows_version = 0;
  std::size_t rows_snapshot = ~std::size_t{0};
  std::string rows_filter;
  std::vector<NodeSort> rows_sort;
  std::vector<std::size_t> rows;
  void Draw(const ViewState& view, CommandQueue* queue);
};

// The run's scenario and overrides; edit overrides and policy, re-run, and
// compare the runs' summaries.
struct ScenarioPanel {
  const ResultsData* seeded_from = nullptr;  // the run the edit fields came from
  std::string overrides;                     // one key=value per line
  int policy = 0;                            // index into kRerunPolicies
  // Headless --rerun: these KEY=VALUE settings are typed into the edit fields
  // and the button is "clicked" on the first frame it is enabled (the same
  // RerunCommand a click pushes); `scripted_clicked` says it happened.
  std::vector<std::string> scripted;
  bool scripted_pending = false;
  bool scripted_clicked = false;
  void Draw(const ViewState& view, CommandQueue* queue);
};

// Events and decisions as lists; a click seeks there.
struct ActivityPanel {
  void Draw(const ViewState& view, CommandQueue* queue);
};

}  // namespace meshtwin::gui
