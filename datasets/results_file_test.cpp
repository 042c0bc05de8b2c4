#include "datasets/results_file.h"

#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using test_util::EditFile;
using test_util::Msg;
using test_util::ReadBytes;
using test_util::WriteBytes;
using ::testing::HasSubstr;

class ResultsFileTest : public test_util::TempDirTest {
 protected:
  ResultsFileTest() : TempDirTest("results_file_test") {}
};

ResultsData Filled(std::size_t ticks = 100) {
  ResultsData d;
  d.scenario_name = "diurnal-3types";
  d.scenario_text = "name: diurnal-3types\nnode_types:\n  - name: small\n  - name: large\n";
  d.overrides = "policy.target=0.6\nseed=7";
  d.policy = "hpa";
  d.seed = 0xFEDCBA9876543210ULL;  // above INT64_MAX: must survive as unsigned
  d.control_interval = 15;
  d.trace_epoch = 1704067200;
  d.node_types = {"small", "medium", "large-gpu"};
  d.roles = {"web", "batch"};
  TickSeries& t = d.ticks;
  for (std::size_t i = 0; i < ticks; ++i) {
    const double x = static_cast<double>(i);
    t.time.push_back(15 * x);
    t.demand.push_back(1000 + 0.5 * x);
    t.arrived.push_back(15000 + x);
    t.capacity.push_back(1200 + x / 3);
    t.served.push_back(14900 + x);
    t.dropped.push_back(i % 7 == 0 ? 10.25 : 0);
    t.queued.push_back(x / 10);
    t.utilization.push_back(0.5 + 0.001 * x);
    t.latency.push_back(0.1 + 1e-4 * x);
    t.slo_violated.push_back(i % 5 == 0 ? 1 : 0);
    t.nodes_ready.push_back(static_cast<std::int32_t>(i % 11));
    t.nodes_booting.push_back(static_cast<std::int32_t>(i % 3));
    t.nodes_draining.push_back(static_cast<std::int32_t>(i % 2));
    for (std::int32_t k = 0; k < 3; ++k) {
      t.nodes_by_type.push_back(static_cast<std::int32_t>(i) * 10 + k);
    }
    t.nodes_switching.push_back(static_cast<std::int32_t>(i % 4));
    t.migrating.push_back(i % 6 == 0 ? 0.125 * x : 0);
    t.lost.push_back(i % 9 == 0 ? 0.5 * x : 0);
    t.nodes_failed.push_back(static_cast<std::int32_t>(i % 3));
    // Columns critical, standard, best_effort: different in every cell.
    for (int c = 0; c < kNumClasses; ++c) {
      t.served_by_class.push_back(1000 * (c + 1) + x);
      t.dropped_by_class.push_back(c == 2 ? 0.5 * x : 0.01 * c);
      t.throttled_by_class.push_back(c == 2 ? 0.25 * x : 0);
      t.queued_by_class.push_back(x / 10 + c);
    }
    // Columns web, batch.
    t.demand_by_role.push_back(700 + 0.25 * x);
    t.demand_by_role.push_back(300 + 0.25 * x);
    t.utilization_by_role.push_back(0.4 + 0.002 * x);
    t.utilization_by_role.push_back(0.9 - 0.003 * x);
    t.nodes_by_role.push_back(static_cast<std::int32_t>(i % 7));
    t.nodes_by_role.push_back(static_cast<std::int32_t>(i % 5) + 1);
  }
  d.decisions.push_back({30, "hpa", "small", "scale_out", 2, 3, 5, 0.91, "cpu 91% > target 60%"});
  d.decisions.push_back({45, "hpa", "large-gpu", "scale_in", 1, 2, 1, 0.2, ""});
  d.decisions.push_back(
      {60, "hpa", "medium", "scale_out", 4, 0, 4, 1.5, "démarrage à froid — naïve UTF-8 ✓"});
  d.decisions.push_back({75, "roles", "small", "change_role", 1, 2, 2, 0.8, "node 3 web -> batch"});
  d.decisions.push_back({90, "shift", "small", "migrate", 1, 2, 2, 42.5, "node 3 -> node 5"});
  d.decisions.push_back({90, "admission", "", "set_admission", 0, 0, 0, 0, "best_effort 50/s"});
  Event instant;
  instant.start = 100;
  instant.announced = 50;
  instant.source = "scenario";
  instant.category = "news";
  instant.magnitude = 1.5;
  instant.text = "an instant event";  // end stays NaN
  Event spike;
  spike.start = 500;
  spike.end = 9000;
  spike.announced = 500;
  spike.source = "synthetic";
  spike.category = "launch";
  spike.magnitude = 3;
  d.events = {instant, spike};
  RunSummary& s = d.summary;
  s.scenario = "diurnal-3types";
  s.policy = "hpa";
  s.seed = d.seed;
  s.duration = 86400;
  s.requests_total = 8.64e7;
  s.requests_served = 8.6e7;
  s.requests_dropped = 3.9e5;
  s.requests_queued_at_end = 12.5;
  s.slo_violation_minutes = 37;
  s.node_hours = 123.25;
  s.cost = 45.5;
  s.peak_nodes = 21;
  s.scale_up_events = 14;
  s.scale_down_events = 9;
  s.mean_utilization = 0.62;
  s.mean_latency_s = 0.18;
  s.ticks = static_cast<int>(ticks);
  s.dropped_by_class = {1.5, 3.8e5, 9.5e3};
  s.throttled_by_class = {0, 0.25, 7.25e3};
  s.migrations = 6;
  s.requests_migrated = 1234.5;
  s.role_switches = 3;
  return d;
}

