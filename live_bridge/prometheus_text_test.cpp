#include "live_bridge/prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace meshtwin::live {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusTextTest, GoldenText) {
  ExpositionWriter w;
  // Added out of order: the output is sorted anyway.
  ASSERT_TRUE(w.Gauge("meshtwin_load1", "1-minute load average.", {}, 1.5).ok());
  ASSERT_TRUE(w.Counter("meshtwin_heartbeats_total", "Heartbeats sent.\nTo the manager.",
                        {{"manager", "m-2"}}, 7)
                  .ok());
  ASSERT_TRUE(w.Counter("meshtwin_heartbeats_total", "Heartbeats sent.\nTo the manager.",
                        {{"manager", "m-1"}}, 12)
                  .ok());
  ASSERT_TRUE(w.Gauge("meshtwin_cpu_utilization", "CPU busy share, 0..1 (C:\\ not involved).",
                      {{"node", "n1"}, {"cpu", "all"}}, 0.25)
                  .ok());
  ASSERT_TRUE(
      w.Gauge("meshtwin_gpu_info", "GPUs by model.", {{"model", "say \"hi\"\nback\\slash"}}, 2)
          .ok());
  HistogramValue h;
  h.upper_bounds = {0.005, 0.05, 0.5};
  h.cumulative_counts = {3, 10, 12};
  h.count = 13;
  h.sum = 1.25;
  ASSERT_TRUE(w.Histogram("meshtwin_heartbeat_seconds", "", {{"manager", "m-1"}}, h).ok());
  ASSERT_TRUE(w.Gauge("meshtwin_up", "", {}, 1).ok());

  EXPECT_EQ(w.Render(),
            "# HELP meshtwin_cpu_utilization CPU busy share, 0..1 (C:\\\\ not involved).\n"
            "# TYPE meshtwin_cpu_utilization gauge\n"
            "meshtwin_cpu_utilization{cpu=\"all\",node=\"n1\"} 0.25\n"
            "# HELP meshtwin_gpu_info GPUs by model.\n"
            "# TYPE meshtwin_gpu_info gauge\n"
            "meshtwin_gpu_info{model=\"say \\\"hi\\\"\\nback\\\\slash\"} 2\n"
            "# TYPE meshtwin_heartbeat_seconds histogram\n"
            "meshtwin_heartbeat_seconds_bucket{manager=\"m-1\",le=\"0.005\"} 3\n"
            "meshtwin_heartbeat_seconds_bucket{manager=\"m-1\",le=\"0.05\"} 10\n"
            "meshtwin_heartbeat_seconds_bucket{manager=\"m-1\",le=\"0.5\"} 12\n"
            "meshtwin_heartbeat_seconds_bucket{manager=\"m-1\",le=\"+Inf\"} 13\n"
            "meshtwin_heartbeat_seconds_sum{manager=\"m-1\"} 1.25\n"
            "meshtwin_heartbeat_seconds_count{manager=\"m-1\"} 13\n"
            "# HELP meshtwin_heartbeats_total Heartbeats sent.\\nTo the manager.\n"
            "# TYPE meshtwin_heartbeats_total counter\n"
            "meshtwin_heartbeats_total{manager=\"m-1\"} 12\n"
            "meshtwin_heartbeats_total{manager=\"m-2\"} 7\n"
            "# HELP meshtwin_load1 1-minute load average.\n"
            "# TYPE meshtwin_load1 gauge\n"
            "meshtwin_load1 1.5\n"
            "# TYPE meshtwin_up gauge\n"
            "meshtwin_up 1\n");
}

TEST(PrometheusTextTest, SampleValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-3.5), "-3.5");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(HUGE_VAL), "+Inf");
  EXPECT_EQ(FormatSampleValue(-HUGE_VAL), "-Inf");
  // Shortest text that reads back exactly.
  EXPECT_EQ(FormatSampleValue(0.1 + 0.2), "0.30000000000000004");
}

