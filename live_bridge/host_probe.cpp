#include "live_bridge/host_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

extern char** environ;

namespace meshtwin::live {
namespace {

namespace fs = std::filesystem;

constexpr double kBytesPerGib = 1024.0 * 1024.0 * 1024.0;
// cgroup v1 reports "no limit" as a huge page-rounded number (2^63 - 4096).
constexpr std::uint64_t kCgroupV1Unlimited = std::uint64_t{1} << 62;

// A text file split into lines, remembered with its path for error messages.
struct TextFile {
  std::string path;
  std::vector<std::string> lines;
};

std::string UnderRoot(const std::string& root, std::string_view absolute) {
  while (!absolute.empty() && absolute.front() == '/') absolute.remove_prefix(1);
  return (fs::path(root.empty() ? "/" : root) / std::string(absolute)).string();
}

// NotFound when the file does not exist; other open or read failures are
// internal errors. /proc files report size 0, so read by stream, not by size.
absl::StatusOr<TextFile> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return absl::NotFoundError(path + ": no such file");
    return absl::InternalError(path + ": cannot open: " + std::strerror(errno));
  }
  TextFile file{path, {}};
  std::string line;
  while (std::getline(in, line)) file.lines.push_back(std::move(line));
  if (in.bad()) return absl::InternalError(path + ": read error");
  return file;
}

absl::Status LineError(const std::string& path, std::size_t line_index, const std::string& what) {
  return absl::InvalidArgumentError(path + ":" + std::to_string(line_index + 1) + ": " + what);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view s) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// "/proc/meminfo"-style "Key:   123 kB" lines; the value of `key` in bytes,
// or nullopt if the key is absent.
absl::StatusOr<std::optional<std::uint64_t>> MeminfoBytes(const TextFile& file,
                                                          std::string_view key) {
  for (std::size_t i = 0; i < file.lines.size(); ++i) {
    std::string_view line = file.lines[i];
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      if (Trim(line).empty()) continue;
      return LineError(file.path, i, "expected 'Key: value', got '" + file.lines[i] + "'");
    }
    if (line.substr(0, colon) != key) continue;
    std::vector<std::string_view> f = Fields(line.substr(colon + 1));
    std::optional<std::uint64_t> n;
    if (!f.empty()) n = ParseNumber<std::uint64_t>(f[0]);
    if (!n || f.size() > 2 || (f.size() == 2 && f[1] != "kB")) {
      return LineError(file.path, i,
                       std::string(key) + ": expected '<number> kB', got '" +
                           std::string(Trim(line.substr(colon + 1))) + "'");
    }
    return std::optional<std::uint64_t>(f.size() == 2 ? *n * 1024 : *n);
  }
  return std::optional<std::uint64_t>();
}

absl::StatusOr<std::uint64_t> RequiredMeminfoBytes(const TextFile& file, std::string_view key) {
  MESHTWIN_ASSIGN_OR_RETURN(std::optional<std::uint64_t> bytes, MeminfoBytes(file, key));
  if (!bytes) return absl::InvalidArgumentError(file.path + ": no " + std::string(key) + " line");
  return *bytes;
}

// Logical CPUs listed in /proc/cpuinfo ("processor : N" lines).
absl::StatusOr<int> CountCpuinfoProcessors(const TextFile& file) {
  int count = 0;
  for (std::size_t i = 0; i < file.lines.size(); ++i) {
    std::string_view line = file.lines[i];
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || Trim(line.substr(0, colon)) != "processor") continue;
    if (!ParseNumber<int>(Trim(line.substr(colon + 1)))) {
      return LineError(file.path, i,
                       "processor: expected a CPU number, got '" +
                           std::string(Trim(line.substr(colon + 1))) + "'");
    }
    ++count;
  }
  if (count == 0) return absl::InvalidArgumentError(file.path + ": no 'processor' lines");
  return count;
}

