#include "apps/compare_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "apps/child_runs.h"
#include "apps/cli_util.h"
#include "apps/progress_bar.h"
#include "scenarios/library.h"
#include "scenarios/scenario.h"
#include "twin/types.h"

namespace meshtwin {
namespace {

struct CompareArgs {
  std::string scenario;
  std::string policies;
  std::optional<int> jobs;
  bool json = false;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> overrides;
  std::string out_dir;
};

absl::StatusOr<std::vector<std::string>> ParsePolicies(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string p = text.substr(start, comma == std::string::npos ? comma : comma - start);
    p.erase(0, p.find_first_not_of(" \t"));
    p.erase(p.find_last_not_of(" \t") + 1);
    if (p.empty()) {
      return absl::InvalidArgumentError("--policies " + text +
                                        ": expected a comma-separated list such as hpa,predictive");
    }
    if (p.find_first_of("/ ") != std::string::npos) {
      return absl::InvalidArgumentError("--policies " + text + ": '" + p +
                                        "' is not a policy name");
    }
    if (std::find(out.begin(), out.end(), p) != out.end()) {
      return absl::InvalidArgumentError("--policies " + text + ": " + p + " appears twice");
    }
    out.push_back(p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Every override a child gets: the user's, the seed, then the policy (last,
// so that it wins over a policy.name in --set).
std::vector<std::string> ChildOverrides(const CompareArgs& args, const std::string& policy) {
  std::vector<std::string> o = args.overrides;
  if (args.seed) o.push_back("seed=" + std::to_string(*args.seed));
  o.push_back("policy.name=" + policy);
  return o;
}

std::optional<double> Number(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// dropped_by_class as {"critical": x, ...} or [critical, standard, best_effort].
std::optional<double> DroppedInClass(const nlohmann::ordered_json& j, int cls) {
  auto it = j.find("dropped_by_class");
  if (it == j.end()) return std::nullopt;
  const char* name = ToString(static_cast<RequestClass>(cls));
  if (it->is_object()) {
    auto v = it->find(name);
    if (v != it->end() && v->is_number()) return v->get<double>();
    return std::nullopt;
  }
  if (it->is_array() && it->size() == static_cast<std::size_t>(kNumClasses) &&
      (*it)[static_cast<std::size_t>(cls)].is_number()) {
    return (*it)[static_cast<std::size_t>(cls)].get<double>();
  }
  return std::nullopt;
}

std::string Cell(std::optional<double> v, int decimals) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : "-";
}

// `v` as a percentage of `base` ("112.3 %"); "-" when undefined.
std::string Relative(std::optional<double> v, std::optional<double> base) {
  if (!v || !base) return "-";
  if (*base == 0) return *v == 0 ? "100.0 %" : "-";
  return fmt::format("{:.1f} %", 100 * *v / *base);
}

// One row per figure, one column per policy: a handful of policies fit
// across a terminal; a dozen figures would not.
std::string CompareTable(const std::string& scenario, const std::vector<std::string>& policies,
                         const std::vector<nlohmann::ordered_json>& s) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  auto add = [&](const std::string& label, auto cell) {
    std::vector<std::string> cells;
    for (const nlohmann::ordered_json& j : s) cells.push_back(cell(j));
    rows.emplace_back(label, std::move(cells));
  };
  auto metric = [&](const char* label, const char* key, int decimals) {
    add(label, [&](const nlohmann::ordered_json& j) { return Cell(Number(j, key), decimals); });
  };
  metric("node-hours", "node_hours", 1);
  metric("cost", "cost", 2);
  metric("SLO-violation minutes", "slo_violation_minutes", 0);
  metric("requests dropped", "requests_dropped", 0);
  for (int c = 0; c < kNumClasses; ++c) {
    add(fmt::format("  {}", ToString(static_cast<RequestClass>(c))),
        [&](const nlohmann::ordered_json& j) { return Cell(DroppedInClass(j, c), 0); });
  }
  metric("peak nodes", "peak_nodes", 0);
  metric("scale-up events", "scale_up_events", 0);
  metric("scale-down events", "scale_down_events", 0);
  metric("migrations", "migrations", 0);
  metric("role switches", "role_switches", 0);
  // Faults: only when the scenario injects some.
  const bool faults = std::any_of(s.begin(), s.end(), [](const nlohmann::ordered_json& j) {
    return j.value("node_failures", 0) + j.value("gray_failures", 0) + j.value("partitions", 0) > 0;
  });
  if (faults) {
    metric("lost to failures", "requests_lost_to_failures", 0);
    metric("detection mean s", "detection_delay_mean_s", 1);
    metric("recovery mean s", "recovery_mean_s", 1);
    metric("replacements", "replacements", 0);
  }
  const std::string& first = policies.front();
  add("node-hours vs " + first, [&](const nlohmann::ordered_json& j) {
    return Relative(Number(j, "node_hours"), Number(s.front(), "node_hours"));
  });
  add("SLO-violation min vs " + first, [&](const nlohmann::ordered_json& j) {
    return Relative(Number(j, "slo_violation_minutes"), Number(s.front(), "slo_violation_minutes"));
  });

  std::size_t label_width = 0;
  for (const auto& [label, cells] : rows) label_width = std::max(label_width, label.size());
  std::vector<std::size_t> width;
  for (std::size_t p = 0; p < policies.size(); ++p) {
    std::size_t w = std::max<std::size_t>(policies[p].size(), 8);
    for (const auto& [label, cells] : rows) w = std::max(w, cells[p].size());
    width.push_back(w);
  }
  std::string out = fmt::format("meshtwin compare: scenario '{}', seed {}\n\n", scenario,
                                s.front().value("seed", std::uint64_t{0}));
  out += fmt::format("  {:<{}}", "", label_width);
  for (std::size_t p = 0; p < policies.size(); ++p) {
    out += fmt::format("  {:>{}}", policies[p], width[p]);
  }
  out += "\n";
  for (const auto& [label, cells] : rows) {
    out += fmt::format("  {:<{}}", label, label_width);
    for (std::size_t p = 0; p < cells.size(); ++p)
      out += fmt::format("  {:>{}}", cells[p], width[p]);
    out += "\n";
  }
  return out;
}

// Each line of `text` on stderr as "PREFIX: line".
void PrintPrefixed(const std::string& prefix, const std::string& text) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::fprintf(stderr, "%s: %s\n", prefix.c_str(), text.substr(start, end - start).c_str());
    start = end + 1;
  }
}

int RunCompare(const CompareArgs& args) {
  if (args.scenario.empty()) {
    return ReportError(absl::InvalidArgumentError(
        "compare: give a SCENARIO (a file or a library name), e.g. meshtwin compare default "
        "--policies hpa,predictive"));
  }
  absl::StatusOr<std::vector<std::string>> policies = ParsePolicies(args.policies);
  if (!policies.ok()) return ReportError(policies.status());
  if (args.jobs && *args.jobs < 1) {
    return ReportError(
        absl::InvalidArgumentError(fmt::format("--jobs {}: expected >= 1", *args.jobs)));
  }
  // Every run's scenario is checked here, so bad input is one message and
  // no child starts.
  std::string scenario_name;
  for (const std::string& policy : *policies) {
    absl::StatusOr<Scenario> s = LoadScenarioByName(args.scenario, ChildOverrides(args, policy));
    if (!s.ok()) return ReportError(s.status());
    scenario_name = s->name;
  }

  std::optional<ScratchDirectory> scratch;
  std::string dir = args.out_dir;
  if (dir.empty()) {
    absl::StatusOr<ScratchDirectory> made = ScratchDirectory::Create("meshtwin-compare-");
    if (!made.ok()) return ReportError(made.status());
    scratch.emplace(*std::move(made));
    dir = scratch->path();
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir)) {
      return ReportError(absl::InvalidArgumentError(
          "--out-dir " + dir + ": cannot create the directory" + (ec ? ": " + ec.message() : "")));
    }
  }

  std::vector<std::vector<std::string>> runs;
  for (const std::string& policy : *policies) {
    std::vector<std::string> run = {"simulate", args.scenario};
    for (const std::string& o : ChildOverrides(args, policy)) run.insert(run.end(), {"--set", o});
    run.insert(run.end(), {"--json", "-q", "--out", dir + "/" + policy + ".h5"});
    runs.push_back(std::move(run));
  }
  ProgressBar progress("compare", true);
  std::size_t done = 0;
  ChildRunOptions options;
  options.jobs = args.jobs.value_or(std::min(static_cast<int>(policies->size()), AvailableCpus()));
  options.on_done = [&](std::size_t, const ChildResult&) {
    progress.Update(static_cast<double>(++done) / static_cast<double>(runs.size()));
  };
  absl::StatusOr<std::vector<ChildResult>> results = RunChildren(runs, options);
  progress.Finish();
  if (!results.ok()) {
    if (results.status().code() == absl::StatusCode::kCancelled) {
      spdlog::error("compare: {}; stopped the runs", ErrorText(results.status()));
      return 128 + InterruptingSignal();
    }
    return ReportError(results.status());
  }

  // A failed run: its own words, prefixed with its policy, and its exit code.
  int first_failure = 0;
  std::vector<nlohmann::ordered_json> summaries;
  for (std::size_t i = 0; i < policies->size(); ++i) {
    const ChildResult& r = (*results)[i];
    const std::string& policy = (*policies)[i];
    nlohmann::ordered_json s;
    int code = r.exit_code;
    std::string err = r.err;
    if (code == 0) {
      s = nlohmann::ordered_json::parse(r.out, nullptr, false);
      if (!s.is_object()) {
        code = 1;
        err = "its --json output is not a JSON object: " + FirstLine(r.out) + "\n";
      }
    }
    // What a run said on stderr (its warnings, or why it failed) is passed
    // on, each line under the name of its policy.
    if (code != 0 && err.empty()) err = fmt::format("exited with code {} and no message\n", code);
    PrintPrefixed(policy, err);
    if (code != 0) {
      if (first_failure == 0) first_failure = code;
      continue;
    }
    nlohmann::ordered_json row;
    row["policy"] = policy;
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it.key() == "policy") continue;
      // Without --out-dir the results files go with the temporary directory.
      if (scratch && it.key() == "results_file") continue;
      row[it.key()] = *it;
    }
    summaries.push_back(std::move(row));
  }
  if (first_failure != 0) return first_failure;

  if (args.json) {
    std::printf("%s\n", nlohmann::ordered_json(summaries).dump().c_str());
  } else {
    std::string table = CompareTable(scenario_name, *policies, summaries);
    if (!scratch) table += fmt::format("\n  results: {}/POLICY.h5\n", dir);
    std::printf("%s", table.c_str());
  }
  return 0;
}

}  // namespace

void RegisterCompareCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Run SCENARIO under each policy, each in its own process with the same seed, and\n"
      "print their figures side by side (docs/sweeps.md).");
  cmd->add_option("scenario", args->scenario, "Scenario: a YAML file or a library name");
  cmd->add_option("--policies", args->policies, "Comma-separated policies: hpa,predictive,oracle")
      ->required();
  cmd->add_option("-j,--jobs", args->jobs,
                  "Runs at once (default: one per policy, at most the number of CPUs)");
  cmd->add_flag("--json", args->json,
                "Print a JSON array: one object per policy, {policy, ...simulate's summary keys}");
  cmd->add_option("--seed", args->seed, "Override the scenario's seed (the same for every policy)");
  cmd->add_option("--set", args->overrides, "Override a scenario key in every run (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--out-dir", args->out_dir,
                  "Keep each policy's results in DIR/POLICY.h5 (created); default: a temporary "
                  "directory, removed afterwards");
  cmd->callback([args, exit_code] { *exit_code = RunCompare(*args); });
}

}  // namespace meshtwin