TEST(PrometheusTextTest, Names) {
  EXPECT_TRUE(IsValidMetricName("meshtwin_up"));
  EXPECT_TRUE(IsValidMetricName("job:requests:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_x9"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("cpu-usage"));
  EXPECT_FALSE(IsValidMetricName("caf\xc3\xa9"));
  EXPECT_TRUE(IsValidLabelName("node"));
  EXPECT_TRUE(IsValidLabelName("_private"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(PrometheusTextTest, RefusesWhatPrometheusWouldReject) {
  ExpositionWriter w;
  EXPECT_THAT(w.Gauge("bad-name", "", {}, 1).message(), HasSubstr("invalid metric name"));
  EXPECT_THAT(w.Gauge("g", "", {{"bad-label", "x"}}, 1).message(),
              HasSubstr("invalid label name 'bad-label'"));
  EXPECT_THAT(w.Gauge("g", "", {{"a", "1"}, {"a", "2"}}, 1).message(), HasSubstr("given twice"));
  EXPECT_THAT(w.Counter("c_total", "", {}, -1).message(), HasSubstr(">= 0"));
  EXPECT_THAT(w.Counter("c_total", "", {}, std::nan("")).message(), HasSubstr(">= 0"));

  ASSERT_TRUE(w.Gauge("g", "help", {{"a", "1"}}, 1).ok());
  EXPECT_THAT(w.Gauge("g", "help", {{"a", "1"}}, 2).message(), HasSubstr("g{a=\"1\"}: series"));
  EXPECT_THAT(w.Counter("g", "help", {{"a", "2"}}, 1).message(),
              HasSubstr("declared as gauge, now as counter"));
  EXPECT_THAT(w.Gauge("g", "other help", {{"a", "2"}}, 1).message(), HasSubstr("help"));

  HistogramValue h{{1, 2}, {1, 2}, 2, 3};
  EXPECT_THAT(w.Histogram("h", "", {{"le", "1"}}, h).message(), HasSubstr("'le' is reserved"));
  EXPECT_THAT(w.Histogram("h", "", {}, HistogramValue{{2, 1}, {1, 2}, 2, 3}).message(),
              HasSubstr("ascending"));
  EXPECT_THAT(w.Histogram("h", "", {}, HistogramValue{{1, 2}, {2, 1}, 2, 3}).message(),
              HasSubstr("cumulative"));
  EXPECT_THAT(w.Histogram("h", "", {}, HistogramValue{{1, 2}, {1, 3}, 2, 3}).message(),
              HasSubstr("more observations than count"));
  EXPECT_THAT(w.Histogram("h", "", {}, HistogramValue{{1}, {1, 2}, 2, 3}).message(),
              HasSubstr("1 bounds but 2 bucket counts"));
  ASSERT_TRUE(w.Histogram("h", "", {}, h).ok());
  EXPECT_THAT(w.Gauge("h_count", "", {}, 1).message(), HasSubstr("collides with histogram h"));
  EXPECT_THAT(w.Histogram("g", "", {}, h).message(), HasSubstr("declared as gauge"));
  ASSERT_TRUE(w.Gauge("x_sum", "", {}, 1).ok());
  EXPECT_THAT(w.Histogram("x", "", {}, h).message(), HasSubstr("collides with metric x_sum"));

  // Nothing refused made it into the output.
  EXPECT_EQ(w.Render(),
            "# HELP g help\n# TYPE g gauge\ng{a=\"1\"} 1\n"
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\n"
            "h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
            "# TYPE x_sum gauge\nx_sum 1\n");
}

TEST(PrometheusTextTest, ParsesItsOwnOutputBack) {
  ExpositionWriter w;
  const std::string tricky = "a \"quoted\" \\ value\nover two lines, {with} braces=";
  ASSERT_TRUE(w.Gauge("m", "", {{"v", tricky}, {"n", ""}}, -0.5).ok());
  ASSERT_TRUE(w.Gauge("nan", "", {}, std::nan("")).ok());
  ASSERT_TRUE(w.Counter("inf_total", "", {}, HUGE_VAL).ok());
  absl::StatusOr<std::vector<ParsedSample>> samples = ParseExposition(w.Render());
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ((*samples)[0].name, "inf_total");
  EXPECT_EQ((*samples)[0].value, HUGE_VAL);
  EXPECT_EQ((*samples)[1], (ParsedSample{"m", {{"n", ""}, {"v", tricky}}, -0.5}));
  EXPECT_EQ((*samples)[2].name, "nan");
  EXPECT_TRUE(std::isnan((*samples)[2].value));
}

TEST(PrometheusTextTest, ParseAcceptsTimestampsAndNamesBadLines) {
  absl::StatusOr<std::vector<ParsedSample>> samples =
      ParseExposition("# a comment\n\nup{job=\"a\",} 1 1712345678000\nup +2\n");
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(*samples, (std::vector<ParsedSample>{{"up", {{"job", "a"}}, 1}, {"up", {}, 2}}));

  EXPECT_THAT(ParseExposition("up 1\nup{job=\"a} 1\n").status().message(),
              HasSubstr("line 2: unterminated label value"));
  EXPECT_THAT(ParseExposition("up one\n").status().message(), HasSubstr("line 1: bad value 'one'"));
  EXPECT_THAT(ParseExposition("\n\n{a=\"1\"} 1\n").status().message(),
              HasSubstr("line 3: expected a metric name"));
  EXPECT_THAT(ParseExposition("up{a=\"\\t\"} 1\n").status().message(), HasSubstr("unknown escape"));
}

}  // namespace
}  // namespace meshtwin::live
