#include "live_bridge/event_intake.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

#include "datasets/event_tagger.h"
#include "datasets/events.h"
#include "live_bridge/tls.h"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {
namespace {

using Json = nlohmann::json;

// Bounds on the text fields: an event is a headline, not a document, and one
// client must not be able to fill the manager's memory through them.
constexpr std::size_t kMaxText = 64 * 1024;
constexpr std::size_t kMaxLabel = 256;  // source, category

class UnixClock final : public Clock {
 public:
  Seconds Now() const override {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// How the fields are spelt where the event came from: the proto's names over
// gRPC, the JSON/CSV columns everywhere else.
struct FieldNames {
  const char* start;
  const char* end;
  const char* announced;
};
constexpr FieldNames kJsonNames{"start", "end", "announced"};
constexpr FieldNames kProtoNames{"start_unix", "end_unix", "announced_unix"};

// InvalidArgument naming the first field `e` gets wrong. `end` NaN is an
// instant (or open-ended) event. `announced` after `start` is allowed, as in
// the event files (datasets/events.cpp): an event noticed late is exactly the
// kind that gets published to a running manager.
absl::Status CheckEvent(const Event& e, const FieldNames& names) {
  auto bad = [](const char* field, const std::string& what) {
    return absl::InvalidArgumentError(std::string(field) + ": " + what);
  };
  if (!std::isfinite(e.start) || e.start <= 0) {
    return bad(names.start, fmt::format("must be a unix time > 0, got {}", e.start));
  }
  if (!std::isnan(e.end)) {
    if (!std::isfinite(e.end)) return bad(names.end, fmt::format("must be finite, got {}", e.end));
    if (e.end < e.start) {
      return bad(names.end, fmt::format("before {} ({} < {})", names.start, e.end, e.start));
    }
  }
  if (!std::isfinite(e.announced) || e.announced <= 0) {
    return bad(names.announced, fmt::format("must be a unix time > 0, got {}", e.announced));
  }
  if (!std::isfinite(e.magnitude)) {
    return bad("magnitude", fmt::format("must be a finite number, got {}", e.magnitude));
  }
  if (e.text.size() > kMaxText) {
    return bad("text", fmt::format("must be at most {} bytes, got {}", kMaxText, e.text.size()));
  }
  if (e.source.size() > kMaxLabel) {
    return bad("source",
               fmt::format("must be at most {} bytes, got {}", kMaxLabel, e.source.size()));
  }
  if (e.category.size() > kMaxLabel) {
    return bad("category",
               fmt::format("must be at most {} bytes, got {}", kMaxLabel, e.category.size()));
  }
  return absl::OkStatus();
}

// datasets' readers report "SOURCE:LINE: what"; `what` alone, for callers
// that know better where the text came from.
std::string_view WithoutLocation(std::string_view message, std::string_view source,
                                 int* line = nullptr) {
  if (message.substr(0, source.size()) != source || message.size() <= source.size() ||
      message[source.size()] != ':') {
    return message;
  }
  std::size_t i = source.size() + 1;
  int n = 0;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9') {
    n = n * 10 + (message[i] - '0');
    ++i;
  }
  if (message.substr(i, 2) != ": ") return message;
  if (line != nullptr) *line = n;
  return message.substr(i + 2);
}

std::string Shorten(std::string_view s, std::size_t max) {
  return s.size() > max ? std::string(s.substr(0, max)) + "..." : std::string(s);
}

}  // namespace

// ------------------------------------------------------------------ intake

class EventIntake::Impl final : public v1::EventService::CallbackService {
 public:
  Impl(EventIntakeOptions options, KeywordDictionary dictionary)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &unix_clock_),
        dictionary_(std::move(dictionary)) {
    // One single-category dictionary per category: TagText then says
    // whether that category matches at all, which gives the secondary tags.
    for (const auto& category : dictionary_.categories) {
      KeywordDictionary one;
      one.categories.push_back(category);
      per_category_.push_back(std::move(one));
    }
  }

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const v1::GlobalEvent* request,
                                    v1::PublishResponse* response) override;

  // Validates every event first, then queues them all under one lock: all or
  // nothing. `where(i)` prefixes the error of event i.
  template <typename Where>
  absl::StatusOr<std::vector<IntakeEvent>> AcceptAll(std::vector<Event> events,
                                                     const FieldNames& names,
                                                     const std::string& via, Where where) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (absl::Status s = CheckEvent(events[i], names); !s.ok()) {
        return absl::InvalidArgumentError(where(i) + ErrorText(s));
      }
    }
    std::vector<IntakeEvent> accepted;
    accepted.reserve(events.size());
    const Seconds now = clock_->Now();
    std::lock_guard lock(mu_);
    for (Event& e : events) {
      IntakeEvent in;
      in.event = std::move(e);
      Tag(in);
      if (in.event.source.empty()) in.event.source = via;
      in.id = "ev-" + std::to_string(++counter_);
      in.via = via;
      in.received = now;
      spdlog::debug("event {} via {}: '{}' tags [{}]", in.id, via, Shorten(in.event.text, 80),
                    fmt::join(in.tags, ","));
      all_.push_back(in);
      accepted.push_back(std::move(in));
    }
    return accepted;
  }

  std::vector<IntakeEvent> TakeNew() {
    std::lock_guard lock(mu_);
    std::vector<IntakeEvent> out(all_.begin() + static_cast<std::ptrdiff_t>(taken_), all_.end());
    taken_ = all_.size();
    return out;
  }

  std::vector<IntakeEvent> All() const {
    std::lock_guard lock(mu_);
    return all_;
  }

 private:
  void Tag(IntakeEvent& in) const {
    if (in.event.category.empty()) in.event.category = TagText(in.event.text, dictionary_);
    if (!in.event.category.empty()) in.tags.push_back(in.event.category);
    for (std::size_t i = 0; i < per_category_.size(); ++i) {
      const std::string& name = dictionary_.categories[i].first;
      if (name != in.event.category && !TagText(in.event.text, per_category_[i]).empty()) {
        in.tags.push_back(name);
      }
    }
  }

  const EventIntakeOptions options_;
  UnixClock unix_clock_;
  const Clock* clock_;
  const KeywordDictionary dictionary_;
  std::vector<KeywordDictionary> per_category_;
  mutable std::mutex mu_;
  std::vector<IntakeEvent> all_;
  std::size_t taken_ = 0;  // all_[0, taken_) went out through TakeNew
  std::uint64_t counter_ = 0;
};

