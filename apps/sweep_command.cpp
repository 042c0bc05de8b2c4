#include "apps/sweep_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "apps/child_runs.h"
#include "apps/cli_util.h"
#include "apps/progress_bar.h"
#include "datasets/sweep_file.h"
#include "scenarios/library.h"
#include "scenarios/scenario.h"

namespace meshtwin {
namespace {

// Bigger grids are almost certainly a typo in a step; the file format counts
// points in int32 anyway.
constexpr std::int64_t kMaxGridPoints = 10'000'000;
// Error lines kept per failed point (the rest is in the child's stderr).
constexpr std::size_t kMaxErrorChars = 300;

struct SweepArgs {
  std::string scenario;
  std::vector<std::string> params;
  std::optional<std::int64_t> random;
  std::uint64_t seed = 1;
  std::optional<int> jobs;
  std::string shard;
  std::vector<std::string> overrides;
  std::string out;
  bool json = false;
};

struct MergeArgs {
  std::string out;
  std::vector<std::string> inputs;
  bool json = false;
};

// ---------------------------------------------------------------------------
// Parameters and the grid.

std::string Trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const std::size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

absl::Status ParamError(const std::string& text, const std::string& what) {
  return absl::InvalidArgumentError("--param " + text + ": " + what);
}

// "0.25" -> 0.25, "60s" -> {60, "s"}: a number and the unit letters after it.
bool SplitNumber(const std::string& text, double* number, std::string* unit) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const std::from_chars_result r = std::from_chars(begin, end, *number);
  if (r.ec != std::errc() || r.ptr == begin || !std::isfinite(*number)) return false;
  *unit = std::string(r.ptr, end);
  return std::all_of(unit->begin(), unit->end(),
                     [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
}

// True when `spec` is `parts` numbers (each with an optional unit) joined by ':'.
bool LooksLikeRange(const std::string& spec, int parts) {
  if (std::count(spec.begin(), spec.end(), ':') != parts - 1) return false;
  std::size_t start = 0;
  for (int i = 0; i < parts; ++i) {
    const std::size_t colon = spec.find(':', start);
    double x = 0;
    std::string unit;
    if (!SplitNumber(Trim(spec.substr(start, colon - start)), &x, &unit)) return false;
    start = colon + 1;
  }
  return true;
}

// a:b:step, inclusive of b within 1e-9 of a step; the unit (if any) must be
// the same on all three and is kept on every value.
absl::Status ExpandRange(const std::string& text, const std::string& spec,
                         std::vector<std::string>* values) {
  const std::size_t c1 = spec.find(':'), c2 = spec.find(':', c1 + 1);
  const std::string parts[3] = {Trim(spec.substr(0, c1)), Trim(spec.substr(c1 + 1, c2 - c1 - 1)),
                                Trim(spec.substr(c2 + 1))};
  double num[3];
  std::string unit[3];
  for (int i = 0; i < 3; ++i) {
    if (!SplitNumber(parts[i], &num[i], &unit[i])) {
      return ParamError(text,
                        "expected a:b:step with numbers (e.g. 0.4:0.8:0.1 or 60s:300s:60s), "
                        "got '" +
                            parts[i] + "'");
    }
  }
  if (unit[0] != unit[1] || unit[0] != unit[2]) {
    return ParamError(text, "a, b and step must have the same unit, got '" + unit[0] + "', '" +
                                unit[1] + "' and '" + unit[2] + "'");
  }
  const double a = num[0], b = num[1], step = num[2];
  if (step <= 0) return ParamError(text, "step must be > 0, got " + parts[2]);
  if (b < a) return ParamError(text, "expected a <= b, got " + parts[0] + " > " + parts[1]);
  const double steps = std::floor((b - a) / step + 1e-9);
  if (steps + 1 > static_cast<double>(kMaxGridPoints)) {
    return ParamError(text, fmt::format("{:.0f} values is too many", steps + 1));
  }
  for (std::int64_t k = 0; k <= static_cast<std::int64_t>(steps); ++k) {
    // a + k*step rather than a running sum; 12 digits drop the float noise
    // (0.4 + 3 * 0.1 = 0.7000000000000001 prints as 0.7).
    values->push_back(fmt::format("{:.12g}{}", a + static_cast<double>(k) * step, unit[0]));
  }
  return absl::OkStatus();
}

absl::StatusOr<SweepParam> ParseParam(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) {
    return ParamError(text, "expected KEY=a:b:step or KEY=v1,v2,..., got no '='");
  }
  SweepParam p;
  p.key = Trim(text.substr(0, eq));
  p.spec = text.substr(eq + 1);
  if (p.key.empty() || p.key.find_first_of(" \t/:") != std::string::npos) {
    return ParamError(text, "expected a scenario key such as policy.target_utilization before '='");
  }
  if (Trim(p.spec).empty()) return ParamError(text, "no values after '='");
  if (p.spec.find(',') != std::string::npos) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = p.spec.find(',', start);
      const std::string v = Trim(p.spec.substr(start, comma - start));
      if (v.empty()) return ParamError(text, "empty value in the list");
      if (std::find(p.values.begin(), p.values.end(), v) != p.values.end()) {
        return ParamError(text, "value '" + v + "' appears twice");
      }
      p.values.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (LooksLikeRange(p.spec, 3)) {
    MESHTWIN_RETURN_IF_ERROR(ExpandRange(text, p.spec, &p.values));
  } else if (LooksLikeRange(p.spec, 2)) {
    return ParamError(
        text, "expected a:b:step (a range needs its step, e.g. 0.4:0.8:0.1), got " + p.spec);
  } else {
    // One value, which may hold colons (a timestamp such as 2024-05-01T00:00:00Z).
    p.values.push_back(Trim(p.spec));
  }
  return p;
}

// The grid: the cartesian product of the parameters' values. Point index i
// runs over the last parameter fastest.
struct Grid {
  std::vector<SweepParam> params;
  std::int64_t size = 1;

