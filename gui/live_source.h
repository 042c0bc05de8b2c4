// The GUI's live source (SourceKind::kLiveManager): a running `meshtwin
// manager` followed over its WatchService, with mutual TLS (the viewer's
// certificate from `meshtwin certs init`). Opening takes a snapshot (two
// hours of demand history, the nodes, the events, the forecast); a
// background thread then streams the manager's events into a queue that
// Poll() drains, on the GUI's thread, into the data through LiveResults
// (gui/live_results.h). There is no reconnect: a stream that breaks is a
// sticky error naming the address, and the data stays as it was.
//
//   DataSourceSpec spec;
//   spec.kind = SourceKind::kLiveManager;
//   spec.address = "m0.example:7443";
//   spec.tls_dir = "certs";                      // certs/ca.crt, client.crt, client.key
//   MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> src, OpenLiveManagerSource(spec));
//   absl::Status st = src->Poll();               // once per frame, never blocks
#pragma once

#include <memory>

#include "gui/data_source.h"
#include "twin/status.h"

namespace meshtwin::gui {

// How much demand history the first snapshot asks for, seconds.
inline constexpr double kLiveHistorySeconds = 2 * 3600;

// Connects (checking the TLS files first), takes the snapshot and starts
// watching. InvalidArgument without an address or a TLS directory, or for a
// bad certificate file (naming it; NotFound when missing); the snapshot's
// error (Unavailable when the manager cannot be reached), prefixed with the
// source's name ("live ADDRESS: ...").
absl::StatusOr<std::unique_ptr<DataSource>> OpenLiveManagerSource(const DataSourceSpec& spec);

}  // namespace meshtwin::gui
