#include "apps/detect_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "apps/cli_util.h"
#include "apps/import_flags.h"
#include "datasets/atomic_file.h"
#include "datasets/timestamp.h"
#include "models/anomaly.h"
#include "models/anomaly_eval.h"

namespace meshtwin {
namespace {

// Flags `detect` and `detect eval` share: the detector's knobs.
struct DetectorFlags {
  std::string season;  // empty: the command's default
  double threshold = 0;
  int confirm = 2;
  int confirm_window = 3;
  std::string forecaster = "holt-winters";
  std::string model;
  int refit_every = 1440;

  void Add(CLI::App* cmd) {
    cmd->add_option("--season", season,
                    "Seasonal period (e.g. 1d, 1w; 0: none; forecast-residual: 0 = detect)");
    cmd->add_option("--threshold", threshold,
                    "robust-z: robust sigmas (default 4); forecast-residual: p10-p90 widths "
                    "outside the interval (default 1.5)");
    cmd->add_option("--confirm", confirm,
                    "Flag when this many of the last --confirm-window points exceed")
        ->capture_default_str();
    cmd->add_option("--confirm-window", confirm_window, "Debounce window, points (1..32)")
        ->capture_default_str();
    cmd->add_option("--forecaster", forecaster,
                    "forecast-residual: naive, seasonal-naive or holt-winters")
        ->capture_default_str();
    cmd->add_option("--model", model, "forecast-residual: a fitted model file (never refitted)");
    cmd->add_option("--refit-every", refit_every, "forecast-residual: points between refits")
        ->capture_default_str();
  }

