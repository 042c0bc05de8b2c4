// ReadShadowFile on files written here with the datasets' own HDF5 writer,
// following the schema of live_bridge/shadow.cpp (datasets/ cannot link the
// live bridge; live_bridge/shadow_file_roundtrip_test.cpp reads what the real
// Shadow::Write writes). Every malformed file is refused naming the object.
#include "datasets/shadow_file.h"

#include <hdf5.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "datasets/hdf5_util.h"
#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using test_util::EditFile;
using test_util::Msg;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class ShadowFileTest : public test_util::TempDirTest {
 protected:
  ShadowFileTest() : TempDirTest("shadow_file_test") {}
};

// Four 60 s steps, the third without data, two decisions.
ShadowFileData Filled() {
  ShadowFileData d;
  ShadowFileAttributes& a = d.attributes;
  a.version = 1;
  a.scenario = "default";
  a.policy = "hpa";
  a.node_type = "medium";
  a.node_rps = 200;
  a.interval = 60;
  a.slo_utilization_ceiling = 0.9;
  a.production_node_hours = 0.6;
  a.would_be_node_hours = 0.7;
  a.production_cost = 0.204;
  a.would_be_cost = 0.238;
  a.intervals = 3;
  a.missing_intervals = 1;
  a.production_risk_intervals = 1;
  a.would_be_risk_intervals = 0;
  a.about = {{"prometheus", "https://prom:9090"}, {"demand_query", "sum(rate(req[1m]))"}};
  ShadowFileSteps& s = d.steps;
  s.time = {1.8e9 + 60, 1.8e9 + 120, 1.8e9 + 180, 1.8e9 + 240};
  s.demand = {1000, 2500, kNaN, 1200};
  s.production_nodes = {12, 12, kNaN, 12};
  s.production_capacity = {2400, 2400, kNaN, 2400};
  s.desired_nodes = {12, 15, -1, 13};
  s.would_be_nodes = {12, 12, 15, 15};
  s.would_be_ready = {12, 12, 12, 15};
  s.would_be_capacity = {2400, 2400, 2400, 3000};
  s.forecast_p50 = {kNaN, 1100, kNaN, 1300};
  s.production_at_risk = {0, 1, -1, 0};
  s.would_be_at_risk = {0, 1, -1, 0};
  d.decisions = {{1.8e9 + 120, "scale_out", "medium", 3, 12, 15, 1.04, "cpu 104% > 60% target"},
                 {1.8e9 + 240, "scale_in", "medium", 2, 15, 13, 0.4, "naïve ✓ below target"}};
  return d;
}

