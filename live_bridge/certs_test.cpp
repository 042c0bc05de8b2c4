// The development CA: what InitCertsDir writes, with which modes, and when it
// refuses.
#include "live_bridge/certs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "live_bridge/tls.h"

namespace meshtwin::live {
namespace {

CertsInitOptions Init(const std::string& dir, int nodes = 3, int days = 365, bool force = false) {
  CertsInitOptions options;
  options.dir = dir;
  options.nodes = nodes;
  options.days = days;
  options.force = force;
  return options;
}

class CertsInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_certs_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

unsigned Mode(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

TEST_F(CertsInitTest, WritesCaManagerClientAndAgentsWithPrivateKeys) {
  absl::StatusOr<CertsInitReport> r = InitCertsDir(Init(dir_.string(), 3, 30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->written.size(), 2u * (1 + 2 + 3));
  for (const char* name : {"ca", "manager", "client", "agent-0", "agent-1", "agent-2"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(Mode(dir_ / (std::string(name) + ".key")), 0600u);
    EXPECT_TRUE(std::filesystem::exists(dir_ / (std::string(name) + ".crt")));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "agent-3.crt"));
  EXPECT_EQ(Mode(dir_), 0700u);
  absl::StatusOr<CertificateInfo> manager = ReadCertificateFile((dir_ / "manager.crt").string());
  ASSERT_TRUE(manager.ok());
  EXPECT_EQ(manager->subject_cn, "manager");
  EXPECT_NEAR(static_cast<double>(manager->not_after_unix - manager->not_before_unix),
              30 * 86400.0 + 3600, 5);
  for (const char* name : {"manager", "client", "agent-2"}) {
    EXPECT_TRUE(CheckTlsFiles(TlsFiles::InDir(dir_.string(), name)).ok()) << name;
  }
}

TEST_F(CertsInitTest, RefusesToOverwriteWithoutForce) {
  ASSERT_TRUE(InitCertsDir(Init(dir_.string(), 1)).ok());
  const CertificateInfo before = *ReadCertificateFile((dir_ / "ca.crt").string());
  absl::StatusOr<CertsInitReport> again = InitCertsDir(Init(dir_.string(), 1));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("--force"), absl::string_view::npos);
  EXPECT_EQ(ReadCertificateFile((dir_ / "ca.crt").string())->serial_hex, before.serial_hex);

  ASSERT_TRUE(InitCertsDir(Init(dir_.string(), 1, 365, true)).ok());
  EXPECT_NE(ReadCertificateFile((dir_ / "ca.crt").string())->serial_hex, before.serial_hex);
  EXPECT_TRUE(CheckTlsFiles(TlsFiles::InDir(dir_.string(), "agent-0")).ok());
}

TEST_F(CertsInitTest, BadDirectoryIsRefusedAndNothingWritten) {
  absl::StatusOr<CertsInitReport> r = InitCertsDir(Init((dir_ / "a" / "b").string()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_));
  std::ofstream(dir_.string()) << "a file";
  r = InitCertsDir(Init(dir_.string()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a directory"), absl::string_view::npos);
  EXPECT_FALSE(InitCertsDir(Init("", 1)).ok());
  std::filesystem::remove(dir_);
  EXPECT_FALSE(InitCertsDir(Init(dir_.string(), -1)).ok());
  EXPECT_FALSE(InitCertsDir(Init(dir_.string(), 3, 0)).ok());
}

}  // namespace
}  // namespace meshtwin::live
