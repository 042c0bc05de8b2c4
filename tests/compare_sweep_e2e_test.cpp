// End-to-end: `meshtwin compare` and `meshtwin sweep` (and `sweep merge`)
// through the real binary, on tests/data/sweep-small.yaml (90 simulated
// minutes, a few hundredths of a second per run), checked through what a user
// sees: the JSON on stdout, the exit code, the messages, the files written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "datasets/sweep_file.h"
#include "tests/test_util.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::meshtwin::testing::TestData;
using ::testing::HasSubstr;

const char kTarget[] = "policy.target_utilization";
const char kWindow[] = "policy.scale_down.stabilization_window";

std::string Scenario() { return TestData("sweep-small.yaml"); }

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A forecaster for sweep-small.yaml (predictive needs one): Holt-Winters on
// 1-minute samples, fitted on the first 45 minutes.
std::vector<std::string> WithForecast(std::vector<std::string> args,
                                      const std::string& warmup = "45m") {
  args.insert(args.end(),
              {"--set", "forecast.model=holt-winters", "--set", "forecast.step=1m", "--set",
               "forecast.horizons=[5m, 30m]", "--set", "forecast.warmup=" + warmup});
  return args;
}

// True once `meshtwin simulate --set policy.name=NAME` accepts the policy
// (predictive and oracle arrive with their own work).
bool PolicyAvailable(const std::string& name) {
  const std::string out = ScratchDir() + "/probe.h5";
  return RunMeshtwin(WithForecast({"simulate", Scenario(), "--set", "policy.name=" + name, "-q",
                                   "--out", out}))
             .exit_code == 0;
}

// ---------------------------------------------------------------------------
// compare