  std::vector<std::string> ValuesAt(std::int64_t index) const {
    std::vector<std::string> v(params.size());
    for (std::size_t k = params.size(); k-- > 0;) {
      const auto n = static_cast<std::int64_t>(params[k].values.size());
      v[k] = params[k].values[static_cast<std::size_t>(index % n)];
      index /= n;
    }
    return v;
  }
};

absl::StatusOr<Grid> ParseGrid(const std::vector<std::string>& texts) {
  if (texts.empty()) {
    return absl::InvalidArgumentError(
        "--param: give at least one, e.g. --param policy.target_utilization=0.4:0.8:0.1");
  }
  Grid grid;
  std::map<std::string, std::string> seen;
  for (const std::string& text : texts) {
    MESHTWIN_ASSIGN_OR_RETURN(SweepParam p, ParseParam(text));
    if (auto it = seen.find(p.key); it != seen.end()) {
      return ParamError(text, "key " + p.key + " is already swept by --param " + it->second);
    }
    seen[p.key] = text;
    grid.size *= static_cast<std::int64_t>(p.values.size());
    if (grid.size > kMaxGridPoints) {
      return ParamError(text,
                        fmt::format("the grid would have more than {} points", kMaxGridPoints));
    }
    grid.params.push_back(std::move(p));
  }
  return grid;
}

// Uniform in [0, n): rejection on the raw 64-bit output, whose sequence the
// C++ standard fixes (std::uniform_int_distribution's is left to the library,
// and the same --seed must draw the same points everywhere).
std::uint64_t Below(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  while (true) {
    const std::uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

// The grid indices a sweep runs, sorted: all of them, or `random` drawn
// without replacement (Floyd's algorithm) from a generator seeded by `seed`.
// Asking for at least the whole grid runs the whole grid: runs are
// deterministic, so drawing a point twice would only repeat a run.
std::vector<std::int32_t> PlannedIndices(std::int64_t total, std::int64_t random,
                                         std::uint64_t seed) {
  std::vector<std::int32_t> out;
  if (random <= 0 || random >= total) {
    out.resize(static_cast<std::size_t>(total));
    for (std::int64_t i = 0; i < total; ++i)
      out[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
    return out;
  }
  std::mt19937_64 rng(seed);
  std::set<std::int64_t> chosen;
  for (std::int64_t j = total - random; j < total; ++j) {
    const auto t = static_cast<std::int64_t>(Below(rng, static_cast<std::uint64_t>(j + 1)));
    chosen.insert(chosen.count(t) != 0 ? j : t);
  }
  for (std::int64_t i : chosen) out.push_back(static_cast<std::int32_t>(i));
  return out;
}

struct Shard {
  int index = 0;
  int count = 1;
  std::string Text() const { return fmt::format("{}/{}", index, count); }
};

absl::StatusOr<Shard> ParseShard(const std::string& text) {
  Shard s;
  if (text.empty()) return s;
  const std::size_t slash = text.find('/');
  auto parse = [](const std::string& t, int* v) {
    const std::from_chars_result r = std::from_chars(t.data(), t.data() + t.size(), *v);
    return r.ec == std::errc() && r.ptr == t.data() + t.size() && !t.empty();
  };
  if (slash == std::string::npos || !parse(text.substr(0, slash), &s.index) ||
      !parse(text.substr(slash + 1), &s.count) || s.count < 1 || s.index < 0 ||
      s.index >= s.count) {
    return absl::InvalidArgumentError("--shard " + text +
                                      ": expected i/n with 0 <= i < n (e.g. 0/4)");
  }
  return s;
}

// A value as a number: plain numbers as they are, durations in seconds
// ("60s" -> 60), anything else NaN.
double NumericValue(const std::string& value) {
  double x = 0;
  const std::from_chars_result r = std::from_chars(value.data(), value.data() + value.size(), x);
  if (r.ec == std::errc() && r.ptr == value.data() + value.size()) return x;
  absl::StatusOr<Seconds> d = ParseDuration(value);
  return d.ok() ? *d : std::numeric_limits<double>::quiet_NaN();
}

std::vector<std::string> PointOverrides(const std::vector<std::string>& base, const Grid& grid,
                                        const std::vector<std::string>& values) {
  std::vector<std::string> o = base;
  for (std::size_t k = 0; k < grid.params.size(); ++k) {
    o.push_back(grid.params[k].key + "=" + values[k]);
  }
  return o;
}

// What the scenario loader says about a bad --set, without its "--set KEY: "
// (the user wrote --param, not --set).
std::string WithoutSetPrefix(const std::string& message, const std::string& key) {
  const std::string prefix = "--set " + key + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

// Loads every point's scenario before any child starts. A failure names the
// --param whose value alone is refused, or else the combination.
absl::Status ValidatePoints(const std::string& scenario, const std::vector<std::string>& base,
                            const Grid& grid, const std::vector<std::int32_t>& indices,
                            const std::vector<std::string>& param_texts) {
  for (std::int32_t index : indices) {
    const std::vector<std::string> values = grid.ValuesAt(index);
    absl::StatusOr<Scenario> s = LoadScenarioByName(scenario, PointOverrides(base, grid, values));
    if (s.ok()) continue;
    for (std::size_t k = 0; k < grid.params.size(); ++k) {
      std::vector<std::string> one = base;
      one.push_back(grid.params[k].key + "=" + values[k]);
      absl::StatusOr<Scenario> alone = LoadScenarioByName(scenario, one);
      if (!alone.ok()) {
        return absl::Status(alone.status().code(),
                            "--param " + param_texts[k] + ": value " + values[k] + ": " +
                                WithoutSetPrefix(ErrorText(alone.status()), grid.params[k].key));
      }
    }
    std::string point;
    for (std::size_t k = 0; k < grid.params.size(); ++k) {
      point += (k > 0 ? ", " : "") + grid.params[k].key + "=" + values[k];
    }
    return absl::Status(s.status().code(), fmt::format("--param: point {} ({}): {}", index, point,
                                                       ErrorText(s.status())));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Results of the runs.

// The numeric figures of a run's --json summary, flattened: "node_hours",
// "dropped_by_class.critical" for an object member, "x.0" for an array
// element. The seed is left out (a 64-bit integer is not a float64).
void FlattenMetrics(const nlohmann::ordered_json& j, const std::string& prefix,
                    std::vector<std::pair<std::string, double>>* out) {
  auto visit = [&](const std::string& name, const nlohmann::ordered_json& v) {
    if (v.is_number()) {
      out->emplace_back(name, v.get<double>());
    } else if (v.is_object() || v.is_array()) {
      FlattenMetrics(v, name, out);
    }
  };
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (prefix.empty() && it.key() == "seed") continue;
      visit(prefix.empty() ? it.key() : prefix + "." + it.key(), *it);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) visit(prefix + "." + std::to_string(i), j[i]);
  }
}

// Fills in `metrics` of every point from the parsed summaries, extending
// `metric_names` with keys not seen before (in order of appearance).
void FillMetrics(const std::vector<std::vector<std::pair<std::string, double>>>& figures,
                 std::vector<std::string>& metric_names, std::vector<SweepPoint>& points) {
  for (const auto& f : figures) {
    for (const auto& [name, value] : f) {
      if (std::find(metric_names.begin(), metric_names.end(), name) == metric_names.end()) {
        metric_names.push_back(name);
      }
    }
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    points[i].metrics.assign(metric_names.size(), std::numeric_limits<double>::quiet_NaN());
    for (const auto& [name, value] : figures[i]) {
      const auto m =
          std::find(metric_names.begin(), metric_names.end(), name) - metric_names.begin();
      points[i].metrics[static_cast<std::size_t>(m)] = value;
    }
  }
}

std::size_t MetricIndex(const SweepData& d, const std::string& name) {
  return static_cast<std::size_t>(std::find(d.metric_names.begin(), d.metric_names.end(), name) -
                                  d.metric_names.begin());
}

// ---------------------------------------------------------------------------
// Reports.

nlohmann::ordered_json NumberJson(double v) {
  if (!std::isfinite(v)) return nullptr;
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<std::int64_t>(v);
  return v;
}

nlohmann::ordered_json SweepJson(const SweepData& d, const std::vector<std::int32_t>& front) {
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  for (const SweepPoint& p : d.points) {
    nlohmann::ordered_json j;
    j["index"] = p.index;
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < d.params.size(); ++k) params[d.params[k].key] = p.values[k];
    j["params"] = params;
    j["exit_code"] = p.exit_code;
    if (p.exit_code != 0) j["error"] = p.error;
    j["pareto"] = p.pareto;
    for (std::size_t m = 0; m < d.metric_names.size(); ++m) {
      j[d.metric_names[m]] = NumberJson(p.metrics[m]);
    }
    points.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["points"] = std::move(points);
  out["pareto"] = front;
  if (d.shard == "merged") out["missing"] = d.missing;
  return out;
}

std::string FormatNumber(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

// The front as a table, cheapest first.
std::string FrontTable(const SweepData& d, const std::vector<std::int32_t>& front) {
  std::vector<std::string> header = {"index"};
  for (const SweepParam& p : d.params) header.push_back(p.key);
  const std::vector<std::pair<std::string, int>> shown = {
      {"node_hours", 1}, {"slo_violation_minutes", 0}, {"cost", 2}, {"requests_dropped", 0}};
  for (const auto& [name, decimals] : shown) header.push_back(name);
  std::vector<std::vector<std::string>> rows;
  std::map<std::int32_t, const SweepPoint*> by_index;
  for (const SweepPoint& p : d.points) by_index[p.index] = &p;
  for (std::int32_t index : front) {
    const SweepPoint& p = *by_index.at(index);
    std::vector<std::string> row = {std::to_string(p.index)};
    for (const std::string& v : p.values) row.push_back(v);
    for (const auto& [name, decimals] : shown) {
      row.push_back(FormatNumber(p.metrics[MetricIndex(d, name)], decimals));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const std::size_t first_metric = 1 + d.params.size();
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = " ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      // Parameters are text (left); numbers line up on the right.
      s += c > 0 && c < first_metric ? fmt::format(" {:<{}}", cells[c], width[c])
                                     : fmt::format(" {:>{}}", cells[c], width[c]);
    }
    return s + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

void PrintReport(const SweepData& d, const std::vector<std::int32_t>& front,
                 const std::string& path, bool json) {
  if (json) {
    std::printf("%s\n", SweepJson(d, front).dump().c_str());
    return;
  }
  std::size_t failed = 0;
  for (const SweepPoint& p : d.points) failed += p.exit_code != 0 ? 1 : 0;
  std::string out = fmt::format("meshtwin sweep: scenario '{}', {} parameter{}, grid of {} point{}",
                                d.scenario_name, d.params.size(), d.params.size() == 1 ? "" : "s",
                                d.total_points, d.total_points == 1 ? "" : "s");
  if (d.random > 0 && d.planned_points < d.total_points) {
    out += fmt::format(", {} drawn at random (seed {})", d.planned_points, d.seed);
  }
  out += "\n";
  if (d.shard == "merged") {
    out += fmt::format("  merged {} file{}: {} of {} planned points", d.merged_from.size(),
                       d.merged_from.size() == 1 ? "" : "s", d.points.size(), d.planned_points);
    if (!d.missing.empty()) {
      std::string list;
      for (std::size_t i = 0; i < d.missing.size() && i < 20; ++i) {
        list += (i > 0 ? "," : "") + std::to_string(d.missing[i]);
      }
      if (d.missing.size() > 20) list += ",...";
      out += fmt::format(", {} MISSING ({})", d.missing.size(), list);
    }
    out += "\n";
  } else {
    out += fmt::format("  shard {}: {} point{} run", d.shard, d.points.size(),
                       d.points.size() == 1 ? "" : "s");
    out += "\n";
  }
  if (failed > 0) {
    out += fmt::format("  {} FAILED (left out of the front):\n", failed);
    std::size_t shown = 0;
    for (const SweepPoint& p : d.points) {
      if (p.exit_code == 0) continue;
      if (++shown > 10) {
        out += "    ...\n";
        break;
      }
      out += fmt::format("    point {}: exit {}: {}\n", p.index, p.exit_code, p.error);
    }
  }
  out += fmt::format("\nPareto front of node_hours vs slo_violation_minutes ({} point{}):\n",
                     front.size(), front.size() == 1 ? "" : "s");
  out += FrontTable(d, front);
  out += fmt::format("\n  sweep file: {}\n", path);
  std::printf("%s", out.c_str());
}

// ---------------------------------------------------------------------------
// meshtwin sweep

int RunSweep(const SweepArgs& args) {
  if (args.scenario.empty()) {
    return ReportError(absl::InvalidArgumentError(
        "sweep: give a SCENARIO (a file or a library name), e.g. meshtwin sweep default ..."));
  }
  if (args.out.empty()) {
    return ReportError(absl::InvalidArgumentError("--out: required (the sweep file to write)"));
  }
  if (absl::Status st = CheckOutputPath("--out", args.out); !st.ok()) return ReportError(st);
  absl::StatusOr<Grid> grid = ParseGrid(args.params);
  if (!grid.ok()) return ReportError(grid.status());
  absl::StatusOr<Shard> shard = ParseShard(args.shard);
  if (!shard.ok()) return ReportError(shard.status());
  if (args.random && *args.random < 1) {
    return ReportError(absl::InvalidArgumentError(
        fmt::format("--random {}: expected a number of points >= 1", *args.random)));
  }
  if (args.jobs && *args.jobs < 1) {
    return ReportError(
        absl::InvalidArgumentError(fmt::format("--jobs {}: expected >= 1", *args.jobs)));
  }
  absl::StatusOr<Scenario> base = LoadScenarioByName(args.scenario, args.overrides);
  if (!base.ok()) return ReportError(base.status());

  const std::vector<std::int32_t> planned =
      PlannedIndices(grid->size, args.random.value_or(0), args.seed);
  std::vector<std::int32_t> mine;
  for (std::int32_t i : planned) {
    if (i % shard->count == shard->index) mine.push_back(i);
  }
  if (absl::Status st = ValidatePoints(args.scenario, args.overrides, *grid, mine, args.params);
      !st.ok()) {
    return ReportError(st);
  }
  if (args.random && *args.random > grid->size) {
    spdlog::info("--random {} is more than the {} points of the grid: running the whole grid",
                 *args.random, grid->size);
  }

  absl::StatusOr<ScratchDirectory> scratch = ScratchDirectory::Create("meshtwin-sweep-");
  if (!scratch.ok()) return ReportError(scratch.status());
  std::vector<std::vector<std::string>> runs;
  for (std::int32_t index : mine) {
    std::vector<std::string> run = {"simulate", args.scenario};
    for (const std::string& o : PointOverrides(args.overrides, *grid, grid->ValuesAt(index))) {
      run.insert(run.end(), {"--set", o});
    }
    run.insert(run.end(),
               {"--json", "-q", "--out", fmt::format("{}/point-{}.h5", scratch->path(), index)});
    runs.push_back(std::move(run));
  }

  ProgressBar progress(fmt::format("sweep: {} runs", runs.size()), true);
  std::size_t done = 0;
  ChildRunOptions options;
  options.jobs = args.jobs.value_or(AvailableCpus());
  options.on_done = [&](std::size_t i, const ChildResult&) {
    // The results file was only a by-product: the summary is on stdout.
    std::error_code ignored;
    std::filesystem::remove(runs[i].back(), ignored);
    progress.Update(static_cast<double>(++done) / static_cast<double>(runs.size()));
  };
  absl::StatusOr<std::vector<ChildResult>> results = RunChildren(runs, options);
  progress.Finish();
  if (!results.ok()) {
    if (results.status().code() == absl::StatusCode::kCancelled) {
      spdlog::error("sweep: {}; stopped the runs, wrote nothing", ErrorText(results.status()));
      return 128 + InterruptingSignal();
    }
    return ReportError(results.status());
  }

  SweepData d;
  d.scenario_name = base->name;
  d.scenario_source = args.scenario;
  d.scenario_text = base->text;
  d.overrides = args.overrides;
  d.seed = args.seed;
  d.random = static_cast<std::int32_t>(std::min<std::int64_t>(args.random.value_or(0), grid->size));
  d.params = grid->params;
  d.total_points = static_cast<std::int32_t>(grid->size);
  d.planned_points = static_cast<std::int32_t>(planned.size());
  d.shard = shard->Text();
  d.metric_names = CoreSweepMetrics();
  std::vector<std::vector<std::pair<std::string, double>>> figures(mine.size());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const ChildResult& r = (*results)[i];
    SweepPoint p;
    p.index = mine[i];
    p.values = grid->ValuesAt(p.index);
    for (const std::string& v : p.values) p.numeric.push_back(NumericValue(v));
    p.exit_code = r.exit_code;
    if (r.exit_code == 0) {
      nlohmann::ordered_json summary = nlohmann::ordered_json::parse(r.out, nullptr, false);
      if (summary.is_object()) {
        FlattenMetrics(summary, "", &figures[i]);
      } else {
        p.exit_code = 1;
        p.error = "its --json output is not a JSON object: " + FirstLine(r.out);
      }
    } else {
      p.error = ErrorLine(r.err);
      if (p.error.empty()) p.error = fmt::format("exited with code {} and no message", r.exit_code);
    }
    if (p.error.size() > kMaxErrorChars) p.error = p.error.substr(0, kMaxErrorChars) + "...";
    if (p.exit_code != 0) figures[i].clear();
    d.points.push_back(std::move(p));
  }
  FillMetrics(figures, d.metric_names, d.points);
  const std::vector<std::int32_t> front = MarkParetoFront(d.points, d.metric_names);
  if (absl::Status st = WriteSweepFile(args.out, d); !st.ok()) return ReportError(st);
  PrintReport(d, front, args.out, args.json);

  std::size_t failed = 0;
  for (const SweepPoint& p : d.points) failed += p.exit_code != 0 ? 1 : 0;
  if (failed > 0) {
    spdlog::error("sweep: {} of {} runs failed (recorded in {})", failed, d.points.size(),
                  args.out);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// meshtwin sweep merge

// Why `b` is not a shard of the same sweep as `a`, or "" if it is.
std::string Difference(const SweepData& a, const SweepData& b) {
  if (a.scenario_text != b.scenario_text) return "the scenario text differs";
  if (a.overrides != b.overrides) return "the --set overrides differ";
  if (a.params.size() != b.params.size()) return "the --param lists differ";
  for (std::size_t k = 0; k < a.params.size(); ++k) {
    if (a.params[k].key != b.params[k].key || a.params[k].values != b.params[k].values) {
      return "--param " + a.params[k].key + " differs";
    }
  }
  if (a.seed != b.seed) return fmt::format("the seed differs ({} vs {})", a.seed, b.seed);
  if (a.random != b.random) return fmt::format("--random differs ({} vs {})", a.random, b.random);
  if (a.total_points != b.total_points || a.planned_points != b.planned_points) {
    return fmt::format("the number of points differs ({} vs {})", a.planned_points,
                       b.planned_points);
  }
  return "";
}

int RunMerge(const MergeArgs& args) {
  if (absl::Status st = CheckOutputPath("--out", args.out); !st.ok()) return ReportError(st);
  for (std::size_t i = 0; i < args.inputs.size(); ++i) {
    for (std::size_t k = 0; k < i; ++k) {
      if (args.inputs[k] == args.inputs[i]) {
        return ReportError(absl::InvalidArgumentError(args.inputs[i] + ": given twice"));
      }
    }
  }
  std::vector<SweepData> inputs;
  for (const std::string& path : args.inputs) {
    absl::StatusOr<SweepData> d = ReadSweepFile(path);
    if (!d.ok()) return ReportError(d.status());
    if (!inputs.empty()) {
      if (const std::string why = Difference(inputs.front(), *d); !why.empty()) {
        return ReportError(absl::InvalidArgumentError(fmt::format(
            "{}: not a shard of the same sweep as {}: {}", path, args.inputs.front(), why)));
      }
    }
    inputs.push_back(*std::move(d));
  }

  SweepData m = inputs.front();
  m.shard = "merged";
  m.merged_from.clear();
  m.points.clear();
  // The union of the metrics, the first file's order first.
  for (const SweepData& d : inputs) {
    for (const std::string& name : d.metric_names) {
      if (std::find(m.metric_names.begin(), m.metric_names.end(), name) == m.metric_names.end()) {
        m.metric_names.push_back(name);
      }
    }
  }
  std::map<std::int32_t, std::size_t> owner;  // point index -> input
  for (std::size_t f = 0; f < inputs.size(); ++f) {
    const SweepData& d = inputs[f];
    m.merged_from.push_back(fmt::format("{} (shard {})", args.inputs[f], d.shard));
    for (const SweepPoint& p : d.points) {
      if (auto it = owner.find(p.index); it != owner.end()) {
        return ReportError(absl::InvalidArgumentError(
            fmt::format("{}: point {} is also in {}: each point must come from one shard",
                        args.inputs[f], p.index, args.inputs[it->second])));
      }
      owner[p.index] = f;
      SweepPoint q = p;
      q.metrics.assign(m.metric_names.size(), std::numeric_limits<double>::quiet_NaN());
      for (std::size_t k = 0; k < d.metric_names.size(); ++k) {
        q.metrics[MetricIndex(m, d.metric_names[k])] = p.metrics[k];
      }
      m.points.push_back(std::move(q));
    }
  }
  std::sort(m.points.begin(), m.points.end(),
            [](const SweepPoint& a, const SweepPoint& b) { return a.index < b.index; });
  const std::vector<std::int32_t> planned = PlannedIndices(m.total_points, m.random, m.seed);
  if (static_cast<std::int32_t>(planned.size()) != m.planned_points) {
    return ReportError(absl::InvalidArgumentError(
        fmt::format("{}: planned_points is {} but the sweep it describes has {}",
                    args.inputs.front(), m.planned_points, planned.size())));
  }
  m.missing.clear();
  for (std::int32_t i : planned) {
    if (owner.count(i) == 0) m.missing.push_back(i);
  }
  for (const auto& [index, f] : owner) {
    if (!std::binary_search(planned.begin(), planned.end(), index)) {
      return ReportError(absl::InvalidArgumentError(
          fmt::format("{}: /points: point {} is not one of the sweep's planned points",
                      args.inputs[f], index)));
    }
  }
  const std::vector<std::int32_t> front = MarkParetoFront(m.points, m.metric_names);
  if (absl::Status st = WriteSweepFile(args.out, m); !st.ok()) return ReportError(st);
  PrintReport(m, front, args.out, args.json);
  if (!m.missing.empty()) {
    spdlog::warn("sweep merge: {} of {} planned points are missing (listed in {}: /missing)",
                 m.missing.size(), m.planned_points, args.out);
  }
  return 0;
}

}  // namespace

void RegisterSweepCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run SCENARIO over a grid (or a random sample) of parameter values, one process per\n"
      "point, and keep the Pareto front of node-hours vs SLO-violation minutes (docs/sweeps.md).");
  cmd->add_option("scenario", args->scenario, "Scenario: a YAML file or a library name");
  cmd->add_option("--param", args->params,
                  "KEY=a:b:step (inclusive) or KEY=v1,v2,... (values as --set takes them, "
                  "units kept: 60s,300s); repeatable: the grid is their product")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--random", args->random,
                  "Run N points drawn uniformly from the grid, without replacement");
  cmd->add_option("--seed", args->seed, "Seed of the --random draw (the runs use the scenario's)")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Runs at once (default: the number of CPUs)");
  cmd->add_option("--shard", args->shard,
                  "i/n: run only the points whose index % n == i (merge the files with "
                  "'meshtwin sweep merge')");
  cmd->add_option("--set", args->overrides, "Override a scenario key in every run (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("-o,--out", args->out, "Sweep file to write (HDF5), written atomically");
  cmd->add_flag("--json", args->json, "Print {points: [...], pareto: [indices]} on stdout");

  auto merge_args = std::make_shared<MergeArgs>();
  CLI::App* merge = cmd->add_subcommand(
      "merge", "Join the sweep files of the shards of one sweep and recompute the Pareto front.");
  merge->add_option("-o,--out", merge_args->out, "Merged sweep file to write")->required();
  merge->add_option("shards", merge_args->inputs, "Shard sweep files")->required();
  merge->add_flag("--json", merge_args->json, "Print {points: [...], pareto: [...]} on stdout");
  merge->callback([merge_args, exit_code] { *exit_code = RunMerge(*merge_args); });

  cmd->callback([args, merge, exit_code] {
    if (merge->parsed()) return;
    *exit_code = RunSweep(*args);
  });
}

}  // namespace meshtwin
