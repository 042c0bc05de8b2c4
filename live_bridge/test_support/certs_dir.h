// Tests only: a fresh certificates directory per test, made the way
// `meshtwin certs init` makes one (ca, manager, agent-0.., client).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "live_bridge/certs.h"

namespace meshtwin::live::testing {

// TMP/meshtwin_PREFIX_PID_TESTNAME, emptied, with `nodes` agent certificates.
// Fails the current test (and returns the path anyway) if the CA cannot be made.
inline std::filesystem::path FreshCertsDir(const std::string& prefix, int nodes) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("meshtwin_" + prefix + "_" + std::to_string(::getpid()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  CertsInitOptions init;
  init.dir = dir.string();
  init.nodes = nodes;
  const absl::StatusOr<CertsInitReport> made = InitCertsDir(init);
  EXPECT_TRUE(made.ok()) << made.status();
  return dir;
}

}  // namespace meshtwin::live::testing