void ExpectSameDouble(double a, double b, const char* what) {
  if (std::isnan(a)) {
    EXPECT_TRUE(std::isnan(b)) << what;
  } else {
    EXPECT_EQ(a, b) << what;
  }
}

void ExpectEqual(const ResultsData& a, const ResultsData& b) {
  EXPECT_EQ(a.scenario_name, b.scenario_name);
  EXPECT_EQ(a.scenario_text, b.scenario_text);
  EXPECT_EQ(a.overrides, b.overrides);
  EXPECT_EQ(a.policy, b.policy);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.control_interval, b.control_interval);
  EXPECT_EQ(a.trace_epoch, b.trace_epoch);
  EXPECT_EQ(a.node_types, b.node_types);
  EXPECT_EQ(a.ticks.time, b.ticks.time);
  EXPECT_EQ(a.ticks.demand, b.ticks.demand);
  EXPECT_EQ(a.ticks.arrived, b.ticks.arrived);
  EXPECT_EQ(a.ticks.capacity, b.ticks.capacity);
  EXPECT_EQ(a.ticks.served, b.ticks.served);
  EXPECT_EQ(a.ticks.dropped, b.ticks.dropped);
  EXPECT_EQ(a.ticks.queued, b.ticks.queued);
  EXPECT_EQ(a.ticks.utilization, b.ticks.utilization);
  EXPECT_EQ(a.ticks.latency, b.ticks.latency);
  EXPECT_EQ(a.ticks.slo_violated, b.ticks.slo_violated);
  EXPECT_EQ(a.ticks.nodes_ready, b.ticks.nodes_ready);
  EXPECT_EQ(a.ticks.nodes_booting, b.ticks.nodes_booting);
  EXPECT_EQ(a.ticks.nodes_draining, b.ticks.nodes_draining);
  EXPECT_EQ(a.ticks.nodes_by_type, b.ticks.nodes_by_type);
  EXPECT_EQ(a.roles, b.roles);
  EXPECT_EQ(a.ticks.nodes_switching, b.ticks.nodes_switching);
  EXPECT_EQ(a.ticks.migrating, b.ticks.migrating);
  EXPECT_EQ(a.ticks.lost, b.ticks.lost);
  EXPECT_EQ(a.ticks.nodes_failed, b.ticks.nodes_failed);
  EXPECT_EQ(a.ticks.served_by_class, b.ticks.served_by_class);
  EXPECT_EQ(a.ticks.dropped_by_class, b.ticks.dropped_by_class);
  EXPECT_EQ(a.ticks.throttled_by_class, b.ticks.throttled_by_class);
  EXPECT_EQ(a.ticks.queued_by_class, b.ticks.queued_by_class);
  EXPECT_EQ(a.ticks.demand_by_role, b.ticks.demand_by_role);
  EXPECT_EQ(a.ticks.utilization_by_role, b.ticks.utilization_by_role);
  EXPECT_EQ(a.ticks.nodes_by_role, b.ticks.nodes_by_role);
  ASSERT_EQ(a.decisions.size(), b.decisions.size());
  for (std::size_t i = 0; i < a.decisions.size(); ++i) {
    const DecisionRecord& x = a.decisions[i];
    const DecisionRecord& y = b.decisions[i];
    EXPECT_EQ(x.time, y.time) << i;
    EXPECT_EQ(x.policy, y.policy) << i;
    EXPECT_EQ(x.node_type, y.node_type) << i;
    EXPECT_EQ(x.action, y.action) << i;
    EXPECT_EQ(x.count, y.count) << i;
    EXPECT_EQ(x.replicas_before, y.replicas_before) << i;
    EXPECT_EQ(x.replicas_after, y.replicas_after) << i;
    EXPECT_EQ(x.metric, y.metric) << i;
    EXPECT_EQ(x.reason, y.reason) << i;
  }
  ASSERT_EQ(a.events.size(), b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const Event& x = a.events[i];
    const Event& y = b.events[i];
    ExpectSameDouble(x.start, y.start, "start");
    ExpectSameDouble(x.end, y.end, "end");
    ExpectSameDouble(x.announced, y.announced, "announced");
    ExpectSameDouble(x.magnitude, y.magnitude, "magnitude");
    EXPECT_EQ(x.source, y.source) << i;
    EXPECT_EQ(x.category, y.category) << i;
    EXPECT_EQ(x.text, y.text) << i;
  }
  const RunSummary& s = a.summary;
  const RunSummary& t = b.summary;
  EXPECT_EQ(s.scenario, t.scenario);
  EXPECT_EQ(s.policy, t.policy);
  EXPECT_EQ(s.seed, t.seed);
  EXPECT_EQ(s.duration, t.duration);
  EXPECT_EQ(s.requests_total, t.requests_total);
  EXPECT_EQ(s.requests_served, t.requests_served);
  EXPECT_EQ(s.requests_dropped, t.requests_dropped);
  EXPECT_EQ(s.requests_queued_at_end, t.requests_queued_at_end);
  EXPECT_EQ(s.slo_violation_minutes, t.slo_violation_minutes);
  EXPECT_EQ(s.node_hours, t.node_hours);
  EXPECT_EQ(s.cost, t.cost);
  EXPECT_EQ(s.peak_nodes, t.peak_nodes);
  EXPECT_EQ(s.scale_up_events, t.scale_up_events);
  EXPECT_EQ(s.scale_down_events, t.scale_down_events);
  EXPECT_EQ(s.mean_utilization, t.mean_utilization);
  EXPECT_EQ(s.mean_latency_s, t.mean_latency_s);
  EXPECT_EQ(s.ticks, t.ticks);
  EXPECT_EQ(s.dropped_by_class, t.dropped_by_class);
  EXPECT_EQ(s.throttled_by_class, t.throttled_by_class);
  EXPECT_EQ(s.migrations, t.migrations);
  EXPECT_EQ(s.requests_migrated, t.requests_migrated);
  EXPECT_EQ(s.role_switches, t.role_switches);
}

