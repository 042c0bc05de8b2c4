#include "live_bridge/shadow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "live_bridge/shadow_config.h"
#include "twin/control_loop.h"

namespace meshtwin::live {
namespace {

using ::testing::HasSubstr;

// The design: a Shadow holds no Actuator and cannot be built from one; only
// ControlLoop acts, and it cannot be built without one.
static_assert(!std::is_base_of_v<Actuator, Shadow>);
static_assert(std::is_constructible_v<Shadow, const Scenario&, Seconds, double,
                                      std::unique_ptr<Policy>, std::unique_ptr<ForecastSource>>);
static_assert(!std::is_constructible_v<Shadow, const Scenario&, Seconds, double,
                                       std::unique_ptr<Policy>, Actuator&>);
static_assert(!std::is_constructible_v<ControlLoop, MetricSource&, ForecastSource*, Policy&>);

constexpr double kFrom = 1800000000;  // a multiple of 15 s
constexpr double kSpike = kFrom + 2 * 3600;
constexpr double kTo = kFrom + 4 * 3600;

// Production: 12 medium nodes (200 requests/s each, reported as two series
// of 6); demand 1440 requests/s (60 % of them) with 4000 for 30 minutes.
double Demand(double t) { return t >= kSpike && t < kSpike + 1800 ? 4000 : 1440; }

class FakePrometheus {
 public:
  FakePrometheus() {
    server_.Get("/api/v1/query_range", [](const httplib::Request& req, httplib::Response& res) {
      const std::string q = req.get_param_value("query");
      const double start = std::stod(req.get_param_value("start"));
      const double end = std::stod(req.get_param_value("end"));
      const double step = std::stod(req.get_param_value("step"));
      if (q == "broken") {
        res.status = 400;
        res.set_content(
            R"({"status":"error","errorType":"bad_data","error":"1:7: parse error: unexpected"})",
            "application/json");
        return;
      }
      auto values = [&](auto f) {
        // absl::StrAppend: GCC 12 warns (-Wrestrict, falsely) on chains of +.
        std::string v = "[";
        for (double t = start; t <= end + 1e-9; t += step) {
          absl::StrAppend(&v, v.size() > 1 ? "," : "", "[", std::to_string(t), ",\"", f(t), "\"]");
        }
        return v + "]";
      };
      std::string result;
      if (q == "demand") {
        result = R"({"metric":{},"values":)" +
                 values([](double t) { return std::to_string(Demand(t)); }) + "}";
      } else if (q == "capacity") {
        const std::string six = values([](double) { return std::string("6"); });
        result = R"({"metric":{"zone":"a"},"values":)" + six +
                 R"(},{"metric":{"zone":"b"},"values":)" + six + "}";
      } else if (q == "nan") {
        result =
            R"({"metric":{},"values":)" + values([](double) { return std::string("NaN"); }) + "}";
      }
      res.set_content(
          R"({"status":"success","data":{"resultType":"matrix","result":[)" + result + "]}}",
          "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakePrometheus() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class ShadowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("shadow_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Config(const std::string& demand_query, const std::string& extra = "") {
    return "prometheus: " + prometheus_.url() + "\ndemand_query: " + demand_query +
           "\ncapacity_query: capacity\ninterval: 15s\nscenario: default\n"
           "policy: [\"forecast.model=naive\", \"forecast.warmup=5m\"]\nout: shadow.h5\n" +
           extra;
  }
  std::string ConfigPath() const { return (dir_ / "shadow.yaml").string(); }

  FakePrometheus prometheus_;
  std::filesystem::path dir_;
};

std::vector<double> ReadSeries(const std::string& path, const char* name) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0);
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  const hid_t space = H5Dget_space(ds);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space, &n, nullptr);
  std::vector<double> v(n);
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
  return v;
}

TEST_F(ShadowTest, ReplayRecordsSeriesScalesForTheSpikeAndReportsNodeHours) {
  absl::StatusOr<ShadowConfig> config = ParseShadowConfig(Config("demand"), ConfigPath());
  ASSERT_TRUE(config.ok()) << config.status();
  ShadowRunOptions options;
  options.replay_from = kFrom;
  options.replay_to = kTo;
  absl::StatusOr<ShadowReport> report = RunShadow(*config, options);
  ASSERT_TRUE(report.ok()) << report.status();

  const std::string out = (dir_ / "shadow.h5").string();
  ASSERT_TRUE(std::filesystem::exists(out));
  const std::size_t n = 4 * 3600 / 15;
  const std::vector<double> time = ReadSeries(out, "/steps/time");
  const std::vector<double> production = ReadSeries(out, "/steps/production_nodes");
  const std::vector<double> desired = ReadSeries(out, "/steps/desired_nodes");
  const std::vector<double> would_be = ReadSeries(out, "/steps/would_be_nodes");
  ASSERT_EQ(time.size(), n);
  ASSERT_EQ(desired.size(), n);
  ASSERT_EQ(ReadSeries(out, "/steps/demand").size(), n);
  EXPECT_DOUBLE_EQ(time.front(), kFrom + 15);
  EXPECT_DOUBLE_EQ(production[0], 12);  // two series of 6, summed

  // The first evaluation that sees the spike is at kSpike (the interval
  // ending there): the policy asks for more nodes than production has at
  // once, and its would-be capacity is there one boot time (90 s) later.
  const std::size_t spike = static_cast<std::size_t>((kSpike - kFrom) / 15) - 1;
  EXPECT_DOUBLE_EQ(time[spike], kSpike);
  EXPECT_EQ(desired[spike - 1], 12);
  EXPECT_GT(desired[spike], 12);
  const std::vector<double> ready = ReadSeries(out, "/steps/would_be_ready");
  EXPECT_GT(ready[spike + 7], 12);
  EXPECT_EQ(report->intervals, static_cast<int>(n));
  EXPECT_EQ(report->missing_intervals, 0);
  EXPECT_GT(report->decisions, 0);
  EXPECT_EQ(report->production_risk_intervals, 120);  // the whole 30-minute spike
  EXPECT_LT(report->would_be_risk_intervals, report->production_risk_intervals);

  EXPECT_NEAR(report->production_node_hours,
              std::accumulate(production.begin(), production.end(), 0.0) * 15 / 3600, 1e-9);
  EXPECT_NEAR(report->would_be_node_hours,
              std::accumulate(would_be.begin(), would_be.end(), 0.0) * 15 / 3600, 1e-9);
  EXPECT_NEAR(report->production_node_hours, 48, 1e-9);
  EXPECT_GT(report->would_be_node_hours, report->production_node_hours);
  EXPECT_THAT(FormatShadowReport(*report), HasSubstr("node-hours"));
}

TEST_F(ShadowTest, PrometheusErrorNamesTheQueryAndLeavesNoFile) {
  for (const char* query : {"broken", "nan"}) {
    absl::StatusOr<ShadowConfig> config = ParseShadowConfig(Config(query), ConfigPath());
    ASSERT_TRUE(config.ok()) << config.status();
    ShadowRunOptions options;
    options.replay_from = kFrom;
    options.replay_to = kFrom + 3600;
    absl::StatusOr<ShadowReport> report = RunShadow(*config, options);
    ASSERT_FALSE(report.ok());
    EXPECT_THAT(ErrorText(report.status()),
                HasSubstr("prometheus " + prometheus_.url() + ": query '" + query + "'"));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "shadow.h5"));
  }
  absl::StatusOr<ShadowConfig> config = ParseShadowConfig(Config("broken"), ConfigPath());
  ShadowRunOptions options;
  options.replay_from = kFrom;
  options.replay_to = kFrom + 3600;
  EXPECT_THAT(ErrorText(RunShadow(*config, options).status()),
              HasSubstr("bad_data): 1:7: parse error"));
}

TEST_F(ShadowTest, BadConfigIsALocatedError) {
  auto error = [&](const std::string& text) {
    return ErrorText(ParseShadowConfig(text, "s.yaml").status());
  };
  EXPECT_THAT(error(Config("demand", "lookback: -3s\n")),
              HasSubstr("s.yaml:8:11: lookback: expected a duration"));
  EXPECT_THAT(error("prometheus: http://p\ndemand_query: d\n"),
              HasSubstr("s.yaml:1:1: capacity_query: expected a PromQL query"));
  EXPECT_THAT(error(Config("demand", "intervl: 15s\n")),
              HasSubstr("s.yaml:8:1: intervl: expected one of"));
  EXPECT_THAT(error("prometheus: ftp://p\ndemand_query: d\ncapacity_query: c\n"),
              HasSubstr("s.yaml:1:13: prometheus: expected a URL"));
  EXPECT_THAT(error("prometheus: http://p\ndemand_query: d\ncapacity_query: c\nscenario: nope\n"),
              HasSubstr("s.yaml:4:11: scenario:"));
  EXPECT_THAT(error("prometheus: http://p\ndemand_query: d\ncapacity_query: c\npolicy: "
                    "[policy.name=oracle]\n"),
              HasSubstr("oracle"));
}

}  // namespace
}  // namespace meshtwin::live