// The cgroup paths of this process from /proc/self/cgroup: the v2 path
// ("0::/a/b") and the v1 paths by controller ("4:memory:/a/b").
struct CgroupPaths {
  std::optional<std::string> unified;
  std::map<std::string, std::string> v1;  // controller -> path
};

absl::StatusOr<CgroupPaths> ReadCgroupPaths(const std::string& root) {
  CgroupPaths paths;
  absl::StatusOr<TextFile> file = ReadLines(UnderRoot(root, "/proc/self/cgroup"));
  if (absl::IsNotFound(file.status())) {
    paths.unified = "/";  // no file: look at the mount root only
    return paths;
  }
  if (!file.ok()) return file.status();
  for (std::size_t i = 0; i < file->lines.size(); ++i) {
    std::string_view line = file->lines[i];
    if (Trim(line).empty()) continue;
    std::size_t c1 = line.find(':');
    std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos || line.size() == c2 + 1 || line[c2 + 1] != '/') {
      return LineError(file->path, i,
                       "expected 'id:controllers:/path', got '" + file->lines[i] + "'");
    }
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (line.substr(0, c1) == "0" && controllers.empty()) {
      paths.unified = path;
      continue;
    }
    std::size_t start = 0;
    while (start <= controllers.size()) {
      std::size_t comma = controllers.find(',', start);
      if (comma == std::string_view::npos) comma = controllers.size();
      paths.v1[std::string(controllers.substr(start, comma - start))] = path;
      start = comma + 1;
    }
  }
  return paths;
}

