// Helpers for end-to-end tests: run the meshtwin binary and capture what it
// prints, in a fresh scratch directory per test.
#pragma once

#include <string>
#include <vector>

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

}  // namespace meshtwin::testing
