// End-to-end: `meshtwin detect` on a CSV (scores written atomically, bad input
// refused with one clear message and no output) and `meshtwin detect eval`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::ReadFileBytes;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::testing::HasSubstr;

// Three days of a 1-minute latency-like series with a daily cycle; from
// point `jump` on, the values are tripled.
std::string WriteSeries(const std::string& dir, std::size_t jump) {
  const std::string path = dir + "/latency.csv";
  std::ofstream out(path);
  out << "timestamp,latency_ms\n";
  for (std::size_t i = 0; i < 3 * 1440; ++i) {
    const double t = 1704067200.0 + 60.0 * static_cast<double>(i);
    double v = 100 + 30 * std::cos(2 * M_PI * static_cast<double>(i) / 1440) +
               2 * std::sin(static_cast<double>(i) * 1.7) + std::cos(static_cast<double>(i) * 0.37);
    if (i >= jump) v *= 3;
    out << static_cast<long long>(t) << "," << v << "\n";
  }
  return path;
}

TEST(DetectE2E, WritesScoresAndFlagsAGrayFailure) {
  const std::string dir = ScratchDir();
  const std::size_t jump = 2 * 1440 + 600;
  const std::string csv = WriteSeries(dir, jump);
  const std::string out = dir + "/scores.csv";
  CommandResult r =
      RunMeshtwin({"detect", "--csv", csv, "--value-col", "latency_ms", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("robust-z on 4320 points"));
  EXPECT_THAT(r.out, HasSubstr("alarm episodes"));
  std::istringstream in(ReadFileBytes(out));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "timestamp,value,score,is_anomaly");
  std::size_t rows = 0, first_flag = 0;
  bool flagged = false;
  while (std::getline(in, line)) {
    const std::size_t c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.rfind(',');
    const double score = std::stod(line.substr(c2 + 1, c3 - c2 - 1));
    EXPECT_GE(score, 0);
    EXPECT_LE(score, 1);
    if (!flagged && line.substr(c3 + 1) == "1") {
      flagged = true;
      first_flag = rows;
    }
    ++rows;
  }
  EXPECT_EQ(rows, 3u * 1440);
  ASSERT_TRUE(flagged);
  EXPECT_GE(first_flag, jump);
  EXPECT_LE(first_flag, jump + 2);
}

TEST(DetectE2E, BadCsvNamesTheLineAndWritesNothing) {
  const std::string dir = ScratchDir();
  const std::string csv = dir + "/bad.csv";
  { std::ofstream(csv) << "timestamp,value\n1704067200,1\n1704067260,oops\n"; }
  const std::string out = dir + "/scores.csv";
  CommandResult r = RunMeshtwin({"detect", "--csv", csv, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.csv:3"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(DetectE2E, BadFlagsAreNamed) {
  const std::string dir = ScratchDir();
  const std::string csv = WriteSeries(dir, 1u << 30);
  const std::string out = dir + "/scores.csv";
  struct Case {
    std::vector<std::string> extra;
    std::string names;
  };
  for (const Case& c : std::vector<Case>{
           {{"--detector", "isolation-forest"}, "--detector"},
           {{"--confirm", "5"}, "--confirm"},
           {{"--season", "fortnight"}, "--season"},
           {{"--threshold", "-2"}, "--threshold"},
           {{"--detector", "forecast-residual", "--forecaster", "gru"}, "--forecaster"}}) {
    std::vector<std::string> args = {"detect", "--csv", csv, "--out", out};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    CommandResult r = RunMeshtwin(args);
    EXPECT_EQ(r.exit_code, 2) << c.names;
    EXPECT_THAT(r.err, HasSubstr(c.names));
    EXPECT_FALSE(std::filesystem::exists(out));
  }
  CommandResult both = RunMeshtwin({"detect", "--out", out});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--csv"));
  CommandResult dir_missing = RunMeshtwin({"detect", "--csv", csv, "--out", "/nonexistent/s.csv"});
  EXPECT_EQ(dir_missing.exit_code, 2);
  EXPECT_THAT(dir_missing.err, HasSubstr("--out"));
}

TEST(DetectE2E, EvalPrintsTheQualityTableAsJson) {
  CommandResult r = RunMeshtwin({"detect", "eval", "--detector", "robust-z", "--seeds", "1",
                                 "--days", "21", "--count", "6", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 6u);  // clean + five kinds
  EXPECT_EQ(j[0]["kind"], "clean");
  for (const auto& row : j) {
    EXPECT_EQ(row["detector"], "robust-z");
    EXPECT_LT(row["false_alarms_per_10k"].get<double>(), 1.0) << row.dump();
  }
  EXPECT_EQ(j[3]["kind"], "slowdown");
  EXPECT_GE(j[3]["recall"].get<double>(), 0.9);
}

}  // namespace
}  // namespace meshtwin