grpc::ServerUnaryReactor* EventIntake::Impl::Publish(grpc::CallbackServerContext* context,
                                                     const v1::GlobalEvent* request,
                                                     v1::PublishResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string identity = PeerIdentity(*context->auth_context());
  if (identity.empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "no client certificate: a publisher must present one"));
    return reactor;
  }
  // The wire's zeros mean "absent"; a non-finite end would otherwise be
  // mistaken for the NaN of an open-ended event.
  if (!std::isfinite(request->end_unix())) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        fmt::format("end_unix: must be finite (0: open-ended), got {}", request->end_unix())));
    return reactor;
  }
  Event e;
  e.start = request->start_unix();
  if (request->end_unix() != 0) e.end = request->end_unix();
  e.announced = request->announced_unix() != 0 ? request->announced_unix() : e.start;
  e.source = request->source();
  e.category = request->category();
  e.magnitude = request->magnitude();
  e.text = request->text();
  std::vector<Event> one;
  one.push_back(std::move(e));
  absl::StatusOr<std::vector<IntakeEvent>> accepted =
      AcceptAll(std::move(one), kProtoNames, "grpc:" + identity, [](std::size_t) { return ""; });
  if (!accepted.ok()) {
    spdlog::warn("event from grpc:{} refused: {}", identity, ErrorText(accepted.status()));
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, ErrorText(accepted.status())));
    return reactor;
  }
  const IntakeEvent& in = accepted->front();
  spdlog::info("event {} from grpc:{}: '{}' tags [{}]", in.id, identity, Shorten(in.event.text, 80),
               fmt::join(in.tags, ","));
  response->set_event_id(in.id);
  for (const std::string& tag : in.tags) response->add_tags(tag);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

