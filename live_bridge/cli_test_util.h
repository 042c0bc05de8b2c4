// For the live bridge's command-line tests: runs the meshtwin binary
// (MESHTWIN_BINARY, defined by the test target) with shell-ready `args` and
// captures its exit code and everything it printed.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace meshtwin::live::testing {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline CliRun Meshtwin(const std::string& args) {
  CliRun r;
  const std::string command = std::string(MESHTWIN_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    r.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace meshtwin::live::testing
