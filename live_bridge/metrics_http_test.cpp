#include "live_bridge/metrics_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "live_bridge/certs.h"
#include "live_bridge/prometheus_text.h"
#include "live_bridge/test_support/certs_dir.h"

namespace meshtwin::live {
namespace {

using ::testing::HasSubstr;

MetricsServerOptions Ephemeral() {
  MetricsServerOptions options;
  options.port = 0;
  return options;
}

TEST(MetricsHttpTest, ServesMetricsAndNothingElse) {
  std::atomic<int> scrapes{0};
  auto server = MetricsHttpServer::Start(Ephemeral(), [&]() -> absl::StatusOr<std::string> {
    ExpositionWriter w;
    MESHTWIN_RETURN_IF_ERROR(
        w.Counter("meshtwin_scrapes_total", "Scrapes served.", {{"node", "n\"1\""}}, ++scrapes));
    MESHTWIN_RETURN_IF_ERROR(w.Gauge("meshtwin_up", "1 while the agent runs.", {}, 1));
    return w.Render();
  });
  ASSERT_TRUE(server.ok()) << server.status();
  int port = (*server)->port();
  ASSERT_GT(port, 0);

  httplib::Client client("127.0.0.1", port);
  for (int i = 1; i <= 2; ++i) {
    httplib::Result res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    absl::StatusOr<std::vector<ParsedSample>> samples = ParseExposition(res->body);
    ASSERT_TRUE(samples.ok()) << samples.status() << "\n" << res->body;
    EXPECT_EQ(*samples, (std::vector<ParsedSample>{
                            {"meshtwin_scrapes_total", {{"node", "n\"1\""}}, double(i)},
                            {"meshtwin_up", {}, 1}}));
  }
  // A query string does not change the path.
  EXPECT_EQ(client.Get("/metrics?name[]=up")->status, 200);

  for (const char* path : {"/", "/metrics/", "/metricsx", "/healthz"}) {
    httplib::Result res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  EXPECT_EQ(scrapes.load(), 3);  // 404s render nothing

  (*server)->Stop();
  (*server)->Stop();  // idempotent
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(2);
  EXPECT_FALSE(after.Get("/metrics"));
}

TEST(MetricsHttpTest, RenderErrorIsA500) {
  auto server = MetricsHttpServer::Start(Ephemeral(), []() -> absl::StatusOr<std::string> {
    return absl::InternalError("the sampler is gone");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_THAT(res->body, HasSubstr("the sampler is gone"));
}

TEST(MetricsHttpTest, CustomPathAndABusyPort) {
  MetricsServerOptions options = Ephemeral();
  options.path = "/agent/metrics";
  auto first = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  ASSERT_TRUE(first.ok()) << first.status();
  httplib::Client client("127.0.0.1", (*first)->port());
  EXPECT_EQ(client.Get("/agent/metrics")->body, "up 1\n");
  EXPECT_EQ(client.Get("/metrics")->status, 404);

  options.port = (*first)->port();
  auto second = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(std::to_string(options.port)));
}

TEST(MetricsHttpTest, BadOptions) {
  auto render = [] { return std::string(); };
  MetricsServerOptions options = Ephemeral();
  options.port = 70000;
  EXPECT_EQ(MetricsHttpServer::Start(options, render).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Ephemeral();
  options.path = "metrics";
  EXPECT_EQ(MetricsHttpServer::Start(options, render).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Ephemeral();
  options.threads = 0;
  EXPECT_EQ(MetricsHttpServer::Start(options, render).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start(Ephemeral(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = Ephemeral();
  options.bind_address = "192.0.2.1";  // TEST-NET-1: not an address of this host
  EXPECT_EQ(MetricsHttpServer::Start(options, render).status().code(),
            absl::StatusCode::kUnavailable);
}

// Destroying a running server stops it (the usual way an agent shuts down).
TEST(MetricsHttpTest, DestructorStops) {
  for (int i = 0; i < 20; ++i) {
    auto server = MetricsHttpServer::Start(Ephemeral(), [] { return std::string(); });
    ASSERT_TRUE(server.ok()) << server.status();
  }
}

// ------------------------------------------------------------- mutual TLS

// A CA with manager and client certificates (certs init), and a client
// certificate from another CA.
class MetricsHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshCertsDir("metrics_https", 1);
    absl::StatusOr<KeyAndCertificate> foreign_ca = MakeCertificateAuthority("foreign CA");
    ASSERT_TRUE(foreign_ca.ok());
    CertificateSpec spec;
    spec.common_name = "client";
    absl::StatusOr<KeyAndCertificate> foreign = IssueCertificate(*foreign_ca, spec);
    ASSERT_TRUE(foreign.ok());
    const std::filesystem::path other = dir_ / "other";
    std::filesystem::create_directories(other);
    ASSERT_TRUE(WriteKeyAndCertificate(other.string(), "ca", {"", foreign_ca->cert_pem}).ok());
    ASSERT_TRUE(WriteKeyAndCertificate(other.string(), "client", *foreign).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TlsFiles Files(const std::string& name) const { return TlsFiles::InDir(dir_.string(), name); }
  TlsFiles Foreign() const { return TlsFiles::InDir((dir_ / "other").string(), "client"); }

  MetricsServerOptions HttpsOptions() const {
    MetricsServerOptions options = Ephemeral();
    options.tls = Files("manager");
    return options;
  }

  // A client presenting `identity` (none if null) and trusting `ca`.
  static std::unique_ptr<httplib::SSLClient> Client(int port, const TlsFiles* identity,
                                                    const std::string& ca) {
    auto client = identity != nullptr ? std::make_unique<httplib::SSLClient>(
                                            "127.0.0.1", port, identity->cert, identity->key)
                                      : std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    client->set_ca_cert_path(ca.c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
    return client;
  }

  std::filesystem::path dir_;
};

TEST_F(MetricsHttpsTest, ServesAClientWithACertificateAndTellsRoutesWhoItIs) {
  MetricsServerOptions options = HttpsOptions();
  options.routes.push_back(
      {"POST", "/whoami", [](const HttpRequestView& req) {
         return HttpReply{200, "text/plain", req.peer_identity + " sent " + std::string(req.body)};
       }});
  auto server = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE((*server)->tls());
  const TlsFiles client_files = Files("client");
  auto client = Client((*server)->port(), &client_files, client_files.ca_cert);
  httplib::Result res = client->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "up 1\n");
  res = client->Post("/whoami", "hello", "text/plain");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->body, "client sent hello");
}

// The files are re-read without a restart: a whole new CA, server and
// client certificate written in place are in use from the next handshake
// (the old client is refused, the new one served); a broken set is refused
// and the one in use kept.
TEST_F(MetricsHttpsTest, RotatedCertificatesAreUsedWithoutARestart) {
  namespace fs = std::filesystem;
  fs::create_directories(dir_ / "old");
  for (const char* f : {"ca.crt", "client.crt", "client.key"}) {
    fs::copy_file(dir_ / f, dir_ / "old" / f);
  }
  MetricsServerOptions options = HttpsOptions();
  options.tls_refresh = 0;  // look at the files on every handshake
  auto server = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  auto scrape = [&](const fs::path& dir) {
    const TlsFiles who = TlsFiles::InDir(dir.string(), "client");
    httplib::Result res = Client(port, &who, who.ca_cert)->Get("/metrics");
    return res && res->status == 200;
  };
  EXPECT_TRUE(scrape(dir_ / "old"));

  absl::StatusOr<KeyAndCertificate> ca = MakeCertificateAuthority("rotated CA");
  ASSERT_TRUE(ca.ok());
  CertificateSpec spec;
  spec.common_name = "manager";
  spec.ip_addresses = {"127.0.0.1"};
  absl::StatusOr<KeyAndCertificate> server_cert = IssueCertificate(*ca, spec);
  spec.common_name = "client";
  absl::StatusOr<KeyAndCertificate> client_cert = IssueCertificate(*ca, spec);
  ASSERT_TRUE(server_cert.ok() && client_cert.ok());
  fs::create_directories(dir_ / "new");
  ASSERT_TRUE(WriteKeyAndCertificate((dir_ / "new").string(), "ca", {"", ca->cert_pem}).ok());
  ASSERT_TRUE(WriteKeyAndCertificate((dir_ / "new").string(), "client", *client_cert).ok());
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), "ca", {"", ca->cert_pem}).ok());
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), "manager", *server_cert).ok());
  EXPECT_TRUE(scrape(dir_ / "new"));
  EXPECT_FALSE(scrape(dir_ / "old"));

  // A certificate its key does not match: refused, the rotated set kept.
  absl::StatusOr<KeyAndCertificate> stray = IssueCertificate(*ca, spec);
  ASSERT_TRUE(stray.ok());
  ASSERT_TRUE(WriteKeyAndCertificate(dir_.string(), "manager", {"", stray->cert_pem}).ok());
  EXPECT_TRUE(scrape(dir_ / "new"));
}

TEST_F(MetricsHttpsTest, RefusesClientsWithoutACertificateOrWithAForeignOne) {
  std::atomic<int> scrapes{0};
  auto server = MetricsHttpServer::Start(HttpsOptions(), [&] {
    ++scrapes;
    return std::string("up 1\n");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  const std::string ca = Files("client").ca_cert;

  auto anonymous = Client(port, nullptr, ca);
  EXPECT_FALSE(anonymous->Get("/metrics")) << "no client certificate";

  const TlsFiles foreign = Foreign();
  auto stranger = Client(port, &foreign, ca);
  EXPECT_FALSE(stranger->Get("/metrics")) << "a client certificate from another CA";

  // Our own client certificate, but trusting only the other CA: the client
  // refuses the server.
  const TlsFiles own = Files("client");
  auto suspicious = Client(port, &own, foreign.ca_cert);
  EXPECT_FALSE(suspicious->Get("/metrics")) << "a server certificate from an unknown CA";

  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(5);
  httplib::Result res = plain.Get("/metrics");
  EXPECT_FALSE(res && res->status == 200) << "plain HTTP to the HTTPS port";
  EXPECT_EQ(scrapes.load(), 0);
}

TEST_F(MetricsHttpsTest, BadTlsFilesAreNamed) {
  auto render = [] { return std::string(); };
  MetricsServerOptions options = HttpsOptions();
  options.tls->key = (dir_ / "missing.key").string();
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(options, render);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ErrorText(server.status()), HasSubstr("missing.key"));

  options = HttpsOptions();
  options.tls->cert = Foreign().cert;  // not signed by our CA (nor matching the key)
  options.tls->key = Foreign().key;
  server = MetricsHttpServer::Start(options, render);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorText(server.status()), HasSubstr(Foreign().cert));
}

// ------------------------------------------------------------- extra routes

TEST(MetricsHttpRoutesTest, RoutesMethodsAndBodies) {
  MetricsServerOptions options = Ephemeral();
  options.max_body_bytes = 64;
  options.routes.push_back({"POST", "/events", [](const HttpRequestView& req) {
                              return HttpReply{202, "application/json",
                                               "{\"type\":\"" + std::string(req.content_type) +
                                                   "\",\"body\":\"" + std::string(req.body) +
                                                   "\",\"who\":\"" + req.peer_identity + "\"}"};
                            }});
  options.routes.push_back({"GET", "/healthz", [](const HttpRequestView&) {
                              return HttpReply{200, "text/plain", "ok"};
                            }});
  auto server = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_FALSE((*server)->tls());
  httplib::Client client("127.0.0.1", (*server)->port());

  httplib::Result res = client.Post("/events", "x1", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, R"({"type":"application/json","body":"x1","who":""})");
  EXPECT_EQ(client.Get("/healthz")->body, "ok");
  EXPECT_EQ(client.Get("/metrics")->body, "up 1\n");

  res = client.Get("/events");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  EXPECT_EQ(client.Post("/metrics", "", "text/plain")->status, 405);
  EXPECT_EQ(client.Post("/nowhere", "", "text/plain")->status, 404);
  EXPECT_EQ(client.Post("/events", std::string(65, 'x'), "text/plain")->status, 413);
}

TEST(MetricsHttpRoutesTest, BadRoutesAreNamed) {
  auto render = [] { return std::string(); };
  auto ok = [](const HttpRequestView&) { return HttpReply{}; };
  auto error = [&](std::vector<HttpRoute> routes) {
    MetricsServerOptions options = Ephemeral();
    options.routes = std::move(routes);
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> s =
        MetricsHttpServer::Start(options, render);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    return ErrorText(s.status());
  };
  EXPECT_THAT(error({{"GET", "/a", ok}, {"PUT", "/b", ok}}), HasSubstr("routes[1].method"));
  EXPECT_THAT(error({{"POST", "events", ok}}), HasSubstr("routes[0].path"));
  EXPECT_THAT(error({{"POST", "/e", nullptr}}), HasSubstr("routes[0].handler"));
  EXPECT_THAT(error({{"POST", "/e", ok}, {"POST", "/e", ok}}), HasSubstr("routes[1]"));
  EXPECT_THAT(error({{"GET", "/metrics", ok}}), HasSubstr("already served"));
}

}  // namespace
}  // namespace meshtwin::live
