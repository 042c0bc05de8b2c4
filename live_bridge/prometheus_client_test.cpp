#include "live_bridge/prometheus_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "live_bridge/certs.h"
#include "live_bridge/test_support/certs_dir.h"

namespace meshtwin::live {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusClientTest, SumsSeveralSeriesPointByPoint) {
  const char* body = R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"pod":"a"},"values":[[100,"1.5"],[115,"2"]]},
    {"metric":{"pod":"b"},"values":[[115,"3"],[130,"4"]]}]}})";
  absl::StatusOr<std::vector<PrometheusSample>> s = ParseQueryRangeAnswer(body, "ctx");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_DOUBLE_EQ((*s)[0].value, 1.5);
  EXPECT_DOUBLE_EQ((*s)[1].value, 5);
  EXPECT_DOUBLE_EQ((*s)[2].time, 130);
}

TEST(PrometheusClientTest, RejectsApiErrorsNonMatricesNaNAndBadJson) {
  auto error = [](const char* body) {
    return ErrorText(ParseQueryRangeAnswer(body, "prometheus http://p: query 'q'").status());
  };
  EXPECT_THAT(error(R"({"status":"error","errorType":"bad_data","error":"parse error"})"),
              HasSubstr("query 'q': Prometheus answered an error (bad_data): parse error"));
  EXPECT_THAT(error(R"({"status":"success","data":{"resultType":"vector","result":[]}})"),
              HasSubstr("expected \"matrix\""));
  EXPECT_THAT(error(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{},"values":[[1,"NaN"]]}]}})"),
              HasSubstr("data.result[0].values[0][1]: expected a finite number, got \"NaN\""));
  EXPECT_THAT(error("{not json"), HasSubstr("expected a JSON query_range answer"));
}

TEST(PrometheusClientTest, UnreachableServerNamesUrlAndQuery) {
  PrometheusClientOptions o;
  o.connect_timeout = 1;
  absl::StatusOr<std::vector<PrometheusSample>> s =
      QueryRange("http://127.0.0.1:1", "up", 0, 15, 15, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(ErrorText(s.status()), HasSubstr("prometheus http://127.0.0.1:1: query 'up'"));
}

// A fake Prometheus behind mutual TLS, as with --web.config.file requiring
// client certificates (client_auth_type: RequireAndVerifyClientCert).
class PrometheusMutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshCertsDir("prometheus_tls", 1);
    // A client certificate from another CA.
    absl::StatusOr<KeyAndCertificate> other_ca = MakeCertificateAuthority("other CA");
    ASSERT_TRUE(other_ca.ok());
    CertificateSpec spec;
    spec.common_name = "client";
    absl::StatusOr<KeyAndCertificate> other = IssueCertificate(*other_ca, spec);
    ASSERT_TRUE(other.ok());
    const std::string other_dir = (dir_ / "other").string();
    std::filesystem::create_directories(other_dir);
    ASSERT_TRUE(WriteKeyAndCertificate(other_dir, "ca", {"", other_ca->cert_pem}).ok());
    ASSERT_TRUE(WriteKeyAndCertificate(other_dir, "client", *other).ok());

    const TlsFiles server_files = TlsFiles::InDir(dir_.string(), "manager");
    server_ = std::make_unique<httplib::SSLServer>(
        server_files.cert.c_str(), server_files.key.c_str(), server_files.ca_cert.c_str());
    ASSERT_TRUE(server_->is_valid());
    server_->Get("/prom/api/v1/query_range",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   ++queries_;
                   query_ = req.get_param_value("query");
                   res.set_content(R"({"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{},"values":[[1000,"4"],[1015,"6"]]}]}})",
                                   "application/json");
                 });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove_all(dir_);
  }

  std::string Url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/prom"; }
  PrometheusClientOptions Options(const TlsFiles& files) const {
    PrometheusClientOptions o;
    o.connect_timeout = 5;
    o.read_timeout = 5;
    o.tls = files;
    return o;
  }

  std::filesystem::path dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> queries_{0};
  std::string query_;
};

TEST_F(PrometheusMutualTlsTest, QueriesWithAClientCertificate) {
  absl::StatusOr<std::vector<PrometheusSample>> s = QueryRange(
      Url(), "sum(up)", 1000, 1015, 15, Options(TlsFiles::InDir(dir_.string(), "client")));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_DOUBLE_EQ((*s)[1].time, 1015);
  EXPECT_DOUBLE_EQ((*s)[1].value, 6);
  EXPECT_EQ(queries_.load(), 1);
  EXPECT_EQ(query_, "sum(up)");
}

TEST_F(PrometheusMutualTlsTest, RefusedWithoutOrWithAForeignCertificate) {
  PrometheusClientOptions none;
  none.connect_timeout = 5;
  none.read_timeout = 5;
  absl::StatusOr<std::vector<PrometheusSample>> s = QueryRange(Url(), "up", 1000, 1015, 15, none);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_THAT(ErrorText(s.status()), HasSubstr(Url()));

  // Another CA's client, which trusts only that CA: refused both ways.
  const TlsFiles other = TlsFiles::InDir((dir_ / "other").string(), "client");
  s = QueryRange(Url(), "up", 1000, 1015, 15, Options(other));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();

  EXPECT_EQ(queries_.load(), 0);
}

TEST_F(PrometheusMutualTlsTest, BadTlsOptionsAreNamed) {
  TlsFiles files = TlsFiles::InDir(dir_.string(), "client");
  const std::string http_url = "http://127.0.0.1:" + std::to_string(port_);
  absl::StatusOr<std::vector<PrometheusSample>> s =
      QueryRange(http_url, "up", 1000, 1015, 15, Options(files));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(s.status()), HasSubstr("not https://"));

  files.key = (dir_ / "nope.key").string();
  s = QueryRange(Url(), "up", 1000, 1015, 15, Options(files));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ErrorText(s.status()), HasSubstr("nope.key"));
  EXPECT_EQ(queries_.load(), 0);
}

}  // namespace
}  // namespace meshtwin::live
