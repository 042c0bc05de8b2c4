// The shadow file as `meshtwin shadow` writes it (Shadow::Write) read back
// by datasets' ReadShadowFile, the GUI's reader: every series, decision and
// report figure survives, NaN and the -1 of missing intervals included. The
// two live in different folders (datasets/ cannot link the live bridge), so
// this is where their agreement on the schema is checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "datasets/shadow_file.h"
#include "live_bridge/shadow.h"
#include "live_bridge/test_support/synthetic_shadow.h"

namespace meshtwin::live {
namespace {

void ExpectSame(const std::vector<double>& written, const std::vector<double>& read,
                const char* what) {
  ASSERT_EQ(written.size(), read.size()) << what;
  for (std::size_t i = 0; i < written.size(); ++i) {
    if (std::isnan(written[i])) {
      EXPECT_TRUE(std::isnan(read[i])) << what << "[" << i << "]";
    } else {
      EXPECT_EQ(written[i], read[i]) << what << "[" << i << "]";
    }
  }
}

TEST(ShadowFileRoundTrip, ReaderGetsWhatTheShadowWrote) {
  SyntheticShadowOptions options;
  options.hours = 3;
  options.spike_at_hours = 2;
  absl::StatusOr<std::unique_ptr<Shadow>> shadow = RunSyntheticShadow(options);
  ASSERT_TRUE(shadow.ok()) << shadow.status();
  const std::string path = (std::filesystem::path(::testing::TempDir()) /
                            ("shadow_roundtrip." + std::to_string(::getpid()) + ".h5"))
                               .string();
  ASSERT_TRUE((*shadow)->Write(path, SyntheticShadowAbout()).ok());
  absl::StatusOr<ShadowFileData> file = ReadShadowFile(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(file.ok()) << file.status();

  // The fixture is what the GUI's screenshot shows: it must have something
  // to show on both sides.
  const ShadowReport report = (*shadow)->Report();
  EXPECT_EQ(report.intervals + report.missing_intervals, 180);
  EXPECT_EQ(report.missing_intervals, 3);
  EXPECT_GT(report.decisions, 0);
  EXPECT_GT(report.production_risk_intervals, 0);

  const ShadowFileAttributes& a = file->attributes;
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.scenario, "default");
  EXPECT_EQ(a.policy, "hpa");
  EXPECT_EQ(a.node_type, "medium");
  EXPECT_EQ(a.node_rps, (*shadow)->node_rps());
  EXPECT_EQ(a.interval, 60);
  EXPECT_EQ(a.slo_utilization_ceiling, 1);
  EXPECT_EQ(a.production_node_hours, report.production_node_hours);
  EXPECT_EQ(a.would_be_node_hours, report.would_be_node_hours);
  EXPECT_EQ(a.production_cost, report.production_cost);
  EXPECT_EQ(a.would_be_cost, report.would_be_cost);
  EXPECT_EQ(a.intervals, report.intervals);
  EXPECT_EQ(a.missing_intervals, report.missing_intervals);
  EXPECT_EQ(a.production_risk_intervals, report.production_risk_intervals);
  EXPECT_EQ(a.would_be_risk_intervals, report.would_be_risk_intervals);
  for (const auto& [key, value] : SyntheticShadowAbout()) {
    ASSERT_EQ(a.about.count(key), 1u) << key;
    EXPECT_EQ(a.about.at(key), value);
  }
  EXPECT_EQ(a.about.size(), SyntheticShadowAbout().size());

  const ShadowSeries& w = (*shadow)->series();
  const ShadowFileSteps& r = file->steps;
  ExpectSame(w.time, r.time, "time");
  ExpectSame(w.demand, r.demand, "demand");
  ExpectSame(w.production_nodes, r.production_nodes, "production_nodes");
  ExpectSame(w.production_capacity, r.production_capacity, "production_capacity");
  ExpectSame(w.would_be_nodes, r.would_be_nodes, "would_be_nodes");
  ExpectSame(w.would_be_ready, r.would_be_ready, "would_be_ready");
  ExpectSame(w.would_be_capacity, r.would_be_capacity, "would_be_capacity");
  ExpectSame(w.forecast_p50, r.forecast_p50, "forecast_p50");
  EXPECT_EQ(w.desired_nodes, r.desired_nodes);
  EXPECT_EQ(w.production_at_risk, r.production_at_risk);
  EXPECT_EQ(w.would_be_at_risk, r.would_be_at_risk);
  EXPECT_THAT(r.desired_nodes, ::testing::Contains(-1));  // the missing intervals

  const std::vector<ShadowDecision>& wd = (*shadow)->decisions();
  ASSERT_EQ(wd.size(), file->decisions.size());
  for (std::size_t i = 0; i < wd.size(); ++i) {
    const ShadowFileDecision& rd = file->decisions[i];
    EXPECT_EQ(rd.time, wd[i].time) << i;
    EXPECT_EQ(rd.action, wd[i].action) << i;
    EXPECT_EQ(rd.node_type, wd[i].node_type) << i;
    EXPECT_EQ(rd.count, wd[i].count) << i;
    EXPECT_EQ(rd.replicas_before, wd[i].replicas_before) << i;
    EXPECT_EQ(rd.replicas_after, wd[i].replicas_after) << i;
    EXPECT_EQ(rd.metric, wd[i].metric) << i;
    EXPECT_EQ(rd.reason, wd[i].reason) << i;
  }
}

}  // namespace
}  // namespace meshtwin::live
