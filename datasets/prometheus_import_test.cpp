#include <limits>
#include <string>
#include <vector>

#include "datasets/csv_import.h"
#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using test_util::Msg;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::NanSensitiveDoubleEq;
using ::testing::Pointwise;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double k2024_03_01_noon = 1709294400;

// A query_range answer with `result` as the series list.
std::string Matrix(const std::string& result) {
  return R"({"status":"success","data":{"resultType":"matrix","result":[)" + result + "]}}";
}

// Two series of a request-rate metric, 60 s apart. Instance b skips a scrape
// and both answer "NaN" for the last step.
const char kTwoSeries[] = R"(
  {"metric":{"__name__":"http_requests","job":"api","instance":"a"},
   "values":[[1709294400,"1"],[1709294460,"2"],[1709294520,"3"],[1709294580,"NaN"]]},
  {"metric":{"instance":"b","__name__":"http_requests","job":"api"},
   "values":[[1709294400,"10"],[1709294520,"30.5"],[1709294580,"NaN"]]})";

absl::StatusOr<Trace> Import(const std::string& text, CsvImportOptions options = {},
                             ImportReport* report = nullptr) {
  ImportReport local;
  return ImportPrometheusText(text, "p.json", options, report != nullptr ? report : &local);
}

std::string ImportError(const std::string& text, CsvImportOptions options = {}) {
  absl::StatusOr<Trace> t = Import(text, options);
  if (t.ok()) return "(import succeeded)";
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << t.status();
  return Msg(t.status());
}

CsvImportOptions SumOptions() {
  CsvImportOptions o;
  o.demand_from = DemandFrom::kSum;  // what callers pass for Prometheus
  return o;
}

TEST(PrometheusImport, TwoSeriesOnTheUnionAxis) {
  ImportReport report;
  absl::StatusOr<Trace> t = Import(Matrix(kTwoSeries), SumOptions(), &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->epoch, k2024_03_01_noon);
  EXPECT_EQ(t->start, 0);
  EXPECT_EQ(t->step, 60);
  // Sample 1 has only instance a; sample 3 has nothing at all.
  EXPECT_THAT(t->demand, Pointwise(NanSensitiveDoubleEq(), std::vector<double>{11, 2, 33.5, kNaN}));
  ASSERT_EQ(t->channels.size(), 2u);
  EXPECT_EQ(t->channels[0].name, R"(http_requests{instance="a",job="api"})");
  EXPECT_EQ(t->channels[1].name, R"(http_requests{instance="b",job="api"})");
  EXPECT_EQ(t->channels[1].kind, "series");
  EXPECT_THAT(t->channels[1].values,
              Pointwise(NanSensitiveDoubleEq(), std::vector<double>{10, kNaN, 30.5, kNaN}));
  EXPECT_EQ(report.rows, 7u);
  EXPECT_EQ(report.missing, 1u);
  EXPECT_EQ(report.gaps, 1u);
  EXPECT_THAT(
      report.warnings,
      Contains(R"(series 'http_requests{instance="b",job="api"}': no data for 2 of 4 samples)"));
  EXPECT_THAT(t->provenance, StartsWith("prometheus:p.json series=2 demand=sum step=60 agg=mean"));
}

TEST(PrometheusImport, FillAndFirstSeries) {
  CsvImportOptions o = SumOptions();
  o.fill = GapFill::kLinear;
  absl::StatusOr<Trace> filled = Import(Matrix(kTwoSeries), o);
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_THAT(filled->demand, ElementsAre(11, 2, 33.5, 33.5));
  EXPECT_THAT(filled->channels[1].values, ElementsAre(10, 20.25, 30.5, 30.5));

  o = CsvImportOptions();
  o.demand_from = DemandFrom::kFirst;
  absl::StatusOr<Trace> first = Import(Matrix(kTwoSeries), o);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->demand, Pointwise(NanSensitiveDoubleEq(), std::vector<double>{1, 2, 3, kNaN}));
}

