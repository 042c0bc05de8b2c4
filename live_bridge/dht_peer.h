// One live DHT node: the sans-I/O Chord or Kademlia core of twin/dht/dht.h,
// carried between processes by the DhtService over mutual TLS. The peer
// supplies what the core leaves out — a clock, timers, and a transport — and
// maps the core's int32 addresses to the endpoints ("host:port") on the wire.
//
//   DhtPeerOptions o{.protocol = "chord", .tls = {.files = TlsFiles::InDir(d, "agent-3")},
//                    .bootstrap = "10.0.0.1:7450", .name = "agent-3"};
//   MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<DhtPeer> peer, DhtPeer::Start(std::move(o)));
//   MESHTWIN_ASSIGN_OR_RETURN(dht::OpResult r, peer->Get(dht::HashKey("gpu:h100")));
//   peer->Stop();   // hands its values over and leaves the overlay
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "live_bridge/tls.h"
#include "twin/dht/dht.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

struct DhtPeerOptions {
  std::string protocol = "chord";      // chord | kademlia
  std::string listen = "127.0.0.1:0";  // its DhtService (a LiveServer: mutual TLS)
  std::string advertise;               // endpoint others dial ("": 127.0.0.1:<bound port>)
  TlsOptions tls;                      // this peer's certificate (servers and channels)
  std::string bootstrap;               // endpoint of a member ("": the first node, alone)
  std::string name;                    // the id is dht::HashKey(name) (e.g. the node id)
  dht::ChordOptions chord;             // timings; tests shorten them
  dht::KademliaOptions kademlia;       // timings; tests shorten them
  Seconds join_timeout = 10;           // Start gives up on a join that takes longer
};

// A running DHT node. Thread-safe: one mutex serialises every call into the
// dht::Node (gRPC handlers, the timer thread, callers of Lookup/Put/Get), and
// no lock is held across a network call: messages go out as asynchronous
// unary calls, and one that fails is simply lost (the protocols time out).
class DhtPeer {
 public:
  // Checks the options, binds the DhtService, asks the bootstrap for its id,
  // joins and waits for the join to complete. InvalidArgument naming the
  // field for bad options, or the file for a bad certificate (NotFound for a
  // missing one); InvalidArgument too when the bootstrap refuses us (another
  // protocol); Unavailable when the address cannot be bound or the bootstrap
  // cannot be reached or joined within join_timeout.
  static absl::StatusOr<std::unique_ptr<DhtPeer>> Start(DhtPeerOptions options);
  ~DhtPeer();  // Stop()
  DhtPeer(const DhtPeer&) = delete;
  DhtPeer& operator=(const DhtPeer&) = delete;

  // Graceful: Leave (its values handed over, its neighbours told), waits up
  // to an rpc timeout for those messages to be delivered, then shuts down.
  void Stop();
  // Shuts down without leaving, as if the process had died: the overlay has
  // to notice by timeouts. For failure tests and for a peer that must go now.
  void Crash();

  bool joined() const;
  std::string endpoint() const;  // the advertised endpoint
  dht::Key id() const;
  const std::string& protocol() const;

  // Blocking conveniences: start the operation and wait for its OpResult.
  // DeadlineExceeded after `timeout`; Unavailable when the operation
  // completes without success (no route, timeouts); FailedPrecondition once
  // stopped. A Get that finds nothing is a success with no values.
  absl::StatusOr<dht::OpResult> Lookup(dht::Key key, Seconds timeout = 5);
  absl::StatusOr<dht::OpResult> Put(dht::Key key, std::string data, Seconds ttl,
                                    Seconds timeout = 5);
  absl::StatusOr<dht::OpResult> Get(dht::Key key, Seconds timeout = 5);

  // Unexpired values this node holds (tests and metrics).
  std::vector<dht::StoredValue> StoredValues() const;

  // DHT messages handed to gRPC / accepted from it (probes not counted).
  std::uint64_t messages_sent() const;
  std::uint64_t messages_received() const;

  class Impl;

 private:
  explicit DhtPeer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
