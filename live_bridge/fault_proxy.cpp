#include "live_bridge/fault_proxy.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace meshtwin::live {
namespace {

using SteadyTime = std::chrono::steady_clock;

// One read's worth. Several reads per wake-up are allowed (kReadsPerWake), so
// that one busy connection cannot starve the others.
constexpr std::size_t kReadSize = 64 * 1024;
constexpr int kReadsPerWake = 4;
// Bytes a direction may hold before the proxy stops reading its source: with
// a long delay and a fast sender the queue would otherwise grow without bound.
// TCP then pushes back on the sender, as a slow link would.
constexpr std::size_t kMaxQueued = 4 * 1024 * 1024;
// After accept() fails for want of descriptors, how long to stop accepting
// (the listener stays readable, and polling it at once would spin).
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int port = 0;
};

// HOST:PORT or [V6]:PORT, resolved now. `what` names the field in errors.
absl::StatusOr<SocketAddress> ParseAddress(const std::string& text, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(what + " '" + text + "': " + why);
  };
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return bad("expected HOST:PORT, such as 127.0.0.1:7443");
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return bad("port '" + port_text + "' is not a number in 0..65535");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return bad(std::string("cannot resolve host '") + host + "': " + gai_strerror(rc));
  }
  SocketAddress out;
  std::memcpy(&out.storage, found->ai_addr, found->ai_addrlen);
  out.length = found->ai_addrlen;
  out.port = port;
  freeaddrinfo(found);
  return out;
}

// Closes with a RST instead of a FIN: the peer's next call fails with
// ECONNRESET, as after a crash or a middlebox cutting the flow.
void Reset(int fd) {
  if (fd < 0) return;
  const linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close(fd);
}

// Small writes go out at once: the proxy must not add Nagle's delay on top
// of the one it was asked for.
void SetNoDelay(int fd) {
  const int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}

struct Chunk {
  SteadyTime::time_point due;
  std::string bytes;
  std::size_t offset = 0;  // written so far
};

// One direction of a connection: bytes read from its source wait here until
// they are due, then go to its sink.
struct Pipe {
  std::deque<Chunk> queue;
  std::size_t queued = 0;  // bytes in `queue` not yet written
  bool eof = false;        // the source has closed its sending side
  bool shut = false;       // and that has been passed on to the sink
  bool blocked = false;    // the sink's buffer is full: wait for POLLOUT
};

struct Connection {
  int client = -1;
  int upstream = -1;
  bool connecting = false;  // the upstream connect() is in progress
  bool lost = false;        // bytes went into a blackhole: the streams have a hole
  bool dead = false;        // closed; removed at the end of the loop's turn
  Pipe up;                  // client -> upstream
  Pipe down;                // upstream -> client
};

}  // namespace

absl::Status CheckFaultMode(const FaultMode& mode) {
  if (!std::isfinite(mode.delay) || mode.delay < 0) {
    return absl::InvalidArgumentError("fault mode: delay must be a duration >= 0, got " +
                                      std::to_string(mode.delay));
  }
  if (!std::isfinite(mode.drop) || mode.drop < 0 || mode.drop > 1) {
    return absl::InvalidArgumentError("fault mode: drop must be a probability in 0..1, got " +
                                      std::to_string(mode.drop));
  }
  return absl::OkStatus();
}

// The forwarding thread and everything it owns. Fields under "loop thread
// only" are touched by Run() alone; the rest is guarded by mu_ or atomic.
class FaultProxy::Loop {
 public:
  Loop(int listen_fd, int wake_fd, int port, SocketAddress upstream, std::uint64_t seed)
      : listen_fd_(listen_fd),
        wake_fd_(wake_fd),
        port_(port),
        upstream_(upstream),
        rng_(seed),
        read_buffer_(kReadSize) {}

