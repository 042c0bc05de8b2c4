// What the machine an agent runs on can do (cores, memory, GPUs, hostname) and
// how busy it is (CPU, load average, available memory), read from /proc,
// cgroup files and nvidia-smi. Every path hangs off ProbeOptions::root, so
// tests feed fixture trees instead of the real /proc.
//
//   MESHTWIN_ASSIGN_OR_RETURN(HostCapabilities caps, DetectCapabilities({}));
//   for (const std::string& w : caps.warnings) spdlog::warn("host probe: {}", w);
//   dht::CapabilityRecord record = ToCapabilityRecord(caps);
//
//   LoadSampler sampler({});
//   MESHTWIN_ASSIGN_OR_RETURN(HostLoad s, sampler.Sample());  // once per heartbeat
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "twin/dht/capability.h"
#include "twin/status.h"

namespace meshtwin::live {

// What to do when nvidia-smi exists but fails (non-zero exit, timeout) or
// prints something we cannot parse.
enum class GpuProbeFailure : std::uint8_t {
  // Report no GPUs and add a line to HostCapabilities::warnings. The default:
  // a node with broken GPU tooling under-advertises (no GPU work is sent to
  // it) instead of refusing to join the mesh at all.
  kWarn,
  // DetectCapabilities fails with the error (for nodes that must have GPUs).
  kError,
};

struct ProbeOptions {
  // Prefix of every file read: "<root>/proc/cpuinfo", "<root>/sys/fs/cgroup/...".
  // "/" reads the real machine.
  std::string root = "/";
  // Also count the CPUs in this process's sched_getaffinity mask (a cpuset or
  // taskset pin). Only when root is "/": a fixture tree has no affinity.
  bool use_affinity = true;
  // The nvidia-smi to run: a path, or a name looked up on $PATH. Not found:
  // no GPUs, not an error. Empty: skip GPU detection.
  std::string nvidia_smi = "nvidia-smi";
  // Kill nvidia-smi after this long (a wedged driver makes it hang).
  int nvidia_smi_timeout_ms = 10000;
  GpuProbeFailure gpu_failure = GpuProbeFailure::kWarn;
};

struct GpuInfo {
  std::string name;       // as nvidia-smi prints it: "NVIDIA A100-SXM4-40GB"
  double memory_gib = 0;  // memory.total; 0 when nvidia-smi says "[N/A]"
  friend bool operator==(const GpuInfo&, const GpuInfo&) = default;
};

struct HostCapabilities {
  std::string hostname;
  int online_cpus = 0;  // logical CPUs this process may run on (cpuinfo, affinity mask)
  // CPU time the cgroup may use, in cores (cpu.max or cfs_quota/period, the
  // tightest along the cgroup's ancestors); nullopt when unlimited.
  std::optional<double> cgroup_cpu_limit;
  double usable_cores = 0;   // min(online_cpus, cgroup_cpu_limit): may be fractional (1.5)
  double mem_total_gib = 0;  // MemTotal
  // memory.max or memory.limit_in_bytes (tightest ancestor); nullopt when unlimited.
  std::optional<double> cgroup_memory_limit_gib;
  double memory_gib = 0;  // min(mem_total_gib, cgroup_memory_limit_gib)
  std::vector<GpuInfo> gpus;
  // Things that went wrong without failing the probe (GpuProbeFailure::kWarn).
  std::vector<std::string> warnings;
};

// Reads the capabilities of the host under options.root. Memory is in GiB
// (2^30 bytes). InvalidArgument naming "file:line" for a file that does not
// parse; NotFound for a missing /proc/cpuinfo or /proc/meminfo (cgroup files
// are optional: absent means no limit).
absl::StatusOr<HostCapabilities> DetectCapabilities(const ProbeOptions& options);

// Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`
// output ("NVIDIA A100-SXM4-40GB, 40960 MiB" per line). `source` names the
// output in errors ("nvidia-smi:2: ...").
absl::StatusOr<std::vector<GpuInfo>> ParseNvidiaSmiCsv(const std::string& text,
                                                       const std::string& source = "nvidia-smi");

// The short, DHT-key-friendly model of a GPU name: lower case, a leading
// "nvidia " dropped, every run of other characters than [a-z0-9] made one '-':
// "NVIDIA H100 80GB HBM3" -> "h100-80gb-hbm3", "Tesla T4" -> "tesla-t4".
std::string GpuModelTag(const std::string& name);

// The static part of the record the agent publishes: name, cores (the usable
// cores rounded down, at least 1), memory_gb (usable, GiB), gpus (model tag ->
// count, sorted by model). Load, spares, roles and software are the agent's.
dht::CapabilityRecord ToCapabilityRecord(const HostCapabilities& caps);

// One reading of the host's load. (The heartbeat carries agent_registry.h's
// LoadSample, made from this; the names differ so one file can use both.)
struct HostLoad {
  // Busy share of all CPUs (/proc/stat: everything but idle and iowait) since
  // the previous Sample(); the first sample covers the time since boot. 0..1.
  double cpu_utilization = 0;
  std::uint64_t cpu_ticks = 0;              // the jiffies (summed over CPUs) cpu_utilization covers
  double load1 = 0, load5 = 0, load15 = 0;  // /proc/loadavg
  int runnable = 0;                         // runnable scheduling entities
  double mem_total_gib = 0;                 // MemTotal
  double mem_available_gib = 0;             // MemAvailable
  // 1 - available / total (0 when total is 0).
  double MemoryUtilization() const {
    return mem_total_gib > 0 ? 1 - mem_available_gib / mem_total_gib : 0;
  }
};

struct LoadSamplerOptions {
  std::string root = "/";  // as ProbeOptions::root
};

// Reads /proc/stat, /proc/loadavg and /proc/meminfo; remembers the CPU
// counters of the last sample so that utilisation is over the interval between
// two calls (the caller's heartbeat). Not thread-safe.
class LoadSampler {
 public:
  explicit LoadSampler(LoadSamplerOptions options) : options_(std::move(options)) {}

  // InvalidArgument naming "file:line" for a file that does not parse. A
  // failed sample leaves the previous counters in place.
  absl::StatusOr<HostLoad> Sample();

 private:
  LoadSamplerOptions options_;
  bool have_previous_ = false;
  std::uint64_t previous_busy_ = 0;
  std::uint64_t previous_total_ = 0;
};

}  // namespace meshtwin::live