// "/a/b" -> {"/a/b", "/a", "/"}: a limit anywhere up the tree applies. In a
// container without a cgroup namespace the process's path does not exist
// under the container's /sys/fs/cgroup, but "/" there is its own cgroup.
std::vector<std::string> SelfAndAncestors(std::string path) {
  std::vector<std::string> out;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  while (true) {
    out.push_back(path.empty() ? "/" : path);
    if (path.empty() || path == "/") break;
    std::size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return out;
}

// The single line of a one-line cgroup file, or nullopt if it is absent.
absl::StatusOr<std::optional<std::pair<std::string, std::string>>> ReadOneLine(
    const std::string& path) {
  absl::StatusOr<TextFile> file = ReadLines(path);
  if (absl::IsNotFound(file.status())) return std::nullopt;
  if (!file.ok()) return file.status();
  if (file->lines.empty()) return LineError(path, 0, "empty file");
  return std::make_pair(file->path, file->lines[0]);
}

// The tightest CPU limit, in cores, along the cgroup tree (nullopt: none).
absl::StatusOr<std::optional<double>> CgroupCpuLimit(const std::string& root,
                                                     const CgroupPaths& paths) {
  std::optional<double> limit;
  auto tighten = [&](double cores) { limit = limit ? std::min(*limit, cores) : cores; };
  if (paths.unified) {
    for (const std::string& dir : SelfAndAncestors(*paths.unified)) {
      MESHTWIN_ASSIGN_OR_RETURN(auto line,
                                ReadOneLine(UnderRoot(root, "/sys/fs/cgroup" + dir + "/cpu.max")));
      if (!line) continue;
      std::vector<std::string_view> f = Fields(line->second);
      std::optional<double> period = f.size() == 2 ? ParseNumber<double>(f[1]) : std::nullopt;
      std::optional<double> quota = f.size() == 2 ? ParseNumber<double>(f[0]) : std::nullopt;
      if (!period || *period <= 0 || (f[0] != "max" && (!quota || *quota <= 0))) {
        return LineError(line->first, 0,
                         "expected '<quota|max> <period>', got '" + line->second + "'");
      }
      if (quota) tighten(*quota / *period);
    }
  }
  // v1 mounts the cpu controller as "cpu" or "cpu,cpuacct" (often both, one a link).
  auto v1_cpu = paths.v1.find("cpu");
  for (const char* mount : {"cpu", "cpu,cpuacct"}) {
    if (v1_cpu == paths.v1.end()) break;
    for (const std::string& dir : SelfAndAncestors(v1_cpu->second)) {
      std::string base = std::string("/sys/fs/cgroup/") + mount + dir;
      MESHTWIN_ASSIGN_OR_RETURN(auto quota_line,
                                ReadOneLine(UnderRoot(root, base + "/cpu.cfs_quota_us")));
      MESHTWIN_ASSIGN_OR_RETURN(auto period_line,
                                ReadOneLine(UnderRoot(root, base + "/cpu.cfs_period_us")));
      if (!quota_line || !period_line) continue;
      std::optional<double> quota = ParseNumber<double>(Trim(quota_line->second));
      std::optional<double> period = ParseNumber<double>(Trim(period_line->second));
      if (!quota)
        return LineError(quota_line->first, 0,
                         "expected a number, got '" + quota_line->second + "'");
      if (!period || *period <= 0) {
        return LineError(period_line->first, 0,
                         "expected a positive number, got '" + period_line->second + "'");
      }
      if (*quota > 0) tighten(*quota / *period);  // -1: unlimited
    }
  }
  return limit;
}

// The tightest memory limit, in bytes, along the cgroup tree (nullopt: none).
absl::StatusOr<std::optional<std::uint64_t>> CgroupMemoryLimit(const std::string& root,
                                                               const CgroupPaths& paths) {
  std::optional<std::uint64_t> limit;
  auto tighten = [&](std::uint64_t bytes) { limit = limit ? std::min(*limit, bytes) : bytes; };
  if (paths.unified) {
    for (const std::string& dir : SelfAndAncestors(*paths.unified)) {
      MESHTWIN_ASSIGN_OR_RETURN(
          auto line, ReadOneLine(UnderRoot(root, "/sys/fs/cgroup" + dir + "/memory.max")));
      if (!line) continue;
      std::string_view value = Trim(line->second);
      if (value == "max") continue;
      std::optional<std::uint64_t> bytes = ParseNumber<std::uint64_t>(value);
      if (!bytes) {
        return LineError(line->first, 0, "expected '<bytes>' or 'max', got '" + line->second + "'");
      }
      tighten(*bytes);
    }
  }
  if (auto it = paths.v1.find("memory"); it != paths.v1.end()) {
    for (const std::string& dir : SelfAndAncestors(it->second)) {
      MESHTWIN_ASSIGN_OR_RETURN(
          auto line,
          ReadOneLine(UnderRoot(root, "/sys/fs/cgroup/memory" + dir + "/memory.limit_in_bytes")));
      if (!line) continue;
      std::optional<std::uint64_t> bytes = ParseNumber<std::uint64_t>(Trim(line->second));
      if (!bytes)
        return LineError(line->first, 0, "expected '<bytes>', got '" + line->second + "'");
      if (*bytes < kCgroupV1Unlimited) tighten(*bytes);
    }
  }
  return limit;
}

absl::StatusOr<std::string> Hostname(const std::string& root) {
  absl::StatusOr<TextFile> file = ReadLines(UnderRoot(root, "/proc/sys/kernel/hostname"));
  if (file.ok() && !file->lines.empty() && !Trim(file->lines[0]).empty()) {
    return std::string(Trim(file->lines[0]));
  }
  if (file.ok() || absl::IsNotFound(file.status())) {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof(buffer) - 1) == 0 && buffer[0] != '\0')
      return std::string(buffer);
    return absl::InternalError(std::string("gethostname: ") + std::strerror(errno));
  }
  return file.status();
}