  ~Loop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
    for (Connection& c : conns_) {
      if (c.client >= 0) close(c.client);
      if (c.upstream >= 0) close(c.upstream);
    }
    close(listen_fd_);
    close(wake_fd_);
  }

  void StartThread() {
    thread_ = std::thread([this] { Run(); });
  }

  int port() const { return port_; }
  std::uint64_t connections() const { return connections_.load(); }
  std::uint64_t bytes_forwarded() const { return bytes_.load(); }

  FaultMode mode() const {
    std::lock_guard lock(mu_);
    return applied_mode_;
  }

  // Hands a mode change and/or a cut to the loop and waits until it has
  // applied them, so that a caller's next step already sees them in force.
  void Apply(const FaultMode* mode, bool cut) {
    std::unique_lock lock(mu_);
    if (mode != nullptr) pending_mode_ = *mode;
    if (cut) pending_cut_ = true;
    const std::uint64_t ticket = ++requested_;
    Wake();
    applied_cv_.wait(lock, [&] { return applied_ >= ticket || stop_; });
  }

 private:
  void Wake() {
    const std::uint64_t one = 1;
    // Cannot fail short of a full counter, which 2^64 wake-ups would take.
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  }

  void Run();
  bool ApplyRequests();  // false once asked to stop
  void SetModeNow(const FaultMode& mode);
  void AcceptAll(SteadyTime::time_point now);
  void HandleEvents(Connection& c, bool client_side, short revents, SteadyTime::time_point now);
  void ReadFrom(Connection& c, bool client_side, bool past_limit, SteadyTime::time_point now);
  void FailSide(Connection& c, bool client_side);
  void Flush(Connection& c, bool upward, SteadyTime::time_point now);
  static void Abort(Connection& c);
  int PollTimeoutMs(SteadyTime::time_point now) const;

  const int listen_fd_;
  const int wake_fd_;
  const int port_;
  const SocketAddress upstream_;
  std::thread thread_;
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> bytes_{0};

  mutable std::mutex mu_;
  std::condition_variable applied_cv_;
  std::optional<FaultMode> pending_mode_;
  bool pending_cut_ = false;
  bool stop_ = false;
  std::uint64_t requested_ = 0;  // tickets handed out by Apply
  std::uint64_t applied_ = 0;    // the last ticket the loop has carried out
  FaultMode applied_mode_;

  // Loop thread only.
  FaultMode mode_;
  std::list<Connection> conns_;  // a list: poll slots point into it across a turn
  std::mt19937_64 rng_;
  std::vector<char> read_buffer_;
  SteadyTime::time_point accept_paused_until_{};
};

bool FaultProxy::Loop::ApplyRequests() {
  std::optional<FaultMode> mode;
  bool cut = false;
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    if (stop_) return false;
    if (applied_ == requested_) return true;
    mode.swap(pending_mode_);
    cut = pending_cut_;
    pending_cut_ = false;
    ticket = requested_;
  }
  if (mode) SetModeNow(*mode);
  if (cut) {
    if (!conns_.empty())
      spdlog::debug("fault proxy :{}: cutting {} connection(s)", port_, conns_.size());
    for (Connection& c : conns_) Abort(c);
  }
  conns_.remove_if([](const Connection& c) { return c.dead; });
  {
    std::lock_guard lock(mu_);
    applied_ = ticket;
    applied_mode_ = mode_;
  }
  applied_cv_.notify_all();
  return true;
}

void FaultProxy::Loop::SetModeNow(const FaultMode& mode) {
  const bool entering = mode.blackhole && !mode_.blackhole;
  const bool leaving = !mode.blackhole && mode_.blackhole;
  mode_ = mode;
  if (entering) {
    // A silent partition loses what was in flight, too.
    for (Connection& c : conns_) {
      for (Pipe* p : {&c.up, &c.down}) {
        if (p->queued > 0) c.lost = true;
        p->queue.clear();
        p->queued = 0;
        p->blocked = false;
      }
    }
  }
  if (leaving) {
    // A stream with a hole in it cannot be resumed: reset it, so that its
    // peers notice now rather than on a TLS record that fails to decrypt.
    for (Connection& c : conns_) {
      if (c.lost || c.client < 0 || c.upstream < 0) Abort(c);
    }
  }
}