// A string-list attribute as written by the writer (fixed-length strings).
std::vector<std::string> ReadStringListAttribute(hid_t obj, const char* name) {
  std::vector<std::string> out;
  const hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0) return out;
  const hid_t type = H5Aget_type(attr);
  const hid_t space = H5Aget_space(attr);
  const std::size_t width = H5Tget_size(type);
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
  std::string buf(n * width, '\0');
  if (n > 0) H5Aread(attr, type, buf.data());
  for (std::size_t i = 0; i < n; ++i) {
    std::string v = buf.substr(i * width, width);
    v.erase(v.find_last_not_of('\0') + 1);
    out.push_back(v);
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(attr);
  return out;
}

TEST_F(ResultsFileTest, RoundTrip) {
  const ResultsData data = Filled();
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectEqual(data, *back);
  EXPECT_EQ(Listing(), std::vector<std::string>{"run.h5"});
}

TEST_F(ResultsFileTest, RoundTripOfClassesRolesAndMigrations) {
  const ResultsData data = Filled(12);
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectEqual(data, *back);
  // Spot checks against the values Filled() put in, so that a reader that
  // swapped two series (or transposed a matrix) cannot pass.
  EXPECT_EQ(back->roles, (std::vector<std::string>{"web", "batch"}));
  const TickSeries& t = back->ticks;
  ASSERT_EQ(t.served_by_class.size(), 12u * kNumClasses);
  EXPECT_EQ(t.served_by_class[11 * 3 + 0], 1011);  // tick 11, critical
  EXPECT_EQ(t.served_by_class[11 * 3 + 2], 3011);  // tick 11, best_effort
  EXPECT_EQ(t.dropped_by_class[10 * 3 + 2], 5);
  EXPECT_EQ(t.throttled_by_class[10 * 3 + 2], 2.5);
  EXPECT_EQ(t.queued_by_class[10 * 3 + 1], 2);
  ASSERT_EQ(t.demand_by_role.size(), 24u);
  EXPECT_EQ(t.demand_by_role[4 * 2 + 1], 301);  // tick 4, batch
  EXPECT_DOUBLE_EQ(t.utilization_by_role[4 * 2 + 0], 0.408);
  EXPECT_EQ(t.nodes_by_role[6 * 2 + 1], 2);
  EXPECT_EQ(t.nodes_switching[3], 3);
  EXPECT_EQ(t.migrating[6], 0.75);
  const RunSummary& s = back->summary;
  EXPECT_EQ(s.dropped_by_class, (PerClass{1.5, 3.8e5, 9.5e3}));
  EXPECT_EQ(s.throttled_by_class, (PerClass{0, 0.25, 7.25e3}));
  EXPECT_EQ(s.migrations, 6);
  EXPECT_EQ(s.requests_migrated, 1234.5);
  EXPECT_EQ(s.role_switches, 3);
  ASSERT_EQ(back->decisions.size(), 6u);
  EXPECT_EQ(back->decisions[3].action, "change_role");
  EXPECT_EQ(back->decisions[4].action, "migrate");
  EXPECT_EQ(back->decisions[5].action, "set_admission");
  EXPECT_EQ(back->decisions[5].node_type, "");

  // The matrices name their columns, so h5py users need not know the order.
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const std::vector<std::string> classes = {"critical", "standard", "best_effort"};
  for (const char* name :
       {"served_by_class", "dropped_by_class", "throttled_by_class", "queued_by_class"}) {
    const hid_t ds = H5Dopen2(file, (std::string("/ticks/") + name).c_str(), H5P_DEFAULT);
    ASSERT_GE(ds, 0) << name;
    EXPECT_EQ(ReadStringListAttribute(ds, "classes"), classes) << name;
    H5Dclose(ds);
  }
  for (const char* name : {"demand_by_role", "utilization_by_role", "nodes_by_role"}) {
    const hid_t ds = H5Dopen2(file, (std::string("/ticks/") + name).c_str(), H5P_DEFAULT);
    ASSERT_GE(ds, 0) << name;
    EXPECT_EQ(ReadStringListAttribute(ds, "roles"), data.roles) << name;
    H5Dclose(ds);
  }
  EXPECT_EQ(ReadStringListAttribute(file, "roles"), data.roles);
  const hid_t summary = H5Gopen2(file, "/summary", H5P_DEFAULT);
  ASSERT_GE(summary, 0);
  EXPECT_EQ(ReadStringListAttribute(summary, "classes"), classes);
  H5Gclose(summary);
  H5Fclose(file);
}

