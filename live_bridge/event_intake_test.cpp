// Global events into a running manager: EventService over a real mutual-TLS
// LiveServer, the webhook over HTTPS with client certificates, and a followed
// file being appended to, truncated and replaced. All on loopback and in a
// temporary directory. Refused gRPC clients are dialled with hand-made
// credentials, since the library's API cannot make a client without a
// certificate.
#include "live_bridge/event_intake.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "live_bridge/certs.h"
#include "live_bridge/tls.h"
#include "live_bridge/tls_server.h"
#include "nlohmann/json.hpp"
#include "proto/meshtwin.grpc.pb.h"

namespace meshtwin::live {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(30);
constexpr double kMarch1 = 1709294400;  // 2024-03-01T12:00:00Z

// Polls `done` until it holds or kPatience passes.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class FixedClock final : public Clock {
 public:
  Seconds Now() const override { return 42; }
};

// A fresh temporary directory with `meshtwin certs init` in it.
class EventIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshtwin_events_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    CertsInitOptions init;
    init.dir = (dir_ / "certs").string();
    init.nodes = 1;
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(InitCertsDir(init).ok());
    EventIntakeOptions options;
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<EventIntake>> intake = EventIntake::Create(options);
    ASSERT_TRUE(intake.ok()) << intake.status();
    intake_ = std::move(*intake);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TlsFiles Files(const std::string& name) const {
    return TlsFiles::InDir((dir_ / "certs").string(), name);
  }

  FixedClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<EventIntake> intake_;
};

// ------------------------------------------------------------------ Accept

TEST_F(EventIntakeTest, AcceptTagsNumbersAndQueues) {
  Event e;
  e.start = kMarch1;
  e.announced = kMarch1 - 3600;
  e.magnitude = 2;
  e.text = "Black Friday flash sale launches at midnight";
  absl::StatusOr<IntakeEvent> first = intake_->Accept(e, "test:a");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id, "ev-1");
  EXPECT_EQ(first->event.category, "sale");  // tagged from the text
  EXPECT_THAT(first->tags, ElementsAre("sale", "launch"));
  EXPECT_EQ(first->event.source, "test:a");  // empty source: where it came in
  EXPECT_EQ(first->via, "test:a");
  EXPECT_DOUBLE_EQ(first->received, 42);

  e.category = "news";  // given: kept, and listed first
  e.source = "press";
  absl::StatusOr<IntakeEvent> second = intake_->Accept(e, "test:b");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->id, "ev-2");
  EXPECT_EQ(second->event.category, "news");
  EXPECT_EQ(second->tags.front(), "news");
  EXPECT_EQ(second->event.source, "press");

  std::vector<IntakeEvent> taken = intake_->TakeNew();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].id, "ev-1");
  EXPECT_EQ(taken[1].id, "ev-2");
  EXPECT_TRUE(intake_->TakeNew().empty());
  e.text = "nothing in particular";
  e.category.clear();
  absl::StatusOr<IntakeEvent> third = intake_->Accept(e, "test:c");
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->tags.empty());
  EXPECT_EQ(intake_->TakeNew().size(), 1u);
  EXPECT_EQ(intake_->All().size(), 3u);
}

TEST_F(EventIntakeTest, AcceptRefusesBadFieldsByName) {
  auto error = [&](auto change) {
    Event e;
    e.start = kMarch1;
    e.announced = kMarch1;
    change(e);
    absl::StatusOr<IntakeEvent> in = intake_->Accept(e, "test");
    EXPECT_EQ(in.status().code(), absl::StatusCode::kInvalidArgument);
    return ErrorText(in.status());
  };
  EXPECT_THAT(error([](Event& e) { e.start = 0; }), HasSubstr("start: must be a unix time > 0"));
  EXPECT_THAT(error([](Event& e) { e.end = e.start - 1; }), HasSubstr("end: before start"));
  EXPECT_THAT(error([](Event& e) { e.end = INFINITY; }), HasSubstr("end: must be finite"));
  EXPECT_THAT(error([](Event& e) { e.announced = NAN; }), HasSubstr("announced: must be"));
  EXPECT_THAT(error([](Event& e) { e.magnitude = NAN; }),
              HasSubstr("magnitude: must be a finite number"));
  EXPECT_THAT(error([](Event& e) { e.text.assign(70000, 'x'); }),
              HasSubstr("text: must be at most"));
  EXPECT_TRUE(intake_->All().empty());
}

