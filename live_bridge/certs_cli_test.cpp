// `meshtwin certs init` as a user runs it: files, key modes, overwrite refusal,
// --force, and a clear error with a non-zero exit for a bad --dir.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "live_bridge/cli_test_util.h"

namespace {

using ::meshtwin::live::testing::CliRun;
using ::meshtwin::live::testing::Meshtwin;

unsigned Mode(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

class CertsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_certs_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(CertsCliTest, InitWritesEveryFileAndKeepsKeysPrivate) {
  const CliRun r = Meshtwin("certs init --dir " + dir_.string() + " --nodes 2 --days 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"ca", "manager", "client", "agent-0", "agent-1"}) {
    SCOPED_TRACE(name);
    const std::filesystem::path key = dir_ / (std::string(name) + ".key");
    const std::filesystem::path crt = dir_ / (std::string(name) + ".crt");
    EXPECT_EQ(Mode(key), 0600u);
    EXPECT_TRUE(std::filesystem::exists(crt));
    EXPECT_NE(r.output.find("wrote " + key.string()), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "agent-2.crt"));
}

TEST_F(CertsCliTest, RefusesToOverwriteUnlessForced) {
  ASSERT_EQ(Meshtwin("certs init --dir " + dir_.string() + " --nodes 1").exit_code, 0);
  std::ifstream in(dir_ / "ca.crt");
  const std::string before((std::istreambuf_iterator<char>(in)), {});

  const CliRun again = Meshtwin("certs init --dir " + dir_.string() + " --nodes 1");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("refusing to overwrite (use --force)"), std::string::npos)
      << again.output;

  const CliRun forced = Meshtwin("certs init --dir " + dir_.string() + " --nodes 1 --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  std::ifstream after_in(dir_ / "ca.crt");
  const std::string after((std::istreambuf_iterator<char>(after_in)), {});
  EXPECT_NE(after, before);
  EXPECT_EQ(Mode(dir_ / "ca.key"), 0600u);
}

TEST_F(CertsCliTest, BadDirIsAClearErrorAndNonZeroExit) {
  const CliRun missing_parent = Meshtwin("certs init --dir " + (dir_ / "no" / "such").string());
  EXPECT_EQ(missing_parent.exit_code, 2) << missing_parent.output;
  EXPECT_NE(missing_parent.output.find("does not exist"), std::string::npos)
      << missing_parent.output;

  std::ofstream(dir_.string()) << "a file, not a directory";
  const CliRun file = Meshtwin("certs init --dir " + dir_.string());
  EXPECT_EQ(file.exit_code, 2) << file.output;
  EXPECT_NE(file.output.find("not a directory"), std::string::npos) << file.output;
  std::filesystem::remove(dir_);

  EXPECT_NE(Meshtwin("certs init").exit_code, 0);  // --dir is required
}

}  // namespace