TEST_F(ResultsFileTest, RoundTripWithForecastsAndRetrains) {
  ResultsData data = Filled(10);
  ForecastSeries& f = data.forecasts;
  f.model = "holt-winters";
  f.horizons = {300, 1800};
  f.time = {300, 600, 900};
  f.p10 = {1, 2, 3, 4, 5, 6};
  f.p50 = {2, 3, 4, 5, 6, 7};
  f.p90 = {3, 4, 5, 6, 7, 8};
  f.actual = {2.5, 3.5, 4.5, 5.5, 6.5, std::numeric_limits<double>::quiet_NaN()};
  data.retrains.push_back({600, 144, 12.5, 8.25, 1, "rolling error above the naive baseline's"});
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectEqual(data, *back);
  EXPECT_EQ(back->forecasts.model, "holt-winters");
  EXPECT_EQ(back->forecasts.horizons, f.horizons);
  EXPECT_EQ(back->forecasts.time, f.time);
  EXPECT_EQ(back->forecasts.p50, f.p50);
  EXPECT_TRUE(std::isnan(back->forecasts.actual[5]));
  ASSERT_EQ(back->retrains.size(), 1u);
  EXPECT_EQ(back->retrains[0].samples, 144);
  EXPECT_EQ(back->retrains[0].accepted, 1);
  EXPECT_DOUBLE_EQ(back->retrains[0].new_mae, 8.25);
  EXPECT_EQ(back->retrains[0].reason, "rolling error above the naive baseline's");
  // Without a forecaster the file has neither group (and reads back empty).
  ResultsData plain = Filled(10);
  ASSERT_TRUE(WriteResultsFile(Path("plain.h5"), plain).ok());
  const absl::StatusOr<ResultsData> plain_back = ReadResultsFile(Path("plain.h5"));
  ASSERT_TRUE(plain_back.ok());
  EXPECT_TRUE(plain_back->forecasts.horizons.empty());
  EXPECT_TRUE(plain_back->retrains.empty());
}

TEST_F(ResultsFileTest, RoundTripWithNoDecisionsOrEvents) {
  ResultsData data = Filled(10);
  data.decisions.clear();
  data.events.clear();
  data.overrides.clear();  // an empty string attribute
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectEqual(data, *back);
  EXPECT_TRUE(back->decisions.empty());
  EXPECT_TRUE(back->events.empty());
}

