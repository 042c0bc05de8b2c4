#include "datasets/timestamp.h"

#include <gtest/gtest.h>

namespace meshtwin {
namespace {

constexpr double k2024_03_01_noon = 1709294400;

TEST(ParseTimestamp, AcceptsTheDocumentedForms) {
  for (const char* text : {"2024-03-01T12:00:00Z", "2024-03-01T12:00:00", "2024-03-01 12:00",
                           "2024-03-01 12:00:00", "2024-03-01T14:00:00+02:00",
                           "2024-03-01T07:00:00-0500", "1709294400", "1709294400000",
                           " 2024-03-01T12:00Z\r"}) {
    absl::StatusOr<double> t = ParseTimestamp(text);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status();
    EXPECT_DOUBLE_EQ(*t, k2024_03_01_noon) << text;
  }
  EXPECT_DOUBLE_EQ(*ParseTimestamp("2024-03-01T12:00:00.250Z"), k2024_03_01_noon + 0.25);
  EXPECT_DOUBLE_EQ(*ParseTimestamp("1970-01-01"), 0);
  EXPECT_DOUBLE_EQ(*ParseTimestamp("2000-02-29 00:00"), 951782400);
  EXPECT_DOUBLE_EQ(*ParseTimestamp("1709294400.5"), k2024_03_01_noon + 0.5);
}

TEST(ParseTimestamp, ForcedUnitsOverrideDetection) {
  EXPECT_DOUBLE_EQ(*ParseTimestamp("1709294400000", TimeFormat::kUnixSeconds), 1709294400000);
  EXPECT_DOUBLE_EQ(*ParseTimestamp("60000", TimeFormat::kUnixMillis), 60);
}

TEST(ParseTimestamp, RejectsGarbageWithAReadableMessage) {
  for (const char* text : {"", "yesterday", "2024-13-01", "2023-02-29", "2024-03-01T25:00",
                           "2024-03-01T12:00:00+2", "2024-03-01T12:00:00 UTC", "12:00", "nan",
                           "1e999"}) {
    absl::StatusOr<double> t = ParseTimestamp(text);
    EXPECT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_NE(ErrorText(ParseTimestamp("2024-13-01").status()).find("'2024-13-01'"),
            std::string::npos);
}

TEST(TimestampParser, LocksOntoTheFirstFormatAndReportsMixing) {
  TimestampParser p;
  ASSERT_TRUE(p.Parse("2024-03-01 12:00").ok());
  EXPECT_EQ(p.format(), TimeFormat::kIso8601);
  absl::StatusOr<double> mixed = p.Parse("1709294460");
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(ErrorText(mixed.status()).find("mixed timestamp formats"), std::string::npos);

  TimestampParser q;
  ASSERT_TRUE(q.Parse("1709294400000").ok());
  EXPECT_EQ(q.format(), TimeFormat::kUnixMillis);
  // Seconds after milliseconds are still numbers: parsed as ms, which the
  // caller's monotonicity check will then catch.
  EXPECT_DOUBLE_EQ(*q.Parse("1709294460"), 1709294.46);
}

TEST(FormatIso8601, RoundTrips) {
  EXPECT_EQ(FormatIso8601(k2024_03_01_noon), "2024-03-01T12:00:00Z");
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatIso8601(951782400 + 0.5), "2000-02-29T00:00:00.500Z");
  for (double t : {0.0, 1e9, 1709294400.0, 4102444800.0}) {
    EXPECT_DOUBLE_EQ(*ParseTimestamp(FormatIso8601(t)), t);
  }
}

TEST(ParseTimeFormatName, KnowsTheFlagValues) {
  EXPECT_EQ(*ParseTimeFormatName("ms"), TimeFormat::kUnixMillis);
  EXPECT_EQ(*ParseTimeFormatName("iso"), TimeFormat::kIso8601);
  EXPECT_FALSE(ParseTimeFormatName("epoch").ok());
}

}  // namespace
}  // namespace meshtwin