  // Applies the flags over `o` (whose season is the command's default).
  absl::Status Apply(AnomalyDetectorOptions* o) const {
    if (!season.empty()) {
      if (season == "0") {
        o->season = 0;
      } else {
        MESHTWIN_ASSIGN_OR_RETURN(o->season, ParseDurationFlag("--season", season));
      }
    }
    if (!(threshold >= 0) || !std::isfinite(threshold)) {
      return absl::InvalidArgumentError(
          fmt::format("--threshold: expected a number > 0, got {}", threshold));
    }
    o->threshold = threshold;
    o->confirm = confirm;
    o->confirm_window = confirm_window;
    o->forecaster = forecaster;
    o->model_path = model;
    o->refit_every = refit_every;
    return absl::OkStatus();
  }
};

// Detector option errors name the option struct's field; at the command line
// they should name the flag.
absl::Status AsFlagError(const absl::Status& st) {
  if (st.code() != absl::StatusCode::kInvalidArgument) return st;
  std::string text = ErrorText(st);
  const std::string prefix = "anomaly detector option ";
  if (text.rfind(prefix, 0) == 0) {
    text = text.substr(prefix.size());
    const std::size_t colon = text.find(':');
    std::string field = text.substr(0, colon);
    for (char& c : field) c = c == '_' ? '-' : c;
    if (field == "model-path") field = "model";
    text = "--" + field + text.substr(colon);
  } else if (text.rfind("unknown detector", 0) == 0) {
    text = "--detector: " + text;
  }
  return absl::InvalidArgumentError(text);
}

std::string Shortest(double v) {
  if (!std::isfinite(v)) return "";
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : std::string();
}

struct DetectArgs {
  std::string csv, trace, detector = "robust-z", out;
  ImportFlags flags;
  DetectorFlags detector_flags;
};

int RunDetect(const DetectArgs& a) {
  if (a.csv.empty() == a.trace.empty()) {
    return ReportError(
        absl::InvalidArgumentError("give exactly one of --csv FILE and --trace FILE"));
  }
  if (a.out.empty()) return ReportError(absl::InvalidArgumentError("--out FILE is required"));
  if (absl::Status st = CheckOutputPath("--out", a.out); !st.ok()) return ReportError(st);
  AnomalyDetectorOptions options;  // season: one day unless --season says otherwise
  if (absl::Status st = a.detector_flags.Apply(&options); !st.ok()) return ReportError(st);
  // Detector options are checked before the (possibly long) import, with a
  // placeholder step; the real step is known once the series is read.
  AnomalyDetectorOptions precheck = options;
  precheck.model_path.clear();  // loaded (and its step checked) once the step is known
  if (absl::Status st = MakeDetector(a.detector, precheck).status();
      !st.ok() && st.code() == absl::StatusCode::kInvalidArgument &&
      ErrorText(st).find("option step") == std::string::npos &&
      ErrorText(st).find("option season") == std::string::npos) {
    return ReportError(AsFlagError(st));
  }
  ImportFlags flags = a.flags;
  if (!a.csv.empty()) flags.format = "csv";
  ImportReport report;
  absl::StatusOr<Trace> trace = flags.Load(a.csv.empty() ? a.trace : a.csv, &report);
  if (!trace.ok()) return ReportError(trace.status());
  options.step = trace->step;
  absl::StatusOr<std::unique_ptr<AnomalyDetector>> detector = MakeDetector(a.detector, options);
  if (!detector.ok()) return ReportError(AsFlagError(detector.status()));

  const double t0 = trace->epoch + trace->start;
  const DetectorRun run = RunDetector(**detector, trace->demand, t0, trace->step);
  std::string csv = "timestamp,value,score,is_anomaly\n";
  csv.reserve(trace->demand.size() * 48);
  std::size_t flagged = 0, episodes = 0, warmup = 0;
  bool ready_seen = false;
  for (std::size_t i = 0; i < run.scores.size(); ++i) {
    csv += FormatIso8601(t0 + trace->step * static_cast<double>(i));
    csv += ',';
    csv += Shortest(trace->demand[i]);
    csv += fmt::format(",{:.6f},{}\n", run.scores[i], run.flags[i] ? 1 : 0);
    flagged += run.flags[i];
    if (run.flags[i] && (i == 0 || !run.flags[i - 1])) ++episodes;
    if (!ready_seen && run.scores[i] > 0) ready_seen = true;
    if (!ready_seen) ++warmup;
  }
  if (absl::Status st = WriteTextFileAtomically(a.out, csv); !st.ok()) return ReportError(st);
  std::printf("%s on %zu points (%g s step, season %g s): %zu warm-up points (score 0)\n",
              std::string((*detector)->name()).c_str(), run.scores.size(), trace->step,
              options.season, warmup);
  std::printf("  %zu points flagged in %zu alarm episodes\n", flagged, episodes);
  std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

struct EvalArgs {
  std::vector<std::string> detectors;
  std::vector<std::uint64_t> seeds = {1, 2, 3};
  double days = 28;
  std::string step = "60s";
  std::size_t tolerance = 30;
  int count = 12;
  bool json = false;
  DetectorFlags detector_flags;
};

std::string Fixed(double v, const char* format) {
  return std::isfinite(v) ? fmt::format(fmt::runtime(format), v) : std::string("n/a");
}

int RunEval(const EvalArgs& a) {
  absl::StatusOr<double> step = ParseDurationFlag("--step", a.step);
  if (!step.ok()) return ReportError(step.status());
  if (!(a.days > 0 && a.days <= 400)) {
    return ReportError(absl::InvalidArgumentError(
        fmt::format("--days: expected a number in (0, 400], got {}", a.days)));
  }
  if (a.seeds.empty())
    return ReportError(absl::InvalidArgumentError("--seeds: expected at least one"));
  std::vector<std::pair<std::string, AnomalyDetectorOptions>> detectors;
  for (auto& [name, options] : DefaultBenchmarkDetectors(*step)) {
    if (!a.detectors.empty() &&
        std::find(a.detectors.begin(), a.detectors.end(), name) == a.detectors.end()) {
      continue;
    }
    if (absl::Status st = a.detector_flags.Apply(&options); !st.ok()) return ReportError(st);
    if (absl::Status st = MakeDetector(name, options).status(); !st.ok()) {
      return ReportError(AsFlagError(st));
    }
    detectors.emplace_back(name, options);
  }
  for (const std::string& name : a.detectors) {
    if (absl::Status st = MakeDetector(name, AnomalyDetectorOptions{}).status();
        !st.ok() && ErrorText(st).rfind("unknown detector", 0) == 0) {
      return ReportError(AsFlagError(st));
    }
  }
  AnomalyBenchmarkOptions bench;
  bench.seeds = a.seeds;
  bench.tolerance = a.tolerance;
  bench.series.days = a.days;
  bench.series.step = *step;
  bench.series.count = a.count;
  absl::StatusOr<std::vector<AnomalyBenchmarkRow>> rows = RunAnomalyBenchmark(detectors, bench);
  if (!rows.ok()) return ReportError(rows.status());

  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    const auto num = [](double v) {
      return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
    };
    for (const AnomalyBenchmarkRow& r : *rows) {
      const DetectionQuality& q = r.quality;
      j.push_back({{"detector", r.detector},
                   {"kind", r.kind},
                   {"points", q.points},
                   {"anomalies", q.anomalies},
                   {"detected", q.detected},
                   {"false_alarms", q.false_alarms},
                   {"precision", num(q.precision())},
                   {"recall", num(q.recall())},
                   {"mean_delay_points", num(q.mean_delay())},
                   {"max_delay_points", num(q.detected ? q.delay_max : NAN)},
                   {"mean_delay_s", num(q.mean_delay() * q.step)},
                   {"max_delay_s", num(q.detected ? q.delay_max * q.step : NAN)},
                   {"false_alarms_per_10k", num(q.false_alarms_per_10k())}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf(
      "synthetic benchmark: %zu seed(s) x %g days at %g s per kind, %d anomalies per "
      "series, tolerance %zu points\n",
      a.seeds.size(), a.days, *step, a.count, a.tolerance);
  std::printf("  %-18s %-15s %8s %9s %9s %7s %11s %10s %9s\n", "detector", "kind", "points",
              "detected", "precision", "recall", "delay mean", "delay max", "FA/10k");
  for (const AnomalyBenchmarkRow& r : *rows) {
    const DetectionQuality& q = r.quality;
    std::printf("  %-18s %-15s %8zu %9s %9s %7s %11s %10s %9s\n", r.detector.c_str(),
                r.kind.c_str(), q.points, fmt::format("{}/{}", q.detected, q.anomalies).c_str(),
                Fixed(q.precision(), "{:.3f}").c_str(), Fixed(q.recall(), "{:.3f}").c_str(),
                Fixed(q.mean_delay(), "{:.1f}").c_str(),
                q.detected ? fmt::format("{:.0f}", q.delay_max).c_str() : "n/a",
                Fixed(q.false_alarms_per_10k(), "{:.2f}").c_str());
  }
  std::printf("delays in points of %g s\n", *step);
  return 0;
}

}  // namespace

void RegisterDetectCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "detect",
      "Online anomaly scores for a metric series: timestamp,value,score,is_anomaly (score in "
      "[0,1], from the points up to each one only)");
  cmd->add_option("--csv", a->csv, "Series as CSV");
  cmd->add_option("--trace", a->trace, "Series as a trace file (or CSV / Prometheus JSON)");
  cmd->add_option("--detector", a->detector, "robust-z or forecast-residual")
      ->capture_default_str();
  cmd->add_option("-o,--out", a->out, "Scores CSV to write");
  a->detector_flags.Add(cmd);
  a->flags.Add(cmd);

  auto e = std::make_shared<EvalArgs>();
  CLI::App* eval = cmd->add_subcommand(
      "eval",
      "Run the detectors on labelled synthetic series (spikes, level shifts, slowdowns, variance "
      "bursts, drifts, and clean ones): precision, recall, delay, false alarms per 10,000 points");
  eval->add_option("--detector", e->detectors, "Detectors to judge (default: all)")
      ->allow_extra_args(false);
  eval->add_option("--seeds", e->seeds, "Series seeds")->delimiter(',')->capture_default_str();
  eval->add_option("--days", e->days, "Days per series")->capture_default_str();
  eval->add_option("--step", e->step, "Sample spacing")->capture_default_str();
  eval->add_option("--count", e->count, "Anomalies per series")->capture_default_str();
  eval->add_option("--tolerance", e->tolerance,
                   "Points after an anomaly's end an alarm still counts")
      ->capture_default_str();
  eval->add_flag("--json", e->json, "Print JSON");
  e->detector_flags.Add(eval);
  eval->callback([e, exit_code] { *exit_code = RunEval(*e); });

  cmd->callback([a, eval, exit_code] {
    if (eval->parsed()) return;  // `detect eval` ran instead
    *exit_code = RunDetect(*a);
  });
}

}  // namespace meshtwin