TEST_F(ResultsFileTest, RoundTripOfAnEmptyRun) {
  const ResultsData data;  // no ticks, no node types, all strings empty
  const std::string path = Path("empty.h5");
  const absl::Status st = WriteResultsFile(path, data);
  ASSERT_TRUE(st.ok()) << st;
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectEqual(data, *back);
}

TEST_F(ResultsFileTest, RoundTripOfALargeScenario) {
  // Larger than the 64 KiB an object header message can hold: HDF5 must move
  // the attribute to dense storage.
  ResultsData data = Filled(5);
  data.scenario_text.clear();
  for (int i = 0; i < 5000; ++i)
    data.scenario_text += "# a long scenario line " + std::to_string(i) + "\n";
  ASSERT_GT(data.scenario_text.size(), 100000u);
  const std::string path = Path("big.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->scenario_text, data.scenario_text);
}

TEST_F(ResultsFileTest, SameDataGivesByteIdenticalFiles) {
  const ResultsData data = Filled(20000);  // several chunks per series
  const std::string a = Path("a.h5");
  const std::string b = Path("b.h5");
  ASSERT_TRUE(WriteResultsFile(a, data).ok());
  ASSERT_TRUE(WriteResultsFile(b, data).ok());
  const std::string first = ReadBytes(a);
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(first == ReadBytes(b));
  // Overwriting an existing file gives the same bytes again.
  ASSERT_TRUE(WriteResultsFile(a, data).ok());
  EXPECT_TRUE(first == ReadBytes(a));
  // And different data gives different bytes.
  ResultsData other = data;
  other.ticks.served[123] += 1;
  ASSERT_TRUE(WriteResultsFile(b, other).ok());
  EXPECT_FALSE(first == ReadBytes(b));
}

TEST_F(ResultsFileTest, MissingDirectoryFailsAndLeavesNothingBehind) {
  const std::string path = Path("no/such/dir/run.h5");
  const absl::Status st = WriteResultsFile(path, Filled());
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(st), HasSubstr(path));
  EXPECT_TRUE(Listing().empty());
}

TEST_F(ResultsFileTest, FailedWriteLeavesTheTargetUntouched) {
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled()).ok());
  const std::string before = ReadBytes(path);

  ResultsData bad = Filled(30);
  bad.ticks.latency.pop_back();  // series of unequal length
  const absl::Status st = WriteResultsFile(path, bad);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Msg(st), HasSubstr(path));
  EXPECT_THAT(Msg(st), HasSubstr("/ticks/latency"));

  ResultsData bad_types = Filled(30);
  bad_types.node_types.pop_back();  // nodes_by_type no longer ticks x types
  EXPECT_THAT(Msg(WriteResultsFile(path, bad_types)), HasSubstr("/ticks/nodes_by_type"));

  ResultsData bad_roles = Filled(30);
  bad_roles.roles.push_back("extra");  // the per-role matrices are ticks x 2
  EXPECT_THAT(Msg(WriteResultsFile(path, bad_roles)),
              HasSubstr("/ticks/nodes_by_role: has 60 values, expected 90 (30 ticks x 3 roles)"));

  ResultsData bad_classes = Filled(30);
  bad_classes.ticks.throttled_by_class.pop_back();
  EXPECT_THAT(Msg(WriteResultsFile(path, bad_classes)),
              HasSubstr("/ticks/throttled_by_class: has 89 values, expected 90"));

  ResultsData bad_switching = Filled(30);
  bad_switching.ticks.nodes_switching.clear();
  EXPECT_THAT(Msg(WriteResultsFile(path, bad_switching)), HasSubstr("/ticks/nodes_switching"));

  EXPECT_TRUE(before == ReadBytes(path));
  EXPECT_EQ(Listing(), std::vector<std::string>{"run.h5"});
}

TEST_F(ResultsFileTest, FailedRenameRemovesTheTemporary) {
  // The whole file gets written, then cannot replace a (non-empty) directory.
  const std::string path = Path("occupied");
  fs::create_directories(fs::path(path) / "keep");
  const absl::Status st = WriteResultsFile(path, Filled());
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Msg(st), HasSubstr(path));
  EXPECT_TRUE(fs::is_directory(fs::path(path) / "keep"));
  EXPECT_EQ(Listing(), std::vector<std::string>{"occupied"});
}

TEST_F(ResultsFileTest, ReadingAMissingFileIsNotFound) {
  const std::string path = Path("nope.h5");
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path));
}

TEST_F(ResultsFileTest, ReadingGarbageFails) {
  const std::string path = Path("garbage.h5");
  WriteBytes(path, std::string(4096, 'x') + "not hdf5 at all");
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /: not an HDF5 file"));
}