TEST_F(EventIntakeTest, OwnKeywordDictionary) {
  const std::filesystem::path keywords = dir_ / "keywords.yaml";
  std::ofstream(keywords) << "weather: [storm, hurricane]\nsale: [sale]\n";
  EventIntakeOptions options;
  options.keywords_file = keywords.string();
  absl::StatusOr<std::unique_ptr<EventIntake>> intake = EventIntake::Create(options);
  ASSERT_TRUE(intake.ok()) << intake.status();
  Event e;
  e.start = e.announced = kMarch1;
  e.text = "Hurricane warning; storm sale postponed";
  absl::StatusOr<IntakeEvent> in = (*intake)->Accept(e, "test");
  ASSERT_TRUE(in.ok());
  EXPECT_THAT(in->tags, ElementsAre("weather", "sale"));

  options.keywords_file = (dir_ / "missing.yaml").string();
  absl::StatusOr<std::unique_ptr<EventIntake>> missing = EventIntake::Create(options);
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(ErrorText(missing.status()), HasSubstr("missing.yaml"));
}

// ------------------------------------------------------------------ gRPC

class EventServiceTest : public EventIntakeTest {
 protected:
  void SetUp() override {
    EventIntakeTest::SetUp();
    LiveServerOptions options;
    options.tls.files = Files("manager");
    server_ = std::make_unique<LiveServer>(options);
    server_->AddService(intake_->service());
    ASSERT_TRUE(server_->Start().ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_->Shutdown(1);
    EventIntakeTest::TearDown();
  }

  grpc::Status Publish(const std::shared_ptr<grpc::Channel>& channel, const v1::GlobalEvent& event,
                       v1::PublishResponse* response) {
    auto stub = v1::EventService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kPatience);
    return stub->Publish(&context, event, response);
  }