// The schema of live_bridge/shadow.cpp, written with the datasets' writer.
absl::Status Write(const std::string& path, const ShadowFileData& d,
                   const std::string& format = "meshtwin-shadow") {
  return hdf5::WriteFileAtomically(path, [&](const hdf5::Writer& w, hid_t file) -> absl::Status {
    const ShadowFileAttributes& a = d.attributes;
    auto str = [&](const char* name, const std::string& value) {
      return w.WriteStringAttribute(file, "/", name, value);
    };
    auto f64 = [&](const char* name, double value) {
      return w.WriteNumberAttribute(file, "/", name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, value);
    };
    auto i32 = [&](const char* name, std::int32_t value) {
      return w.WriteNumberAttribute(file, "/", name, H5T_STD_I32LE, H5T_NATIVE_INT32, value);
    };
    MESHTWIN_RETURN_IF_ERROR(str("format", format));
    MESHTWIN_RETURN_IF_ERROR(i32("version", a.version));
    MESHTWIN_RETURN_IF_ERROR(str("scenario", a.scenario));
    MESHTWIN_RETURN_IF_ERROR(str("policy", a.policy));
    MESHTWIN_RETURN_IF_ERROR(str("node_type", a.node_type));
    MESHTWIN_RETURN_IF_ERROR(f64("node_rps", a.node_rps));
    MESHTWIN_RETURN_IF_ERROR(f64("interval", a.interval));
    MESHTWIN_RETURN_IF_ERROR(f64("slo_utilization_ceiling", a.slo_utilization_ceiling));
    MESHTWIN_RETURN_IF_ERROR(f64("production_node_hours", a.production_node_hours));
    MESHTWIN_RETURN_IF_ERROR(f64("would_be_node_hours", a.would_be_node_hours));
    MESHTWIN_RETURN_IF_ERROR(f64("production_cost", a.production_cost));
    MESHTWIN_RETURN_IF_ERROR(f64("would_be_cost", a.would_be_cost));
    MESHTWIN_RETURN_IF_ERROR(i32("intervals", a.intervals));
    MESHTWIN_RETURN_IF_ERROR(i32("missing_intervals", a.missing_intervals));
    MESHTWIN_RETURN_IF_ERROR(i32("production_risk_intervals", a.production_risk_intervals));
    MESHTWIN_RETURN_IF_ERROR(i32("would_be_risk_intervals", a.would_be_risk_intervals));
    for (const auto& [key, value] : a.about) MESHTWIN_RETURN_IF_ERROR(str(key.c_str(), value));

    MESHTWIN_ASSIGN_OR_RETURN(hdf5::Handle steps, w.CreateGroup(file, "/", "steps"));
    auto f64s = [&](const char* name, const std::vector<double>& v) {
      return w
          .WriteDataset(steps.get(), "/steps", name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {v.size()},
                        {}, v.data())
          .status();
    };
    auto i32s = [&](const char* name, const std::vector<std::int32_t>& v) {
      return w
          .WriteDataset(steps.get(), "/steps", name, H5T_STD_I32LE, H5T_NATIVE_INT32, {v.size()},
                        {}, v.data())
          .status();
    };
    const ShadowFileSteps& s = d.steps;
    MESHTWIN_RETURN_IF_ERROR(f64s("time", s.time));
    MESHTWIN_RETURN_IF_ERROR(f64s("demand", s.demand));
    MESHTWIN_RETURN_IF_ERROR(f64s("production_nodes", s.production_nodes));
    MESHTWIN_RETURN_IF_ERROR(f64s("production_capacity", s.production_capacity));
    MESHTWIN_RETURN_IF_ERROR(i32s("desired_nodes", s.desired_nodes));
    MESHTWIN_RETURN_IF_ERROR(f64s("would_be_nodes", s.would_be_nodes));
    MESHTWIN_RETURN_IF_ERROR(f64s("would_be_ready", s.would_be_ready));
    MESHTWIN_RETURN_IF_ERROR(f64s("would_be_capacity", s.would_be_capacity));
    MESHTWIN_RETURN_IF_ERROR(f64s("forecast_p50", s.forecast_p50));
    MESHTWIN_RETURN_IF_ERROR(i32s("production_at_risk", s.production_at_risk));
    MESHTWIN_RETURN_IF_ERROR(i32s("would_be_at_risk", s.would_be_at_risk));

    std::vector<hdf5::Column> cols = {
        {"time", hdf5::ColumnKind::kFloat64},          {"action", hdf5::ColumnKind::kString},
        {"node_type", hdf5::ColumnKind::kString},      {"count", hdf5::ColumnKind::kInt32},
        {"replicas_before", hdf5::ColumnKind::kInt32}, {"replicas_after", hdf5::ColumnKind::kInt32},
        {"metric", hdf5::ColumnKind::kFloat64},        {"reason", hdf5::ColumnKind::kString}};
    for (const ShadowFileDecision& x : d.decisions) {
      cols[0].f64.push_back(x.time);
      cols[1].str.push_back(x.action);
      cols[2].str.push_back(x.node_type);
      cols[3].i32.push_back(x.count);
      cols[4].i32.push_back(x.replicas_before);
      cols[5].i32.push_back(x.replicas_after);
      cols[6].f64.push_back(x.metric);
      cols[7].str.push_back(x.reason);
    }
    return w.WriteTable(file, "decisions", cols, d.decisions.size(), "", "");
  });
}

// Equal, NaN equal to NaN.
void ExpectSame(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << what << "[" << i << "]";
    } else {
      EXPECT_EQ(a[i], b[i]) << what << "[" << i << "]";
    }
  }
}