TEST_F(ResultsFileTest, ReadingATruncatedFileFails) {
  const std::string good = Path("good.h5");
  ASSERT_TRUE(WriteResultsFile(good, Filled(2000)).ok());
  const std::string bytes = ReadBytes(good);
  for (const std::size_t keep : {bytes.size() / 2, bytes.size() - 1, std::size_t{100}}) {
    const std::string path = Path("truncated.h5");
    WriteBytes(path, bytes.substr(0, keep));
    const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << keep;
    EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /: ")) << keep;
  }
}

TEST_F(ResultsFileTest, ReadingAnotherSchemaFails) {
  // A valid HDF5 file that is not a results file.
  const std::string path = Path("other.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hsize_t dims[1] = {4};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t ds =
      H5Dcreate2(file, "values", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(file);
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /: missing attribute 'format'"));
}

// Replaces a string attribute of the root group.
void SetRootString(hid_t file, const char* name, const std::string& value) {
  H5Adelete(file, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, type, value.data());
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

TEST_F(ResultsFileTest, ReadingAnotherFormatNameFails) {
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) { SetRootString(file, "format", "someone-elses-results"); });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /: format is 'someone-elses-results'"));
}

TEST_F(ResultsFileTest, ReadingAnotherVersionFails) {
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    const hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
    const std::int32_t one = 1;  // before classes and roles: lacks their series
    H5Awrite(attr, H5T_NATIVE_INT32, &one);
    H5Aclose(attr);
  });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr(path + ": /: format_version 1 is not supported (this reader knows "
                               "versions 2 to 3)"));
}

TEST_F(ResultsFileTest, AVersion2FileWithoutNodeSnapshotsIsStillRead) {
  const std::string path = Path("run.h5");
  ResultsData data = Filled(8);
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  EditFile(path, [](hid_t file) {
    const hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
    const std::int32_t two = 2;
    H5Awrite(attr, H5T_NATIVE_INT32, &two);
    H5Aclose(attr);
  });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->nodes.every, 0);
  EXPECT_EQ(r->ticks.size(), 8u);
  // Version 2 had no failures: their series read as zeros.
  EXPECT_EQ(r->ticks.lost, std::vector<double>(8, 0));
  EXPECT_EQ(r->ticks.nodes_failed, std::vector<std::int32_t>(8, 0));
}

// Three snapshots of a small fleet: 2, 3 and 0 nodes, with overlay links.
NodeSnapshots SampleNodes() {
  NodeSnapshots n;
  n.every = 4;
  n.time = {0, 60, 120};
  n.offset = {0, 2, 5, 5};
  n.id = {0, 1, 0, 1, 7};
  n.type = {0, 2, 0, 2, 1};
  n.role = {0, 1, 0, 0, 1};
  n.state = {1, 0, 1, 4, 5};
  n.utilization = {0.25f, 0, 0.5f, 0, 0};
  n.queued = {3, 0, 12.5f, 0, 0};
  n.links = "chord";
  n.link_offset = {0, 2, 4, 4};
  n.link_from = {0, 1, 0, 7};
  n.link_to = {1, 0, 7, 0};
  return n;
}

TEST_F(ResultsFileTest, RoundTripOfNodeSnapshots) {
  ResultsData data = Filled(12);
  data.nodes = SampleNodes();
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  const NodeSnapshots& a = data.nodes;
  const NodeSnapshots& b = back->nodes;
  EXPECT_EQ(b.every, 4);
  EXPECT_EQ(b.time, a.time);
  EXPECT_EQ(b.offset, a.offset);
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.type, a.type);
  EXPECT_EQ(b.role, a.role);
  EXPECT_EQ(b.state, a.state);
  EXPECT_EQ(b.utilization, a.utilization);
  EXPECT_EQ(b.queued, a.queued);
  EXPECT_EQ(b.links, "chord");
  EXPECT_EQ(b.link_offset, a.link_offset);
  EXPECT_EQ(b.link_from, a.link_from);
  EXPECT_EQ(b.link_to, a.link_to);
  // The state names travel with the file, so a reader needs no enum.
  EditFile(path, [](hid_t file) {
    const hid_t g = H5Gopen2(file, "/nodes", H5P_DEFAULT);
    EXPECT_EQ(ReadStringListAttribute(g, "states"),
              (std::vector<std::string>{"booting", "ready", "draining", "stopped", "switching",
                                        "failed"}));
    H5Gclose(g);
  });
}

// Overwrites an existing integer dataset's values (same shape).
template <typename T>
void OverwriteInts(hid_t file, const char* name, hid_t mem_type, std::vector<T> values) {
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(ds);
}