EventIntake::EventIntake(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventIntake::~EventIntake() = default;

absl::StatusOr<std::unique_ptr<EventIntake>> EventIntake::Create(EventIntakeOptions options) {
  KeywordDictionary dictionary;
  if (options.keywords_file.empty()) {
    dictionary = DefaultKeywordDictionary();
  } else {
    MESHTWIN_ASSIGN_OR_RETURN(dictionary, LoadKeywordDictionary(options.keywords_file));
  }
  return std::unique_ptr<EventIntake>(
      new EventIntake(std::make_unique<Impl>(std::move(options), std::move(dictionary))));
}

grpc::Service* EventIntake::service() { return impl_.get(); }

absl::StatusOr<IntakeEvent> EventIntake::Accept(Event e, std::string via) {
  std::vector<Event> one;
  one.push_back(std::move(e));
  MESHTWIN_ASSIGN_OR_RETURN(
      std::vector<IntakeEvent> accepted,
      impl_->AcceptAll(std::move(one), kJsonNames, via, [](std::size_t) { return ""; }));
  return std::move(accepted.front());
}

absl::StatusOr<std::vector<IntakeEvent>> EventIntake::AcceptJson(std::string_view body,
                                                                 std::string_view via) {
  Json root;
  try {
    root = Json::parse(body.begin(), body.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        std::string("expected a JSON event object or an array of them, got invalid JSON (") +
        e.what() + ")");
  }
  const bool array = root.is_array();
  if (!array && !root.is_object()) {
    return absl::InvalidArgumentError(
        std::string("expected a JSON event object or an array of them, got JSON ") +
        root.type_name());
  }
  auto where = [array](std::size_t i) {
    return array ? "element " + std::to_string(i) + ": " : std::string();
  };
  std::vector<Event> events;
  const std::size_t n = array ? root.size() : 1;
  events.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Json& element = array ? root[i] : root;
    if (!element.is_object()) {
      return absl::InvalidArgumentError(where(i) + "expected a JSON event object, got JSON " +
                                        element.type_name());
    }
    // One element is one JSON line of an events file: the file format's
    // reader does the field checks, so the webhook and the files agree.
    constexpr std::string_view kSource = "webhook";
    absl::StatusOr<std::vector<Event>> parsed = ParseEventsJsonl(element.dump(), kSource);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          where(i) + std::string(WithoutLocation(ErrorText(parsed.status()), kSource)));
    }
    for (Event& e : *parsed) events.push_back(std::move(e));
  }
  return impl_->AcceptAll(std::move(events), kJsonNames, std::string(via), where);
}

HttpRoute EventIntake::WebhookRoute(std::string path) {
  HttpRoute route;
  route.method = "POST";
  route.path = std::move(path);
  route.handler = [this](const HttpRequestView& req) {
    HttpReply reply;
    if (req.peer_identity.empty()) {
      // Only a server without mutual TLS (which the bridge never runs) lets
      // such a request through; refuse it anyway.
      reply.status = 403;
      reply.body = Json{{"error", "no client certificate: a publisher must present one"}}.dump();
      return reply;
    }
    const std::string via = "webhook:" + req.peer_identity;
    absl::StatusOr<std::vector<IntakeEvent>> accepted = AcceptJson(req.body, via);
    if (!accepted.ok()) {
      spdlog::warn("events from {} refused: {}", via, ErrorText(accepted.status()));
      reply.status = 400;
      reply.body = Json{{"error", ErrorText(accepted.status())}}.dump();
      return reply;
    }
    Json ids = Json::array();
    Json tags = Json::array();
    for (const IntakeEvent& in : *accepted) {
      ids.push_back(in.id);
      tags.push_back(in.tags);
    }
    spdlog::info("{} event(s) from {}: {}", accepted->size(), via, ids.dump());
    reply.body = Json{{"accepted", accepted->size()}, {"ids", ids}, {"tags", tags}}.dump();
    return reply;
  };
  return route;
}

std::vector<IntakeEvent> EventIntake::TakeNew() { return impl_->TakeNew(); }
std::vector<IntakeEvent> EventIntake::All() const { return impl_->All(); }

// ------------------------------------------------------------------ follower

class EventFileFollower::Impl {
 public:
  Impl(std::string path, EventIntake& intake, Seconds poll)
      : path_(std::move(path)), via_("file:" + path_), intake_(intake), poll_(poll) {}