void FaultProxy::Loop::Run() {
  std::vector<pollfd> fds;
  struct Slot {
    Connection* connection;
    bool client_side;
  };
  std::vector<Slot> slots;
  while (ApplyRequests()) {
    const SteadyTime::time_point before = SteadyTime::now();
    fds.clear();
    slots.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool accepting = before >= accept_paused_until_;
    fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    for (Connection& c : conns_) {
      for (const bool client_side : {true, false}) {
        const int fd = client_side ? c.client : c.upstream;
        if (fd < 0) continue;
        const Pipe& from = client_side ? c.up : c.down;
        const Pipe& to = client_side ? c.down : c.up;
        short events = 0;
        if (!client_side && c.connecting) {
          events = POLLOUT;
        } else {
          if (!from.eof && (mode_.blackhole || from.queued < kMaxQueued)) events |= POLLIN;
          if (to.blocked) events |= POLLOUT;
          // Nothing more to read or write here: leave it out, or a socket
          // whose both directions are shut would report POLLHUP forever.
          if (events == 0 && from.eof && (to.shut || mode_.blackhole)) continue;
        }
        fds.push_back({fd, events, 0});
        slots.push_back({&c, client_side});
      }
    }
    const int ready = poll(fds.data(), fds.size(), PollTimeoutMs(before));
    if (ready < 0 && errno != EINTR) {
      spdlog::error("fault proxy :{}: poll failed: {}", port_, std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    // Requests first: a caller whose SetMode has returned must not see one
    // more chunk forwarded under the old mode. The slots may then be stale
    // (a cut closes their sockets), so they wait for the next turn.
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      if (applied_ != requested_) continue;
    }
    const SteadyTime::time_point now = SteadyTime::now();
    if (fds[0].revents & POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof count);
    }
    if (ready > 0) {
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (fds[i + 2].revents != 0) {
          HandleEvents(*slots[i].connection, slots[i].client_side, fds[i + 2].revents, now);
        }
      }
    }
    for (Connection& c : conns_) {
      if (!c.dead) Flush(c, true, now);
      if (!c.dead) Flush(c, false, now);
      if (!c.dead && c.up.shut && c.down.shut) {
        // Both sides said all they had to say and heard all of it.
        close(c.client);
        close(c.upstream);
        c.client = c.upstream = -1;
        c.dead = true;
      }
    }
    conns_.remove_if([](const Connection& c) { return c.dead; });
    // Accept last: a new connection's first poll then comes with the next turn.
    if (fds[1].revents & POLLIN) AcceptAll(now);
  }
}

int FaultProxy::Loop::PollTimeoutMs(SteadyTime::time_point now) const {
  std::optional<SteadyTime::time_point> next;
  if (now < accept_paused_until_) next = accept_paused_until_;
  for (const Connection& c : conns_) {
    for (const Pipe* p : {&c.up, &c.down}) {
      // A connecting upstream wakes the loop when it is ready (POLLOUT).
      if (p->queue.empty() || p->blocked || (p == &c.up && c.connecting)) continue;
      if (!next || p->queue.front().due < *next) next = p->queue.front().due;
    }
  }
  if (!next) return -1;
  if (*next <= now) return 0;
  // Rounded up: waking a little early would only spin until the chunk is due.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::min<std::int64_t>(wait, 60'000));
}

void FaultProxy::Loop::AcceptAll(SteadyTime::time_point now) {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        spdlog::warn("fault proxy :{}: accept failed ({}); pausing new connections", port_,
                     std::strerror(errno));
        accept_paused_until_ = now + kAcceptPause;
      }
      return;
    }
    const std::uint64_t number = ++connections_;
    // Precedence: refuse, then drop, then blackhole.
    if (mode_.refuse) {
      spdlog::debug("fault proxy :{}: connection {} refused", port_, number);
      close(fd);
      continue;
    }
    if (mode_.drop > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < mode_.drop) {
      spdlog::debug("fault proxy :{}: connection {} dropped (reset)", port_, number);
      Reset(fd);
      continue;
    }
    SetNoDelay(fd);
    Connection& c = conns_.emplace_back();
    c.client = fd;
    if (mode_.blackhole) continue;  // a partition: the upstream never hears of it
    const sockaddr* to = reinterpret_cast<const sockaddr*>(&upstream_.storage);
    c.upstream = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.upstream >= 0) SetNoDelay(c.upstream);
    if (c.upstream >= 0 && connect(c.upstream, to, upstream_.length) == 0) continue;
    if (c.upstream >= 0 && errno == EINPROGRESS) {
      c.connecting = true;
      continue;
    }
    spdlog::debug("fault proxy :{}: cannot dial upstream: {}", port_, std::strerror(errno));
    Abort(c);
  }
}

void FaultProxy::Loop::HandleEvents(Connection& c, bool client_side, short revents,
                                    SteadyTime::time_point now) {
  if (c.dead) return;
  if (!client_side && c.connecting) {
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      // The client sees what it would have seen dialling the upstream itself.
      spdlog::debug("fault proxy :{}: upstream refused: {}", port_, std::strerror(error));
      Abort(c);
    } else if (revents & POLLOUT) {
      c.connecting = false;
    }
    return;
  }
  Pipe& from = client_side ? c.up : c.down;
  Pipe& to = client_side ? c.down : c.up;
  if (revents & POLLOUT) to.blocked = false;
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    if (!from.eof) {
      // A hang-up or an error is read past the queue limit: left unread it
      // would be reported again at once, and the loop would spin.
      ReadFrom(c, client_side, (revents & (POLLHUP | POLLERR)) != 0, now);
    } else if (revents & (POLLHUP | POLLERR)) {
      FailSide(c, client_side);
    }
  }
}

