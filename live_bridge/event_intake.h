// Global events (news, launches, market moves) arriving while the manager
// runs, by three ways in: EventService.Publish over mutual-TLS gRPC, an HTTPS
// webhook (JSON), and a followed file (CSV or JSON lines, like `tail -f`).
// Each event is checked, tagged from its text when it has no category, given
// an id and queued for the control loop, which adds it to its forecaster.
// Events are in the format of datasets/events.h, with absolute (unix) times.
//
//   MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<EventIntake> intake, EventIntake::Create({}));
//   server.AddService(intake->service());               // LiveServer (tls_server.h)
//   http_options.routes.push_back(intake->WebhookRoute());  // MetricsHttpServer, tls set
//   EventFileFollower feed("events.csv", *intake);
//   MESHTWIN_RETURN_IF_ERROR(feed.Start());
//   for (IntakeEvent& e : intake->TakeNew()) forecaster.AddEvent(e.event);  // each tick
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/trace.h"
#include "live_bridge/metrics_http.h"
#include "twin/policy.h"
#include "twin/status.h"
#include "twin/types.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace meshtwin::live {

// One accepted event.
struct IntakeEvent {
  Event event;  // absolute times (UTC unix seconds); category filled in when it was empty
  // The event's category first (given, or tagged from the text), then every
  // other category of the dictionary whose keywords the text mentions. Empty
  // when it had no category and no keyword matched.
  std::vector<std::string> tags;
  std::string id;        // "ev-1", "ev-2", ... in order of arrival
  std::string via;       // "grpc:CN", "webhook:CN" or "file:PATH"
  Seconds received = 0;  // options.clock's time when it was accepted
};

struct EventIntakeOptions {
  // A keyword dictionary (YAML, datasets/event_tagger.h); "": the built-in one.
  std::string keywords_file;
  // Not owned; stamps IntakeEvent::received. Null: the system clock (unix seconds).
  const Clock* clock = nullptr;
};

// Thread-safe: gRPC's threads, the HTTP server's threads and file followers
// call in while the control loop takes what arrived. Must outlive the
// servers and followers it is given to (stop those first).
class EventIntake {
 public:
  // InvalidArgument (NotFound) naming the file for a bad (missing) dictionary.
  static absl::StatusOr<std::unique_ptr<EventIntake>> Create(EventIntakeOptions options = {});
  ~EventIntake();
  EventIntake(const EventIntake&) = delete;
  EventIntake& operator=(const EventIntake&) = delete;

  // EventService, to add to a LiveServer. Publish answers the id and tags; a
  // bad field is INVALID_ARGUMENT naming it ("start_unix: must be a unix time
  // > 0", "end_unix: before start_unix", magnitude not finite, ...). An
  // end_unix or announced_unix of 0 means open-ended / announced at start.
  grpc::Service* service();

  // The webhook's body: one JSON object, or an array of them, with the keys
  // of the events' JSON lines (start, end, announced, source, category,
  // magnitude, text; times in any datasets/timestamp.h format). All or
  // nothing: one bad element refuses the lot, with an error naming the
  // element's index and the field.
  absl::StatusOr<std::vector<IntakeEvent>> AcceptJson(std::string_view body, std::string_view via);

  // POST `path`: AcceptJson with via "webhook:CN" (CN: the client
  // certificate's). 200 {"accepted":N,"ids":[...],"tags":[[...],...]},
  // 400 {"error":"..."}, 403 without a client certificate.
  HttpRoute WebhookRoute(std::string path = "/events");

  // Checks `e` (start a unix time > 0, end NaN or at or after start,
  // announced a unix time > 0, magnitude finite; errors name the field as in
  // the JSON), tags it, gives it an id and queues it. An empty source
  // becomes `via`, so that the forecaster's records say where it came from.
  absl::StatusOr<IntakeEvent> Accept(Event e, std::string via);

  // What arrived since the last call, in order of arrival.
  std::vector<IntakeEvent> TakeNew();
  // Everything accepted so far, in order of arrival.
  std::vector<IntakeEvent> All() const;

  class Impl;

 private:
  explicit EventIntake(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Follows an events file like `tail -F`: reads what is there at Start, then
// every `poll` seconds what was appended. CSV (with its header) or JSON lines
// as datasets/events.h, told apart by the first character. A file truncated,
// rewritten in place or replaced (a new inode: an editor's save, a log
// rotation) is read again from the start; events this follower already
// accepted are not accepted twice. A bad line is logged once as
// "PATH:LINE: message" and skipped: the manager keeps running. A last line
// without its newline waits for it. A missing file is waited for (logged once).
//
// Start and Stop are for one owning thread; the counters may be read from any.
class EventFileFollower {
 public:
  // `intake` is not owned and must outlive the follower.
  EventFileFollower(std::string path, EventIntake& intake, Seconds poll = 0.5);
  ~EventFileFollower();  // Stop()
  EventFileFollower(const EventFileFollower&) = delete;
  EventFileFollower& operator=(const EventFileFollower&) = delete;

  // Reads what the file holds now (before returning), then follows it from a
  // background thread. InvalidArgument for an empty path, a poll that is not
  // > 0 or a directory; FailedPrecondition for a second Start.
  absl::Status Start();
  // Stops following and joins the thread. Idempotent.
  void Stop();

  std::uint64_t lines_read() const;      // non-blank lines (records) read, header included
  std::uint64_t lines_rejected() const;  // lines that were not an acceptable event

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshtwin::live
