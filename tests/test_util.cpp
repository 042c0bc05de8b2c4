#include "tests/test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace meshtwin::testing {
namespace {

std::string Quote(const std::string& s) {
  std::string q(1, '\'');
  for (char c : s) {
    if (c == '\'') {
      q.append("'\\''");
    } else {
      q.push_back(c);
    }
  }
  q.push_back('\'');
  return q;
}

}  // namespace

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ScratchDir() {
  static std::atomic<int> counter{0};
  const std::string dir = ::testing::TempDir() + "meshtwin-e2e-" + std::to_string(getpid()) + "-" +
                          std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string TestData(const std::string& name) {
  return std::string(MESHTWIN_TEST_DATA) + "/" + name;
}

CommandResult RunMeshtwin(const std::vector<std::string>& args) {
  const std::string err_path = ScratchDir() + "/stderr.txt";
  std::string cmd = Quote(MESHTWIN_BINARY);
  for (const std::string& a : args) cmd += " " + Quote(a);
  cmd += " </dev/null 2>" + Quote(err_path);
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = ReadFileBytes(err_path);
  return r;
}

SimRun SimulateJson(std::vector<std::string> args) {
  SimRun run;
  run.path = ScratchDir() + "/results.h5";
  args.insert(args.begin(), "simulate");
  args.insert(args.end(), {"--out", run.path, "--json"});
  const CommandResult r = RunMeshtwin(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return run;
  run.summary = nlohmann::json::parse(r.out);
  absl::StatusOr<ResultsData> data = ReadResultsFile(run.path);
  EXPECT_TRUE(data.ok()) << data.status();
  if (data.ok()) run.results = *std::move(data);
  return run;
}

}  // namespace meshtwin::testing