TEST(CompareE2E, JsonHasOneObjectPerPolicyAllWithTheSameSeed) {
  const std::string dir = ScratchDir() + "/runs";
  CommandResult r = RunMeshtwin({"compare", Scenario(), "--policies", "hpa,none", "--seed", "11",
                                 "--json", "--jobs", "2", "--out-dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["policy"], "hpa");
  EXPECT_EQ(j[1]["policy"], "none");
  for (const nlohmann::json& o : j) {
    EXPECT_EQ(o["seed"], 11);
    EXPECT_EQ(o["scenario"], "sweep-small");
    for (const char* key : {"node_hours", "slo_violation_minutes", "cost", "requests_dropped",
                            "peak_nodes", "scale_up_events", "scale_down_events"}) {
      EXPECT_TRUE(o.contains(key)) << key;
    }
    // The results of each policy are kept under --out-dir.
    absl::StatusOr<ResultsData> results = ReadResultsFile(o["results_file"].get<std::string>());
    ASSERT_TRUE(results.ok()) << results.status();
    EXPECT_EQ(results->summary.policy, o["policy"].get<std::string>());
    EXPECT_EQ(results->seed, 11u);
  }
  EXPECT_EQ(Listing(dir), (std::vector<std::string>{"hpa.h5", "none.h5"}));
  // The load doubles: the HPA grows the pool, a fixed pool does not.
  EXPECT_GT(j[0]["peak_nodes"].get<int>(), j[1]["peak_nodes"].get<int>());

  // Every key of simulate's own summary comes through, with the same values.
  const std::string direct_out = ScratchDir() + "/direct.h5";
  CommandResult direct = RunMeshtwin({"simulate", Scenario(), "--set", "policy.name=hpa", "--seed",
                                      "11", "--json", "-q", "--out", direct_out});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  nlohmann::json want = nlohmann::json::parse(direct.out);
  nlohmann::json got = j[0];
  for (nlohmann::json* o : {&want, &got}) {
    o->erase("wall_seconds");
    o->erase("results_file");
  }
  EXPECT_EQ(got, want);
}

TEST(CompareE2E, TableShowsEachPolicyAndFiguresRelativeToTheFirst) {
  CommandResult r = RunMeshtwin({"compare", Scenario(), "--policies", "hpa,none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text :
       {"hpa", "none", "node-hours", "SLO-violation minutes", "peak nodes", "scale-up events",
        "migrations", "role switches", "node-hours vs hpa", "SLO-violation min vs hpa"}) {
    EXPECT_THAT(r.out, HasSubstr(text));
  }
}

TEST(CompareE2E, WithoutOutDirNoResultsAreLeftBehind) {
  CommandResult r = RunMeshtwin({"compare", Scenario(), "--policies", "hpa", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_FALSE(j[0].contains("results_file"));  // it went with the temporary directory
}

TEST(CompareE2E, BadInputExitsTwoBeforeAnyRunStarts) {
  const std::string dir = ScratchDir() + "/runs";
  CommandResult bad_set = RunMeshtwin({"compare", Scenario(), "--policies", "hpa,none", "--set",
                                       "policy.no_such_knob=3", "--out-dir", dir});
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_THAT(bad_set.err, HasSubstr("policy.no_such_knob"));
  EXPECT_TRUE(bad_set.out.empty());
  // The output directory is made only once every run's scenario is valid.
  EXPECT_FALSE(fs::exists(dir));

  CommandResult bad_policy =
      RunMeshtwin({"compare", Scenario(), "--policies", "hpa,no-such-policy", "--out-dir", dir});
  EXPECT_EQ(bad_policy.exit_code, 2);
  EXPECT_THAT(bad_policy.err, HasSubstr("no-such-policy"));
  EXPECT_FALSE(fs::exists(dir));

  EXPECT_EQ(RunMeshtwin({"compare", Scenario(), "--policies", "hpa,hpa"}).exit_code, 2);
  EXPECT_EQ(RunMeshtwin({"compare", Scenario(), "--policies", "hpa,,none"}).exit_code, 2);
  EXPECT_EQ(RunMeshtwin({"compare", "/nonexistent/scenario.yaml", "--policies", "hpa"}).exit_code,
            2);
}

TEST(CompareE2E, PredictiveAndOracleAgainstHpa) {
  for (const char* p : {"predictive", "oracle"}) {
    if (!PolicyAvailable(p)) GTEST_SKIP() << "policy " << p << " is not available yet";
  }
  CommandResult r = RunMeshtwin(
      WithForecast({"compare", Scenario(), "--policies", "hpa,predictive,oracle", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  std::set<long long> seeds;
  for (const nlohmann::json& o : j) seeds.insert(o["seed"].get<long long>());
  EXPECT_EQ(seeds.size(), 1u);
  EXPECT_EQ(j[1]["policy"], "predictive");
  EXPECT_EQ(j[2]["policy"], "oracle");
}

TEST(CompareE2E, AFailedRunShowsItsErrorUnderThePolicyNameAndGivesItsExitCode) {
  // simulate refuses an --out that is a directory: the run of `none` fails
  // after the parent has validated everything.
  const std::string dir = ScratchDir() + "/runs";
  fs::create_directories(dir + "/none.h5");
  CommandResult r =
      RunMeshtwin({"compare", Scenario(), "--policies", "hpa,none", "--json", "--out-dir", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("none: meshtwin: error: --out " + dir + "/none.h5"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("hpa: ")));
  EXPECT_TRUE(r.out.empty());
}

// ---------------------------------------------------------------------------
// sweep

struct SweepRun {
  CommandResult result;
  nlohmann::json json;
  SweepData data;
};

SweepRun Sweep(std::vector<std::string> args, const std::string& out) {
  args.insert(args.begin(), {"sweep", Scenario()});
  args.insert(args.end(), {"--out", out, "--json", "--jobs", "2"});
  SweepRun run;
  run.result = RunMeshtwin(args);
  EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
  if (run.result.exit_code != 0) return run;
  run.json = nlohmann::json::parse(run.result.out);
  absl::StatusOr<SweepData> d = ReadSweepFile(out);
  EXPECT_TRUE(d.ok()) << d.status();
  if (d.ok()) run.data = *std::move(d);
  return run;
}

const std::vector<std::string> kGrid12 = {"--param", std::string(kTarget) + "=0.4:0.9:0.1",
                                          "--param", std::string(kWindow) + "=30s,300s"};

double Metric(const SweepData& d, const SweepPoint& p, const std::string& name) {
  const auto it = std::find(d.metric_names.begin(), d.metric_names.end(), name);
  return it == d.metric_names.end()
             ? NAN
             : p.metrics[static_cast<std::size_t>(it - d.metric_names.begin())];
}

TEST(SweepE2E, TwoByTwoGridRunsFourPointsWithTheRightValues) {
  const std::string dir = ScratchDir();
  const std::string out = dir + "/sweep.h5";
  SweepRun run = Sweep({"--param", std::string(kTarget) + "=0.5:0.6:0.1", "--param",
                        std::string(kWindow) + "=60s,300s"},
                       out);
  ASSERT_EQ(run.result.exit_code, 0);
  const SweepData& d = run.data;
  EXPECT_EQ(d.total_points, 4);
  EXPECT_EQ(d.planned_points, 4);
  EXPECT_EQ(d.shard, "0/1");
  EXPECT_EQ(d.scenario_name, "sweep-small");
  ASSERT_EQ(d.params.size(), 2u);
  EXPECT_EQ(d.params[0].key, kTarget);
  EXPECT_EQ(d.params[0].values, (std::vector<std::string>{"0.5", "0.6"}));  // b is included
  EXPECT_EQ(d.params[1].values, (std::vector<std::string>{"60s", "300s"}));
  const std::vector<std::vector<std::string>> want = {
      {"0.5", "60s"}, {"0.5", "300s"}, {"0.6", "60s"}, {"0.6", "300s"}};
  ASSERT_EQ(d.points.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    const SweepPoint& p = d.points[i];
    EXPECT_EQ(p.index, static_cast<int>(i));
    EXPECT_EQ(p.values, want[i]);
    EXPECT_EQ(p.exit_code, 0) << p.error;
    EXPECT_GT(Metric(d, p, "node_hours"), 0);
    // Values are kept as written and also recorded as numbers (durations in s).
    EXPECT_DOUBLE_EQ(p.numeric[0], i < 2 ? 0.5 : 0.6);
    EXPECT_DOUBLE_EQ(p.numeric[1], i % 2 == 0 ? 60 : 300);
    EXPECT_EQ(run.json["points"][i]["params"][kWindow], want[i][1]);
  }
  // A point is exactly the run `simulate --set` gives.
  CommandResult direct =
      RunMeshtwin({"simulate", Scenario(), "--set", std::string(kTarget) + "=0.6", "--set",
                   std::string(kWindow) + "=60s", "--json", "-q", "--out", dir + "/direct.h5"});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  const nlohmann::json s = nlohmann::json::parse(direct.out);
  EXPECT_EQ(run.json["points"][2]["node_hours"], s["node_hours"]);
  EXPECT_EQ(run.json["points"][2]["slo_violation_minutes"], s["slo_violation_minutes"]);
  EXPECT_EQ(Metric(d, d.points[2], "requests_dropped"), s["requests_dropped"].get<double>());
  // Only the sweep file and that one results file: no temporaries.
  EXPECT_EQ(Listing(dir), (std::vector<std::string>{"direct.h5", "sweep.h5"}));
}

// The rows of a sweep without wall_seconds (the one figure that is not a
// function of the run).
nlohmann::json Rows(const SweepData& d) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SweepPoint& p : d.points) {
    nlohmann::json row;
    row["index"] = p.index;
    row["values"] = p.values;
    row["exit_code"] = p.exit_code;
    row["pareto"] = p.pareto;
    for (std::size_t m = 0; m < d.metric_names.size(); ++m) {
      if (d.metric_names[m] != "wall_seconds") row[d.metric_names[m]] = p.metrics[m];
    }
    rows.push_back(row);
  }
  return rows;
}

TEST(SweepE2E, MergedShardsEqualTheUnshardedSweep) {
  const std::string dir = ScratchDir();
  const std::vector<std::string> grid = {"--param", std::string(kTarget) + "=0.5:0.9:0.2",
                                         "--param", std::string(kWindow) + "=30s,300s"};
  SweepRun whole = Sweep(grid, dir + "/whole.h5");
  std::vector<std::string> shard0 = grid, shard1 = grid;
  shard0.insert(shard0.end(), {"--shard", "0/2"});
  shard1.insert(shard1.end(), {"--shard", "1/2"});
  SweepRun a = Sweep(shard0, dir + "/shard-0.h5");
  SweepRun b = Sweep(shard1, dir + "/shard-1.h5");
  ASSERT_EQ(a.data.points.size(), 3u);
  for (const SweepPoint& p : a.data.points) EXPECT_EQ(p.index % 2, 0);
  EXPECT_EQ(b.data.shard, "1/2");

  CommandResult m = RunMeshtwin(
      {"sweep", "merge", "--out", dir + "/all.h5", dir + "/shard-1.h5", dir + "/shard-0.h5"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  absl::StatusOr<SweepData> merged = ReadSweepFile(dir + "/all.h5");
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->shard, "merged");
  EXPECT_EQ(merged->merged_from.size(), 2u);
  EXPECT_TRUE(merged->missing.empty());
  EXPECT_EQ(Rows(*merged), Rows(whole.data));
  EXPECT_THAT(m.out, HasSubstr("Pareto front"));
}

TEST(SweepE2E, MergeOfSomeShardsRecordsTheMissingPoints) {
  const std::string dir = ScratchDir();
  std::vector<std::string> shard1 = kGrid12;
  shard1.insert(shard1.end(), {"--shard", "1/3"});
  Sweep(shard1, dir + "/shard-1.h5");
  CommandResult m = RunMeshtwin({"sweep", "merge", "--out", dir + "/all.h5", dir + "/shard-1.h5"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_THAT(m.out, HasSubstr("8 MISSING"));
  absl::StatusOr<SweepData> merged = ReadSweepFile(dir + "/all.h5");
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->missing, (std::vector<std::int32_t>{0, 2, 3, 5, 6, 8, 9, 11}));
  EXPECT_EQ(merged->points.size(), 4u);
}

TEST(SweepE2E, ParetoFlagsMatchABruteForceCheck) {
  SweepRun run = Sweep(kGrid12, ScratchDir() + "/sweep.h5");
  const SweepData& d = run.data;
  ASSERT_EQ(d.points.size(), 12u);
  std::set<int> flagged, listed;
  for (const nlohmann::json& i : run.json["pareto"]) listed.insert(i.get<int>());
  for (const SweepPoint& p : d.points) {
    ASSERT_EQ(p.exit_code, 0) << p.error;
    const double nh = Metric(d, p, "node_hours"), slo = Metric(d, p, "slo_violation_minutes");
    bool dominated = false;
    for (const SweepPoint& q : d.points) {
      const double qnh = Metric(d, q, "node_hours"), qslo = Metric(d, q, "slo_violation_minutes");
      if (qnh <= nh && qslo <= slo && (qnh < nh || qslo < slo)) dominated = true;
    }
    EXPECT_EQ(p.pareto, !dominated) << "point " << p.index;
    EXPECT_EQ(run.json["points"][static_cast<std::size_t>(p.index)]["pareto"], p.pareto);
    if (p.pareto) flagged.insert(p.index);
  }
  EXPECT_EQ(flagged, listed);
  // The knobs matter on this scenario: a real trade-off, not one winner.
  EXPECT_GE(flagged.size(), 2u);
}

TEST(SweepE2E, RandomSampleIsDeterministicForASeed) {
  const std::string dir = ScratchDir();
  std::vector<std::string> args = kGrid12;
  args.insert(args.end(), {"--random", "4", "--seed", "3"});
  SweepRun a = Sweep(args, dir + "/a.h5");
  SweepRun b = Sweep(args, dir + "/b.h5");
  args.back() = "4";
  SweepRun c = Sweep(args, dir + "/c.h5");
  auto indices = [](const SweepData& d) {
    std::vector<int> v;
    for (const SweepPoint& p : d.points) v.push_back(p.index);
    return v;
  };
  ASSERT_EQ(a.data.points.size(), 4u);
  EXPECT_EQ(indices(a.data), indices(b.data));
  EXPECT_NE(indices(a.data), indices(c.data));
  const std::vector<int> drawn = indices(a.data);
  EXPECT_EQ(std::set<int>(drawn.begin(), drawn.end()).size(), 4u);
  EXPECT_EQ(a.data.total_points, 12);
  EXPECT_EQ(a.data.planned_points, 4);
  for (const SweepPoint& p : a.data.points) {
    // Index i is target value i / 2 and window value i % 2.
    EXPECT_EQ(p.values[0], a.data.params[0].values[static_cast<std::size_t>(p.index / 2)]);
    EXPECT_EQ(p.values[1], a.data.params[1].values[static_cast<std::size_t>(p.index % 2)]);
  }
  // Shards of a random sweep split the same sample.
  std::vector<std::string> shard = args;
  shard.back() = "3";
  shard.insert(shard.end(), {"--shard", "0/2"});
  SweepRun s0 = Sweep(shard, dir + "/s0.h5");
  for (const SweepPoint& p : s0.data.points) {
    EXPECT_EQ(p.index % 2, 0);
    EXPECT_THAT(drawn, ::testing::Contains(p.index));
  }
}

TEST(SweepE2E, FailedRunsAreRecordedAndLeftOutOfTheFront) {
  // A 15-minute warm-up is too short to fit Holt-Winters for a 30-minute
  // horizon: the scenario loads, but the run stops with an error.
  const std::string out = ScratchDir() + "/sweep.h5";
  CommandResult r = RunMeshtwin(WithForecast(
      {"sweep", Scenario(), "--param", "forecast.warmup=15m,45m", "--out", out, "--json"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("1 of 2 runs failed"));
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["pareto"], nlohmann::json::array({1}));
  EXPECT_TRUE(j["points"][0]["node_hours"].is_null());
  absl::StatusOr<SweepData> d = ReadSweepFile(out);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->points.size(), 2u);
  const SweepPoint& failed = d->points[0];
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_THAT(failed.error, HasSubstr("forecast.warmup"));
  EXPECT_FALSE(failed.pareto);
  EXPECT_TRUE(std::isnan(Metric(*d, failed, "node_hours")));
  EXPECT_EQ(d->points[1].exit_code, 0);
  EXPECT_TRUE(d->points[1].pareto);
}

TEST(SweepE2E, BadParamExitsTwoNamingItAndWritesNothing) {
  const std::string dir = ScratchDir();
  const std::string out = dir + "/sweep.h5";
  const std::string t = kTarget;
  for (const std::string& param :
       {t, t + "=", t + "=0.4:0.8", t + "=0.8:0.4:0.1", t + "=0.4:0.8:0", t + "=0.4:0.8:-0.1",
        t + "=0.5,,0.6", t + "=0.5,0.5", t + "=1s:2m:1s", t + "=0.5,1.5", t + "=0.2:1.4:0.4",
        std::string("policy.no_such_knob=1,2")}) {
    CommandResult r = RunMeshtwin({"sweep", Scenario(), "--param", param, "--out", out});
    EXPECT_EQ(r.exit_code, 2) << param;
    EXPECT_THAT(r.err, HasSubstr("--param " + param)) << param;
    EXPECT_TRUE(r.out.empty()) << param;
  }
  // A bad combination names the point.
  // A bad combination of values that are each fine alone names the point.
  CommandResult combo = RunMeshtwin({"sweep", Scenario(), "--param", "node_types.web.min=1,3",
                                     "--param", "node_types.web.initial=4,2", "--out", out});
  EXPECT_EQ(combo.exit_code, 2);
  EXPECT_THAT(combo.err,
              HasSubstr("--param: point 3 (node_types.web.min=3, node_types.web.initial=2)"));

  EXPECT_EQ(RunMeshtwin({"sweep", Scenario(), "--out", out}).exit_code, 2);  // no --param
  EXPECT_EQ(
      RunMeshtwin({"sweep", Scenario(), "--param", t + "=0.5", "--shard", "2/2", "--out", out})
          .exit_code,
      2);
  EXPECT_EQ(RunMeshtwin({"sweep", Scenario(), "--param", t + "=0.5"}).exit_code, 2);  // no --out
  EXPECT_TRUE(Listing(dir).empty());
}

TEST(SweepE2E, MergingShardsOfDifferentSweepsFails) {
  const std::string dir = ScratchDir();
  const std::string target = std::string(kTarget) + "=0.5,0.6";
  std::vector<std::string> a = {"--param", target, "--param", std::string(kWindow) + "=30s,300s"};
  std::vector<std::string> b = {"--param", target, "--param", std::string(kWindow) + "=30s,600s"};
  a.insert(a.end(), {"--shard", "0/2"});
  b.insert(b.end(), {"--shard", "1/2"});
  Sweep(a, dir + "/a.h5");
  Sweep(b, dir + "/b.h5");
  CommandResult r =
      RunMeshtwin({"sweep", "merge", "--out", dir + "/all.h5", dir + "/a.h5", dir + "/b.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(dir + "/b.h5: not a shard of the same sweep"));
  EXPECT_THAT(r.err, HasSubstr(kWindow));

  // The same points twice (a copied shard file).
  fs::copy_file(dir + "/a.h5", dir + "/a-copy.h5");
  CommandResult dup =
      RunMeshtwin({"sweep", "merge", "--out", dir + "/all.h5", dir + "/a.h5", dir + "/a-copy.h5"});
  EXPECT_EQ(dup.exit_code, 2);
  EXPECT_THAT(dup.err, HasSubstr("a-copy.h5: point 0 is also in"));

  // Not a sweep file at all.
  CommandResult other = RunMeshtwin(
      {"sweep", "merge", "--out", dir + "/all.h5", dir + "/a.h5", TestData("sweep-small.yaml")});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_THAT(other.err, HasSubstr("sweep-small.yaml"));
  EXPECT_FALSE(fs::exists(dir + "/all.h5"));
}

}  // namespace
}  // namespace meshtwin
