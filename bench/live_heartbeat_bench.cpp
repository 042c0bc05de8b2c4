// The manager's cost of a large fleet: one LiveServer + AgentRegistry over
// mutual TLS, and N agents (real AgentClients, each with its own certificate
// CN agent-i) that register and then heartbeat at 1 Hz. The agents run in
// child processes, so the manager's CPU (getrusage RUSAGE_SELF) is its own.
// Per heartbeat the latency is (registry applied it) - (agent stamped
// load.time_unix as it sent it): both processes read the same CLOCK_REALTIME.
//
//   live_heartbeat_bench                       # 2,000 agents, 60 s measured
//   live_heartbeat_bench --agents 200 --seconds 10 --processes 1
//
// Exits 1 if not every agent registered and heartbeated, 2 for bad flags.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "live_bridge/agent_registry.h"
#include "live_bridge/agent_registry_client.h"
#include "live_bridge/certs.h"
#include "live_bridge/tls.h"
#include "live_bridge/tls_server.h"

namespace meshtwin::live {
namespace {

using SteadyTime = std::chrono::steady_clock;

struct BenchOptions {
  int agents = 2000;
  double seconds = 60;       // the measured period
  double warmup = 5;         // heartbeating before the measured period starts
  int processes = 1;         // agent processes (one carries 2,000 channels)
  int register_threads = 8;  // per agent process
  std::string certs_dir;     // cached between runs
};

// What an agent process tells the manager process when it stops.
struct ChildReport {
  int registered = 0;
  int streams = 0;  // heartbeat streams opened
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;
  double cpu_seconds = 0;
};

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM"); 0 if absent.
double ProcStatusMiB(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024;
  }
  return 0;
}

// Every channel is a socket on each side: the soft limit (often 1,024) is
// raised to the hard one, which the children inherit.
absl::Status RaiseFileLimit(const BenchOptions& o) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  // The manager holds one socket per agent; an agent process fewer.
  const rlim_t needed = static_cast<rlim_t>(o.agents) + 256;
  if (limit.rlim_cur < needed) {
    return absl::FailedPreconditionError("RLIMIT_NOFILE is " + std::to_string(limit.rlim_cur) +
                                         ", the manager needs about " + std::to_string(needed) +
                                         " descriptors: raise the hard limit (ulimit -Hn)");
  }
  return absl::OkStatus();
}

// The CA, `manager` and agent-0 .. agent-(n-1), reused from an earlier run
// when they are all there and valid: issuing 2,000 certificates takes a while.
absl::Status EnsureCertificates(const BenchOptions& o) {
  const auto usable = [&](const std::string& name) {
    return CheckTlsFiles(TlsFiles::InDir(o.certs_dir, name)).ok();
  };
  if (usable("manager") && usable("agent-0") && usable("agent-" + std::to_string(o.agents - 1))) {
    std::printf("certificates: reusing %s\n", o.certs_dir.c_str());
    return absl::OkStatus();
  }
  const auto start = SteadyTime::now();
  CertsInitOptions init;
  init.dir = o.certs_dir;
  init.nodes = o.agents;
  init.days = 30;
  init.force = true;
  MESHTWIN_RETURN_IF_ERROR(InitCertsDir(init).status());
  std::printf("certificates: issued %d in %.1f s into %s\n", o.agents + 3,
              std::chrono::duration<double>(SteadyTime::now() - start).count(),
              o.certs_dir.c_str());
  return absl::OkStatus();
}