TEST_F(ShadowFileTest, ReadsEveryField) {
  const ShadowFileData in = Filled();
  ASSERT_TRUE(Write(Path("s.h5"), in).ok());
  absl::StatusOr<ShadowFileData> out = ReadShadowFile(Path("s.h5"));
  ASSERT_TRUE(out.ok()) << out.status();

  const ShadowFileAttributes& a = out->attributes;
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.scenario, "default");
  EXPECT_EQ(a.policy, "hpa");
  EXPECT_EQ(a.node_type, "medium");
  EXPECT_EQ(a.node_rps, 200);
  EXPECT_EQ(a.interval, 60);
  EXPECT_EQ(a.slo_utilization_ceiling, 0.9);
  EXPECT_EQ(a.production_node_hours, 0.6);
  EXPECT_EQ(a.would_be_node_hours, 0.7);
  EXPECT_EQ(a.production_cost, 0.204);
  EXPECT_EQ(a.would_be_cost, 0.238);
  EXPECT_EQ(a.intervals, 3);
  EXPECT_EQ(a.missing_intervals, 1);
  EXPECT_EQ(a.production_risk_intervals, 1);
  EXPECT_EQ(a.would_be_risk_intervals, 0);
  EXPECT_EQ(a.about, in.attributes.about);

  const ShadowFileSteps& s = out->steps;
  ASSERT_EQ(s.size(), 4u);
  ExpectSame(s.time, in.steps.time, "time");
  ExpectSame(s.demand, in.steps.demand, "demand");
  ExpectSame(s.production_nodes, in.steps.production_nodes, "production_nodes");
  ExpectSame(s.production_capacity, in.steps.production_capacity, "production_capacity");
  ExpectSame(s.would_be_nodes, in.steps.would_be_nodes, "would_be_nodes");
  ExpectSame(s.would_be_ready, in.steps.would_be_ready, "would_be_ready");
  ExpectSame(s.would_be_capacity, in.steps.would_be_capacity, "would_be_capacity");
  ExpectSame(s.forecast_p50, in.steps.forecast_p50, "forecast_p50");
  EXPECT_THAT(s.desired_nodes, ElementsAre(12, 15, -1, 13));
  EXPECT_THAT(s.production_at_risk, ElementsAre(0, 1, -1, 0));
  EXPECT_THAT(s.would_be_at_risk, ElementsAre(0, 1, -1, 0));

  ASSERT_EQ(out->decisions.size(), 2u);
  const ShadowFileDecision& d = out->decisions[1];
  EXPECT_EQ(d.time, 1.8e9 + 240);
  EXPECT_EQ(d.action, "scale_in");
  EXPECT_EQ(d.node_type, "medium");
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.replicas_before, 15);
  EXPECT_EQ(d.replicas_after, 13);
  EXPECT_EQ(d.metric, 0.4);
  EXPECT_EQ(d.reason, "naïve ✓ below target");
  EXPECT_EQ(out->decisions[0].action, "scale_out");
}

TEST_F(ShadowFileTest, EmptyRunIsReadAsEmpty) {
  ShadowFileData d = Filled();
  d.steps = ShadowFileSteps{};
  d.decisions.clear();
  ASSERT_TRUE(Write(Path("e.h5"), d).ok());
  absl::StatusOr<ShadowFileData> out = ReadShadowFile(Path("e.h5"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->steps.size(), 0u);
  EXPECT_TRUE(out->decisions.empty());
}

TEST_F(ShadowFileTest, MissingOrForeignFilesAreNamed) {
  absl::Status st = ReadShadowFile(Path("none.h5")).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(st), HasSubstr("none.h5"));

  test_util::WriteBytes(Path("text.h5"), "not hdf5\n");
  st = ReadShadowFile(Path("text.h5")).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("text.h5: /: not an HDF5 file"));

  ASSERT_TRUE(Write(Path("results.h5"), Filled(), "meshtwin-results").ok());
  st = ReadShadowFile(Path("results.h5")).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("results.h5: /: format is 'meshtwin-results', expected "
                                 "'meshtwin-shadow' (not a shadow file)"));

  ShadowFileData v2 = Filled();
  v2.attributes.version = 2;
  ASSERT_TRUE(Write(Path("v2.h5"), v2).ok());
  EXPECT_THAT(Msg(ReadShadowFile(Path("v2.h5")).status()),
              HasSubstr("v2.h5: /: version 2 is not supported"));
}