void FaultProxy::Loop::ReadFrom(Connection& c, bool client_side, bool past_limit,
                                SteadyTime::time_point now) {
  const int fd = client_side ? c.client : c.upstream;
  Pipe& from = client_side ? c.up : c.down;
  for (int i = 0; i < kReadsPerWake; ++i) {
    if (!mode_.blackhole && !past_limit && from.queued >= kMaxQueued) return;
    const ssize_t n = recv(fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n > 0) {
      if (mode_.blackhole) {
        c.lost = true;
        continue;
      }
      const auto delay = std::chrono::duration_cast<SteadyTime::duration>(
          std::chrono::duration<double>(mode_.delay));
      from.queue.push_back({now + delay, std::string(read_buffer_.data(), n), 0});
      from.queued += static_cast<std::size_t>(n);
      if (static_cast<std::size_t>(n) < read_buffer_.size()) return;  // drained
      continue;
    }
    if (n == 0) {
      from.eof = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) FailSide(c, client_side);
    return;
  }
}

void FaultProxy::Loop::FailSide(Connection& c, bool client_side) {
  if (!mode_.blackhole) {
    Abort(c);
    return;
  }
  // In a partition even a reset must not get across: close this side only.
  // The other is reset when the blackhole lifts.
  int& fd = client_side ? c.client : c.upstream;
  Reset(fd);
  fd = -1;
  c.lost = true;
  if (c.client < 0 && c.upstream < 0) c.dead = true;
}

void FaultProxy::Loop::Flush(Connection& c, bool upward, SteadyTime::time_point now) {
  Pipe& pipe = upward ? c.up : c.down;
  const int sink = upward ? c.upstream : c.client;
  if (mode_.blackhole || sink < 0 || pipe.blocked || (upward && c.connecting)) return;
  while (!pipe.queue.empty()) {
    Chunk& head = pipe.queue.front();
    if (head.due > now) break;
    const ssize_t n =
        send(sink, head.bytes.data() + head.offset, head.bytes.size() - head.offset, MSG_NOSIGNAL);
    if (n > 0) {
      head.offset += static_cast<std::size_t>(n);
      pipe.queued -= static_cast<std::size_t>(n);
      bytes_ += static_cast<std::uint64_t>(n);
      if (head.offset == head.bytes.size()) pipe.queue.pop_front();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pipe.blocked = true;
      return;
    }
    Abort(c);  // the sink is gone: its peer gets a reset, as through a real connection
    return;
  }
  if (pipe.queue.empty() && pipe.eof && !pipe.shut) {
    shutdown(sink, SHUT_WR);
    pipe.shut = true;
  }
}

void FaultProxy::Loop::Abort(Connection& c) {
  Reset(c.client);
  Reset(c.upstream);
  c.client = c.upstream = -1;
  c.dead = true;
}

FaultProxy::FaultProxy(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}
FaultProxy::~FaultProxy() = default;

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(std::string listen,
                                                              std::string upstream,
                                                              std::uint64_t seed) {
  MESHTWIN_ASSIGN_OR_RETURN(SocketAddress bind_to, ParseAddress(listen, "listen address"));
  MESHTWIN_ASSIGN_OR_RETURN(SocketAddress dial, ParseAddress(upstream, "upstream address"));
  if (dial.port == 0) {
    return absl::InvalidArgumentError("upstream address '" + upstream +
                                      "': port 0 cannot be dialled");
  }
  const sockaddr* addr = reinterpret_cast<const sockaddr*>(&bind_to.storage);
  const int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError("fault proxy: cannot make a socket: " +
                                  std::string(std::strerror(errno)));
  }
  const int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (bind(fd, addr, bind_to.length) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::UnavailableError("fault proxy: cannot listen on " + listen + ": " + why);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::UnavailableError("fault proxy: cannot make an eventfd: " + why);
  }
  auto loop = std::make_unique<Loop>(fd, wake, port, dial, seed);
  loop->StartThread();
  spdlog::debug("fault proxy: {} (port {}) -> {}", listen, port, upstream);
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(loop)));
}

int FaultProxy::port() const { return loop_->port(); }

void FaultProxy::SetMode(FaultMode mode) {
  if (absl::Status ok = CheckFaultMode(mode); !ok.ok()) {
    spdlog::error("fault proxy :{}: mode ignored: {}", port(), ErrorText(ok));
    return;
  }
  loop_->Apply(&mode, false);
}

FaultMode FaultProxy::mode() const { return loop_->mode(); }

void FaultProxy::CutAll() { loop_->Apply(nullptr, true); }

std::uint64_t FaultProxy::connections() const { return loop_->connections(); }
std::uint64_t FaultProxy::bytes_forwarded() const { return loop_->bytes_forwarded(); }

}  // namespace meshtwin::live