TEST_F(ResultsFileTest, RoundTripOfNodePlacementAndABadRackIsNamed) {
  ResultsData data = Filled(12);
  data.nodes = SampleNodes();
  data.nodes.zones = 2;
  data.nodes.racks_per_zone = 3;
  data.nodes.rack = {0, 4, 0, 4, 5};
  data.nodes.zone = {0, 1, 0, 1, 1};
  data.nodes.reachable = {1, 1, 1, 0, 0};
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->nodes.zones, 2);
  EXPECT_EQ(back->nodes.racks_per_zone, 3);
  EXPECT_EQ(back->nodes.rack, data.nodes.rack);
  EXPECT_EQ(back->nodes.zone, data.nodes.zone);
  EXPECT_EQ(back->nodes.reachable, data.nodes.reachable);
  // Without a topology nothing is written, and nothing read back.
  ASSERT_TRUE(WriteResultsFile(path, Filled(12)).ok());
  back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->nodes.zones, 0);
  EXPECT_TRUE(back->nodes.rack.empty());
  // A rack outside the topology (or in the wrong zone) is refused by name.
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  EditFile(path, [](hid_t f) {
    OverwriteInts<std::int16_t>(f, "/nodes/rack", H5T_NATIVE_INT16, {0, 4, 0, 9, 5});
  });
  back = ReadResultsFile(path);
  EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(back.status()),
              HasSubstr(path + ": /nodes/rack: value 3 (rack 9, zone 1) is not a rack"));
}

TEST_F(ResultsFileTest, RoundTripOfNodeSnapshotsWithoutLinks) {
  ResultsData data = Filled(12);
  data.nodes = SampleNodes();
  data.nodes.links.clear();
  data.nodes.link_offset.clear();
  data.nodes.link_from.clear();
  data.nodes.link_to.clear();
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, data).ok());
  const absl::StatusOr<ResultsData> back = ReadResultsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->nodes.id, data.nodes.id);
  EXPECT_TRUE(back->nodes.links.empty());
  EXPECT_TRUE(back->nodes.link_from.empty());
}

TEST_F(ResultsFileTest, WritingInconsistentNodeSnapshotsIsAnInternalError) {
  ResultsData data = Filled(12);
  data.nodes = SampleNodes();
  data.nodes.role.pop_back();
  const absl::Status st = WriteResultsFile(Path("run.h5"), data);
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Msg(st), HasSubstr("/nodes: the snapshot arrays disagree"));
  EXPECT_TRUE(Listing().empty());
}

TEST_F(ResultsFileTest, ReadingBadNodeSnapshotsNamesTheDataset) {
  struct Case {
    std::function<void(hid_t)> edit;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {[](hid_t f) {
         OverwriteInts<std::int64_t>(f, "/nodes/offset", H5T_NATIVE_INT64, {0, 3, 2, 5});
       },
       "/nodes/offset: value 2 (2) breaks the rule"},
      {[](hid_t f) {
         OverwriteInts<std::int64_t>(f, "/nodes/offset", H5T_NATIVE_INT64, {0, 2, 5, 4});
       },
       "/nodes/offset: value 3 (4) breaks the rule"},
      {[](hid_t f) {
         OverwriteInts<std::int16_t>(f, "/nodes/role", H5T_NATIVE_INT16, {0, 1, 0, 2, 1});
       },
       "/nodes/role: value 3 (2) is not an index into roles"},
      {[](hid_t f) {
         OverwriteInts<std::int16_t>(f, "/nodes/type", H5T_NATIVE_INT16, {0, -1, 0, 2, 1});
       },
       "/nodes/type: value 1 (-1) is not an index into node_types"},
      {[](hid_t f) {
         OverwriteInts<std::uint8_t>(f, "/nodes/state", H5T_NATIVE_UINT8, {1, 0, 1, 9, 5});
       },
       "/nodes/state: value 3 (9) is not a node state"},
      {[](hid_t f) { H5Ldelete(f, "/nodes/queued", H5P_DEFAULT); }, "/nodes/queued"},
      {[](hid_t f) {
         OverwriteInts<std::int64_t>(f, "/nodes/link_offset", H5T_NATIVE_INT64, {0, 2, 4, 3});
       },
       "/nodes/link_offset: value 3 (3) breaks the rule"},
  };
  for (const Case& c : cases) {
    const std::string path = Path("run.h5");
    ResultsData data = Filled(12);
    data.nodes = SampleNodes();
    ASSERT_TRUE(WriteResultsFile(path, data).ok());
    EditFile(path, c.edit);
    const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": " + c.expect));
  }
}