  absl::Status Start() {
    if (started_)
      return absl::FailedPreconditionError("event follower " + path_ + ": started twice");
    if (path_.empty()) return absl::InvalidArgumentError("event follower: empty file path");
    if (!(poll_ > 0) || !std::isfinite(poll_)) {
      return absl::InvalidArgumentError(
          fmt::format("event follower {}: poll must be > 0 seconds, got {}", path_, poll_));
    }
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(path_ + ": expected an events file, got a directory");
    }
    started_ = true;
    Poll();
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void Stop() {
    {
      std::lock_guard lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::uint64_t lines_read() const { return lines_read_; }
  std::uint64_t lines_rejected() const { return lines_rejected_; }

 private:
  enum class Format { kUnknown, kCsv, kJsonLines };
  static constexpr std::size_t kFingerprintBytes = 256;
  static constexpr std::size_t kChunk = 1 << 20;

  void Run() {
    const auto period = std::chrono::duration<double>(poll_);
    std::unique_lock lock(stop_mu_);
    while (!stop_) {
      stop_cv_.wait_for(lock, period, [this] { return stop_; });
      if (stop_) break;
      lock.unlock();
      Poll();
      lock.lock();
    }
  }

  // Forgets the current file: what is read next is read from its start.
  void Reset() {
    have_file_ = false;
    offset_ = 0;
    fingerprint_.clear();
    pending_.clear();
    line_ = 0;
    format_ = Format::kUnknown;
    header_.clear();
    header_bad_ = false;
    record_.clear();
    in_quotes_ = false;
  }

  void Poll() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      if (!missing_logged_) {
        spdlog::warn("{}: {}; waiting for it", path_,
                     errno == ENOENT ? "no such file" : std::strerror(errno));
        missing_logged_ = true;
      }
      Reset();  // when it appears it is a new file
      return;
    }
    missing_logged_ = false;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
      if (!open_error_logged_) {
        spdlog::warn("{}: cannot read: {}", path_,
                     fd >= 0 && S_ISDIR(st.st_mode) ? "is a directory" : std::strerror(errno));
        open_error_logged_ = true;
      }
      if (fd >= 0) ::close(fd);
      return;
    }
    open_error_logged_ = false;
    const char* again = nullptr;
    if (have_file_ && (st.st_dev != dev_ || st.st_ino != ino_)) {
      again = "replaced";
    } else if (have_file_ && static_cast<std::uint64_t>(st.st_size) < offset_) {
      again = "truncated";
    } else if (have_file_ && !SameStart(fd)) {
      again = "rewritten";  // truncated and refilled between two polls
    }
    if (again != nullptr) {
      spdlog::info("{}: {}; reading it again from the start", path_, again);
      Reset();
    }
    if (!have_file_) {
      have_file_ = true;
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
    std::string chunk(kChunk, '\0');
    const std::uint64_t accepted_before = accepted_;
    while (true) {
      const ssize_t n = ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const std::string_view got(chunk.data(), static_cast<std::size_t>(n));
      if (fingerprint_.size() < kFingerprintBytes && offset_ == fingerprint_.size()) {
        fingerprint_ += got.substr(0, kFingerprintBytes - fingerprint_.size());
      }
      offset_ += static_cast<std::uint64_t>(n);
      pending_ += got;
      ConsumeLines();
    }
    ::close(fd);
    if (accepted_ > accepted_before) {
      spdlog::info("{}: {} new event(s)", path_, accepted_ - accepted_before);
    }
  }

  // True if the file still starts with the bytes read from its start.
  bool SameStart(int fd) const {
    if (fingerprint_.empty()) return true;
    std::string now(fingerprint_.size(), '\0');
    const ssize_t n = ::pread(fd, now.data(), now.size(), 0);
    return n == static_cast<ssize_t>(now.size()) && now == fingerprint_;
  }

  // Handles every complete line of pending_; a partial last line stays.
  void ConsumeLines() {
    std::size_t begin = 0;
    while (true) {
      const std::size_t eol = pending_.find('\n', begin);
      if (eol == std::string::npos) break;
      std::string_view line(pending_.data() + begin, eol - begin);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_;
      Line(line);
      begin = eol + 1;
    }
    pending_.erase(0, begin);
  }

