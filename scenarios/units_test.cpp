// Tests of the unit parsers scenario files use (scenarios/units.cpp).
#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenarios/scenario.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

// Expects `result` to be InvalidArgument whose message has every substring.
template <typename T>
void ExpectInvalid(const absl::StatusOr<T>& result, std::string_view text,
                   std::initializer_list<std::string_view> substrings) {
  SCOPED_TRACE(std::string(text));
  ASSERT_FALSE(result.ok()) << "accepted, value " << *result;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(result.status().message());
  for (std::string_view s : substrings) EXPECT_THAT(message, HasSubstr(std::string(s)));
}

TEST(ParseDurationTest, AcceptsSingleUnits) {
  EXPECT_DOUBLE_EQ(*ParseDuration("15s"), 15);
  EXPECT_DOUBLE_EQ(*ParseDuration("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseDuration("50us"), 50e-6);
  EXPECT_DOUBLE_EQ(*ParseDuration("50\xC2\xB5s"), 50e-6);  // µs
  EXPECT_DOUBLE_EQ(*ParseDuration("10ns"), 10e-9);
  EXPECT_DOUBLE_EQ(*ParseDuration("5m"), 300);
  EXPECT_DOUBLE_EQ(*ParseDuration("2h"), 7200);
  EXPECT_DOUBLE_EQ(*ParseDuration("1d"), 86400);
  EXPECT_DOUBLE_EQ(*ParseDuration("1.5h"), 5400);
  EXPECT_DOUBLE_EQ(*ParseDuration("0s"), 0);
}

TEST(ParseDurationTest, AcceptsCompoundDurations) {
  EXPECT_DOUBLE_EQ(*ParseDuration("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(*ParseDuration("1m30s"), 90);
  EXPECT_DOUBLE_EQ(*ParseDuration("1d2h3m4s"), 86400 + 7200 + 180 + 4);
  EXPECT_DOUBLE_EQ(*ParseDuration("1s500ms"), 1.5);
}

TEST(ParseDurationTest, PlainNumberIsSeconds) {
  EXPECT_DOUBLE_EQ(*ParseDuration("90"), 90);
  EXPECT_DOUBLE_EQ(*ParseDuration("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDuration("1e3"), 1000);
  EXPECT_DOUBLE_EQ(*ParseDuration("0"), 0);
  EXPECT_DOUBLE_EQ(*ParseDuration("  15s "), 15);  // YAML may leave spaces in --set values
}

TEST(ParseDurationTest, RejectsMalformedAndNegative) {
  for (std::string_view bad : {"-5s", "+5s", "5x", "h", "1h30", "1h 30m", "inf", "nan", "1.5.2s",
                               "s5", "5 minutes", "1e400", "--1"}) {
    ExpectInvalid(ParseDuration(bad), bad,
                  {"expected a duration >= 0 such as 15s", "got " + std::string(bad)});
  }
  ExpectInvalid(ParseDuration(""), "", {"got an empty value"});
}

TEST(ParseFlopsTest, AcceptsSiPrefixesAndFlopSuffix) {
  EXPECT_DOUBLE_EQ(*ParseFlops("2.5Gf"), 2.5e9);
  EXPECT_DOUBLE_EQ(*ParseFlops("100Mf"), 1e8);
  EXPECT_DOUBLE_EQ(*ParseFlops("2k"), 2e3);
  EXPECT_DOUBLE_EQ(*ParseFlops("2K"), 2e3);
  EXPECT_DOUBLE_EQ(*ParseFlops("1.5G"), 1.5e9);
  EXPECT_DOUBLE_EQ(*ParseFlops("10Gflops"), 1e10);
  EXPECT_DOUBLE_EQ(*ParseFlops("3Tflop"), 3e12);
  EXPECT_DOUBLE_EQ(*ParseFlops("1P"), 1e15);
  EXPECT_DOUBLE_EQ(*ParseFlops("1e9"), 1e9);
  EXPECT_DOUBLE_EQ(*ParseFlops("5f"), 5);
  EXPECT_DOUBLE_EQ(*ParseFlops("7"), 7);
  EXPECT_DOUBLE_EQ(*ParseFlops("0"), 0);
}

TEST(ParseFlopsTest, RejectsMalformed) {
  for (std::string_view bad : {"-1G", "1Gx", "1X", "G", "1 G", "1mf", "1Gf/s", "1GG", "inf"}) {
    ExpectInvalid(ParseFlops(bad), bad,
                  {"expected an amount of flop >= 0 such as 2.5Gf", "got " + std::string(bad)});
  }
  ExpectInvalid(ParseFlops(""), "", {"got an empty value"});
}

TEST(ParseBandwidthTest, BitsAndBytes) {
  EXPECT_DOUBLE_EQ(*ParseBandwidth("10Gbps"), 1.25e9);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("1GBps"), 1e9);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("125MBps"), 1.25e8);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("100Mbit/s"), 1.25e7);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("1GB/s"), 1e9);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("8bps"), 1);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("1kBps"), 1e3);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("1000"), 1000);
  EXPECT_DOUBLE_EQ(*ParseBandwidth("1.25e9"), 1.25e9);
}

TEST(ParseBandwidthTest, RejectsMalformedAndAmbiguous) {
  // "10G" alone is ambiguous (bits or bytes?), so it needs bps or Bps.
  for (std::string_view bad : {"10G", "10Gb", "-1Gbps", "Gbps", "10 Gbps", "10gbps", "1Gbpss"}) {
    ExpectInvalid(ParseBandwidth(bad), bad,
                  {"expected a bandwidth >= 0 such as 10Gbps", "got " + std::string(bad)});
  }
  ExpectInvalid(ParseBandwidth(""), "", {"got an empty value"});
}

}  // namespace
}  // namespace meshtwin
