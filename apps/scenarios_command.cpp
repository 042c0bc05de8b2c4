// `meshtwin scenarios list [--json]` and `meshtwin scenarios show NAME`: the
// scenario library compiled into the binary (scenarios/library/*.yaml and the
// built-in default).
#include "apps/scenarios_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/cli_util.h"
#include "scenarios/library.h"

namespace meshtwin {
namespace {

// "2d", "36h", "1h30m": the largest units that divide the duration exactly.
std::string DurationText(Seconds seconds) {
  const auto s = static_cast<long long>(seconds);
  if (static_cast<double>(s) != seconds) return fmt::format("{}s", seconds);
  if (s > 0 && s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s > 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s >= 3600) return fmt::format("{}h{}m", s / 3600, (s / 60) % 60);
  if (s > 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

// One line of at most `width` characters, cut at a word with "...".
std::string OneLine(const std::string& text, std::size_t width) {
  if (text.size() <= width) return text;
  std::size_t cut = text.rfind(' ', width - 3);
  if (cut == std::string::npos || cut < width / 2) cut = width - 3;
  return text.substr(0, cut) + "...";
}

int RunList(bool json) {
  std::vector<LibrarySummary> rows;
  for (const LibraryScenario& s : ScenarioLibrary()) {
    absl::StatusOr<LibrarySummary> summary = SummarizeLibraryScenario(s);
    if (!summary.ok()) return ReportError(summary.status());
    rows.push_back(*std::move(summary));
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const LibrarySummary& r : rows) {
      out.push_back({{"name", r.name},
                     {"duration_s", r.duration},
                     {"duration", DurationText(r.duration)},
                     {"policy", r.policy},
                     {"description", r.description}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::size_t name_width = 4;
  for (const LibrarySummary& r : rows) name_width = std::max(name_width, r.name.size());
  std::printf("%s\n", fmt::format("{:<{}}  {:>8}  {:<10}  {}", "NAME", name_width, "DURATION",
                                  "POLICY", "DESCRIPTION")
                          .c_str());
  for (const LibrarySummary& r : rows) {
    std::printf("%s\n", fmt::format("{:<{}}  {:>8}  {:<10}  {}", r.name, name_width,
                                    DurationText(r.duration), r.policy, OneLine(r.description, 72))
                            .c_str());
  }
  std::printf(
      "\nRun one with `meshtwin simulate NAME`; see its file with `meshtwin scenarios "
      "show NAME`.\n");
  return 0;
}

int RunShow(const std::string& name) {
  const LibraryScenario* s = FindLibraryScenario(name);
  if (s == nullptr) {
    return ReportError(absl::NotFoundError(
        fmt::format("{}: no library scenario of that name (library: {})", name, LibraryNames())));
  }
  // Byte for byte, so that `scenarios show NAME > my.yaml` is the file itself.
  std::fwrite(s->text.data(), 1, s->text.size(), stdout);
  return 0;
}

}  // namespace

void RegisterScenariosCommand(CLI::App& app, int* exit_code) {
  CLI::App* scenarios =
      app.add_subcommand("scenarios", "The scenario library: named scenarios built into meshtwin");
  scenarios->require_subcommand(1);
  {
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = scenarios->add_subcommand(
        "list", "List the library's scenarios: name, run length, policy, what it tests");
    cmd->add_flag("--json", *json,
                  "Print a JSON array of {name, duration_s, duration, policy, "
                  "description}");
    cmd->callback([json, exit_code] { *exit_code = RunList(*json); });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* cmd = scenarios->add_subcommand(
        "show", "Print a library scenario's YAML (save it with `> my.yaml` to edit a copy)");
    cmd->add_option("name", *name, "Library scenario name (see `meshtwin scenarios list`)")
        ->required();
    cmd->callback([name, exit_code] { *exit_code = RunShow(*name); });
  }
}

}  // namespace meshtwin