TEST_F(ResultsFileTest, ReadingAFileWithAMissingObjectNamesIt) {
  struct Case {
    const char* remove;  // link to delete
    const char* expect;  // in the error message
  };
  for (const Case& c :
       {Case{"/ticks/served", "/ticks/served: missing dataset"},
        Case{"/ticks", "/ticks: missing group"}, Case{"/decisions", "/decisions: missing dataset"},
        Case{"/events", "/events: missing dataset"}, Case{"/summary", "/summary: missing group"},
        Case{"/ticks/queued_by_class", "/ticks/queued_by_class: missing dataset"},
        Case{"/ticks/demand_by_role", "/ticks/demand_by_role: missing dataset"}}) {
    const std::string path = Path("run.h5");
    ASSERT_TRUE(WriteResultsFile(path, Filled()).ok());
    EditFile(path, [&](hid_t file) { ASSERT_GE(H5Ldelete(file, c.remove, H5P_DEFAULT), 0); });
    const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.remove;
    EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": " + c.expect));
  }
}

TEST_F(ResultsFileTest, ReadingAFileWithAMissingAttributeNamesIt) {
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    ASSERT_GE(H5Adelete_by_name(file, "/summary", "peak_nodes", H5P_DEFAULT), 0);
  });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /summary: missing attribute 'peak_nodes'"));
}

TEST_F(ResultsFileTest, ReadingSeriesOfUnequalLengthFails) {
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled(10)).ok());
  EditFile(path, [](hid_t file) {
    H5Ldelete(file, "/ticks/queued", H5P_DEFAULT);
    const hsize_t dims[1] = {9};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t ds = H5Dcreate2(file, "/ticks/queued", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(space);
  });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /ticks/queued: has 9 values"));
}

// Replaces dataset `name` with a float64 one of shape `dims` (zeros).
void ReplaceDataset(hid_t file, const char* name, std::vector<hsize_t> dims) {
  H5Ldelete(file, name, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t ds =
      H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(ds);
  H5Sclose(space);
}

TEST_F(ResultsFileTest, ReadingMatricesOfTheWrongShapeFails) {
  struct Case {
    const char* dataset;
    std::vector<hsize_t> dims;
    const char* expect;
  };
  for (const Case& c : {
           Case{"/ticks/served_by_class",
                {10, 2},
                "/ticks/served_by_class: has shape [10 x 2], expected [10 x 3] (ticks x classes)"},
           Case{"/ticks/throttled_by_class",
                {9, 3},
                "/ticks/throttled_by_class: has shape [9 x 3], expected [10 x 3]"},
           Case{"/ticks/utilization_by_role",
                {10, 3},
                "/ticks/utilization_by_role: has shape [10 x 3], expected [10 x 2] (ticks x "
                "roles)"},
           Case{"/ticks/demand_by_role", {20}, "/ticks/demand_by_role: is not a 2-D dataset"},
           Case{"/ticks/migrating", {9}, "/ticks/migrating: has 9 values but /ticks/time has 10"},
       }) {
    const std::string path = Path("run.h5");
    ASSERT_TRUE(WriteResultsFile(path, Filled(10)).ok());
    EditFile(path, [&](hid_t file) { ReplaceDataset(file, c.dataset, c.dims); });
    const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.dataset;
    EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": " + c.expect));
  }
}

TEST_F(ResultsFileTest, ReadingRolesThatDoNotMatchTheMatricesFails) {
  // Three role names, but the per-role matrices have two columns.
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled(10)).ok());
  EditFile(path, [](hid_t file) {
    H5Adelete(file, "roles");
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 5);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hsize_t dims[1] = {3};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t attr = H5Acreate2(file, "roles", type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, type, "web\0\0batchapi\0\0");
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
  });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /ticks/nodes_by_role: has shape [10 x 2], "
                                                "expected [10 x 3] (ticks x roles)"));
}

TEST_F(ResultsFileTest, ReadingAPerClassSummaryOfTheWrongSizeFails) {
  const std::string path = Path("run.h5");
  ASSERT_TRUE(WriteResultsFile(path, Filled(10)).ok());
  EditFile(path, [](hid_t file) {
    const hid_t g = H5Gopen2(file, "/summary", H5P_DEFAULT);
    H5Adelete(g, "throttled_by_class");
    const hsize_t dims[1] = {2};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t attr =
        H5Acreate2(g, "throttled_by_class", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    const double values[2] = {1, 2};
    H5Awrite(attr, H5T_NATIVE_DOUBLE, values);
    H5Aclose(attr);
    H5Sclose(space);
    H5Gclose(g);
  });
  const absl::StatusOr<ResultsData> r = ReadResultsFile(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(path + ": /summary: attribute 'throttled_by_class' has "
                                                "2 values, expected 3"));
}

}  // namespace
}  // namespace meshtwin