  std::shared_ptr<grpc::Channel> ClientChannel() {
    TlsOptions tls;
    tls.files = Files("client");
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(address_, tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  std::unique_ptr<LiveServer> server_;
  std::string address_;
};

v1::GlobalEvent Launch() {
  v1::GlobalEvent e;
  e.set_start_unix(kMarch1);
  e.set_end_unix(kMarch1 + 7200);
  e.set_magnitude(3);
  e.set_source("news-feed");
  e.set_text("Keynote: new phone unveiled, pre-orders open");
  return e;
}

TEST_F(EventServiceTest, PublishTagsAndQueues) {
  std::shared_ptr<grpc::Channel> channel = ClientChannel();
  v1::PublishResponse response;
  grpc::Status status = Publish(channel, Launch(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.event_id(), "ev-1");
  ASSERT_GE(response.tags_size(), 1);
  EXPECT_EQ(response.tags(0), "launch");

  std::vector<IntakeEvent> taken = intake_->TakeNew();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].via, "grpc:client");
  EXPECT_EQ(taken[0].event.source, "news-feed");
  EXPECT_EQ(taken[0].event.category, "launch");
  EXPECT_DOUBLE_EQ(taken[0].event.start, kMarch1);
  EXPECT_DOUBLE_EQ(taken[0].event.end, kMarch1 + 7200);
  EXPECT_DOUBLE_EQ(taken[0].event.announced, kMarch1);  // 0 on the wire: at start
  EXPECT_DOUBLE_EQ(taken[0].event.magnitude, 3);

  // end_unix 0: open-ended.
  v1::GlobalEvent open = Launch();
  open.set_end_unix(0);
  ASSERT_TRUE(Publish(channel, open, &response).ok());
  EXPECT_EQ(response.event_id(), "ev-2");
  EXPECT_TRUE(std::isnan(intake_->TakeNew().at(0).event.end));
}

TEST_F(EventServiceTest, PublishRefusesABadFieldByName) {
  std::shared_ptr<grpc::Channel> channel = ClientChannel();
  auto refused = [&](v1::GlobalEvent e) {
    v1::PublishResponse response;
    grpc::Status status = Publish(channel, e, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    return status.error_message();
  };
  v1::GlobalEvent e = Launch();
  e.set_start_unix(0);
  EXPECT_THAT(refused(e), HasSubstr("start_unix: must be a unix time > 0"));
  e = Launch();
  e.set_end_unix(kMarch1 - 1);
  EXPECT_THAT(refused(e), HasSubstr("end_unix: before start_unix"));
  e = Launch();
  e.set_end_unix(NAN);
  EXPECT_THAT(refused(e), HasSubstr("end_unix: must be finite"));
  e = Launch();
  e.set_announced_unix(-5);
  EXPECT_THAT(refused(e), HasSubstr("announced_unix: must be a unix time > 0"));
  e = Launch();
  e.set_magnitude(INFINITY);
  EXPECT_THAT(refused(e), HasSubstr("magnitude: must be a finite number"));
  EXPECT_TRUE(intake_->All().empty());
}

TEST_F(EventServiceTest, ClientWithoutACertificateIsRefused) {
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      ReadText(Files("client").ca_cert));
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel =
      grpc::CreateCustomChannel(address_, grpc::experimental::TlsCredentials(options), args);
  v1::PublishResponse response;
  grpc::Status status = Publish(channel, Launch(), &response);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(intake_->All().empty());
}

// ------------------------------------------------------------------ webhook

TEST_F(EventIntakeTest, AcceptJsonObjectsArraysAndNamedErrors) {
  absl::StatusOr<std::vector<IntakeEvent>> one = intake_->AcceptJson(
      R"({"start":"2024-03-01T12:00:00Z","text":"Cyber Monday deals","magnitude":1.5})", "t");
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_DOUBLE_EQ((*one)[0].event.start, kMarch1);
  EXPECT_EQ((*one)[0].event.category, "sale");

  auto error = [&](std::string_view body) {
    absl::StatusOr<std::vector<IntakeEvent>> r = intake_->AcceptJson(body, "t");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    return ErrorText(r.status());
  };
  EXPECT_THAT(error("{not json"), HasSubstr("invalid JSON"));
  EXPECT_THAT(error("42"), HasSubstr("expected a JSON event object or an array"));
  EXPECT_THAT(error(R"([{"start":1709294400}, "x"])"),
              HasSubstr("element 1: expected a JSON event object"));
  EXPECT_THAT(error(R"([{"start":1709294400}, {"start":1709294400,"magnitude":"lots"}])"),
              HasSubstr("element 1: magnitude: expected a finite number"));
  EXPECT_THAT(error(R"([{"start":1709294400,"end":1709290000}])"), HasSubstr("element 0: end:"));
  EXPECT_THAT(error(R"([{"start":0}])"), HasSubstr("element 0: start: must be a unix time > 0"));
  EXPECT_THAT(error(R"({"start":1709294400,"anounced":1})"), HasSubstr("unknown key"));
  EXPECT_EQ(intake_->All().size(), 1u);  // all or nothing
}

class WebhookTest : public EventIntakeTest {
 protected:
  void SetUp() override {
    EventIntakeTest::SetUp();
    MetricsServerOptions options;
    options.port = 0;
    options.tls = Files("manager");
    options.routes.push_back(intake_->WebhookRoute("/events"));
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start(options, [] { return std::string("meshtwin_up 1\n"); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_->Stop();
    EventIntakeTest::TearDown();
  }

  std::unique_ptr<httplib::SSLClient> Client(bool with_certificate) const {
    const TlsFiles files = Files("client");
    auto client = with_certificate
                      ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(),
                                                             files.cert, files.key)
                      : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    client->set_ca_cert_path(files.ca_cert.c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
    return client;
  }

  std::unique_ptr<MetricsHttpServer> server_;
};

TEST_F(WebhookTest, AcceptsAnArrayOverMutualTls) {
  const std::string body = R"([
    {"start":"2024-03-01T12:00:00Z","end":"2024-03-01T14:00:00Z","text":"Black Friday sale"},
    {"start":1709298000,"announced":1709290000,"source":"pager","category":"outage",
     "magnitude":-0.5,"text":"database failover"}])";
  httplib::Result res = Client(true)->Post("/events", body, "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  const nlohmann::json reply = nlohmann::json::parse(res->body);
  EXPECT_EQ(reply["accepted"], 2);
  EXPECT_EQ(reply["ids"], nlohmann::json({"ev-1", "ev-2"}));
  EXPECT_EQ(reply["tags"][0][0], "sale");
  EXPECT_EQ(reply["tags"][1][0], "outage");

  std::vector<IntakeEvent> taken = intake_->TakeNew();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].via, "webhook:client");
  EXPECT_DOUBLE_EQ(taken[0].event.end, kMarch1 + 7200);
  EXPECT_EQ(taken[1].event.source, "pager");
  EXPECT_DOUBLE_EQ(taken[1].event.announced, 1709290000);
  EXPECT_DOUBLE_EQ(taken[1].event.magnitude, -0.5);
}

