#include "datasets/event_tagger.h"

#include <filesystem>
#include <string>
#include <vector>

#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return ErrorText(s); }

KeywordDictionary Parse(const std::string& yaml) {
  absl::StatusOr<KeywordDictionary> d = ParseKeywordDictionary(yaml, "k.yaml");
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : KeywordDictionary();
}

TEST(DefaultKeywordDictionary, ParsesAndHasTheDocumentedCategories) {
  const KeywordDictionary& d = DefaultKeywordDictionary();
  std::vector<std::string> names;
  for (const auto& [category, keywords] : d.categories) {
    names.push_back(category);
    EXPECT_FALSE(keywords.empty()) << category;
  }
  EXPECT_THAT(names, ::testing::ElementsAre("outage", "sale", "launch", "sports", "market",
                                            "weather", "holiday", "social", "news"));
  EXPECT_EQ(&d, &DefaultKeywordDictionary());  // parsed once
}

TEST(TagText, RealisticHeadlinesWithTheDefaultDictionary) {
  const KeywordDictionary& d = DefaultKeywordDictionary();
  EXPECT_EQ(TagText("Apple unveils new iPhone at September keynote", d), "launch");
  EXPECT_EQ(TagText("Black Friday deals go live", d), "sale");
  EXPECT_EQ(TagText("Fed rate decision moves markets", d), "market");
  EXPECT_EQ(TagText("Champions League final kicks off in Madrid", d), "sports");
  EXPECT_EQ(TagText("Hurricane Milton makes landfall in Florida", d), "weather");
  EXPECT_EQ(TagText("Payments provider outage: checkout degraded for 2 hours", d), "outage");
  EXPECT_EQ(TagText("Dance challenge goes viral on TikTok", d), "social");
  EXPECT_EQ(TagText("BREAKING: election results expected tonight", d), "news");
  EXPECT_EQ(TagText("Christmas Eve traffic", d), "holiday");
  EXPECT_EQ(TagText("Quarterly earnings beat; shares rally after the opening bell", d), "market");
  EXPECT_EQ(TagText("The cat sat on the mat", d), "");
  EXPECT_EQ(TagText("", d), "");
}

TEST(TagText, WordBoundariesPhrasesCaseAndTies) {
  const KeywordDictionary d = Parse(
      "first: [go live, sale]\n"
      "second: [sale, ipo]\n");
  // Case-insensitive; punctuation and spacing between a phrase's words do not matter.
  EXPECT_EQ(TagText("We GO-LIVE tomorrow", d), "first");
  EXPECT_EQ(TagText("go   live", d), "first");
  // Whole words only: "wholesale" has no "sale", "ipos" no "ipo".
  EXPECT_EQ(TagText("wholesale ipos", d), "");
  EXPECT_EQ(TagText("IPO's first day", d), "second");
  // A tie (one match each) goes to the category listed first...
  EXPECT_EQ(TagText("sale", d), "first");
  // ...and more matches win: every occurrence counts.
  EXPECT_EQ(TagText("ipo sale, ipo", d), "second");
  // A phrase cut short by the end of the text does not match.
  EXPECT_EQ(TagText("ready to go", d), "");
}

TEST(ParseKeywordDictionary, KeepsFileOrderAndTrims) {
  const KeywordDictionary d = Parse(
      "# comment\n"
      "zeta:\n"
      "  - '  padded  '\n"
      "  - two words\n"
      "alpha: [one]\n");
  ASSERT_EQ(d.categories.size(), 2u);
  EXPECT_EQ(d.categories[0].first, "zeta");
  EXPECT_EQ(d.categories[0].second, (std::vector<std::string>{"padded", "two words"}));
  EXPECT_EQ(d.categories[1].first, "alpha");
  EXPECT_EQ(TagText("Two  Words", d), "zeta");
}

TEST(ParseKeywordDictionary, ErrorsNameFileAndLine) {
  auto error = [](const std::string& yaml) {
    absl::StatusOr<KeywordDictionary> d = ParseKeywordDictionary(yaml, "k.yaml");
    EXPECT_FALSE(d.ok()) << yaml;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    return Message(d.status());
  };
  EXPECT_EQ(error("# nothing\n"),
            "k.yaml:1: expected a mapping of category -> list of keywords, got an empty document");
  EXPECT_EQ(error("- launch\n- sale\n"),
            "k.yaml:1: expected a mapping of category -> list of keywords, got a list");
  EXPECT_EQ(error("launch: [a]\nsale: discount\n"),
            "k.yaml:2: sale: expected a list of keywords, got a single value 'discount' (write a "
            "list: [discount])");
  EXPECT_EQ(error("launch: [a]\nsale:\n"),
            "k.yaml:2: sale: expected a list of keywords, got nothing");
  EXPECT_EQ(error("launch: []\n"),
            "k.yaml:1: launch: expected a list of keywords, got an empty list");
  EXPECT_EQ(error("launch:\n  - a\n  - ''\n"),
            "k.yaml:3: launch: expected a keyword, got an empty one");
  EXPECT_EQ(error("launch:\n  - a\n  - [b]\n"), "k.yaml:3: launch: expected a keyword, got a list");
  EXPECT_EQ(error("launch: [a, '!!']\n"),
            "k.yaml:1: launch: expected a keyword with a letter or digit, got '!!'");
  EXPECT_EQ(error("launch: [a]\nsale: [b]\nlaunch: [c]\n"),
            "k.yaml:3: expected each category once, got 'launch' again (first on line 1)");
  EXPECT_THAT(error("launch: [a\nsale: [b]\n"), HasSubstr("expected YAML, got a syntax error"));
}

TEST(LoadKeywordDictionary, ReadsAFileAndReportsAMissingOne) {
  const fs::path path = test_util::TempPath("keywords_test", ".yaml");
  test_util::WriteBytes(path.string(), "deploy: [rollout, canary]\n");
  absl::StatusOr<KeywordDictionary> d = LoadKeywordDictionary(path.string());
  fs::remove(path);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(TagText("Canary rollout at 10:00", *d), "deploy");

  absl::StatusOr<KeywordDictionary> missing = LoadKeywordDictionary(path.string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(missing.status()), path.string() + ": no such file");
}

TEST(TagEvents, FillsEmptyCategoriesAndKeepsExistingOnes) {
  std::vector<Event> events(4);
  events[0].text = "Cyber Monday sale starts";
  events[1].text = "Apple keynote";
  events[1].category = "scenario-spike";
  events[2].text = "nothing to see here";
  events[3].text = "World Cup final tonight";
  TagReport report = TagEvents(events, DefaultKeywordDictionary());
  EXPECT_EQ(report.tagged, 2u);
  EXPECT_EQ(report.untagged, 1u);
  EXPECT_EQ(report.kept, 1u);
  EXPECT_EQ(events[0].category, "sale");
  EXPECT_EQ(events[1].category, "scenario-spike");
  EXPECT_EQ(events[2].category, "");
  EXPECT_EQ(events[3].category, "sports");

  // Overwriting re-tags everything; an event nothing matches keeps what it had.
  events[2].category = "manual";
  report = TagEvents(events, DefaultKeywordDictionary(), /*overwrite=*/true);
  EXPECT_EQ(report.tagged, 3u);
  EXPECT_EQ(report.untagged, 1u);
  EXPECT_EQ(report.kept, 0u);
  EXPECT_EQ(events[1].category, "launch");
  EXPECT_EQ(events[2].category, "manual");
}

}  // namespace
}  // namespace meshtwin