// The executable `command` names: itself if it contains a '/', else the first
// match on $PATH. nullopt when there is none.
std::optional<std::string> FindExecutable(const std::string& command) {
  if (command.find('/') != std::string::npos) {
    if (access(command.c_str(), X_OK) == 0) return command;
    return std::nullopt;
  }
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t colon = path.find(':', start);
    if (colon == std::string_view::npos) colon = path.size();
    std::string dir(path.substr(start, colon - start));
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + command;
    std::error_code ec;
    if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate, ec))
      return candidate;
    start = colon + 1;
  }
  return std::nullopt;
}

struct ProcessResult {
  int exit_code = -1;  // -1 with `signal` or `timed_out`
  int signal = 0;
  bool timed_out = false;
  std::string out, err;
};

// Runs `argv` (argv[0] an executable path) without a shell, capturing stdout
// and stderr; kills it after `timeout_ms`.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, int timeout_ms) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    return absl::InternalError("pipe: " + std::string(std::strerror(errno)));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("pipe: " + std::string(std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::InternalError(argv[0] + ": cannot start: " + std::strerror(rc));
  }

  ProcessResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t got = read(fds[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  return result;
}

std::string FirstLine(const std::string& text) {
  std::string_view t = Trim(text);
  return std::string(t.substr(0, t.find('\n')));
}

// GPUs from nvidia-smi: none when it is not installed; an error (which the
// caller may turn into a warning) when it fails or prints garbage.
absl::StatusOr<std::vector<GpuInfo>> DetectGpus(const ProbeOptions& options) {
  if (options.nvidia_smi.empty()) return std::vector<GpuInfo>();
  std::optional<std::string> exe = FindExecutable(options.nvidia_smi);
  if (!exe) return std::vector<GpuInfo>();
  MESHTWIN_ASSIGN_OR_RETURN(ProcessResult run, RunProcess({*exe, "--query-gpu=name,memory.total",
                                                           "--format=csv,noheader"},
                                                          options.nvidia_smi_timeout_ms));
  if (run.timed_out) {
    return absl::DeadlineExceededError(*exe + ": no answer within " +
                                       std::to_string(options.nvidia_smi_timeout_ms) + " ms");
  }
  if (run.exit_code != 0) {
    std::string why = run.signal != 0 ? "killed by signal " + std::to_string(run.signal)
                                      : "exit code " + std::to_string(run.exit_code);
    std::string said = FirstLine(run.err.empty() ? run.out : run.err);
    return absl::UnavailableError(*exe + " failed (" + why + ")" +
                                  (said.empty() ? "" : ": " + said));
  }
  return ParseNvidiaSmiCsv(run.out, *exe);
}

}  // namespace

absl::StatusOr<std::vector<GpuInfo>> ParseNvidiaSmiCsv(const std::string& text,
                                                       const std::string& source) {
  std::vector<GpuInfo> gpus;
  std::istringstream in(text);
  std::string line;
  for (std::size_t i = 0; std::getline(in, line); ++i) {
    if (Trim(line).empty()) continue;
    std::size_t comma = line.rfind(',');
    if (comma == std::string::npos) {
      return LineError(source, i, "expected '<name>, <memory> MiB', got '" + line + "'");
    }
    GpuInfo gpu;
    gpu.name = std::string(Trim(std::string_view(line).substr(0, comma)));
    std::string_view memory = Trim(std::string_view(line).substr(comma + 1));
    if (gpu.name.empty()) return LineError(source, i, "empty GPU name in '" + line + "'");
    if (!memory.empty() && memory.front() == '[') {  // "[N/A]", "[Not Supported]"
      gpus.push_back(std::move(gpu));
      continue;
    }
    std::vector<std::string_view> f = Fields(memory);
    std::optional<double> amount = f.empty() ? std::nullopt : ParseNumber<double>(f[0]);
    double scale = 0;
    if (f.size() == 1) scale = 1.0 / 1024;  // "--format=csv,nounits": MiB
    if (f.size() == 2 && f[1] == "MiB") scale = 1.0 / 1024;
    if (f.size() == 2 && f[1] == "GiB") scale = 1;
    if (!amount || *amount < 0 || !std::isfinite(*amount) || scale == 0) {
      return LineError(source, i,
                       "memory.total: expected '<number> MiB', got '" + std::string(memory) + "'");
    }
    gpu.memory_gib = *amount * scale;
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

std::string GpuModelTag(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view s = Trim(lower);
  if (s.substr(0, 7) == "nvidia ") s.remove_prefix(7);
  std::string tag;
  for (char c : s) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) {
      tag += c;
    } else if (!tag.empty() && tag.back() != '-') {
      tag += '-';
    }
  }
  while (!tag.empty() && tag.back() == '-') tag.pop_back();
  return tag.empty() ? "unknown" : tag;
}

