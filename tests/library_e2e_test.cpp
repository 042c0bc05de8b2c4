// End-to-end: `meshtwin scenarios list|show` and `meshtwin simulate NAME`
// with a library scenario, through the real binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace meshtwin {
namespace {

using ::meshtwin::testing::CommandResult;
using ::meshtwin::testing::ReadFileBytes;
using ::meshtwin::testing::RunMeshtwin;
using ::meshtwin::testing::ScratchDir;
using ::testing::HasSubstr;

const std::vector<std::string> kLibrary = {"black-friday",
                                           "default",
                                           "diurnal-web",
                                           "failure-storm",
                                           "flash-crowd",
                                           "market-open",
                                           "mixed-priority-overload",
                                           "product-launch",
                                           "role-shift-day-night"};

TEST(LibraryE2E, ListShowsEveryScenarioWithItsDurationAndPolicy) {
  CommandResult r = RunMeshtwin({"scenarios", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out, HasSubstr("DURATION"));
  for (const std::string& name : kLibrary) EXPECT_THAT(r.out, HasSubstr(name + " "));
  // The default's row: a day under the HPA.
  const std::size_t row = r.out.find("\ndefault ");
  ASSERT_NE(row, std::string::npos);
  const std::string line = r.out.substr(row + 1, r.out.find('\n', row + 1) - row - 1);
  EXPECT_THAT(line, HasSubstr(" 1d "));
  EXPECT_THAT(line, HasSubstr(" hpa "));
}

TEST(LibraryE2E, ListJsonHasOneObjectPerScenario) {
  CommandResult r = RunMeshtwin({"scenarios", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json list = nlohmann::json::parse(r.out);
  ASSERT_TRUE(list.is_array());
  std::vector<std::string> names;
  for (const nlohmann::json& s : list) {
    names.push_back(s["name"]);
    EXPECT_GT(s["duration_s"].get<double>(), 0) << s["name"];
    EXPECT_FALSE(s["policy"].get<std::string>().empty()) << s["name"];
    EXPECT_FALSE(s["description"].get<std::string>().empty()) << s["name"];
  }
  for (const std::string& name : kLibrary) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(LibraryE2E, ShowPrintsAScenarioThatRunsAsAFile) {
  CommandResult r = RunMeshtwin({"scenarios", "show", "product-launch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("name: product-launch"));
  // Saved to a file, it is the same scenario: simulate accepts it.
  const std::string dir = ScratchDir();
  const std::string path = dir + "/product-launch.yaml";
  std::ofstream(path, std::ios::binary) << r.out;
  CommandResult run = RunMeshtwin({"simulate", path, "--set", "duration=30m", "--out",
                                   dir + "/results.h5", "--json", "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["scenario"], "product-launch");
}

TEST(LibraryE2E, ShowOfTheDefaultIsTheBuiltInFile) {
  CommandResult r = RunMeshtwin({"scenarios", "show", "default"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ReadFileBytes(std::string(MESHTWIN_SOURCE_ROOT) + "/scenarios/default.yaml"));
}

TEST(LibraryE2E, SimulateRunsALibraryScenarioByName) {
  const std::string out = ScratchDir() + "/results.h5";
  CommandResult r = RunMeshtwin(
      {"simulate", "flash-crowd", "--set", "duration=1h", "--out", out, "--json", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["scenario"], "flash-crowd");
  EXPECT_EQ(summary["ticks"], 240);  // 1 h of 15 s ticks
  EXPECT_GT(summary["requests_total"].get<long long>(), 0);
}

TEST(LibraryE2E, UnknownNamesExitTwoAndListTheLibrary) {
  CommandResult show = RunMeshtwin({"scenarios", "show", "black-fryday"});
  EXPECT_EQ(show.exit_code, 2);
  EXPECT_TRUE(show.out.empty());
  EXPECT_THAT(show.err, HasSubstr("black-fryday"));
  EXPECT_THAT(show.err, HasSubstr("black-friday"));

  const std::string out = ScratchDir() + "/results.h5";
  CommandResult sim = RunMeshtwin({"simulate", "black-fryday", "--out", out});
  EXPECT_EQ(sim.exit_code, 2);
  EXPECT_THAT(sim.err, HasSubstr("black-fryday: no such file or library scenario (library: "));
  for (const std::string& name : kLibrary) EXPECT_THAT(sim.err, HasSubstr(name));
}

TEST(LibraryE2E, ScenariosNeedsASubcommand) {
  CommandResult r = RunMeshtwin({"scenarios"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace meshtwin
