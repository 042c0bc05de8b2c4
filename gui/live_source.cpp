#include "gui/live_source.h"

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "gui/live_results.h"
#include "live_bridge/tls.h"
#include "live_bridge/watch.h"

namespace meshtwin::gui {
namespace {

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class LiveManagerSource : public DataSource {
 public:
  LiveManagerSource(std::string name, std::string address,
                    std::unique_ptr<live::WatchClient> client, const live::LiveSnapshot& snapshot)
      : name_(std::move(name)), address_(std::move(address)), client_(std::move(client)) {
    results_.Reset(snapshot);
    // The stream runs on its own thread: WatchClient::Watch blocks for as
    // long as the manager streams. Events only queue up there; the GUI's
    // thread applies them in Poll, so data() never changes under a frame.
    thread_ = std::thread([this] {
      absl::Status st =
          client_->Watch({.include_decisions = true}, [this](const live::WatchEvent& e) {
            std::lock_guard lock(mu_);
            queue_.push_back(e);
            return true;
          });
      std::lock_guard lock(mu_);
      ended_ = true;
      end_status_ = std::move(st);
    });
  }

  // WatchClient::Cancel also ends a Watch that has not started its call yet,
  // so one Cancel always lets the thread finish.
  ~LiveManagerSource() override {
    client_->Cancel();
    thread_.join();
  }

  std::string name() const override { return name_; }
  SourceKind kind() const override { return SourceKind::kLiveManager; }

  absl::Status Poll() override {
    if (!error_.ok()) return error_;
    std::deque<live::WatchEvent> events;
    bool ended = false;
    absl::Status end_status;
    {
      std::lock_guard lock(mu_);
      events.swap(queue_);
      ended = ended_;
      end_status = end_status_;
    }
    bool changed = false;
    for (const live::WatchEvent& e : events) changed = results_.Apply(e) || changed;
    changed = results_.FlushNodes(SteadySeconds()) || changed;
    if (changed) ++version_;
    if (ended) {
      // Only the destructor stops the stream on purpose: an end seen here
      // is the manager going away (or refusing us), OK status or not.
      // The name says where from unless a label replaced it.
      const std::string from =
          name_.find(address_) == std::string::npos ? " from " + address_ : std::string();
      error_ = absl::Status(end_status.ok() ? absl::StatusCode::kUnavailable : end_status.code(),
                            name_ + ": the watch stream" + from + " ended" +
                                (end_status.ok() ? std::string(" (the manager closed it)")
                                                 : ": " + ErrorText(end_status)));
      return error_;
    }
    return absl::OkStatus();
  }

  const ResultsData& data() const override { return results_.data(); }
  bool live() const override { return error_.ok(); }
  // A live manager has no end to progress towards: its data is always up
  // to date with the stream.
  double progress() const override { return 1; }
  double duration() const override { return 0; }
  std::uint64_t version() const override { return version_; }
  std::string results_path() const override { return {}; }

 private:
  const std::string name_, address_;
  std::unique_ptr<live::WatchClient> client_;
  LiveResults results_;
  absl::Status error_;
  std::uint64_t version_ = 1;

  std::mutex mu_;  // guards the fields below, shared with the stream thread
  std::deque<live::WatchEvent> queue_;
  bool ended_ = false;
  absl::Status end_status_;
  std::thread thread_;  // the stream; started by the constructor, joined by the destructor
};

}  // namespace

absl::StatusOr<std::unique_ptr<DataSource>> OpenLiveManagerSource(const DataSourceSpec& spec) {
  if (spec.address.empty()) {
    return absl::InvalidArgumentError("live manager: expected an address, host:port");
  }
  const std::string name = spec.label.empty() ? "live " + spec.address : spec.label;
  if (spec.tls_dir.empty()) {
    return absl::InvalidArgumentError(
        name +
        ": needs the TLS directory with ca.crt and the viewer's certificate and key "
        "(--tls-dir; the live bridge speaks mutual TLS only)");
  }
  live::TlsOptions tls;
  tls.files = live::TlsFiles::InDir(spec.tls_dir, spec.tls_name.empty() ? "client" : spec.tls_name);
  MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<live::WatchClient> client,
                            live::WatchClient::Connect(spec.address, tls));
  absl::StatusOr<live::LiveSnapshot> snapshot = client->Snapshot(kLiveHistorySeconds);
  if (!snapshot.ok()) {
    return absl::Status(snapshot.status().code(), name + ": " + ErrorText(snapshot.status()));
  }
  return std::unique_ptr<DataSource>(
      new LiveManagerSource(name, spec.address, std::move(client), *snapshot));
}

}  // namespace meshtwin::gui