TEST(PrometheusImport, OneSeriesStillNamesItsChannel) {
  absl::StatusOr<Trace> t = Import(
      Matrix(R"({"metric":{"job":"x","a":"q\"uote"},"values":[[0,"1"],[15,"2"],[30,"+3"]]})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->step, 15);
  EXPECT_THAT(t->demand, ElementsAre(1, 2, 3));
  ASSERT_EQ(t->channels.size(), 1u);
  EXPECT_EQ(t->channels[0].name, R"({a="q\"uote",job="x"})");
}

TEST(PrometheusImport, ErrorStatusQuotesPrometheus) {
  EXPECT_EQ(ImportError(
                R"({"status":"error","errorType":"bad_data","error":"invalid parameter 'query'"})"),
            "p.json: status: expected \"success\", got \"error\": Prometheus answered errorType "
            "bad_data, error \"invalid parameter 'query'\"");
}

TEST(PrometheusImport, MalformedValueNamesItsJsonPath) {
  const std::string text = Matrix(R"(
    {"metric":{"__name__":"up"},"values":[[0,"1"],[60,"2"]]},
    {"metric":{"__name__":"down"},"values":[[0,"1"],[60,12.5]]})");
  EXPECT_EQ(ImportError(text),
            "p.json: data.result[1].values[1][1]: expected a number as a string, got 12.5");
  EXPECT_EQ(ImportError(Matrix(R"({"metric":{},"values":[[0,"1"],[60]]})")),
            "p.json: data.result[0].values[1]: expected a [time, \"value\"] pair, got [60]");
  EXPECT_EQ(ImportError(Matrix(R"({"metric":{},"values":[["soon","1"]]})")),
            "p.json: data.result[0].values[0][0]: expected a unix time in seconds (a number), got "
            "\"soon\"");
  EXPECT_EQ(ImportError(Matrix(R"({"metric":{"a":1},"values":[]})")),
            "p.json: data.result[0].metric.a: expected a label value string, got 1");
}

TEST(PrometheusImport, InfinityAndNegativeValuesAreRejected) {
  EXPECT_EQ(ImportError(Matrix(R"({"metric":{},"values":[[0,"1"],[60,"+Inf"]]})")),
            "p.json: data.result[0].values[1][1]: expected a finite number as a string, got "
            "\"+Inf\"");
  EXPECT_EQ(ImportError(Matrix(R"({"metric":{"__name__":"x"},"values":[[0,"-2"]]})")),
            "p.json: data.result[0].values[0][1]: expected a non-negative number in series "
            "x{}, got '-2' (negative demand)");
}

TEST(PrometheusImport, SyntaxErrorGivesLineAndColumn) {
  const std::string m =
      ImportError("{\"status\":\"success\",\n \"data\": {\"resultType\" \"matrix\"}}");
  EXPECT_THAT(m, StartsWith("p.json:2:31: expected JSON (a Prometheus query_range answer), got a "
                            "syntax error: "));
}

TEST(PrometheusImport, OnlyMatrixResultsAreAccepted) {
  EXPECT_EQ(ImportError(R"({"status":"success","data":{"resultType":"vector","result":[]}})"),
            "p.json: data.resultType: expected \"matrix\" (the answer of a range query, "
            "/api/v1/query_range), got \"vector\"");
  EXPECT_EQ(ImportError(Matrix("")),
            "p.json: data.result: expected at least one series, got an empty list (the query "
            "matched nothing)");
  EXPECT_EQ(ImportError("[1,2]"), "p.json: (top level): expected a JSON object, got [1,2]");
}

TEST(PrometheusImport, MissingFileIsNotFound) {
  absl::StatusOr<Trace> t = ImportPrometheusFile("/nonexistent/q.json", {}, nullptr);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(t.status()), "/nonexistent/q.json: cannot read: No such file or directory");
}

}  // namespace
}  // namespace meshtwin
