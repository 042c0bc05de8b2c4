// Helpers for end-to-end tests: run the meshtwin binary and capture what it
// prints, in a fresh scratch directory per test.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/results_file.h"

namespace meshtwin::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs build/meshtwin with `args` (each shell-quoted), stdin from /dev/null.
CommandResult RunMeshtwin(const std::vector<std::string>& args);

// A new empty directory under the test temp dir, unique per call.
std::string ScratchDir();

// Path of a file in tests/data.
std::string TestData(const std::string& name);

std::string ReadFileBytes(const std::string& path);

// `meshtwin simulate ARGS --out <scratch>/results.h5 --json`: the JSON summary
// and the results file read back (both empty, with a test failure, if the
// run fails).
struct SimRun {
  nlohmann::json summary;
  ResultsData results;
  std::string path;
};
SimRun SimulateJson(std::vector<std::string> args);

}  // namespace meshtwin::testing