dht::CapabilityRecord ToCapabilityRecord(const HostCapabilities& caps) {
  dht::CapabilityRecord record;
  record.name = caps.hostname;
  record.cores = caps.usable_cores > 0 ? std::max(1, static_cast<int>(caps.usable_cores)) : 0;
  record.memory_gb = caps.memory_gib;
  std::map<std::string, int> by_model;
  for (const GpuInfo& gpu : caps.gpus) ++by_model[GpuModelTag(gpu.name)];
  record.gpus.assign(by_model.begin(), by_model.end());
  return record;
}

absl::StatusOr<HostCapabilities> DetectCapabilities(const ProbeOptions& options) {
  HostCapabilities caps;
  MESHTWIN_ASSIGN_OR_RETURN(caps.hostname, Hostname(options.root));

  MESHTWIN_ASSIGN_OR_RETURN(TextFile cpuinfo, ReadLines(UnderRoot(options.root, "/proc/cpuinfo")));
  MESHTWIN_ASSIGN_OR_RETURN(caps.online_cpus, CountCpuinfoProcessors(cpuinfo));
  if (options.use_affinity && fs::path(options.root) == "/") {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
      caps.online_cpus = std::min(caps.online_cpus, CPU_COUNT(&set));
    }
  }

  MESHTWIN_ASSIGN_OR_RETURN(CgroupPaths cgroups, ReadCgroupPaths(options.root));
  MESHTWIN_ASSIGN_OR_RETURN(caps.cgroup_cpu_limit, CgroupCpuLimit(options.root, cgroups));
  caps.usable_cores = caps.online_cpus;
  if (caps.cgroup_cpu_limit)
    caps.usable_cores = std::min(caps.usable_cores, *caps.cgroup_cpu_limit);

  MESHTWIN_ASSIGN_OR_RETURN(TextFile meminfo, ReadLines(UnderRoot(options.root, "/proc/meminfo")));
  MESHTWIN_ASSIGN_OR_RETURN(std::uint64_t mem_total, RequiredMeminfoBytes(meminfo, "MemTotal"));
  caps.mem_total_gib = static_cast<double>(mem_total) / kBytesPerGib;
  MESHTWIN_ASSIGN_OR_RETURN(std::optional<std::uint64_t> mem_limit,
                            CgroupMemoryLimit(options.root, cgroups));
  if (mem_limit) caps.cgroup_memory_limit_gib = static_cast<double>(*mem_limit) / kBytesPerGib;
  caps.memory_gib =
      static_cast<double>(mem_limit ? std::min(mem_total, *mem_limit) : mem_total) / kBytesPerGib;

  absl::StatusOr<std::vector<GpuInfo>> gpus = DetectGpus(options);
  if (gpus.ok()) {
    caps.gpus = *std::move(gpus);
  } else if (options.gpu_failure == GpuProbeFailure::kError) {
    return gpus.status();
  } else {
    caps.warnings.push_back("GPUs not detected: " + ErrorText(gpus.status()));
  }
  return caps;
}

