// Loading mutual-TLS files: every kind of bad file is one clear error naming it.
#include "live_bridge/tls.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "live_bridge/certs.h"

namespace meshtwin::live {
namespace {

CertificateSpec Spec(const std::string& cn, std::int64_t not_before = 0,
                     std::int64_t not_after = 0) {
  CertificateSpec spec;
  spec.common_name = cn;
  spec.not_before_unix = not_before;
  spec.not_after_unix = not_after;
  return spec;
}

TlsOptions Options(const TlsFiles& files) {
  TlsOptions options;
  options.files = files;
  return options;
}

CertsInitOptions Init(const std::string& dir, int nodes) {
  CertsInitOptions options;
  options.dir = dir;
  options.nodes = nodes;
  return options;
}

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_tls_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(InitCertsDir(Init(dir_.string(), 2)).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& file) const { return (dir_ / file).string(); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(Path(file)) << text;
  }
  std::string Read(const std::string& file) const {
    std::ifstream in(Path(file));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
};

TEST_F(TlsFilesTest, GeneratedFilesPassAndNameTheirPeer) {
  EXPECT_TRUE(CheckTlsFiles(TlsFiles::InDir(dir_.string(), "manager")).ok());
  EXPECT_TRUE(CheckTlsFiles(TlsFiles::InDir(dir_.string(), "agent-1")).ok());
  absl::StatusOr<CertificateInfo> info = ReadCertificateFile(Path("agent-1.crt"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject_cn, "agent-1");
  EXPECT_EQ(info->issuer_cn, "meshtwin development CA");
  EXPECT_FALSE(info->serial_hex.empty());
  EXPECT_NE(std::find(info->ip_addresses.begin(), info->ip_addresses.end(), "127.0.0.1"),
            info->ip_addresses.end());
}

TEST_F(TlsFilesTest, MissingFileIsNamed) {
  TlsFiles files = TlsFiles::InDir(dir_.string(), "agent-7");
  absl::Status s = CheckTlsFiles(files);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find(Path("agent-7.crt")), absl::string_view::npos) << s;
}

TEST_F(TlsFilesTest, GarbageCertificateIsNamed) {
  Write("agent-0.crt", "this is not a certificate\n");
  absl::Status s = CheckTlsFiles(TlsFiles::InDir(dir_.string(), "agent-0"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(Path("agent-0.crt")), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("not a PEM certificate"), absl::string_view::npos) << s;
}

TEST_F(TlsFilesTest, GarbageKeyIsNamed) {
  Write("agent-0.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  absl::Status s = CheckTlsFiles(TlsFiles::InDir(dir_.string(), "agent-0"));
  EXPECT_NE(s.message().find(Path("agent-0.key")), absl::string_view::npos) << s;
}

TEST_F(TlsFilesTest, KeyOfAnotherCertificateIsRefused) {
  TlsFiles files = TlsFiles::InDir(dir_.string(), "agent-0");
  files.key = Path("agent-1.key");
  absl::Status s = CheckTlsFiles(files);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("does not match"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find(Path("agent-1.key")), absl::string_view::npos) << s;
}

TEST_F(TlsFilesTest, ExpiredCertificateIsRefusedAtLoad) {
  const KeyAndCertificate ca{Read("ca.key"), Read("ca.crt")};
  const std::int64_t now = std::time(nullptr);
  absl::StatusOr<KeyAndCertificate> old =
      IssueCertificate(ca, Spec("agent-0", now - 10 * 86400, now - 86400));
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), "agent-0", *old).ok());
  absl::Status s = CheckTlsFiles(TlsFiles::InDir(dir_.string(), "agent-0"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expired"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find(Path("agent-0.crt")), absl::string_view::npos) << s;
  EXPECT_FALSE(MakeChannelCredentials(Options(TlsFiles::InDir(dir_.string(), "agent-0"))).ok());
}

TEST_F(TlsFilesTest, CertificateOfAnotherCaIsRefusedAtLoad) {
  absl::StatusOr<KeyAndCertificate> other_ca = MakeCertificateAuthority("another CA");
  ASSERT_TRUE(other_ca.ok());
  absl::StatusOr<KeyAndCertificate> pair = IssueCertificate(*other_ca, Spec("agent-0"));
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), "agent-0", *pair).ok());
  absl::Status s = CheckTlsFiles(TlsFiles::InDir(dir_.string(), "agent-0"));
  EXPECT_NE(s.message().find("not signed by the CA"), absl::string_view::npos) << s;
}

TEST_F(TlsFilesTest, ServerCredentialsNeedGoodFiles) {
  EXPECT_TRUE(MakeServerCredentials(Options(TlsFiles::InDir(dir_.string(), "manager"))).ok());
  EXPECT_FALSE(MakeServerCredentials(Options(TlsFiles{})).ok());
  EXPECT_FALSE(MakeServerCredentials(Options(TlsFiles::InDir(dir_.string(), "nobody"))).ok());
}

}  // namespace
}  // namespace meshtwin::live
