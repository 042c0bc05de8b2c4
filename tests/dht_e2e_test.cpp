// End-to-end: `meshtwin dht` runs Chord and Kademlia on SimGrid, and what a
// user reads (the JSON report, the exit code, the error) is what is checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::RunMeshtwin;
using ::testing::HasSubstr;

nlohmann::json Dht(std::vector<std::string> args) {
  args.insert(args.begin(), "dht");
  args.emplace_back("--json");
  CommandResult r = RunMeshtwin(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(r.out);
}

nlohmann::json WithoutRunSpecifics(nlohmann::json j) {
  j.erase("wall_seconds");
  j.erase("peak_rss_mib");
  return j;
}

void ExpectEveryLookupFindsTheTrueOwner(const std::string& protocol) {
  const nlohmann::json r = Dht({"--protocol", protocol, "--nodes", "200", "--duration", "120"});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r["protocol"], protocol);
  EXPECT_EQ(r["nodes"], 200);
  EXPECT_EQ(r["joined_at_start"], 200);
  // 200 nodes x 1 lookup per minute x 2 minutes, give or take Poisson.
  EXPECT_GT(r["lookups"].get<int>(), 300);
  EXPECT_EQ(r["successful_lookups"], r["lookups"]);
  EXPECT_EQ(r["lookups_completed"], r["lookups"]);
  EXPECT_GE(r["hops_mean"].get<double>(), 1);
  EXPECT_GT(r["latency_mean_s"].get<double>(), 0);
  EXPECT_GE(r["latency_p99_s"].get<double>(), r["latency_mean_s"].get<double>());
  EXPECT_GT(r["messages"].get<long long>(), r["lookups"].get<long long>());
  EXPECT_EQ(r["messages_lost"], 0);
  EXPECT_EQ(r["crashes"], 0);
}

TEST(DhtE2E, ChordWithoutChurnFindsTheTrueOwnerEveryTime) {
  ExpectEveryLookupFindsTheTrueOwner("chord");
}

TEST(DhtE2E, KademliaWithoutChurnFindsTheTrueOwnerEveryTime) {
  ExpectEveryLookupFindsTheTrueOwner("kademlia");
}

void ExpectMostLookupsSurviveChurn(const std::string& protocol) {
  // 1 % of 200 nodes replaced per minute for 5 minutes: about 10 crashes or
  // leaves and as many fresh joins, under 2,000 lookups.
  const nlohmann::json r = Dht({"--protocol", protocol, "--nodes", "200", "--duration", "300",
                                "--churn", "0.01", "--lookup-rate", "2"});
  ASSERT_FALSE(r.empty());
  EXPECT_GT(r["lookups"].get<int>(), 1500);
  EXPECT_GE(r["success_rate"].get<double>(), 0.99)
      << r["successful_lookups"] << " of " << r["lookups"];
  const int churned = r["crashes"].get<int>() + r["leaves"].get<int>();
  EXPECT_GE(churned, 3);
  EXPECT_LE(churned, 25);
  EXPECT_GE(r["joins"].get<int>(), churned - 2);  // the last replacements may still be joining
}

TEST(DhtE2E, ChordKeepsNinetyNinePercentOfLookupsUnderOnePercentChurn) {
  ExpectMostLookupsSurviveChurn("chord");
}

TEST(DhtE2E, KademliaKeepsNinetyNinePercentOfLookupsUnderOnePercentChurn) {
  ExpectMostLookupsSurviveChurn("kademlia");
}

TEST(DhtE2E, LossIsCountedAndLookupsRouteAroundIt) {
  const nlohmann::json r =
      Dht({"--protocol", "kademlia", "--nodes", "100", "--duration", "60", "--loss", "0.01"});
  ASSERT_FALSE(r.empty());
  const double lost = r["messages_lost"].get<double>();
  const double sent = r["messages"].get<double>() - r["messages_to_dead"].get<double>();
  EXPECT_NEAR(lost / sent, 0.01, 0.004);
  EXPECT_GE(r["success_rate"].get<double>(), 0.95);
}

