#include "live_bridge/host_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace meshtwin::live {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A throw-away directory tree standing in for "/" (and a bin/ for scripts).
class FakeRoot {
 public:
  FakeRoot() {
    std::string pattern = (fs::temp_directory_path() / "meshtwin-probe-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  ~FakeRoot() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  void Write(const std::string& relative, const std::string& content) const {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }
  // An executable shell script at <root>/<relative>; returns its path.
  std::string Script(const std::string& relative, const std::string& body) const {
    Write(relative, "#!/bin/sh\n" + body);
    std::string path = (fs::path(root_) / relative).string();
    chmod(path.c_str(), 0755);
    return path;
  }

  // A small bare-metal machine: 4 CPUs, 16 GiB, named node-7.
  void Machine() const {
    std::string cpuinfo;
    for (int i = 0; i < 4; ++i) {
      cpuinfo += "processor\t: " + std::to_string(i) + "\nmodel name\t: Fake CPU\n\n";
    }
    Write("proc/cpuinfo", cpuinfo);
    Write("proc/meminfo",
          "MemTotal:       16777216 kB\nMemFree:         1000000 kB\n"
          "MemAvailable:    8388608 kB\n");
    Write("proc/sys/kernel/hostname", "node-7\n");
  }

 private:
  std::string root_;
};

ProbeOptions Options(const FakeRoot& fake) {
  ProbeOptions options;
  options.root = fake.root();
  options.nvidia_smi = "";  // most tests are about /proc
  return options;
}

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(HostProbeTest, BareMetalMachine) {
  FakeRoot fake;
  fake.Machine();
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->hostname, "node-7");
  EXPECT_EQ(caps->online_cpus, 4);
  EXPECT_FALSE(caps->cgroup_cpu_limit.has_value());
  EXPECT_DOUBLE_EQ(caps->usable_cores, 4);
  EXPECT_DOUBLE_EQ(caps->mem_total_gib, 16);
  EXPECT_FALSE(caps->cgroup_memory_limit_gib.has_value());
  EXPECT_DOUBLE_EQ(caps->memory_gib, 16);
  EXPECT_TRUE(caps->gpus.empty());
  EXPECT_TRUE(caps->warnings.empty());

  dht::CapabilityRecord record = ToCapabilityRecord(*caps);
  EXPECT_EQ(record.name, "node-7");
  EXPECT_EQ(record.cores, 4);
  EXPECT_DOUBLE_EQ(record.memory_gb, 16);
  EXPECT_TRUE(dht::ValidateCapabilityRecord(record).ok());
}

TEST(HostProbeTest, ContainerWithCgroupV2QuotaOfOneAndAHalfCores) {
  FakeRoot fake;
  fake.Machine();
  fake.Write("proc/self/cgroup", "0::/kubepods/pod1/web\n");
  // The container's own limit is the tightest; its pod's is looser.
  fake.Write("sys/fs/cgroup/kubepods/pod1/web/cpu.max", "150000 100000\n");
  fake.Write("sys/fs/cgroup/kubepods/pod1/cpu.max", "400000 100000\n");
  fake.Write("sys/fs/cgroup/kubepods/cpu.max", "max 100000\n");
  // Memory: unlimited in the container itself, 2 GiB for the pod.
  fake.Write("sys/fs/cgroup/kubepods/pod1/web/memory.max", "max\n");
  fake.Write("sys/fs/cgroup/kubepods/pod1/memory.max", "2147483648\n");

  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->online_cpus, 4);
  ASSERT_TRUE(caps->cgroup_cpu_limit.has_value());
  EXPECT_DOUBLE_EQ(*caps->cgroup_cpu_limit, 1.5);
  EXPECT_DOUBLE_EQ(caps->usable_cores, 1.5);
  ASSERT_TRUE(caps->cgroup_memory_limit_gib.has_value());
  EXPECT_DOUBLE_EQ(*caps->cgroup_memory_limit_gib, 2);
  EXPECT_DOUBLE_EQ(caps->mem_total_gib, 16);
  EXPECT_DOUBLE_EQ(caps->memory_gib, 2);
  // The record's whole cores round down.
  EXPECT_EQ(ToCapabilityRecord(*caps).cores, 1);
  EXPECT_DOUBLE_EQ(ToCapabilityRecord(*caps).memory_gb, 2);
}