TEST_F(ShadowFileTest, MalformedContentsNameTheDataset) {
  auto error = [&](const std::string& name, const ShadowFileData& d) {
    EXPECT_TRUE(Write(Path(name), d).ok());
    const absl::Status st = ReadShadowFile(Path(name)).status();
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    return Msg(st);
  };
  ShadowFileData d = Filled();
  d.steps.demand.pop_back();
  EXPECT_THAT(error("short.h5", d),
              HasSubstr("short.h5: /steps/demand: has 3 values but /steps/time has 4"));

  d = Filled();
  d.steps.would_be_at_risk.push_back(0);
  EXPECT_THAT(error("long.h5", d),
              HasSubstr("long.h5: /steps/would_be_at_risk: has 5 values but /steps/time has 4"));

  d = Filled();
  d.steps.time[2] = d.steps.time[1];
  EXPECT_THAT(error("order.h5", d),
              HasSubstr("order.h5: /steps/time: row 2 (1800000120) is not after row 1"));

  d = Filled();
  d.steps.time[0] = kNaN;
  EXPECT_THAT(error("nan.h5", d), HasSubstr("nan.h5: /steps/time: row 0 is not a finite time"));

  d = Filled();
  d.steps.production_at_risk[3] = 2;
  EXPECT_THAT(error("flag.h5", d),
              HasSubstr("flag.h5: /steps/production_at_risk: row 3 is 2, expected -1 (no data) "
                        "to 1"));

  d = Filled();
  d.steps.desired_nodes[0] = -7;
  EXPECT_THAT(error("desired.h5", d), HasSubstr("desired.h5: /steps/desired_nodes: row 0 is -7"));

  d = Filled();
  d.attributes.interval = 0;
  EXPECT_THAT(error("interval.h5", d),
              HasSubstr("interval.h5: /: attribute 'interval' is 0, expected a positive number"));

  d = Filled();
  d.decisions[1].time = kNaN;
  EXPECT_THAT(error("dtime.h5", d),
              HasSubstr("dtime.h5: /decisions: row 1: time is not a finite number"));
}

TEST_F(ShadowFileTest, MissingAndMistypedObjectsAreNamed) {
  auto edited = [&](const std::string& name, auto edit) {
    EXPECT_TRUE(Write(Path(name), Filled()).ok());
    EditFile(Path(name), edit);
    const absl::Status st = ReadShadowFile(Path(name)).status();
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    return Msg(st);
  };
  EXPECT_THAT(
      edited("nosteps.h5",
             [](hid_t f) { ASSERT_GE(H5Ldelete(f, "steps/forecast_p50", H5P_DEFAULT), 0); }),
      HasSubstr("nosteps.h5: /steps/forecast_p50: missing dataset"));
  EXPECT_THAT(
      edited("nodec.h5", [](hid_t f) { ASSERT_GE(H5Ldelete(f, "decisions", H5P_DEFAULT), 0); }),
      HasSubstr("nodec.h5: /decisions: missing dataset"));
  EXPECT_THAT(edited("noattr.h5", [](hid_t f) { ASSERT_GE(H5Adelete(f, "node_rps"), 0); }),
              HasSubstr("noattr.h5: /: missing attribute 'node_rps'"));
  // /steps/demand as integers.
  EXPECT_THAT(edited("int.h5",
                     [](hid_t f) {
                       ASSERT_GE(H5Ldelete(f, "steps/demand", H5P_DEFAULT), 0);
                       const hsize_t n = 4;
                       const hid_t space = H5Screate_simple(1, &n, nullptr);
                       const hid_t ds = H5Dcreate2(f, "steps/demand", H5T_STD_I32LE, space,
                                                   H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                       const std::int32_t v[4] = {1, 2, 3, 4};
                       ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v),
                                 0);
                       H5Dclose(ds);
                       H5Sclose(space);
                     }),
              HasSubstr("int.h5: /steps/demand: expected a 1-D float dataset, got 1-D int32"));
  // /steps as a dataset rather than a group.
  EXPECT_THAT(edited("flat.h5",
                     [](hid_t f) {
                       ASSERT_GE(H5Ldelete(f, "steps", H5P_DEFAULT), 0);
                       const hid_t space = H5Screate(H5S_SCALAR);
                       const hid_t ds = H5Dcreate2(f, "steps", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                                   H5P_DEFAULT, H5P_DEFAULT);
                       H5Dclose(ds);
                       H5Sclose(space);
                     }),
              HasSubstr("flat.h5: /steps: is not a group"));
}

}  // namespace
}  // namespace meshtwin