bool WriteAll(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// One agent process: the agents i with i % processes == index, so that each
// process's agents are spread over the whole second. Reads the manager's port
// from `control`, then heartbeats until `control` reaches end of file.
int RunAgents(const BenchOptions& o, int index, int control, int report_fd) {
  int port = 0;
  if (!ReadAll(control, &port, sizeof port)) return 3;
  const std::string address = "127.0.0.1:" + std::to_string(port);
  std::vector<int> ids;
  for (int i = index; i < o.agents; i += o.processes) ids.push_back(i);

  std::vector<std::unique_ptr<AgentClient>> clients(ids.size());
  std::vector<char> registered(ids.size(), 0);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < o.register_threads; ++t) {
    workers.emplace_back([&] {
      for (std::size_t k = next++; k < ids.size(); k = next++) {
        const std::string node = "agent-" + std::to_string(ids[k]);
        TlsOptions tls;
        tls.files = TlsFiles::InDir(o.certs_dir, node);
        tls.refresh_interval_s = 3600;  // no rotation here: keep the agents' own noise down
        absl::StatusOr<std::unique_ptr<AgentClient>> client = AgentClient::Connect(address, tls);
        if (!client.ok()) {
          std::fprintf(stderr, "%s: %s\n", node.c_str(), ErrorText(client.status()).c_str());
          continue;
        }
        AgentRegistration r;
        r.node_id = node;
        r.capabilities.cores = 8;
        r.capabilities.memory_gb = 32;
        r.capabilities.roles = {"web"};
        r.role = "web";
        absl::Status status;
        for (int attempt = 0; attempt < 3; ++attempt) {
          status = (*client)->Register(r, 30).status();
          if (status.ok()) break;
        }
        if (!status.ok()) {
          std::fprintf(stderr, "%s: register: %s\n", node.c_str(), ErrorText(status).c_str());
          continue;
        }
        registered[k] = 1;
        clients[k] = *std::move(client);
      }
    });
  }
  for (std::thread& w : workers) w.join();

  ChildReport report;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (!registered[k]) continue;
    ++report.registered;
    if (clients[k]->StartHeartbeats(nullptr).ok()) ++report.streams;
  }

  // Agent i sends at t0 + round + i / agents: the fleet's heartbeats are
  // spread evenly over each second, as independent agents' would be.
  const auto t0 = SteadyTime::now();
  bool stop = false;
  for (std::uint64_t round = 0; !stop; ++round) {
    for (std::size_t k = 0; k < ids.size() && !stop; ++k) {
      const auto due =
          t0 + std::chrono::duration_cast<SteadyTime::duration>(std::chrono::duration<double>(
                   static_cast<double>(round) + static_cast<double>(ids[k]) / o.agents));
      for (;;) {
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - SteadyTime::now());
        pollfd p{control, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(std::max<std::int64_t>(wait.count(), 0))) > 0) {
          stop = true;  // end of file: the manager is done measuring
          break;
        }
        if (SteadyTime::now() >= due) break;
      }
      if (stop) break;
      if (!clients[k]) continue;
      AgentHeartbeat beat;
      beat.node_id = "agent-" + std::to_string(ids[k]);
      beat.state = NodeState::kReady;
      beat.role = "web";
      beat.load.window = 1;
      beat.load.cpu_utilization = 0.5;
      beat.load.requests_per_s = 100;
      beat.load.time_unix = UnixNow();  // stamped as it leaves
      if (clients[k]->SendHeartbeat(beat).ok()) {
        ++report.sent;
      } else {
        ++report.send_errors;
      }
    }
  }
  for (auto& c : clients) {
    if (c) (void)c->StopHeartbeats(10);
  }
  report.cpu_seconds = CpuSeconds(RUSAGE_SELF);
  WriteAll(report_fd, &report, sizeof report);
  return 0;
}

