// A TCP proxy that puts network faults between two live-bridge components on
// one host (tc netem needs privileges we do not have): a fixed delay, new
// connections reset or refused, a silent partition, every connection cut.
// It forwards bytes, so mutual TLS passes through untouched: the proxy never
// sees a certificate and the peers still authenticate each other end to end.
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto proxy, FaultProxy::Start("127.0.0.1:0", manager_address));
//   agent.Connect("127.0.0.1:" + std::to_string(proxy->port()), tls);   // dial the proxy
//   proxy->SetMode({.delay = 0.2});         // 200 ms more in each direction
//   proxy->SetMode({.blackhole = true});    // partition: nothing gets through, nothing closes
//   proxy->SetMode({});                     // heal
//   proxy->CutAll();                        // every open connection gets a RST
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

// The faults in force. The default forwards everything at once.
struct FaultMode {
  Seconds delay = 0;       // added to every chunk in both directions (>= 0)
  double drop = 0;         // probability a NEW connection is reset at once (0..1)
  bool blackhole = false;  // accept, read and discard everything, forward nothing (a silent
                           // partition); existing connections go silent too
  bool refuse = false;     // close new connections at once (an orderly close, no RST)
};

// OK, or InvalidArgument naming the field that is out of range.
absl::Status CheckFaultMode(const FaultMode& mode);

// Thread-safe. One thread forwards every connection (poll over non-blocking
// sockets, one delay queue per direction), so a slow peer slows nobody else.
//
// What a fault does to the byte streams, and why:
// * delay: a chunk read at t is written at t + delay (the delay in force when
//   it was read); order is kept.
// * blackhole: bytes already queued and read later are thrown away. A
//   connection that lost bytes has a hole in its stream that no TLS record
//   layer would survive, so when the blackhole lifts it is reset rather than
//   resumed; connections that lost nothing carry on. Connections accepted
//   during the blackhole have no upstream and are reset when it lifts.
// * An error or a reset on one side resets the other; an orderly close
//   (FIN) on one side is passed on once the bytes before it are delivered.
class FaultProxy {
 public:
  // Listens on `listen` ("127.0.0.1:0" picks a free port) and dials
  // `upstream` ("127.0.0.1:7443") for every connection accepted. `seed`
  // drives the drop decisions, so a run is repeatable. InvalidArgument for an
  // address that is not HOST:PORT, Unavailable if `listen` cannot be bound.
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(std::string listen, std::string upstream,
                                                           std::uint64_t seed = 1);
  ~FaultProxy();  // closes every connection and the listener, joins the thread
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // The port listened on.
  int port() const;

  // Applies at once: when it returns, the forwarding thread works under the
  // new mode. A mode that fails CheckFaultMode is logged and ignored (the
  // current one stays).
  void SetMode(FaultMode mode);
  FaultMode mode() const;

  // Resets (RST) both sides of every open connection; returns once done.
  // New connections are accepted as usual afterwards.
  void CutAll();

  // Connections accepted so far, including those dropped or refused.
  std::uint64_t connections() const;
  // Bytes written to either side so far (both directions together).
  std::uint64_t bytes_forwarded() const;

  class Loop;

 private:
  explicit FaultProxy(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace meshtwin::live
