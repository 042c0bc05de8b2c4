#include "apps/trace_command.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apps/cli_util.h"
#include "apps/import_flags.h"
#include "datasets/csv_import.h"
#include "datasets/event_tagger.h"
#include "datasets/events.h"
#include "datasets/log_import.h"
#include "datasets/presets.h"
#include "datasets/timestamp.h"
#include "datasets/trace_file.h"
#include "datasets/trace_stats.h"

namespace meshtwin {
namespace {

// "1 event", "3 events".
std::string Count(std::size_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string Span(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s % 86400 == 0 && s >= 86400) return fmt::format("{}d", s / 86400);
  if (s >= 86400) return fmt::format("{}d{}h{:02}m", s / 86400, (s / 3600) % 24, (s / 60) % 60);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

void PrintImportReport(const Trace& t, const ImportReport& report, const std::string& out) {
  for (const std::string& w : report.warnings) spdlog::warn("{}", w);
  std::printf("imported %s -> %s of %s from %s to %s", Count(report.rows, "row").c_str(),
              Count(t.demand.size(), "sample").c_str(),
              Span(t.step).c_str(), FormatIso8601(t.epoch + t.start).c_str(),
              FormatIso8601(t.epoch + t.end()).c_str());
  if (!t.channels.empty()) std::printf(", %s", Count(t.channels.size(), "channel").c_str());
  if (report.missing > 0) {
    std::printf(", %s missing in %s", Count(report.missing, "sample").c_str(),
                Count(report.gaps, "gap").c_str());
  }
  if (!t.events.empty()) std::printf(", %s", Count(t.events.size(), "event").c_str());
  std::printf("\nwrote %s\n", out.c_str());
}

int RunImport(const std::string& file, const std::string& out, const ImportFlags& flags) {
  if (absl::Status st = CheckOutputPath("--out", out); !st.ok()) return ReportError(st);
  ImportReport report;
  absl::StatusOr<Trace> trace = flags.Load(file, &report);
  if (!trace.ok()) return ReportError(trace.status());
  if (absl::Status st = WriteTraceFile(out, *trace); !st.ok()) return ReportError(st);
  PrintImportReport(*trace, report, out);
  return 0;
}

// "trace.h5" -> "trace.events.csv", next to it.
std::string EventsPathFor(const std::string& trace_path) {
  std::filesystem::path p(trace_path);
  p.replace_extension();
  return p.string() + ".events.csv";
}

int RunGenerate(const std::string& preset, double days, std::uint64_t seed, const std::string& out) {
  if (absl::Status st = CheckOutputPath("--out", out); !st.ok()) return ReportError(st);
  absl::StatusOr<Trace> trace = GeneratePreset(preset, days, seed);
  if (!trace.ok()) return ReportError(absl::InvalidArgumentError("--preset: " + ErrorText(trace.status())));
  // The events file holds absolute times, like any events file a user brings.
  std::vector<Event> events = trace->events;
  for (Event& e : events) {
    e.start += trace->epoch;
    e.end += trace->epoch;
    e.announced += trace->epoch;
  }
  const std::string events_path = EventsPathFor(out);
  if (absl::Status st = WriteTraceFile(out, *trace); !st.ok()) return ReportError(st);
  if (absl::Status st = WriteEventsCsv(events_path, events); !st.ok()) return ReportError(st);
  std::printf("generated %s: %s of %s samples from %s, %s\nwrote %s and %s\n", preset.c_str(),
              Span(trace->end() - trace->start).c_str(), Span(trace->step).c_str(),
              FormatIso8601(trace->epoch + trace->start).c_str(),
              Count(trace->events.size(), "event").c_str(), out.c_str(), events_path.c_str());
  return 0;
}

nlohmann::ordered_json SeriesJson(const SeriesStats& s) {
  nlohmann::ordered_json j;
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  j["min"] = num(s.min);
  j["mean"] = num(s.mean);
  j["max"] = num(s.max);
  j["missing"] = s.missing;
  j["daily_seasonality"] = num(s.daily_strength);
  j["weekly_seasonality"] = num(s.weekly_strength);
  return j;
}

std::string Strength(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : "n/a (< 2 periods)"; }

int RunInspect(const std::string& file, const ImportFlags& flags, bool json) {
  ImportReport report;
  absl::StatusOr<Trace> trace = flags.Load(file, &report);
  if (!trace.ok()) return ReportError(trace.status());
  const TraceStats st = ComputeTraceStats(*trace);
  if (json) {
    nlohmann::ordered_json j;
    j["file"] = file;
    j["start"] = FormatIso8601(st.start_unix);
    j["end"] = FormatIso8601(st.end_unix);
    j["step_s"] = st.step;
    j["rows"] = st.rows;
    j["unit"] = trace->unit;
    j["gaps"] = nlohmann::json::array();
    for (const TraceGap& g : st.gaps) {
      j["gaps"].push_back({{"start", FormatIso8601(trace->epoch + g.start)}, {"samples", g.samples}});
    }
    j["demand"] = SeriesJson(st.demand);
    for (std::size_t i = 0; i < st.channels.size(); ++i) {
      j["channels"][trace->channels[i].name] = SeriesJson(st.channels[i]);
    }
    j["events"] = nlohmann::json::array();
    for (const Event& e : trace->events) {
      j["events"].push_back({{"start", FormatIso8601(trace->epoch + e.start)},
                             {"announced", FormatIso8601(trace->epoch + e.announced)},
                             {"category", e.category},
                             {"magnitude", e.magnitude},
                             {"text", e.text}});
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%s\n", file.c_str());
  std::printf("  range      %s .. %s (%s)\n", FormatIso8601(st.start_unix).c_str(),
              FormatIso8601(st.end_unix).c_str(), Span(st.end_unix - st.start_unix).c_str());
  std::printf("  step       %s, %zu rows\n", Span(st.step).c_str(), st.rows);
  std::printf("  gaps       %zu (%zu missing samples)\n", st.gaps.size(), st.demand.missing);
  for (std::size_t i = 0; i < st.gaps.size() && i < 10; ++i) {
    std::printf("             %s: %zu samples\n",
                FormatIso8601(trace->epoch + st.gaps[i].start).c_str(), st.gaps[i].samples);
  }
  if (st.gaps.size() > 10) std::printf("             ... %zu more\n", st.gaps.size() - 10);
  auto series = [](const char* name, const SeriesStats& s, const std::string& unit) {
    std::printf("  %-10s min %.6g  mean %.6g  max %.6g %s; seasonality daily %s, weekly %s\n", name,
                s.min, s.mean, s.max, unit.c_str(), Strength(s.daily_strength).c_str(),
                Strength(s.weekly_strength).c_str());
  };
  series("demand", st.demand, trace->unit);
  for (std::size_t i = 0; i < st.channels.size(); ++i) {
    std::printf("  channel    %s (%s)\n", trace->channels[i].name.c_str(),
                trace->channels[i].kind.c_str());
    series("", st.channels[i], trace->channels[i].unit);
  }
  std::printf("  events     %zu\n", trace->events.size());
  for (std::size_t i = 0; i < trace->events.size() && i < 20; ++i) {
    const Event& e = trace->events[i];
    std::printf("             %s  %-9s x%-5.3g announced %s  %s\n",
                FormatIso8601(trace->epoch + e.start).c_str(), e.category.c_str(), e.magnitude,
                FormatIso8601(trace->epoch + e.announced).c_str(), e.text.c_str());
  }
  if (trace->events.size() > 20) std::printf("             ... %zu more\n", trace->events.size() - 20);
  return 0;
}

}  // namespace

void RegisterTraceCommands(CLI::App& app, int* exit_code) {
  CLI::App* trace = app.add_subcommand("trace", "Import, generate and inspect demand traces");
  trace->require_subcommand(1);

  {
    struct Args {
      std::string file, out;
      ImportFlags flags;
    };
    auto a = std::make_shared<Args>();
    CLI::App* cmd = trace->add_subcommand(
        "import", "Convert a CSV export or Prometheus query_range JSON into a trace file (HDF5)");
    cmd->add_option("file", a->file, "Input file")->required();
    cmd->add_option("-o,--out", a->out, "Trace file to write")->required();
    a->flags.Add(cmd);
    cmd->callback([a, exit_code] { *exit_code = RunImport(a->file, a->out, a->flags); });
  }
  {
    struct Args {
      std::string preset, out;
      double days = 7;
      std::uint64_t seed = 1;
      bool list = false;
    };
    auto a = std::make_shared<Args>();
    std::string names;
    for (const PresetInfo& p : Presets()) names += "\n  " + p.name + ": " + p.description;
    CLI::App* cmd = trace->add_subcommand(
        "generate", "Generate a synthetic trace from a preset, with its events alongside." + names);
    cmd->add_option("--preset", a->preset, "Preset name (see above)");
    cmd->add_option("--days", a->days, "Length in days")->capture_default_str();
    cmd->add_option("--seed", a->seed, "Random seed")->capture_default_str();
    cmd->add_option("-o,--out", a->out, "Trace file to write (events go to NAME.events.csv)");
    cmd->add_flag("--list", a->list, "List the presets and exit");
    cmd->callback([a, exit_code] {
      if (a->list) {
        for (const PresetInfo& p : Presets()) std::printf("%-16s %s\n", p.name.c_str(), p.description.c_str());
        *exit_code = 0;
        return;
      }
      if (a->preset.empty() || a->out.empty()) {
        *exit_code = ReportError(absl::InvalidArgumentError("--preset and --out are required"));
        return;
      }
      *exit_code = RunGenerate(a->preset, a->days, a->seed, a->out);
    });
  }
  {
    struct Args {
      std::string file;
      ImportFlags flags;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    CLI::App* cmd = trace->add_subcommand(
        "inspect", "Range, step, rows, gaps, min/mean/max, daily and weekly seasonality, events");
    cmd->add_option("file", a->file, "Trace file (HDF5), or CSV / Prometheus JSON with import flags")
        ->required();
    a->flags.Add(cmd);
    cmd->add_flag("--json", a->json, "Print one JSON object");
    cmd->callback([a, exit_code] { *exit_code = RunInspect(a->file, a->flags, a->json); });
  }
}

void RegisterEventsCommands(CLI::App& app, int* exit_code) {
  CLI::App* events = app.add_subcommand("events", "Global event feeds (news, social, markets)");
  events->require_subcommand(1);
  struct Args {
    std::string file, dict, out;
    bool overwrite = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = events->add_subcommand(
      "tag", "Fill each event's category from its text with a keyword dictionary; prints CSV");
  cmd->add_option("file", a->file, "Events (CSV or JSON lines)")->required();
  cmd->add_option("--dict", a->dict, "Keyword dictionary YAML (default: the built-in one)");
  cmd->add_option("-o,--out", a->out, "Write the tagged events here instead of stdout");
  cmd->add_flag("--overwrite", a->overwrite, "Re-tag events that already have a category");
  cmd->callback([a, exit_code] {
    *exit_code = [&]() -> int {
      if (!a->out.empty()) {
        if (absl::Status st = CheckOutputPath("--out", a->out); !st.ok()) return ReportError(st);
      }
      KeywordDictionary custom;
      if (!a->dict.empty()) {
        absl::StatusOr<KeywordDictionary> d = LoadKeywordDictionary(a->dict);
        if (!d.ok()) return ReportError(d.status());
        custom = *std::move(d);
      }
      const KeywordDictionary& dict = a->dict.empty() ? DefaultKeywordDictionary() : custom;
      absl::StatusOr<std::vector<Event>> ev = ReadEventsFile(a->file);
      if (!ev.ok()) return ReportError(ev.status());
      const TagReport r = TagEvents(*ev, dict, a->overwrite);
      if (a->out.empty()) {
        std::printf("%s", EventsToCsv(*ev).c_str());
      } else if (absl::Status st = WriteEventsCsv(a->out, *ev); !st.ok()) {
        return ReportError(st);
      }
      spdlog::info("{} events: {} tagged, {} already had a category, {} matched no keyword",
                   ev->size(), r.tagged, r.kept, r.untagged);
      return 0;
    }();
  });
}

void RegisterLogsCommands(CLI::App& app, int* exit_code) {
  CLI::App* logs = app.add_subcommand("logs", "Application logs");
  logs->require_subcommand(1);
  struct Args {
    std::string file, out, step = "60s", bad_lines = "report", time_format = "auto";
    LogImportOptions options;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = logs->add_subcommand(
      "import",
      "JSON-lines logs -> request rate, error rate and latency p50/p95/p99 series (a trace file)");
  cmd->add_option("file", a->file, "Logs, one JSON object per line")->required();
  cmd->add_option("-o,--out", a->out, "Series file to write (HDF5 trace format)")->required();
  cmd->add_option("--step", a->step, "Bucket size")->capture_default_str();
  cmd->add_option("--bad-lines", a->bad_lines, "Broken lines: fail, skip or report")
      ->capture_default_str();
  cmd->add_option("--time-field", a->options.time_field, "Timestamp field")->capture_default_str();
  cmd->add_option("--latency-field", a->options.latency_field, "Latency field (ms)")
      ->capture_default_str();
  cmd->add_option("--status-field", a->options.status_field, "HTTP status field")
      ->capture_default_str();
  cmd->add_option("--level-field", a->options.level_field, "Log level field")->capture_default_str();
  cmd->add_option("--time-format", a->time_format, "auto, iso, s or ms")->capture_default_str();
  cmd->callback([a, exit_code] {
    *exit_code = [&]() -> int {
      if (absl::Status st = CheckOutputPath("--out", a->out); !st.ok()) return ReportError(st);
      LogImportOptions o = a->options;
      absl::StatusOr<double> step = ParseDurationFlag("--step", a->step);
      if (!step.ok()) return ReportError(step.status());
      o.step = *step;
      absl::StatusOr<BadLinePolicy> policy = ParseBadLinePolicy(a->bad_lines);
      if (!policy.ok()) return ReportError(absl::InvalidArgumentError("--bad-lines: " + ErrorText(policy.status())));
      o.bad_lines = *policy;
      absl::StatusOr<TimeFormat> tf = ParseTimeFormatName(a->time_format);
      if (!tf.ok()) return ReportError(absl::InvalidArgumentError("--time-format: " + ErrorText(tf.status())));
      o.time_format = *tf;
      LogImportReport report;
      absl::StatusOr<Trace> t = ImportLogsFile(a->file, o, &report);
      if (!t.ok()) return ReportError(t.status());
      for (const std::string& w : report.warnings) spdlog::warn("{}", w);
      if (absl::Status st = WriteTraceFile(a->out, *t); !st.ok()) return ReportError(st);
      std::printf("imported %zu log lines (%zu broken) -> %zu samples of %s from %s\nwrote %s\n",
                  report.lines, report.bad_lines, t->demand.size(), Span(t->step).c_str(),
                  FormatIso8601(t->epoch + t->start).c_str(), a->out.c_str());
      return 0;
    }();
  });
}

}  // namespace meshtwin
