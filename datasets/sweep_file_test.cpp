#include "datasets/sweep_file.h"

#include <hdf5.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using test_util::EditFile;
using test_util::Msg;
using test_util::ReadBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class SweepFileTest : public test_util::TempDirTest {
 protected:
  SweepFileTest() : TempDirTest("sweep_file_test") {}
};

// A point with node_hours `nh` and slo_violation_minutes `slo`.
SweepPoint Point(std::int32_t index, double nh, double slo, std::size_t extra_metrics = 0) {
  SweepPoint p;
  p.index = index;
  p.metrics.assign(CoreSweepMetrics().size() + extra_metrics, 0.0);
  p.metrics[0] = nh;
  p.metrics[1] = slo;
  return p;
}

SweepData Filled() {
  SweepData d;
  d.scenario_name = "diurnal";
  d.scenario_source = "scenarios/library/diurnal-web.yaml";
  d.scenario_text = "name: diurnal\nduration: 2h\n";
  d.overrides = {"duration=1h", "node_types.web.max=60"};
  d.seed = 0xFEDCBA9876543210ULL;  // above INT64_MAX: must survive as unsigned
  d.random = 3;
  d.params = {{"policy.target_utilization", "0.4:0.6:0.1", {"0.4", "0.5", "0.6"}},
              {"policy.scale_down.stabilization_window", "60s,300s", {"60s", "300s"}}};
  d.total_points = 6;
  d.planned_points = 3;
  d.shard = "1/2";
  d.metric_names = CoreSweepMetrics();
  d.metric_names.push_back("dropped_by_class.critical");
  SweepPoint a = Point(1, 12.5, 3, 1);
  a.values = {"0.4", "300s"};
  a.numeric = {0.4, 300};
  a.metrics[2] = 2.5;
  a.metrics.back() = 7;
  a.pareto = true;
  SweepPoint b = Point(3, kNaN, kNaN, 1);
  b.values = {"0.5", "300s"};
  b.numeric = {0.5, 300};
  b.metrics.assign(d.metric_names.size(), kNaN);
  b.exit_code = 137;
  b.error = "meshtwin: error: tué — naïve UTF-8 ✓";
  SweepPoint c = Point(5, 10, 9, 1);
  c.values = {"0.6", "300s"};
  c.numeric = {0.6, 300};
  c.pareto = true;
  d.points = {a, b, c};
  return d;
}

void ExpectSameMetrics(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << i;
    } else {
      EXPECT_EQ(a[i], b[i]) << i;
    }
  }
}