TEST(DhtE2E, JsonReportHasTheDocumentedKeys) {
  const nlohmann::json r = Dht({"--protocol", "chord", "--nodes", "20", "--duration", "30"});
  for (const char* key : {"protocol",
                          "nodes",
                          "hosts",
                          "seed",
                          "duration_s",
                          "join_phase_s",
                          "joined_at_start",
                          "lookups",
                          "lookups_completed",
                          "successful_lookups",
                          "success_rate",
                          "hops_mean",
                          "hops_p99",
                          "latency_mean_s",
                          "latency_p99_s",
                          "messages",
                          "messages_lost",
                          "messages_to_dead",
                          "messages_per_node_s",
                          "joins",
                          "leaves",
                          "crashes",
                          "join_failures",
                          "simulated_s",
                          "wall_seconds",
                          "peak_rss_mib"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
  EXPECT_EQ(r["duration_s"], 30);
}

TEST(DhtE2E, TheSameSeedGivesTheSameFigures) {
  const std::vector<std::string> args = {"--protocol", "kademlia", "--nodes", "150",
                                         "--duration", "90",       "--churn", "0.05",
                                         "--loss",     "0.01",     "--seed",  "7"};
  const nlohmann::json a = Dht(args);
  const nlohmann::json b = Dht(args);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(WithoutRunSpecifics(a), WithoutRunSpecifics(b));
  std::vector<std::string> other = args;
  other.back() = "8";
  const nlohmann::json c = Dht(other);
  EXPECT_NE(WithoutRunSpecifics(a), WithoutRunSpecifics(c));
  EXPECT_EQ(c["seed"], 8);
}

TEST(DhtE2E, TheTableNamesTheFigures) {
  CommandResult r =
      RunMeshtwin({"dht", "--protocol", "chord", "--nodes", "20", "--duration", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"lookups", "successful lookups", "hops", "latency", "messages"}) {
    EXPECT_THAT(r.out, HasSubstr(text));
  }
}

struct BadFlags {
  std::vector<std::string> args;
  std::string named;  // what the message must name
};

TEST(DhtE2E, BadFlagsExitWithTwoAndOneMessageNamingTheFlag) {
  const std::vector<BadFlags> cases = {
      {{"--protocol", "pastry", "--nodes", "10"}, "--protocol"},
      {{"--protocol", "chord", "--nodes", "0"}, "--nodes"},
      {{"--protocol", "chord", "--nodes", "ten"}, "--nodes"},
      {{"--protocol", "chord"}, "--nodes"},
      {{"--nodes", "10"}, "--protocol"},
      {{"--protocol", "chord", "--nodes", "10", "--loss", "1.5"}, "--loss"},
      {{"--protocol", "chord", "--nodes", "10", "--churn", "-0.1"}, "--churn"},
      {{"--protocol", "chord", "--nodes", "10", "--lookup-rate", "-1"}, "--lookup-rate"},
      {{"--protocol", "chord", "--nodes", "10", "--duration", "soon"}, "--duration"},
      {{"--protocol", "chord", "--nodes", "10", "--duration", "0"}, "--duration"},
      {{"--protocol", "chord", "--nodes", "10", "--bandwidth", "fast"}, "--bandwidth"},
      {{"--protocol", "chord", "--nodes", "10", "--frobnicate"}, "--frobnicate"},
  };
  for (const BadFlags& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.begin(), "dht");
    CommandResult r = RunMeshtwin(args);
    std::string line;
    for (const std::string& a : args) line += " " + a;
    EXPECT_EQ(r.exit_code, 2) << line;
    EXPECT_THAT(r.err, HasSubstr(c.named)) << line;
    EXPECT_TRUE(r.out.empty()) << line;
  }
}

}  // namespace
}  // namespace meshtwin