absl::StatusOr<HostLoad> LoadSampler::Sample() {
  HostLoad sample;

  // /proc/stat: "cpu  user nice system idle iowait irq softirq steal guest guest_nice".
  // guest and guest_nice are already inside user and nice.
  MESHTWIN_ASSIGN_OR_RETURN(TextFile stat, ReadLines(UnderRoot(options_.root, "/proc/stat")));
  std::optional<std::pair<std::uint64_t, std::uint64_t>> busy_total;
  for (std::size_t i = 0; i < stat.lines.size() && !busy_total; ++i) {
    std::vector<std::string_view> f = Fields(stat.lines[i]);
    if (f.empty() || f[0] != "cpu") continue;
    if (f.size() < 5) {
      return LineError(stat.path, i,
                       "cpu: expected at least 4 counters, got '" + stat.lines[i] + "'");
    }
    std::uint64_t total = 0, idle = 0;
    for (std::size_t k = 1; k < f.size() && k <= 8; ++k) {
      std::optional<std::uint64_t> v = ParseNumber<std::uint64_t>(f[k]);
      if (!v) {
        return LineError(
            stat.path, i,
            "cpu: counter " + std::to_string(k) + " is not a number: '" + std::string(f[k]) + "'");
      }
      total += *v;
      if (k == 4 || k == 5) idle += *v;  // idle, iowait
    }
    busy_total.emplace(total - idle, total);
  }
  if (!busy_total) return absl::InvalidArgumentError(stat.path + ": no 'cpu' line");

  MESHTWIN_ASSIGN_OR_RETURN(TextFile loadavg, ReadLines(UnderRoot(options_.root, "/proc/loadavg")));
  {
    std::vector<std::string_view> f =
        loadavg.lines.empty() ? std::vector<std::string_view>() : Fields(loadavg.lines[0]);
    std::optional<double> l1, l5, l15;
    std::optional<int> runnable;
    if (f.size() >= 4) {
      l1 = ParseNumber<double>(f[0]);
      l5 = ParseNumber<double>(f[1]);
      l15 = ParseNumber<double>(f[2]);
      runnable = ParseNumber<int>(f[3].substr(0, f[3].find('/')));
    }
    if (!l1 || !l5 || !l15 || !runnable || f[3].find('/') == std::string_view::npos) {
      return LineError(loadavg.path, 0,
                       "expected '<load1> <load5> <load15> <runnable>/<total> <last pid>', got '" +
                           (loadavg.lines.empty() ? std::string() : loadavg.lines[0]) + "'");
    }
    sample.load1 = *l1;
    sample.load5 = *l5;
    sample.load15 = *l15;
    sample.runnable = *runnable;
  }

  MESHTWIN_ASSIGN_OR_RETURN(TextFile meminfo, ReadLines(UnderRoot(options_.root, "/proc/meminfo")));
  MESHTWIN_ASSIGN_OR_RETURN(std::uint64_t total, RequiredMeminfoBytes(meminfo, "MemTotal"));
  MESHTWIN_ASSIGN_OR_RETURN(std::uint64_t available, RequiredMeminfoBytes(meminfo, "MemAvailable"));
  sample.mem_total_gib = static_cast<double>(total) / kBytesPerGib;
  sample.mem_available_gib = static_cast<double>(available) / kBytesPerGib;

  // Counters only grow, except iowait, which the kernel documents may go
  // down; clamp so that a dip reads as idle rather than as a huge busy spike.
  auto [busy, all] = *busy_total;
  std::uint64_t d_busy = busy, d_total = all;
  if (have_previous_) {
    d_total = all > previous_total_ ? all - previous_total_ : 0;
    d_busy = busy > previous_busy_ ? busy - previous_busy_ : 0;
  }
  d_busy = std::min(d_busy, d_total);
  sample.cpu_ticks = d_total;
  sample.cpu_utilization =
      d_total > 0 ? static_cast<double>(d_busy) / static_cast<double>(d_total) : 0;
  have_previous_ = true;
  previous_busy_ = busy;
  previous_total_ = all;
  return sample;
}

}  // namespace meshtwin::live
