#include "live_bridge/prometheus_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace meshtwin::live {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusClientTest, SumsSeveralSeriesPointByPoint) {
  const char* body = R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"pod":"a"},"values":[[100,"1.5"],[115,"2"]]},
    {"metric":{"pod":"b"},"values":[[115,"3"],[130,"4"]]}]}})";
  absl::StatusOr<std::vector<PrometheusSample>> s = ParseQueryRangeAnswer(body, "ctx");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_DOUBLE_EQ((*s)[0].value, 1.5);
  EXPECT_DOUBLE_EQ((*s)[1].value, 5);
  EXPECT_DOUBLE_EQ((*s)[2].time, 130);
}

TEST(PrometheusClientTest, RejectsApiErrorsNonMatricesNaNAndBadJson) {
  auto error = [](const char* body) {
    return ErrorText(ParseQueryRangeAnswer(body, "prometheus http://p: query 'q'").status());
  };
  EXPECT_THAT(error(R"({"status":"error","errorType":"bad_data","error":"parse error"})"),
              HasSubstr("query 'q': Prometheus answered an error (bad_data): parse error"));
  EXPECT_THAT(error(R"({"status":"success","data":{"resultType":"vector","result":[]}})"),
              HasSubstr("expected \"matrix\""));
  EXPECT_THAT(error(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{},"values":[[1,"NaN"]]}]}})"),
              HasSubstr("data.result[0].values[0][1]: expected a finite number, got \"NaN\""));
  EXPECT_THAT(error("{not json"), HasSubstr("expected a JSON query_range answer"));
}

TEST(PrometheusClientTest, UnreachableServerNamesUrlAndQuery) {
  PrometheusClientOptions o;
  o.connect_timeout = 1;
  absl::StatusOr<std::vector<PrometheusSample>> s =
      QueryRange("http://127.0.0.1:1", "up", 0, 15, 15, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(ErrorText(s.status()), HasSubstr("prometheus http://127.0.0.1:1: query 'up'"));
}

}  // namespace
}  // namespace meshtwin::live
