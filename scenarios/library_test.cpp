// Tests of the scenario library: every scenario in it loads, is what its file
// says, and names resolve the way `meshtwin simulate NAME` promises (a file
// first, then the library, else an error listing the library).
#include "scenarios/library.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;

// The issue's list; the library may grow beyond it.
const std::vector<std::string> kRequired = {"black-friday",
                                            "default",
                                            "diurnal-web",
                                            "failure-storm",
                                            "flash-crowd",
                                            "market-open",
                                            "mixed-priority-overload",
                                            "product-launch",
                                            "role-shift-day-night"};

std::vector<std::string> Names() {
  std::vector<std::string> names;
  for (const LibraryScenario& s : ScenarioLibrary()) names.emplace_back(s.name);
  return names;
}

TEST(ScenarioLibraryTest, HoldsTheIssueScenariosSortedAndUnique) {
  const std::vector<std::string> names = Names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const std::string& want : kRequired) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  const LibraryScenario* d = FindLibraryScenario("default");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->text, DefaultScenarioText());
  EXPECT_EQ(FindLibraryScenario("no-such-scenario"), nullptr);
}

TEST(ScenarioLibraryTest, EveryScenarioParsesAndIsNamedLikeItsFile) {
  for (const LibraryScenario& entry : ScenarioLibrary()) {
    SCOPED_TRACE(std::string(entry.name));
    absl::StatusOr<Scenario> s = LoadScenarioByName(std::string(entry.name), {});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->name, entry.name);
    EXPECT_EQ(s->text, entry.text);
    EXPECT_FALSE(s->description.empty());
    EXPECT_EQ(s->source, entry.name == "default"
                             ? std::string("<default>")
                             : "scenarios/library/" + std::string(entry.name) + ".yaml");
  }
}

// What the issue asks of each library scenario, beyond parsing: short runs,
// a forecaster so that --set policy.name=predictive works, a paragraph.
TEST(ScenarioLibraryTest, ScenariosAreShortForecastAndExplainThemselves) {
  for (const LibraryScenario& entry : ScenarioLibrary()) {
    if (entry.name == "default") continue;
    SCOPED_TRACE(std::string(entry.name));
    const std::string text(entry.text);
    EXPECT_EQ(text.rfind("# ", 0), 0u) << "starts with its comment paragraph";
    absl::StatusOr<Scenario> s = LoadScenarioByName(std::string(entry.name), {});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_LE(s->duration, 2 * 86400);
    int max_nodes = 0;
    for (const NodeTypeSpec& t : s->node_types) max_nodes += t.max;
    EXPECT_LE(max_nodes, 250);
    EXPECT_TRUE(s->forecast.enabled);
    EXPECT_EQ(s->forecast.model, "default");
  }
}

TEST(ScenarioLibraryTest, EveryScenarioRunsUnderEachScalingPolicy) {
  for (const LibraryScenario& entry : ScenarioLibrary()) {
    if (entry.name == "default") continue;
    for (const char* policy : {"hpa", "predictive", "oracle"}) {
      SCOPED_TRACE(std::string(entry.name) + " " + policy);
      absl::StatusOr<Scenario> s =
          LoadScenarioByName(std::string(entry.name), {std::string("policy.name=") + policy});
      ASSERT_TRUE(s.ok()) << s.status();
      absl::StatusOr<std::unique_ptr<Policy>> made = MakePolicy(*s, BuildTrace(*s));
      EXPECT_TRUE(made.ok()) << made.status();
    }
  }
}

TEST(ScenarioLibraryTest, SourceFilesMatchTheCompiledLibrary) {
  const char* root = std::getenv("MESHTWIN_SOURCE_DIR");
  if (root == nullptr) GTEST_SKIP() << "MESHTWIN_SOURCE_DIR not set";
  const std::filesystem::path dir = std::filesystem::path(root) / "scenarios" / "library";
  std::set<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() != ".yaml") continue;
    const std::string name = f.path().stem().string();
    files.insert(name);
    const LibraryScenario* s = FindLibraryScenario(name);
    ASSERT_NE(s, nullptr) << name << " is not compiled in: re-run cmake";
    std::ifstream in(f.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(s->text, text) << name << " differs from its file: re-run cmake";
  }
  std::set<std::string> compiled;
  for (const std::string& name : Names()) {
    if (name != "default") compiled.insert(name);
  }
  EXPECT_EQ(files, compiled);
}

// A scratch directory to chdir into, so that relative names can be tested.
class InTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = std::filesystem::current_path();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("library-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::current_path(dir_);
  }
  void TearDown() override {
    std::filesystem::current_path(old_);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path old_, dir_;
};

using LoadScenarioByNameTest = InTempDir;

TEST_F(LoadScenarioByNameTest, AFileWinsOverALibraryScenarioOfTheSameName) {
  std::ofstream("product-launch") << "name: mine\n"
                                     "node_types:\n"
                                     "  - {name: web, initial: 1, min: 1, max: 2}\n";
  absl::StatusOr<Scenario> s = LoadScenarioByName("product-launch", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "mine");
  EXPECT_EQ(s->source, "product-launch");
}

TEST_F(LoadScenarioByNameTest, ADirectoryIsNoLibraryScenario) {
  std::filesystem::create_directory("default");
  absl::StatusOr<Scenario> s = LoadScenarioByName("default", {});
  // The built-in default is still found: a directory is not a scenario file.
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->source, "<default>");
  std::filesystem::create_directory("somewhere");
  absl::StatusOr<Scenario> dir = LoadScenarioByName("somewhere", {});
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("somewhere: cannot read"));
}

TEST_F(LoadScenarioByNameTest, LibraryNamesTakeOverrides) {
  absl::StatusOr<Scenario> s = LoadScenarioByName("default", {"duration=1h", "seed=9"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->duration, 3600);
  EXPECT_EQ(s->seed, 9u);
  absl::StatusOr<Scenario> bad = LoadScenarioByName("default", {"policy.target_utilization=2"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("--set policy.target_utilization: policy.target_utilization"));
}

TEST_F(LoadScenarioByNameTest, UnknownNameIsNotFoundAndListsTheLibrary) {
  absl::StatusOr<Scenario> s = LoadScenarioByName("product-lunch", {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  const std::string message(s.status().message());
  EXPECT_THAT(message, HasSubstr("product-lunch: no such file or library scenario (library: "));
  for (const std::string& name : kRequired) EXPECT_THAT(message, HasSubstr(name));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(LibrarySummaryTest, ReadsNameDurationPolicyAndDescription) {
  const LibraryScenario entry{"x",
                              "name: x\n"
                              "description: >-\n"
                              "  two\n"
                              "  lines\n"
                              "duration: 36h\n"
                              "policy: {name: predictive}\n"};
  absl::StatusOr<LibrarySummary> s = SummarizeLibraryScenario(entry);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "x");
  EXPECT_EQ(s->description, "two lines");
  EXPECT_EQ(s->duration, 36 * 3600);
  EXPECT_EQ(s->policy, "predictive");

  absl::StatusOr<LibrarySummary> d = SummarizeLibraryScenario({"d", "name: d\n"});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->duration, 86400);
  EXPECT_EQ(d->policy, "hpa");
}

}  // namespace
}  // namespace meshtwin