struct Child {
  pid_t pid = -1;
  int control = -1;  // write end: the port, then closed to stop it
  int report = -1;   // read end: its ChildReport
};

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const std::size_t i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int RunBench(const BenchOptions& o) {
  if (absl::Status s = RaiseFileLimit(o); !s.ok()) {
    std::fprintf(stderr, "live_heartbeat_bench: %s\n", ErrorText(s).c_str());
    return 1;
  }
  if (absl::Status s = EnsureCertificates(o); !s.ok()) {
    std::fprintf(stderr, "live_heartbeat_bench: certificates: %s\n", ErrorText(s).c_str());
    return 1;
  }

  // Fork before this process makes any gRPC object: gRPC's threads and
  // fork() do not mix. The children wait for the port on their pipe.
  std::vector<Child> children(o.processes);
  std::fflush(stdout);
  for (int k = 0; k < o.processes; ++k) {
    int control[2];
    int report[2];
    if (pipe2(control, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
      std::perror("pipe");
      return 1;
    }
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      // Only its own pipe ends: an earlier child's control pipe must reach
      // end of file when the parent closes it, not stay open in here.
      for (int j = 0; j < k; ++j) {
        close(children[j].control);
        close(children[j].report);
      }
      close(control[1]);
      close(report[0]);
      const int code = RunAgents(o, k, control[0], report[1]);
      std::fflush(nullptr);
      std::_Exit(code);  // skip gRPC's static teardown in the child
    }
    close(control[0]);
    close(report[1]);
    children[k] = {pid, control[1], report[0]};
  }

  std::mutex latency_mu;
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(o.agents * (o.seconds + 10)));
  std::atomic<bool> measuring{false};
  AgentRegistryOptions registry_options;
  registry_options.manager_id = "bench-manager";
  registry_options.on_heartbeat = [&](const AgentHeartbeat& beat, double applied_unix) {
    if (!measuring.load(std::memory_order_relaxed)) return;
    const double latency = applied_unix - beat.load.time_unix;
    std::lock_guard lock(latency_mu);
    latencies.push_back(latency);
  };
  AgentRegistry registry(registry_options);
  LiveServerOptions server_options;
  server_options.address = "127.0.0.1:0";
  server_options.tls.files = TlsFiles::InDir(o.certs_dir, "manager");
  LiveServer server(server_options);
  server.AddService(registry.service());
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "live_heartbeat_bench: manager: %s\n", ErrorText(s).c_str());
    return 1;
  }
  const int port = server.port();
  const auto registering = SteadyTime::now();
  for (Child& c : children) WriteAll(c.control, &port, sizeof port);

  // Registration and the first heartbeat of every agent, or a time-out.
  const auto all_in = [&] {
    int streaming = 0;
    const std::vector<AgentRecord> records = registry.Snapshot();
    for (const AgentRecord& r : records) streaming += r.streaming && r.heartbeats > 0;
    return std::pair<int, int>(static_cast<int>(records.size()), streaming);
  };
  const double patience = 60 + o.agents * 0.05;
  std::pair<int, int> in{0, 0};
  bool children_alive = true;
  while (std::chrono::duration<double>(SteadyTime::now() - registering).count() < patience) {
    in = all_in();
    if (in.second == o.agents) break;
    for (Child& c : children) {
      if (waitpid(c.pid, nullptr, WNOHANG) == c.pid) {
        children_alive = false;
        c.pid = -1;
      }
    }
    if (!children_alive) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double registration_s =
      std::chrono::duration<double>(SteadyTime::now() - registering).count();
  std::printf("registered %d/%d agents (%d heartbeating) in %.1f s\n", in.first, o.agents,
              in.second, registration_s);
  std::fflush(stdout);

  std::uint64_t beats_before = 0;
  std::uint64_t beats_after = 0;
  double wall = 0;
  double cpu = 0;
  int agents_heard = 0;
  if (in.second == o.agents) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
    std::vector<AgentRecord> before = registry.Snapshot();
    for (const AgentRecord& r : before) beats_before += r.heartbeats;
    const double cpu_start = CpuSeconds(RUSAGE_SELF);
    const auto start = SteadyTime::now();
    measuring = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    measuring = false;
    wall = std::chrono::duration<double>(SteadyTime::now() - start).count();
    cpu = CpuSeconds(RUSAGE_SELF) - cpu_start;
    std::vector<AgentRecord> after = registry.Snapshot();
    std::sort(before.begin(), before.end(), [](const AgentRecord& a, const AgentRecord& b) {
      return a.registration.node_id < b.registration.node_id;
    });
    for (const AgentRecord& r : after) {
      beats_after += r.heartbeats;
      auto it = std::lower_bound(
          before.begin(), before.end(), r.registration.node_id,
          [](const AgentRecord& a, const std::string& id) { return a.registration.node_id < id; });
      const std::uint64_t had =
          it != before.end() && it->registration.node_id == r.registration.node_id ? it->heartbeats
                                                                                   : 0;
      agents_heard += r.heartbeats > had;
    }
  }
  const double rss = ProcStatusMiB("VmRSS");
  const double peak_rss = ProcStatusMiB("VmHWM");

  // Stop the agents (end of file on their pipe) and collect their reports.
  ChildReport total;
  bool reports_ok = true;
  for (Child& c : children) close(c.control);
  for (Child& c : children) {
    ChildReport r;
    if (ReadAll(c.report, &r, sizeof r)) {
      total.registered += r.registered;
      total.streams += r.streams;
      total.sent += r.sent;
      total.send_errors += r.send_errors;
      total.cpu_seconds += r.cpu_seconds;
    } else {
      reports_ok = false;
    }
    close(c.report);
    int status = 0;
    if (c.pid > 0 &&
        (waitpid(c.pid, &status, 0) != c.pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
      reports_ok = false;
    }
  }
  server.Shutdown(1);

  std::vector<double> sorted;
  {
    std::lock_guard lock(latency_mu);
    sorted = latencies;
  }
  std::sort(sorted.begin(), sorted.end());
  const double p50 = Percentile(sorted, 0.50) * 1e3;
  const double p99 = Percentile(sorted, 0.99) * 1e3;
  const double max = sorted.empty() ? 0 : sorted.back() * 1e3;
  const double cores = wall > 0 ? cpu / wall : 0;
  std::printf("\nlive heartbeat bench: one manager (LiveServer + AgentRegistry, mutual TLS)\n");
  std::printf(
      "  agents                 %d in %d process(es); %d registered, %d heard from "
      "in the measured period\n",
      o.agents, o.processes, in.first, agents_heard);
  std::printf("  measured               %.1f s after %.0f s of warm-up\n", wall, o.warmup);
  std::printf("  heartbeats/s           %.1f applied (%zu latency samples; counters: %.1f/s)\n",
              wall > 0 ? static_cast<double>(sorted.size()) / wall : 0, sorted.size(),
              wall > 0 ? static_cast<double>(beats_after - beats_before) / wall : 0);
  std::printf(
      "  latency ms             p50 %.2f  p99 %.2f  max %.2f  (min %.3f)   (target: p99 < 50)\n",
      p50, p99, max, sorted.empty() ? 0 : sorted.front() * 1e3);
  std::printf("  manager CPU            %.3f cores (%.2f cpu-s / %.1f s)   (target: < 1 core)\n",
              cores, cpu, wall);
  std::printf("  manager RSS            %.1f MiB (peak %.1f MiB)\n", rss, peak_rss);
  std::printf("  agent processes        %.2f cpu-s in total; %llu heartbeats sent, %llu failed\n",
              total.cpu_seconds, static_cast<unsigned long long>(total.sent),
              static_cast<unsigned long long>(total.send_errors));
  std::printf("  targets                %s\n",
              p99 < 50 && cores < 1 ? "met" : "MISSED (see the figures above)");

  const bool complete = in.first == o.agents && in.second == o.agents && agents_heard == o.agents &&
                        reports_ok && total.registered == o.agents;
  if (!complete) {
    std::fprintf(stderr,
                 "live_heartbeat_bench: FAILED: %d/%d registered, %d heartbeating, %d heard from "
                 "while measuring%s\n",
                 in.first, o.agents, in.second, agents_heard,
                 reports_ok ? "" : "; an agent process failed");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace meshtwin::live

int main(int argc, char** argv) {
  meshtwin::live::BenchOptions o;
  o.certs_dir =
      (std::filesystem::temp_directory_path() / "meshtwin_heartbeat_bench_certs").string();
  CLI::App app("live_heartbeat_bench: a manager's cost of N agents heartbeating at 1 Hz");
  app.add_option("--agents", o.agents, "Simulated agents")->check(CLI::Range(1, 100000));
  app.add_option("--seconds", o.seconds, "Measured period, seconds")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--warmup", o.warmup, "Heartbeating before measuring, seconds")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--processes", o.processes, "Agent processes")->check(CLI::Range(1, 64));
  app.add_option("--register-threads", o.register_threads, "Registering threads per process")
      ->check(CLI::Range(1, 256));
  app.add_option("--certs-dir", o.certs_dir, "Where the certificates are cached");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.processes > o.agents) o.processes = o.agents;
  return meshtwin::live::RunBench(o);
}