TEST(HostProbeTest, ContainerWithoutCgroupNamespaceReadsItsMountRoot) {
  FakeRoot fake;
  fake.Machine();
  // The host's path for the container does not exist inside it; its own
  // cgroup is the root of its /sys/fs/cgroup.
  fake.Write("proc/self/cgroup", "0::/system.slice/docker-abc.scope\n");
  fake.Write("sys/fs/cgroup/cpu.max", "200000 100000\n");
  fake.Write("sys/fs/cgroup/memory.max", "1073741824\n");
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_DOUBLE_EQ(caps->usable_cores, 2);
  EXPECT_DOUBLE_EQ(caps->memory_gib, 1);
}

TEST(HostProbeTest, CgroupV1Limits) {
  FakeRoot fake;
  fake.Machine();
  fake.Write("proc/self/cgroup", "4:memory:/job\n2:cpu,cpuacct:/job\n1:name=systemd:/\n0::/\n");
  fake.Write("sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us", "250000\n");
  fake.Write("sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
  fake.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  fake.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  // v1's "unlimited" is a huge number, not a limit.
  fake.Write("sys/fs/cgroup/memory/job/memory.limit_in_bytes", "9223372036854771712\n");
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_DOUBLE_EQ(caps->usable_cores, 2.5);
  EXPECT_FALSE(caps->cgroup_memory_limit_gib.has_value());
  EXPECT_DOUBLE_EQ(caps->memory_gib, 16);
}

TEST(HostProbeTest, CgroupLimitsAboveTheMachineDoNotRaiseIt) {
  FakeRoot fake;
  fake.Machine();
  fake.Write("proc/self/cgroup", "0::/\n");
  fake.Write("sys/fs/cgroup/cpu.max", "1600000 100000\n");
  fake.Write("sys/fs/cgroup/memory.max", "68719476736\n");  // 64 GiB
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_DOUBLE_EQ(caps->usable_cores, 4);
  EXPECT_DOUBLE_EQ(caps->memory_gib, 16);
}

TEST(HostProbeTest, GarbledFilesAreNamedWithTheirLine) {
  {
    FakeRoot fake;
    fake.Machine();
    fake.Write("proc/meminfo", "MemFree: 10 kB\nMemTotal: lots kB\n");
    absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
    EXPECT_EQ(caps.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(caps.status().message(), HasSubstr(fake.root() + "/proc/meminfo:2: MemTotal"));
  }
  {
    FakeRoot fake;
    fake.Machine();
    fake.Write("proc/cpuinfo", "processor : 0\n\nprocessor : one\n");
    absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
    EXPECT_EQ(caps.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(caps.status().message(), HasSubstr(fake.root() + "/proc/cpuinfo:3:"));
  }
  {
    FakeRoot fake;
    fake.Machine();
    fake.Write("proc/self/cgroup", "0::/c\n");
    fake.Write("sys/fs/cgroup/c/cpu.max", "one-and-a-half\n");
    absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
    EXPECT_EQ(caps.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(caps.status().message(),
                HasSubstr(fake.root() + "/sys/fs/cgroup/c/cpu.max:1: expected"));
  }
  {
    FakeRoot fake;
    fake.Machine();
    fake.Write("proc/self/cgroup", "0::/c\n");
    fake.Write("sys/fs/cgroup/c/memory.max", "2G\n");
    absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
    EXPECT_THAT(caps.status().message(), HasSubstr("/sys/fs/cgroup/c/memory.max:1:"));
  }
  {
    FakeRoot fake;
    fake.Machine();
    fake.Write("proc/self/cgroup", "0::/\ngarbage\n");
    absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
    EXPECT_THAT(caps.status().message(), HasSubstr(fake.root() + "/proc/self/cgroup:2:"));
  }
}

TEST(HostProbeTest, MissingProcFilesAreNotFound) {
  FakeRoot fake;
  fake.Write("proc/sys/kernel/hostname", "x\n");
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(Options(fake));
  EXPECT_EQ(caps.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(caps.status().message(), HasSubstr("/proc/cpuinfo"));
}

// Prints two GPUs, but only when called with the documented arguments.
constexpr char kTwoGpus[] =
    "[ \"$1\" = --query-gpu=name,memory.total ] && [ \"$2\" = --format=csv,noheader ] || exit 3\n"
    "echo 'NVIDIA A100-SXM4-40GB, 40960 MiB'\n"
    "echo 'NVIDIA A100-SXM4-40GB, 40960 MiB'\n";

TEST(HostProbeTest, TwoGpusFromAnInjectedNvidiaSmi) {
  FakeRoot fake;
  fake.Machine();
  ProbeOptions options = Options(fake);
  options.nvidia_smi = fake.Script("bin/fake-nvidia-smi", kTwoGpus);
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  ASSERT_TRUE(caps.ok()) << caps.status();
  ASSERT_EQ(caps->gpus.size(), 2u);
  EXPECT_EQ(caps->gpus[0], (GpuInfo{"NVIDIA A100-SXM4-40GB", 40}));
  EXPECT_EQ(caps->gpus[1], (GpuInfo{"NVIDIA A100-SXM4-40GB", 40}));
  EXPECT_TRUE(caps->warnings.empty());

  dht::CapabilityRecord record = ToCapabilityRecord(*caps);
  EXPECT_EQ(record.gpus, (std::vector<std::pair<std::string, int>>{{"a100-sxm4-40gb", 2}}));
  EXPECT_THAT(dht::CapabilityKeys(record), ::testing::Contains("gpu:a100-sxm4-40gb"));
}

TEST(HostProbeTest, NvidiaSmiIsFoundOnPath) {
  FakeRoot fake;
  fake.Machine();
  fake.Script("bin/nvidia-smi",
              "echo 'NVIDIA H100 80GB HBM3, 81559 MiB'\necho 'Tesla T4, 15360 MiB'\n");
  ScopedEnv path("PATH", fake.root() + "/nowhere:" + fake.root() + "/bin");
  ProbeOptions options = Options(fake);
  options.nvidia_smi = "nvidia-smi";
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  ASSERT_TRUE(caps.ok()) << caps.status();
  ASSERT_EQ(caps->gpus.size(), 2u);
  EXPECT_EQ(caps->gpus[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(caps->gpus[1], (GpuInfo{"Tesla T4", 15}));
  EXPECT_EQ(ToCapabilityRecord(*caps).gpus,
            (std::vector<std::pair<std::string, int>>{{"h100-80gb-hbm3", 1}, {"tesla-t4", 1}}));
}

TEST(HostProbeTest, NoNvidiaSmiMeansNoGpusAndNoWarning) {
  FakeRoot fake;
  fake.Machine();
  ScopedEnv path("PATH", fake.root() + "/empty-bin");
  ProbeOptions options = Options(fake);
  options.nvidia_smi = "nvidia-smi";
  options.gpu_failure = GpuProbeFailure::kError;
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_TRUE(caps->gpus.empty());
  EXPECT_TRUE(caps->warnings.empty());
}

TEST(HostProbeTest, FailingNvidiaSmiWarnsOrFailsAsConfigured) {
  FakeRoot fake;
  fake.Machine();
  ProbeOptions options = Options(fake);
  options.nvidia_smi = fake.Script(
      "bin/nvidia-smi",
      "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\" "
      ">&2\nexit 9\n");

  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_TRUE(caps->gpus.empty());
  ASSERT_EQ(caps->warnings.size(), 1u);
  EXPECT_THAT(caps->warnings[0], HasSubstr("exit code 9"));
  EXPECT_THAT(caps->warnings[0], HasSubstr("couldn't communicate with the NVIDIA driver"));

  options.gpu_failure = GpuProbeFailure::kError;
  caps = DetectCapabilities(options);
  EXPECT_EQ(caps.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(caps.status().message(), HasSubstr("couldn't communicate"));
}

TEST(HostProbeTest, GarbledNvidiaSmiOutputNamesTheLine) {
  FakeRoot fake;
  fake.Machine();
  ProbeOptions options = Options(fake);
  options.nvidia_smi =
      fake.Script("bin/nvidia-smi", "echo 'Tesla T4, 15360 MiB'\necho 'Tesla T4, lots'\n");
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_TRUE(caps->gpus.empty());
  ASSERT_EQ(caps->warnings.size(), 1u);
  EXPECT_THAT(caps->warnings[0], HasSubstr("nvidia-smi:2: memory.total"));

  options.gpu_failure = GpuProbeFailure::kError;
  caps = DetectCapabilities(options);
  EXPECT_EQ(caps.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HostProbeTest, HangingNvidiaSmiIsKilled) {
  FakeRoot fake;
  fake.Machine();
  ProbeOptions options = Options(fake);
  options.nvidia_smi = fake.Script("bin/nvidia-smi", "exec sleep 60\n");
  options.nvidia_smi_timeout_ms = 100;
  options.gpu_failure = GpuProbeFailure::kError;
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  EXPECT_EQ(caps.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(NvidiaSmiCsvTest, UnitsAndUnknownMemory) {
  absl::StatusOr<std::vector<GpuInfo>> gpus =
      ParseNvidiaSmiCsv("Tesla T4, 15360\nNVIDIA L4, [N/A]\nNVIDIA B200, 180 GiB\n\n");
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  EXPECT_EQ(*gpus,
            (std::vector<GpuInfo>{{"Tesla T4", 15}, {"NVIDIA L4", 0}, {"NVIDIA B200", 180}}));
  EXPECT_THAT(ParseNvidiaSmiCsv("no comma here\n", "smi").status().message(),
              HasSubstr("smi:1: expected"));
  EXPECT_THAT(ParseNvidiaSmiCsv(", 100 MiB\n").status().message(),
              HasSubstr("nvidia-smi:1: empty GPU name"));
}

TEST(NvidiaSmiCsvTest, ModelTags) {
  EXPECT_EQ(GpuModelTag("NVIDIA H100 80GB HBM3"), "h100-80gb-hbm3");
  EXPECT_EQ(GpuModelTag("NVIDIA GeForce RTX 4090"), "geforce-rtx-4090");
  EXPECT_EQ(GpuModelTag("Tesla T4"), "tesla-t4");
  EXPECT_EQ(GpuModelTag("  (weird) "), "weird");
  EXPECT_EQ(GpuModelTag("???"), "unknown");
}

void WriteLoad(const FakeRoot& fake, const std::string& cpu_line) {
  fake.Write("proc/stat", cpu_line + "\ncpu0 0 0 0 0 0 0 0 0 0 0\nintr 12345\n");
  fake.Write("proc/loadavg", "1.50 0.75 0.25 3/123 4567\n");
  fake.Write("proc/meminfo", "MemTotal:        8388608 kB\nMemAvailable:    2097152 kB\n");
}

TEST(LoadSamplerTest, CpuUtilisationFromTwoSamples) {
  FakeRoot fake;
  LoadSampler sampler({.root = fake.root()});

  // user nice system idle iowait irq softirq steal guest guest_nice
  WriteLoad(fake, "cpu  100 0 100 700 100 0 0 0 50 0");
  absl::StatusOr<HostLoad> first = sampler.Sample();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_DOUBLE_EQ(first->cpu_utilization, 0.2);  // since boot: 200 busy of 1000
  EXPECT_EQ(first->cpu_ticks, 1000u);
  EXPECT_DOUBLE_EQ(first->load1, 1.5);
  EXPECT_DOUBLE_EQ(first->load5, 0.75);
  EXPECT_DOUBLE_EQ(first->load15, 0.25);
  EXPECT_EQ(first->runnable, 3);
  EXPECT_DOUBLE_EQ(first->mem_total_gib, 8);
  EXPECT_DOUBLE_EQ(first->mem_available_gib, 2);
  EXPECT_DOUBLE_EQ(first->MemoryUtilization(), 0.75);

  // 800 more ticks, 400 of them busy (user 300, system 50, irq 25, steal 25).
  WriteLoad(fake, "cpu  400 0 150 1100 100 25 0 25 80 0");
  absl::StatusOr<HostLoad> second = sampler.Sample();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->cpu_ticks, 800u);
  EXPECT_DOUBLE_EQ(second->cpu_utilization, 0.5);

  // Nothing moved: idle, not a division by zero.
  absl::StatusOr<HostLoad> third = sampler.Sample();
  ASSERT_TRUE(third.ok());
  EXPECT_DOUBLE_EQ(third->cpu_utilization, 0);
}

TEST(LoadSamplerTest, IowaitGoingBackwardsIsNotABusySpike) {
  FakeRoot fake;
  LoadSampler sampler({.root = fake.root()});
  WriteLoad(fake, "cpu  100 0 100 700 100 0 0 0 0 0");
  ASSERT_TRUE(sampler.Sample().ok());
  // iowait drops by 50 while idle grows by 150: 100 ticks passed, 0 busy.
  WriteLoad(fake, "cpu  100 0 100 850 50 0 0 0 0 0");
  absl::StatusOr<HostLoad> s = sampler.Sample();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cpu_ticks, 100u);
  EXPECT_DOUBLE_EQ(s->cpu_utilization, 0);
}

TEST(LoadSamplerTest, GarbledFilesAreNamedWithTheirLine) {
  FakeRoot fake;
  LoadSampler sampler({.root = fake.root()});
  WriteLoad(fake, "cpu  100 0 100 700 100 0 0 0 0 0");
  ASSERT_TRUE(sampler.Sample().ok());

  fake.Write("proc/stat", "intr 1\ncpu  100 zero 100 700\n");
  absl::StatusOr<HostLoad> s = sampler.Sample();
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr(fake.root() + "/proc/stat:2: cpu: counter 2"));

  fake.Write("proc/stat", "intr 1\n");
  EXPECT_THAT(sampler.Sample().status().message(), HasSubstr("/proc/stat: no 'cpu' line"));

  WriteLoad(fake, "cpu  100 0 100 700 100 0 0 0 0 0");
  fake.Write("proc/loadavg", "1.50 0.75\n");
  EXPECT_THAT(sampler.Sample().status().message(), HasSubstr(fake.root() + "/proc/loadavg:1:"));

  WriteLoad(fake, "cpu  100 0 100 700 100 0 0 0 0 0");
  fake.Write("proc/meminfo", "MemTotal:        8388608 kB\n");
  EXPECT_THAT(sampler.Sample().status().message(),
              HasSubstr(fake.root() + "/proc/meminfo: no MemAvailable line"));

  // The failed samples did not move the baseline: 100 more ticks, 50 busy.
  WriteLoad(fake, "cpu  150 0 100 750 100 0 0 0 0 0");
  s = sampler.Sample();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->cpu_utilization, 0.5);
}

// The real machine parses: whatever it is, it has a CPU, memory and a name.
TEST(HostProbeTest, ThisMachine) {
  ProbeOptions options;
  options.nvidia_smi_timeout_ms = 5000;
  absl::StatusOr<HostCapabilities> caps = DetectCapabilities(options);
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_GE(caps->online_cpus, 1);
  EXPECT_GT(caps->usable_cores, 0);
  EXPECT_GT(caps->memory_gib, 0);
  EXPECT_FALSE(caps->hostname.empty());

  LoadSampler sampler({});
  ASSERT_TRUE(sampler.Sample().ok());
  absl::StatusOr<HostLoad> s = sampler.Sample();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_GE(s->cpu_utilization, 0);
  EXPECT_LE(s->cpu_utilization, 1);
  EXPECT_GT(s->mem_available_gib, 0);
}

}  // namespace
}  // namespace meshtwin::live
