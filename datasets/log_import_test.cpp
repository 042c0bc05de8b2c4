#include "datasets/log_import.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr double kNoon = 1709294400;  // 2024-03-01T12:00:00Z

std::string Message(const absl::Status& s) { return ErrorText(s); }

const TraceChannel* Channel(const Trace& t, const std::string& name) {
  for (const TraceChannel& c : t.channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Four minutes of requests, the last one first in the file. By hand:
//   12:00  latencies 10 40 20 30, errors: 503 and level ERROR      -> 4 req, 2 err
//   12:01  latencies 100 200 (+1 without), errors: "500" and fatal -> 3 req, 2 err
//   12:02  nothing
//   12:03  latency 7, level critical                               -> 1 req, 1 err
// (Line 4 is blank; line 5 ends in CRLF, see Log() below.)
constexpr const char* kLogLines =
    R"({"timestamp":"2024-03-01T12:03:10Z","latency_ms":7,"level":"critical"}
{"timestamp":"2024-03-01T12:00:05Z","latency_ms":10,"status":200,"level":"info","route":"/a"}
{"timestamp":"2024-03-01T12:00:20Z","latency_ms":40,"status":503}

{"timestamp":"2024-03-01T12:00:30Z","latency_ms":20,"status":"200","level":"ERROR"}
{"timestamp":"2024-03-01T12:00:59.500Z","latency_ms":30.0,"status":200}
{"timestamp":"2024-03-01T12:01:00Z","latency_ms":100,"level":"warn"}
{"timestamp":"2024-03-01T12:01:30Z","status":"500","latency_ms":null}
{"timestamp":"2024-03-01T12:01:45Z","latency_ms":200,"level":"fatal"}
)";

// kLogLines with one CRLF line ending, as a log copied from Windows might have.
std::string Log() {
  std::string log = kLogLines;
  log.insert(log.find("\n{\"timestamp\":\"2024-03-01T12:00:59"), "\r");
  return log;
}

TEST(ImportLogsText, CountsRatesAndPercentilesPerMinute) {
  LogImportReport report;
  absl::StatusOr<Trace> t = ImportLogsText(Log(), "app.jsonl", LogImportOptions(), &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(report.lines, 8u);
  EXPECT_EQ(report.bad_lines, 0u);
  EXPECT_TRUE(report.warnings.empty());

  // The axis starts at the earliest request floored to the minute.
  EXPECT_DOUBLE_EQ(t->epoch, kNoon);
  EXPECT_DOUBLE_EQ(t->start, 0);
  EXPECT_DOUBLE_EQ(t->step, 60);
  EXPECT_EQ(t->unit, "requests/s");
  EXPECT_EQ(t->provenance, "logs:app.jsonl step=60");
  ASSERT_EQ(t->demand.size(), 4u);
  EXPECT_DOUBLE_EQ(t->demand[0], 4.0 / 60);
  EXPECT_DOUBLE_EQ(t->demand[1], 3.0 / 60);
  EXPECT_DOUBLE_EQ(t->demand[2], 0);
  EXPECT_DOUBLE_EQ(t->demand[3], 1.0 / 60);

  ASSERT_EQ(t->channels.size(), 4u);
  const TraceChannel* errors = Channel(*t, "error_rate");
  const TraceChannel* p50 = Channel(*t, "latency_p50_ms");
  const TraceChannel* p95 = Channel(*t, "latency_p95_ms");
  const TraceChannel* p99 = Channel(*t, "latency_p99_ms");
  ASSERT_TRUE(errors && p50 && p95 && p99);
  for (const TraceChannel* c : {errors, p50, p95, p99}) {
    EXPECT_EQ(c->kind, "series");
    EXPECT_EQ(c->values.size(), 4u);
  }
  EXPECT_EQ(errors->unit, "requests/s");
  EXPECT_EQ(p50->unit, "ms");
  EXPECT_THAT(errors->values, ::testing::ElementsAre(2.0 / 60, 2.0 / 60, 0.0, 1.0 / 60));

  // Minute 0, sorted 10 20 30 40: h = 3p; p50 -> 20 + 0.5*10, p95 -> 30 + 0.85*10,
  // p99 -> 30 + 0.97*10.
  EXPECT_DOUBLE_EQ(p50->values[0], 25);
  EXPECT_DOUBLE_EQ(p95->values[0], 38.5);
  EXPECT_DOUBLE_EQ(p99->values[0], 39.7);
  // Minute 1, 100 200 (the third request logged no latency): h = p.
  EXPECT_DOUBLE_EQ(p50->values[1], 150);
  EXPECT_DOUBLE_EQ(p95->values[1], 195);
  EXPECT_DOUBLE_EQ(p99->values[1], 199);
  // Minute 2 had no requests.
  EXPECT_TRUE(std::isnan(p50->values[2]));
  EXPECT_TRUE(std::isnan(p95->values[2]));
  EXPECT_TRUE(std::isnan(p99->values[2]));
  // Minute 3, a single latency.
  EXPECT_DOUBLE_EQ(p50->values[3], 7);
  EXPECT_DOUBLE_EQ(p99->values[3], 7);
}

TEST(ImportLogsText, OtherFieldNamesStepsAndUnixMilliseconds) {
  LogImportOptions o;
  o.step = 15;
  o.time_field = "ts";
  o.latency_field = "dur";
  o.status_field = "code";
  o.level_field = "severity";
  // pino writes levels as numbers (50 is error); "status" is not the status field here.
  const std::string log = R"({"ts":1709294407000,"dur":1,"code":502}
{"ts":1709294414999,"dur":3,"severity":50}
{"ts":1709294415000,"dur":5,"severity":30,"status":500}
)";
  LogImportReport report;
  absl::StatusOr<Trace> t = ImportLogsText(log, "svc.log", o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_DOUBLE_EQ(t->epoch, kNoon);
  EXPECT_EQ(t->provenance, "logs:svc.log step=15");
  EXPECT_THAT(t->demand, ::testing::ElementsAre(2.0 / 15, 1.0 / 15));
  EXPECT_THAT(Channel(*t, "error_rate")->values, ::testing::ElementsAre(2.0 / 15, 0.0));
  EXPECT_THAT(Channel(*t, "latency_p50_ms")->values, ::testing::ElementsAre(2.0, 5.0));

  // A null report pointer is fine.
  EXPECT_TRUE(ImportLogsText(log, "svc.log", o, nullptr).ok());
}

// Lines 2 to 8 are broken, each in its own way.
constexpr const char* kBrokenLog = R"({"timestamp":"2024-03-01T12:00:00Z","latency_ms":10}
not json at all
[1, 2]
{"latency_ms":5}
{"timestamp":"yesterday"}
{"timestamp":"2024-03-01T12:00:10Z","latency_ms":-3}
{"timestamp":"2024-03-01T12:00:20Z","latency_ms":"fast"}
{"timestamp":"2024-03-01T12:00:30Z","status":"teapot"}
{"timestamp":"2024-03-01T12:00:40Z","latency_ms":20}
)";

TEST(ImportLogsText, FailPolicyNamesTheFirstBrokenLine) {
  LogImportOptions o;
  o.bad_lines = BadLinePolicy::kFail;
  absl::StatusOr<Trace> t = ImportLogsText(kBrokenLog, "app.jsonl", o, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(t.status()),
            "app.jsonl:2: expected a JSON object, got invalid JSON 'not json at all'");
}

TEST(ImportLogsText, SkipPolicyCountsBrokenLines) {
  LogImportOptions o;
  o.bad_lines = BadLinePolicy::kSkip;
  LogImportReport report;
  absl::StatusOr<Trace> t = ImportLogsText(kBrokenLog, "app.jsonl", o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(report.lines, 9u);
  EXPECT_EQ(report.bad_lines, 7u);
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_THAT(t->demand, ::testing::ElementsAre(2.0 / 60));
  EXPECT_DOUBLE_EQ(Channel(*t, "latency_p50_ms")->values[0], 15);
}

TEST(ImportLogsText, ReportPolicyWarnsWithFileAndLine) {
  LogImportReport report;
  absl::StatusOr<Trace> t = ImportLogsText(kBrokenLog, "app.jsonl", LogImportOptions(), &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(report.bad_lines, 7u);
  EXPECT_THAT(
      report.warnings,
      ::testing::ElementsAre(
          "app.jsonl:2: expected a JSON object, got invalid JSON 'not json at all'",
          "app.jsonl:3: expected a JSON object, got an array",
          "app.jsonl:4: timestamp: expected a timestamp, got no \"timestamp\" key",
          "app.jsonl:5: timestamp: expected an ISO-8601 timestamp such as 2024-03-01T12:00:00Z "
          "(date), got 'yesterday'",
          "app.jsonl:6: latency_ms: expected a non-negative number of milliseconds, got -3",
          "app.jsonl:7: latency_ms: expected a non-negative number of milliseconds, got \"fast\"",
          "app.jsonl:8: status: expected an HTTP status code, got \"teapot\""));
}

TEST(ImportLogsText, ReportKeepsTheFirstTwentyWarnings) {
  std::string log = "{\"timestamp\":1709294400}\n";
  for (int i = 0; i < 25; ++i) log += "garbage\n";
  LogImportReport report;
  ASSERT_TRUE(ImportLogsText(log, "big.jsonl", LogImportOptions(), &report).ok());
  EXPECT_EQ(report.bad_lines, 25u);
  ASSERT_EQ(report.warnings.size(), 21u);
  EXPECT_EQ(report.warnings[0], "big.jsonl:2: expected a JSON object, got invalid JSON 'garbage'");
  EXPECT_EQ(report.warnings[19],
            "big.jsonl:21: expected a JSON object, got invalid JSON 'garbage'");
  EXPECT_EQ(report.warnings[20], "... 5 more broken lines");
}

TEST(ImportLogsText, NoValidLineIsAnError) {
  LogImportOptions o;
  o.bad_lines = BadLinePolicy::kSkip;
  EXPECT_EQ(Message(ImportLogsText("oops\n{}\n", "a.jsonl", o, nullptr).status()),
            "a.jsonl: expected at least one valid log line, got 2 broken ones; the first: "
            "a.jsonl:1: expected a JSON object, got invalid JSON 'oops'");
  EXPECT_EQ(Message(ImportLogsText("", "a.jsonl", o, nullptr).status()),
            "a.jsonl: expected JSON lines of log records, got an empty file");
  EXPECT_EQ(Message(ImportLogsText("\n \n", "a.jsonl", o, nullptr).status()),
            "a.jsonl: expected JSON lines of log records, got only blank lines");
}

TEST(ImportLogsText, RejectsBadOptionsAndAbsurdSpans) {
  LogImportOptions o;
  o.step = 0;
  EXPECT_EQ(Message(ImportLogsText(Log(), "a.jsonl", o, nullptr).status()),
            "step: expected a positive number of seconds, got 0");
  o.step = 1;
  const std::string stray = R"({"timestamp":"1970-01-01T00:00:00Z"}
{"timestamp":"2024-03-01T12:00:00Z"}
)";
  EXPECT_THAT(Message(ImportLogsText(stray, "a.jsonl", o, nullptr).status()),
              HasSubstr("a.jsonl: expected the requests to span at most 10000000 steps of 1 s, got "
                        "1970-01-01T00:00:00Z to 2024-03-01T12:00:00Z"));
}

TEST(ImportLogsText, HundredThousandLinesQuickly) {
  std::string log;
  constexpr int kLines = 100000;
  char line[160];
  for (int i = 0; i < kLines; ++i) {
    // One request every 36 ms for an hour; every 10th a 503.
    std::snprintf(
        line, sizeof line,
        R"({"timestamp":"%s","level":"info","latency_ms":%d,"status":%d,"route":"/api/v1/items"})"
        "\n",
        FormatIso8601(kNoon + i * 0.036).c_str(), i % 100, i % 10 == 0 ? 503 : 200);
    log += line;
  }
  const auto begin = std::chrono::steady_clock::now();
  absl::StatusOr<Trace> t = ImportLogsText(log, "load.jsonl", LogImportOptions(), nullptr);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->demand.size(), 60u);
  double total = 0;
  for (double d : t->demand) total += d * 60;
  EXPECT_DOUBLE_EQ(total, kLines);
  EXPECT_NEAR(t->demand[0], 1 / 0.036, 0.02);
  RecordProperty("seconds", std::to_string(seconds));
}

TEST(ImportLogsFile, ReadsAFileAndReportsAMissingOne) {
  const fs::path path = test_util::TempPath("log_import_test", ".jsonl");
  test_util::WriteBytes(path.string(), Log());
  LogImportReport report;
  absl::StatusOr<Trace> t = ImportLogsFile(path.string(), LogImportOptions(), &report);
  fs::remove(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->provenance, "logs:" + path.string() + " step=60");
  EXPECT_EQ(t->demand.size(), 4u);

  absl::StatusOr<Trace> missing = ImportLogsFile(path.string(), LogImportOptions(), &report);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(LogBadLinePolicy, ParsesTheThreeNames) {
  EXPECT_EQ(*ParseBadLinePolicy("fail"), BadLinePolicy::kFail);
  EXPECT_EQ(*ParseBadLinePolicy("skip"), BadLinePolicy::kSkip);
  EXPECT_EQ(*ParseBadLinePolicy("report"), BadLinePolicy::kReport);
  EXPECT_EQ(Message(ParseBadLinePolicy("ignore").status()),
            "expected a bad-line policy fail, skip or report, got 'ignore'");
}

}  // namespace
}  // namespace meshtwin