  void Line(std::string_view line) {
    if (line_ == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    const bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (blank && !in_quotes_) return;
    ++lines_read_;
    if (format_ == Format::kUnknown) {
      const char first = line[line.find_first_not_of(" \t")];
      if (first == '{') {
        format_ = Format::kJsonLines;
      } else {
        format_ = Format::kCsv;
        header_ = std::string(line);
        header_line_ = line_;
        // A header alone parses to no events, or to the reader's complaint.
        absl::StatusOr<std::vector<Event>> check = ParseEventsCsv(header_ + "\n", path_);
        if (!check.ok()) {
          header_bad_ = true;
          Reject(header_line_, WithoutLocation(ErrorText(check.status()), path_));
          spdlog::warn("{}: every line is skipped until the file is replaced or truncated", path_);
        }
        return;
      }
    }
    if (format_ == Format::kJsonLines) {
      Parse(ParseEventsJsonl(line, path_), line_, 1);
      return;
    }
    // CSV: a quoted field may span lines; the record ends where the quotes
    // balance ("" inside a quoted field counts twice, so parity holds).
    if (record_.empty() && !in_quotes_) record_line_ = line_;
    if (!record_.empty() || in_quotes_) record_ += '\n';
    record_ += line;
    if (std::count(line.begin(), line.end(), '"') % 2 != 0) in_quotes_ = !in_quotes_;
    if (in_quotes_) return;
    std::string record = std::move(record_);
    record_.clear();
    if (header_bad_) {
      ++lines_rejected_;
      return;
    }
    Parse(ParseEventsCsv(header_ + "\n" + record + "\n", path_), record_line_, 2);
  }

  // The result of parsing one record that starts on `line` and that the
  // reader saw as its line `reader_line`.
  void Parse(absl::StatusOr<std::vector<Event>> parsed, int line, int reader_line) {
    if (!parsed.ok()) {
      int at = reader_line;
      const std::string message = ErrorText(parsed.status());
      const std::string_view what = WithoutLocation(message, path_, &at);
      Reject(line + std::max(0, at - reader_line), what);
      return;
    }
    for (Event& e : *parsed) {
      std::string key =
          fmt::format("{}|{}|{}|{}|{}:{}|{}:{}|{}", e.start, e.end, e.announced, e.magnitude,
                      e.source.size(), e.source, e.category.size(), e.category, e.text);
      if (seen_.count(key) != 0) continue;  // read again after a rewrite
      absl::StatusOr<IntakeEvent> in = intake_.Accept(std::move(e), via_);
      if (!in.ok()) {
        Reject(line, ErrorText(in.status()));
        continue;
      }
      seen_.insert(std::move(key));
      ++accepted_;
    }
  }

  void Reject(int line, std::string_view what) {
    ++lines_rejected_;
    spdlog::warn("{}:{}: {} (line skipped)", path_, line, what);
  }

  const std::string path_;
  const std::string via_;
  EventIntake& intake_;
  const Seconds poll_;
  bool started_ = false;

  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;

  std::atomic<std::uint64_t> lines_read_{0};
  std::atomic<std::uint64_t> lines_rejected_{0};
  std::uint64_t accepted_ = 0;

  // The file being followed; touched by Start's first Poll, then only by the
  // thread.
  bool have_file_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t offset_ = 0;  // bytes read so far
  std::string fingerprint_;   // its first bytes, to notice a rewrite in place
  std::string pending_;       // bytes after the last newline
  int line_ = 0;              // lines consumed
  Format format_ = Format::kUnknown;
  std::string header_;
  int header_line_ = 0;
  bool header_bad_ = false;
  std::string record_;  // a CSV record spanning lines, so far
  int record_line_ = 0;
  bool in_quotes_ = false;
  bool missing_logged_ = false;
  bool open_error_logged_ = false;
  std::set<std::string> seen_;  // every event accepted from this path
};

EventFileFollower::EventFileFollower(std::string path, EventIntake& intake, Seconds poll)
    : impl_(std::make_unique<Impl>(std::move(path), intake, poll)) {}
EventFileFollower::~EventFileFollower() { Stop(); }
absl::Status EventFileFollower::Start() { return impl_->Start(); }
void EventFileFollower::Stop() { impl_->Stop(); }
std::uint64_t EventFileFollower::lines_read() const { return impl_->lines_read(); }
std::uint64_t EventFileFollower::lines_rejected() const { return impl_->lines_rejected(); }

}  // namespace meshtwin::live
