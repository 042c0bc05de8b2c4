#include "live_bridge/metrics_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "live_bridge/prometheus_text.h"

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

}  // namespace
}  // namespace meshtwin::live