TEST_F(WebhookTest, RefusesBadJsonNamingElementAndField) {
  const std::string body =
      R"([{"start":1709294400,"text":"ok"},{"start":1709294400,"end":"yesterday"}])";
  httplib::Result res = Client(true)->Post("/events", body, "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  const nlohmann::json reply = nlohmann::json::parse(res->body);
  EXPECT_THAT(reply["error"].get<std::string>(), HasSubstr("element 1: end:"));
  EXPECT_TRUE(intake_->All().empty());
}

TEST_F(WebhookTest, AClientWithoutACertificateCannotConnect) {
  httplib::Result res =
      Client(false)->Post("/events", R"({"start":1709294400})", "application/json");
  // Refused in the handshake: no HTTP answer at all (not even the route's 403).
  EXPECT_FALSE(res) << res->status << " " << res->body;
  EXPECT_TRUE(intake_->All().empty());
}

TEST(WebhookRouteTest, RefusesARequestWithoutAPeerIdentity) {
  absl::StatusOr<std::unique_ptr<EventIntake>> intake = EventIntake::Create();
  ASSERT_TRUE(intake.ok());
  HttpRoute route = (*intake)->WebhookRoute();
  EXPECT_EQ(route.method, "POST");
  EXPECT_EQ(route.path, "/events");
  HttpReply reply = route.handler({R"({"start":1709294400})", "application/json", ""});
  EXPECT_EQ(reply.status, 403);
  EXPECT_TRUE((*intake)->All().empty());
}

// ------------------------------------------------------------------ files

// Collects what is logged while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200)) {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string Text() const {
    std::string out;
    for (const std::string& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

class EventFileTest : public EventIntakeTest {
 protected:
  void SetUp() override {
    EventIntakeTest::SetUp();
    file_ = dir_ / "events.csv";
  }
  void Append(const std::string& text) {
    std::ofstream out(file_, std::ios::app | std::ios::binary);
    out << text;
  }
  void Rewrite(const std::string& text) {
    std::ofstream out(file_, std::ios::trunc | std::ios::binary);
    out << text;
  }
  std::vector<std::string> Texts() const {
    std::vector<std::string> out;
    for (const IntakeEvent& e : intake_->All()) out.push_back(e.event.text);
    return out;
  }
  bool WaitForCount(std::size_t n) const {
    return WaitFor([&] { return intake_->All().size() >= n; });
  }

  std::filesystem::path file_;
  static constexpr Seconds kPoll = 0.02;
};

constexpr char kHeader[] = "start,end,announced,source,category,magnitude,text\n";

TEST_F(EventFileTest, FollowsAppendsPartialLinesTruncationAndBadLines) {
  LogCapture log;
  Rewrite(std::string(kHeader) + "2024-03-01T12:00:00Z,,,feed,,1,first\n");
  EventFileFollower follower(file_.string(), *intake_, kPoll);
  ASSERT_TRUE(follower.Start().ok());
  // What is there at Start is read before Start returns.
  ASSERT_EQ(intake_->All().size(), 1u);
  EXPECT_EQ(intake_->All()[0].via, "file:" + file_.string());

  Append("2024-03-01T13:00:00Z,,,feed,,1,second\n");
  ASSERT_TRUE(WaitForCount(2));

  // A line without its newline waits for it.
  Append("2024-03-01T14:00:00Z,,,feed,,1,thi");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // many polls
  EXPECT_EQ(intake_->All().size(), 2u);
  Append("rd\n");
  ASSERT_TRUE(WaitForCount(3));
  EXPECT_EQ(Texts().back(), "third");

  // A bad line is logged with its file and line, skipped, and the next one read.
  Append("2024-03-01T15:00:00Z,,,feed,,lots,bad\n2024-03-01T16:00:00Z,,,feed,,1,fourth\n");
  ASSERT_TRUE(WaitForCount(4));
  EXPECT_EQ(follower.lines_rejected(), 1u);
  EXPECT_THAT(log.Text(), HasSubstr(file_.string() + ":5: magnitude: expected a finite number"));
  EXPECT_EQ(Texts().back(), "fourth");

  // Truncated and written again: read from the start.
  Rewrite(std::string(kHeader) + "2024-03-02T00:00:00Z,,,feed,,1,after truncation\n");
  ASSERT_TRUE(WaitForCount(5));
  EXPECT_EQ(Texts().back(), "after truncation");
  EXPECT_THAT(log.Text(), HasSubstr("reading it again from the start"));
  EXPECT_EQ(follower.lines_read(), 8u);  // 2 headers, 6 events (the bad one included)
  follower.Stop();
  Append("2024-03-03T00:00:00Z,,,feed,,1,after stop\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(intake_->All().size(), 5u);
}

TEST_F(EventFileTest, JsonLinesReplacedFileAndQuotedNewlines) {
  file_.replace_extension(".jsonl");
  Rewrite(R"({"start":1709294400,"text":"one"})"
          "\n"
          R"({"start":1709298000,"text":"two"})"
          "\n");
  EventFileFollower follower(file_.string(), *intake_, kPoll);
  ASSERT_TRUE(follower.Start().ok());
  ASSERT_EQ(intake_->All().size(), 2u);

  // An editor's save: a new file renamed over the old one, with one more
  // line. The old events are not accepted twice.
  const std::filesystem::path next = file_.string() + ".new";
  std::ofstream(next) << R"({"start":1709294400,"text":"one"})"
                         "\n"
                      << R"({"start":1709298000,"text":"two"})"
                         "\n"
                      << R"({"start":1709301600,"text":"three"})"
                         "\n";
  std::filesystem::rename(next, file_);
  ASSERT_TRUE(WaitForCount(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_THAT(Texts(), ElementsAre("one", "two", "three"));
  follower.Stop();
  std::filesystem::remove(file_);

  // CSV whose quoted text spans two lines.
  file_.replace_extension(".csv");
  Rewrite(std::string(kHeader) + "2024-03-01T12:00:00Z,,,feed,,1,\"line one\nline two\"\n");
  EventFileFollower csv(file_.string(), *intake_, kPoll);
  ASSERT_TRUE(csv.Start().ok());
  ASSERT_EQ(intake_->All().size(), 4u);
  EXPECT_EQ(intake_->All().back().event.text, "line one\nline two");
}

TEST_F(EventFileTest, WaitsForAMissingFileAndSkipsAfterABadHeader) {
  LogCapture log;
  EventFileFollower follower(file_.string(), *intake_, kPoll);
  ASSERT_TRUE(follower.Start().ok());
  EXPECT_THAT(log.Text(), HasSubstr(file_.string() + ": no such file; waiting for it"));
  Rewrite("start,stop,text\n2024-03-01T12:00:00Z,,x\n");
  ASSERT_TRUE(WaitFor([&] { return follower.lines_rejected() >= 2; }));
  EXPECT_THAT(log.Text(), HasSubstr(file_.string() + ":1: header:"));
  EXPECT_TRUE(intake_->All().empty());
  follower.Stop();
  std::filesystem::remove(file_);

  EventFileFollower bad_poll(file_.string(), *intake_, 0);
  EXPECT_EQ(bad_poll.Start().code(), absl::StatusCode::kInvalidArgument);
  EventFileFollower directory(dir_.string(), *intake_, kPoll);
  EXPECT_EQ(directory.Start().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meshtwin::live
