// Fills an event's category from its text with a keyword dictionary: for
// news, social and market feeds that arrive untagged. A default dictionary
// ships (datasets/data/event_keywords.yaml, compiled in); users pass their own.
//
// Dictionary YAML: a mapping of category -> list of keywords or phrases,
// matched case-insensitively on word boundaries; the category with the most
// matches wins, ties go to the one listed first.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

struct KeywordDictionary {
  std::vector<std::pair<std::string, std::vector<std::string>>> categories;  // in file order
};

absl::StatusOr<KeywordDictionary> ParseKeywordDictionary(std::string_view yaml_text,
                                                         std::string_view source_name);
absl::StatusOr<KeywordDictionary> LoadKeywordDictionary(const std::string& path);
const KeywordDictionary& DefaultKeywordDictionary();

// The best category for `text`, or "" when no keyword matches.
std::string TagText(std::string_view text, const KeywordDictionary& dictionary);

struct TagReport {
  std::size_t tagged = 0;     // events whose category was filled in
  std::size_t untagged = 0;   // events no keyword matched
  std::size_t kept = 0;       // events that already had a category (left as they were)
};
// Tags events whose category is empty (or all of them when `overwrite`).
TagReport TagEvents(std::vector<Event>& events, const KeywordDictionary& dictionary,
                    bool overwrite = false);

}  // namespace meshtwin
