// End-to-end: getting history in. `trace import|generate|inspect`,
// `events tag`, `logs import`, and a scenario that replays a real trace.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::ReadFileBytes;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::meshtwin::testing::TestData;
using ::testing::HasSubstr;

nlohmann::json Inspect(const std::string& path) {
  CommandResult r = RunMeshtwin({"trace", "inspect", path, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(TraceE2E, GenerateWritesTheTraceAndItsEventsAlongside) {
  const std::string dir = ScratchDir();
  CommandResult r = RunMeshtwin({"trace", "generate", "--preset", "product-launch", "--days", "3",
                                 "--seed", "9", "--out", dir + "/launch.h5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Inspect(dir + "/launch.h5");
  EXPECT_EQ(j["rows"], 3 * 1440);
  EXPECT_EQ(j["step_s"], 60);
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0]["category"], "launch");
  // The events file holds the same event with absolute times.
  const std::string events = ReadFileBytes(dir + "/launch.events.csv");
  EXPECT_THAT(events, HasSubstr("start,end,announced,source,category,magnitude,text"));
  EXPECT_THAT(events, HasSubstr(j["events"][0]["start"].get<std::string>()));
  // Same seed, same bytes.
  ASSERT_EQ(RunMeshtwin({"trace", "generate", "--preset", "product-launch", "--days", "3", "--seed",
                         "9", "--out", dir + "/again.h5"})
                .exit_code,
            0);
  EXPECT_EQ(ReadFileBytes(dir + "/launch.h5"), ReadFileBytes(dir + "/again.h5"));
}

TEST(TraceE2E, GenerateRefusesAnUnknownPreset) {
  const std::string dir = ScratchDir();
  CommandResult r =
      RunMeshtwin({"trace", "generate", "--preset", "cyber-tuesday", "--out", dir + "/x.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--preset"));
  EXPECT_THAT(r.err, HasSubstr("flash-crowd"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.h5"));
}

TEST(TraceE2E, ImportKeepsGapsAsMissingAndAttachesEvents) {
  const std::string dir = ScratchDir();
  std::ofstream(dir + "/load.csv") << "time,rps\n"
                                      "2024-03-01 00:00,100\n"
                                      "2024-03-01 00:01,110\n"
                                      "2024-03-01 00:04,140\n"
                                      "2024-03-01 00:05,150\n";
  std::ofstream(dir + "/events.csv")
      << "start,end,announced,source,category,magnitude,text\n"
         "2024-03-01T00:03:00Z,,2024-02-29T12:00:00Z,news,launch,2,\"Launch, at last\"\n";
  CommandResult r = RunMeshtwin({"trace", "import", dir + "/load.csv", "--events",
                                 dir + "/events.csv", "--out", dir + "/t.h5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 samples missing in 1 gap"));
  nlohmann::json j = Inspect(dir + "/t.h5");
  EXPECT_EQ(j["rows"], 6);
  ASSERT_EQ(j["gaps"].size(), 1u);
  EXPECT_EQ(j["gaps"][0]["start"], "2024-03-01T00:02:00Z");
  EXPECT_EQ(j["gaps"][0]["samples"], 2);
  EXPECT_EQ(j["demand"]["missing"], 2);
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0]["start"], "2024-03-01T00:03:00Z");
  EXPECT_EQ(j["events"][0]["announced"], "2024-02-29T12:00:00Z");

  // With --fill linear the gap is interpolated: 110 -> 140 in three steps.
  ASSERT_EQ(RunMeshtwin({"trace", "import", dir + "/load.csv", "--fill", "linear", "--out",
                         dir + "/filled.h5"})
                .exit_code,
            0);
  EXPECT_EQ(Inspect(dir + "/filled.h5")["demand"]["missing"], 0);
}

TEST(TraceE2E, BadCsvNamesFileLineAndColumnAndWritesNothing) {
  const std::string dir = ScratchDir();
  std::ofstream(dir + "/bad.csv") << "ts,rps\n2024-03-01T00:00:00Z,10\n2024-03-01T00:01:00Z,-3\n";
  CommandResult r = RunMeshtwin({"trace", "import", dir + "/bad.csv", "--out", dir + "/t.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.csv:3:"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/t.h5"));
  // A results file is not a trace.
  const std::string results = dir + "/r.h5";
  ASSERT_EQ(RunMeshtwin({"simulate", TestData("step.yaml"), "--set", "duration=10m", "--out",
                         results, "-q"})
                .exit_code,
            0);
  CommandResult wrong = RunMeshtwin({"trace", "inspect", results});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("meshtwin-trace"));
}

TEST(TraceE2E, RealGoogleTraceImportsWithoutATimeColumn) {
  const std::string source = std::string(MESHTWIN_SOURCE_ROOT) +
                             "/../shared/datasets/google2019/"
                             "instance_usage_grouped_300_seconds_month.csv";
  if (!std::filesystem::exists(source)) GTEST_SKIP() << "shared datasets not present: " << source;
  const std::string dir = ScratchDir();
  CommandResult r =
      RunMeshtwin({"trace", "import", source, "--no-time-col", "--start", "2019-05-01", "--step",
                   "5m", "--value-col", "avg_cpu", "--out", dir + "/g.h5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Inspect(dir + "/g.h5");
  EXPECT_EQ(j["rows"], 8064);
  EXPECT_EQ(j["start"], "2019-05-01T00:00:00Z");
  EXPECT_EQ(j["end"], "2019-05-29T00:00:00Z");
  // Four weeks of a real cluster: a clear weekly pattern.
  EXPECT_GT(j["demand"]["weekly_seasonality"].get<double>(), 0.3);
}

TEST(TraceE2E, EventsTagFillsCategoriesFromText) {
  const std::string dir = ScratchDir();
  std::ofstream(dir + "/feed.csv")
      << "start,end,announced,source,category,magnitude,text\n"
         "2024-11-29T05:00:00Z,,,news,,3,Black Friday deals go live\n"
         "2024-09-10T17:00:00Z,,2024-09-03T00:00:00Z,news,,2,Apple unveils new iPhone at keynote\n"
         "2024-06-01T00:00:00Z,,,news,weather,1,Already tagged\n";
  CommandResult r = RunMeshtwin({"events", "tag", dir + "/feed.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("news,sale,3,Black Friday deals go live"));
  EXPECT_THAT(r.out, HasSubstr("news,launch,2,Apple unveils new iPhone at keynote"));
  EXPECT_THAT(r.out, HasSubstr("news,weather,1,Already tagged"));

  std::ofstream(dir + "/dict.yaml") << "campaign:\n  - deals\n";
  CommandResult custom = RunMeshtwin({"events", "tag", dir + "/feed.csv", "--dict",
                                      dir + "/dict.yaml", "--out", dir + "/tagged.csv"});
  ASSERT_EQ(custom.exit_code, 0) << custom.err;
  EXPECT_THAT(ReadFileBytes(dir + "/tagged.csv"), HasSubstr("news,campaign,3,Black Friday"));
}

TEST(TraceE2E, LogsImportGivesRatesAndPercentiles) {
  const std::string dir = ScratchDir();
  std::ofstream logs(dir + "/app.jsonl");
  // Minute 0: 6 requests, one 503; minute 1: 3 requests. One broken line.
  for (int i = 0; i < 6; ++i) {
    logs << R"({"timestamp":"2024-03-01T10:00:)" << (10 + i) << R"(Z","level":"info","latency_ms":)"
         << 10 * (i + 1) << R"(,"status":)" << (i == 5 ? 503 : 200) << "}\n";
  }
  logs << "this is not json\n";
  for (int i = 0; i < 3; ++i) {
    logs << R"({"timestamp":"2024-03-01T10:01:0)" << i << R"(Z","latency_ms":5,"status":200})"
         << "\n";
  }
  logs.close();
  CommandResult r =
      RunMeshtwin({"logs", "import", dir + "/app.jsonl", "--step", "60s", "--out", dir + "/s.h5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("app.jsonl:7"));  // the broken line is reported
  nlohmann::json j = Inspect(dir + "/s.h5");
  EXPECT_EQ(j["rows"], 2);
  EXPECT_DOUBLE_EQ(j["demand"]["max"].get<double>(), 6.0 / 60);
  EXPECT_DOUBLE_EQ(j["channels"]["error_rate"]["max"].get<double>(), 1.0 / 60);
  EXPECT_DOUBLE_EQ(j["channels"]["latency_p50_ms"]["max"].get<double>(), 35);
  // --bad-lines fail refuses the file at the broken line.
  CommandResult strict = RunMeshtwin(
      {"logs", "import", dir + "/app.jsonl", "--bad-lines", "fail", "--out", dir + "/strict.h5"});
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_THAT(strict.err, HasSubstr("app.jsonl:7"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/strict.h5"));
}

TEST(TraceE2E, ScenarioReplaysARealTraceForItsWholeLength) {
  const std::string out = ScratchDir() + "/r.h5";
  CommandResult r = RunMeshtwin({"simulate", TestData("replay.yaml"), "--out", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["duration_s"], 7 * 86400);
  EXPECT_EQ(s["ticks"], 7 * 1440);
  absl::StatusOr<ResultsData> data = ReadResultsFile(out);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_DOUBLE_EQ(data->trace_epoch, 1556668800);  // 2019-05-01T00:00:00Z
  // Demand follows the trace: avg_cpu 0.44 x 20,000 at the start.
  EXPECT_NEAR(data->ticks.demand[0], 0.4416155843647663 * 20000, 1e-6);
}

}  // namespace
}  // namespace meshtwin

namespace meshtwin {
namespace {

TEST(ForecastE2E, SimulateRecordsForecastsNextToTheDemandThatCame) {
  const std::string out = ScratchDir() + "/r.h5";
  CommandResult r = RunMeshtwin({"simulate", TestData("replay.yaml"), "--set",
                                 "forecast.model=holt-winters", "--out", out, "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  absl::StatusOr<ResultsData> data = ReadResultsFile(out);
  ASSERT_TRUE(data.ok()) << data.status();
  const ForecastSeries& f = data->forecasts;
  EXPECT_EQ(f.model, "holt-winters");
  ASSERT_EQ(f.horizons, (std::vector<double>{300, 1800, 7200}));
  // The first forecast comes after the one-day warm-up, then one per 5 min.
  ASSERT_FALSE(f.time.empty());
  EXPECT_DOUBLE_EQ(f.time.front(), 86400);
  EXPECT_DOUBLE_EQ(f.time[1] - f.time[0], 300);
  const std::size_t h = f.horizons.size();
  std::vector<double> abs_error(h, 0), covered(h, 0), n(h, 0);
  for (std::size_t i = 0; i < f.size(); ++i) {
    for (std::size_t k = 0; k < h; ++k) {
      const std::size_t j = i * h + k;
      ASSERT_LE(f.p10[j], f.p50[j]);
      ASSERT_LE(f.p50[j], f.p90[j]);
      if (std::isnan(f.actual[j])) continue;
      abs_error[k] += std::fabs(f.p50[j] - f.actual[j]);
      covered[k] += f.actual[j] >= f.p10[j] && f.actual[j] <= f.p90[j];
      ++n[k];
    }
  }
  // Nearer horizons are easier, and the p10-p90 band covers most outcomes.
  EXPECT_LT(abs_error[0] / n[0], abs_error[2] / n[2]);
  for (std::size_t k = 0; k < h; ++k) {
    EXPECT_GT(covered[k] / n[k], 0.5) << f.horizons[k];
    EXPECT_LT(covered[k] / n[k], 0.97) << f.horizons[k];
  }
  // Targets past the end of the run have no actual.
  EXPECT_TRUE(std::isnan(f.actual.back()));
}

TEST(ForecastE2E, ForecastKeysAreValidated) {
  CommandResult step =
      RunMeshtwin({"simulate", TestData("replay.yaml"), "--set", "forecast.step=90s", "-q"});
  EXPECT_EQ(step.exit_code, 2);
  EXPECT_THAT(step.err, HasSubstr("forecast.step: expected a multiple of control_interval"));
  CommandResult horizon = RunMeshtwin(
      {"simulate", TestData("replay.yaml"), "--set", "forecast.horizons=[5m, 7m]", "-q"});
  EXPECT_EQ(horizon.exit_code, 2);
  EXPECT_THAT(horizon.err, HasSubstr("expected a multiple of forecast.step"));
  CommandResult model = RunMeshtwin(
      {"simulate", TestData("replay.yaml"), "--set", "forecast.model=no-such-model.pt", "-q"});
  EXPECT_EQ(model.exit_code, 2);
  EXPECT_THAT(model.err, HasSubstr("forecast.model"));
  EXPECT_THAT(model.err, HasSubstr("no-such-model.pt"));
}

}  // namespace
}  // namespace meshtwin

namespace meshtwin {
namespace {

TEST(BacktestE2E, WritesForecastsAtTargetTimesAndPrintsTheMetrics) {
  const std::string dir = ScratchDir();
  ASSERT_EQ(RunMeshtwin({"trace", "generate", "--preset", "diurnal-web", "--days", "4", "--out",
                         dir + "/dw.h5"})
                .exit_code,
            0);
  CommandResult r = RunMeshtwin({"backtest", "--trace", dir + "/dw.h5", "--model", "holt-winters",
                                 "--horizon", "30m", "--out", dir + "/f.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* column :
       {"MAE", "RMSE", "MAPE", "sMAPE", "/naive", "/seasonal", "pinball", "p10-p90"}) {
    EXPECT_THAT(r.out, HasSubstr(column));
  }
  const std::string csv = ReadFileBytes(dir + "/f.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "timestamp,horizon_s,actual,p10,p50,p90");
  // 4 days at 60 s, the last 30 % scored at the 30 min horizon only: the
  // first target is 30 min after the first origin (day 2.8, 19:12 UTC).
  const std::string first = csv.substr(csv.find('\n') + 1, 26);
  EXPECT_EQ(first, "2024-01-03T19:42:00Z,1800,");
  // An explicit season also drives the seasonal-naive yardstick: its ratio
  // is a number even on a trace too short to detect the season.
  CommandResult seasonal =
      RunMeshtwin({"backtest", "--csv",
                   std::string(MESHTWIN_SOURCE_ROOT) + "/datasets/data/google2019-cpu-7d.csv",
                   "--value-col", "avg_cpu", "--model", "naive", "--season", "1d", "--horizon",
                   "30m", "--out", dir + "/s.csv"});
  ASSERT_EQ(seasonal.exit_code, 0) << seasonal.err;
  EXPECT_THAT(seasonal.out, ::testing::Not(HasSubstr("n/a")));
  // The ratios' intervals: naive against itself is exactly 1 in every resample.
  EXPECT_THAT(seasonal.out, HasSubstr("90 % intervals of the ratios"));
  EXPECT_THAT(seasonal.out, HasSubstr("/naive 1.000-1.000"));
  CommandResult bad = RunMeshtwin(
      {"backtest", "--trace", dir + "/dw.h5", "--model", "prophet", "--out", dir + "/g.csv"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--model"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/g.csv"));
}

}  // namespace
}  // namespace meshtwin

namespace meshtwin {
namespace {

TEST(TrainE2E, TrainsAGruThatBacktestAndSimulateCanUse) {
  const std::string dir = ScratchDir();
  ASSERT_EQ(RunMeshtwin({"trace", "generate", "--preset", "diurnal-web", "--days", "3", "--out",
                         dir + "/dw.h5"})
                .exit_code,
            0);
  CommandResult train =
      RunMeshtwin({"train", "--trace", dir + "/dw.h5", "--arch", "gru", "--horizons", "5m,30m",
                   "--epochs", "2", "--threads", "1", "--out", dir + "/m.pt"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_THAT(train.out, HasSubstr("trained gru"));
  // The model file is evaluated as trained.
  CommandResult bt = RunMeshtwin(
      {"backtest", "--trace", dir + "/dw.h5", "--model", dir + "/m.pt", "--out", dir + "/f.csv"});
  ASSERT_EQ(bt.exit_code, 0) << bt.err;
  EXPECT_THAT(bt.out, HasSubstr("backtest of gru"));
  // A file that is not a model is refused with its name.
  std::ofstream(dir + "/junk.pt") << "PK\x03\x04 not really a zip";
  CommandResult junk = RunMeshtwin({"backtest", "--trace", dir + "/dw.h5", "--model",
                                    dir + "/junk.pt", "--out", dir + "/g.csv"});
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_THAT(junk.err, HasSubstr("junk.pt"));
  // Wrong architecture name.
  EXPECT_EQ(RunMeshtwin({"train", "--trace", dir + "/dw.h5", "--arch", "transformer", "--out",
                         dir + "/t.pt"})
                .exit_code,
            2);
}

TEST(TrainE2E, TheShippedDefaultModelRunsInTheLoop) {
  const std::string out = ScratchDir() + "/r.h5";
  CommandResult r =
      RunMeshtwin({"simulate", "--set", "forecast.model=default", "--set", "forecast.warmup=6h",
                   "--set", "duration=12h", "--out", out, "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  absl::StatusOr<ResultsData> data = ReadResultsFile(out);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->forecasts.model, "gru");
  EXPECT_EQ(data->forecasts.horizons, (std::vector<double>{300, 1800, 7200}));
  EXPECT_DOUBLE_EQ(data->forecasts.time.front(), 6 * 3600);
  EXPECT_DOUBLE_EQ(data->forecasts.time[1] - data->forecasts.time[0], 60);  // the model's step
}

}  // namespace
}  // namespace meshtwin