TEST_F(SweepFileTest, RoundTripsEveryField) {
  SweepData d = Filled();
  d.shard = "merged";
  d.merged_from = {"shard-0.h5 (shard 0/2)", "shard-1.h5 (shard 1/2)"};
  d.missing = {0, 4};
  ASSERT_TRUE(WriteSweepFile(Path("s.h5"), d).ok());
  absl::StatusOr<SweepData> back = ReadSweepFile(Path("s.h5"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->scenario_name, d.scenario_name);
  EXPECT_EQ(back->scenario_source, d.scenario_source);
  EXPECT_EQ(back->scenario_text, d.scenario_text);
  EXPECT_EQ(back->overrides, d.overrides);
  EXPECT_EQ(back->seed, d.seed);
  EXPECT_EQ(back->random, 3);
  EXPECT_EQ(back->total_points, 6);
  EXPECT_EQ(back->planned_points, 3);
  EXPECT_EQ(back->shard, "merged");
  EXPECT_EQ(back->merged_from, d.merged_from);
  EXPECT_EQ(back->missing, d.missing);
  EXPECT_EQ(back->metric_names, d.metric_names);
  ASSERT_EQ(back->params.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(back->params[k].key, d.params[k].key);
    EXPECT_EQ(back->params[k].spec, d.params[k].spec);
    EXPECT_EQ(back->params[k].values, d.params[k].values);
  }
  ASSERT_EQ(back->points.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const SweepPoint& x = d.points[i];
    const SweepPoint& y = back->points[i];
    EXPECT_EQ(y.index, x.index);
    EXPECT_EQ(y.values, x.values);
    EXPECT_EQ(y.numeric, x.numeric);
    EXPECT_EQ(y.exit_code, x.exit_code);
    EXPECT_EQ(y.error, x.error);
    EXPECT_EQ(y.pareto, x.pareto);
    ExpectSameMetrics(y.metrics, x.metrics);
  }
  // Nothing but the file itself is left in the directory.
  EXPECT_EQ(Listing(), std::vector<std::string>{"s.h5"});
}

TEST_F(SweepFileTest, EmptySweepRoundTrips) {
  SweepData d = Filled();
  d.points.clear();
  ASSERT_TRUE(WriteSweepFile(Path("s.h5"), d).ok());
  absl::StatusOr<SweepData> back = ReadSweepFile(Path("s.h5"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->points.empty());
}

TEST_F(SweepFileTest, EqualDataGivesIdenticalBytes) {
  ASSERT_TRUE(WriteSweepFile(Path("a.h5"), Filled()).ok());
  ASSERT_TRUE(WriteSweepFile(Path("b.h5"), Filled()).ok());
  EXPECT_EQ(ReadBytes(Path("a.h5")), ReadBytes(Path("b.h5")));
}

TEST_F(SweepFileTest, RowsThatDoNotMatchTheColumnsAreRefusedAndNothingIsWritten) {
  SweepData d = Filled();
  d.points[1].values.pop_back();
  absl::Status st = WriteSweepFile(Path("s.h5"), d);
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  d = Filled();
  std::swap(d.points[0], d.points[1]);
  EXPECT_FALSE(WriteSweepFile(Path("s.h5"), d).ok());
  d = Filled();
  d.metric_names.erase(d.metric_names.begin());
  EXPECT_FALSE(WriteSweepFile(Path("s.h5"), d).ok());
  EXPECT_TRUE(Listing().empty());
}

TEST_F(SweepFileTest, BadFilesAreNamedWithTheObject) {
  EXPECT_EQ(ReadSweepFile(Path("none.h5")).status().code(), absl::StatusCode::kNotFound);

  test_util::WriteBytes(Path("text.h5"), "not hdf5\n");
  absl::Status st = ReadSweepFile(Path("text.h5")).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("text.h5: /: not an HDF5 file"));

  ASSERT_TRUE(WriteSweepFile(Path("s.h5"), Filled()).ok());
  EditFile(Path("s.h5"), [](hid_t file) { ASSERT_GE(H5Ldelete(file, "points", H5P_DEFAULT), 0); });
  st = ReadSweepFile(Path("s.h5")).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("s.h5: /points: missing dataset"));

  ASSERT_TRUE(WriteSweepFile(Path("v.h5"), Filled()).ok());
  EditFile(Path("v.h5"), [](hid_t file) {
    ASSERT_GE(H5Adelete(file, "format_version"), 0);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr =
        H5Acreate2(file, "format_version", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    const std::int32_t v = 99;
    ASSERT_GE(H5Awrite(attr, H5T_NATIVE_INT32, &v), 0);
    H5Aclose(attr);
    H5Sclose(space);
  });
  st = ReadSweepFile(Path("v.h5")).status();
  EXPECT_THAT(Msg(st), HasSubstr("v.h5: /: format_version 99 is not supported"));

  // A parameter's values gone.
  ASSERT_TRUE(WriteSweepFile(Path("p.h5"), Filled()).ok());
  EditFile(Path("p.h5"), [](hid_t file) {
    ASSERT_GE(H5Ldelete(file, "params/policy.target_utilization", H5P_DEFAULT), 0);
  });
  st = ReadSweepFile(Path("p.h5")).status();
  EXPECT_THAT(Msg(st), HasSubstr("p.h5: /params/policy.target_utilization: missing dataset"));
}

TEST(MarkParetoFront, KeepsTheNonDominatedRunsAndAllTies) {
  const std::vector<std::string> names = CoreSweepMetrics();
  std::vector<SweepPoint> points = {
      Point(0, 10, 5),    // front
      Point(1, 10, 5),    // equal to 0: also on the front
      Point(2, 10, 6),    // dominated by 0 (same node-hours, more violations)
      Point(3, 8, 9),     // front (cheapest)
      Point(4, 12, 5),    // dominated by 0 (same violations, dearer)
      Point(5, 20, 0),    // front
      Point(6, 7, 1),     // failed: excluded although it would dominate
      Point(7, kNaN, 0),  // no figures: excluded
      Point(8, 15, 2),    // front
  };
  points[6].exit_code = 1;
  const std::vector<std::int32_t> front = MarkParetoFront(points, names);
  EXPECT_THAT(front, ElementsAre(3, 0, 1, 8, 5));  // by node-hours, then violations, then index
  std::vector<std::int32_t> flagged;
  for (const SweepPoint& p : points) {
    if (p.pareto) flagged.push_back(p.index);
  }
  EXPECT_THAT(flagged, ElementsAre(0, 1, 3, 5, 8));
}

TEST(MarkParetoFront, EmptyAndAllFailed) {
  std::vector<SweepPoint> none;
  EXPECT_TRUE(MarkParetoFront(none, CoreSweepMetrics()).empty());
  std::vector<SweepPoint> failed = {Point(0, 1, 1)};
  failed[0].exit_code = 2;
  failed[0].pareto = true;  // stale flag is cleared
  EXPECT_TRUE(MarkParetoFront(failed, CoreSweepMetrics()).empty());
  EXPECT_FALSE(failed[0].pareto);
}

}  // namespace
}  // namespace meshtwin
