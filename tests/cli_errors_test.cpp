// Bad input at the command line: one clear message, exit code 2, no output file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::meshtwin::testing::TestData;
using ::testing::HasSubstr;

TEST(CliErrors, ScenarioWithAWrongTypeNamesFileLineAndKey) {
  const std::string out = ScratchDir() + "/r.h5";
  CommandResult r = RunMeshtwin({"simulate", TestData("bad-type.yaml"), "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad-type.yaml:5:"));
  EXPECT_THAT(r.err, HasSubstr("node_types[0].cores"));
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(r.out.empty());
}

TEST(CliErrors, MissingScenarioFile) {
  CommandResult r = RunMeshtwin({"simulate", "/nonexistent/scenario.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/scenario.yaml"));
}

TEST(CliErrors, UnknownSetKey) {
  CommandResult r = RunMeshtwin({"simulate", "--set", "policy.no_such_knob=3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("policy.no_such_knob"));
}

TEST(CliErrors, OutputDirectoryMustExist) {
  CommandResult r = RunMeshtwin({"simulate", "--out", "/nonexistent-dir/r.h5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--out"));
}

TEST(CliErrors, UnknownOptionAndMissingSubcommand) {
  EXPECT_EQ(RunMeshtwin({"simulate", "--frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunMeshtwin({}).exit_code, 2);
  EXPECT_EQ(RunMeshtwin({"simulate", "--seed", "minus-one"}).exit_code, 2);
}

TEST(CliErrors, HelpDescribesTheOptions) {
  CommandResult r = RunMeshtwin({"simulate", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option : {"--out", "--seed", "--set", "--json"}) {
    EXPECT_THAT(r.out, HasSubstr(option));
  }
}

TEST(CliErrors, ExistingResultsAreUntouchedWhenTheScenarioIsBad) {
  const std::string out = ScratchDir() + "/r.h5";
  { std::ofstream(out) << "previous results"; }
  CommandResult r = RunMeshtwin({"simulate", TestData("bad-type.yaml"), "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  std::ifstream in(out);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "previous results");
}

}  // namespace
}  // namespace meshtwin
