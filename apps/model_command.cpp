#include "apps/model_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli_util.h"
#include "apps/import_flags.h"
#include "datasets/atomic_file.h"
#include "models/backtest.h"
#include "models/forecaster.h"

namespace meshtwin {
namespace {

// "5m,30m,2h" -> {300, 1800, 7200}.
absl::StatusOr<std::vector<Seconds>> ParseHorizons(const std::string& text) {
  std::vector<Seconds> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = text.find(',', pos);
    const std::string part =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    MESHTWIN_ASSIGN_OR_RETURN(const double h, ParseDurationFlag("--horizons", part));
    if (h <= 0)
      return absl::InvalidArgumentError("--horizons: expected durations > 0, got " + part);
    out.push_back(h);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

struct TrainArgs {
  std::string trace, out, arch = "gru", horizons = "5m,30m,2h";
  ImportFlags flags;
  ForecasterOptions options;
};

int RunTrain(const TrainArgs& a) {
  if (absl::Status st = CheckOutputPath("--out", a.out); !st.ok()) return ReportError(st);
  ForecasterOptions options = a.options;
  absl::StatusOr<std::vector<Seconds>> horizons = ParseHorizons(a.horizons);
  if (!horizons.ok()) return ReportError(horizons.status());
  options.horizons = *horizons;
  options.verbose = true;
  ImportReport report;
  absl::StatusOr<Trace> trace = a.flags.Load(a.trace, &report);
  if (!trace.ok()) return ReportError(trace.status());
  for (const Seconds h : options.horizons) {
    if (std::fmod(h, trace->step) != 0) {
      return ReportError(absl::InvalidArgumentError(fmt::format(
          "--horizons: {} s is not a multiple of the trace's step ({} s)", h, trace->step)));
    }
  }
  absl::StatusOr<std::unique_ptr<Forecaster>> model = MakeForecaster(a.arch, options);
  if (!model.ok())
    return ReportError(absl::InvalidArgumentError("--arch: " + ErrorText(model.status())));
  std::vector<Event> events;
  const History history = HistoryOf(*trace, &events);
  const auto start = std::chrono::steady_clock::now();
  if (absl::Status st = (*model)->Fit(history); !st.ok()) return ReportError(st);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (absl::Status st = (*model)->Save(a.out); !st.ok()) return ReportError(st);
  std::printf("trained %s on %zu samples of %g s in %.1f s (%s)\nwrote %s\n", a.arch.c_str(),
              trace->demand.size(), trace->step, seconds, (*model)->fit_summary().c_str(),
              a.out.c_str());
  return 0;
}

struct BacktestArgs {
  std::string csv, trace, model = "holt-winters", horizon, season, out;
  ImportFlags flags;
  BacktestOptions options;
  ForecasterOptions forecaster;
};

std::string Pct(double ratio) {
  return std::isfinite(ratio) ? fmt::format("{:.3f}", ratio) : std::string("n/a");
}

std::string Range(const Interval& i) {
  return std::isfinite(i.lo) && std::isfinite(i.hi) ? fmt::format("{:.3f}-{:.3f}", i.lo, i.hi)
                                                    : std::string("n/a");
}

int RunBacktest(const BacktestArgs& a) {
  if (a.csv.empty() == a.trace.empty()) {
    return ReportError(
        absl::InvalidArgumentError("give exactly one of --csv FILE and --trace FILE"));
  }
  if (absl::Status st = CheckOutputPath("--out", a.out); !st.ok()) return ReportError(st);
  BacktestOptions options = a.options;
  if (!(options.train_fraction > 0 && options.train_fraction < 1)) {
    return ReportError(absl::InvalidArgumentError(fmt::format(
        "--train-fraction: expected a number in (0, 1), got {}", options.train_fraction)));
  }
  ForecasterOptions forecaster = a.forecaster;
  if (forecaster.variant != "auto" && a.model != "lstm" && a.model != "gru") {
    return ReportError(absl::InvalidArgumentError(
        fmt::format("--variant: only for --model lstm or gru (a model file is already trained), "
                    "got --model {}",
                    a.model)));
  }
  if (!a.season.empty()) {
    absl::StatusOr<double> season = ParseDurationFlag("--season", a.season);
    if (!season.ok()) return ReportError(season.status());
    forecaster.season = *season;
    options.season = *season;  // the seasonal-naive yardstick uses it too
  }
  if (!a.horizon.empty()) {
    absl::StatusOr<double> h = ParseDurationFlag("--horizon", a.horizon);
    if (!h.ok()) return ReportError(h.status());
    options.horizon = *h;
  }
  ImportFlags flags = a.flags;
  if (!a.csv.empty()) flags.format = "csv";
  ImportReport report;
  absl::StatusOr<Trace> trace = flags.Load(a.csv.empty() ? a.trace : a.csv, &report);
  if (!trace.ok()) return ReportError(trace.status());

  // A model file is evaluated as it is; a name is fitted on the first part.
  const bool from_file = std::filesystem::exists(a.model);
  absl::StatusOr<std::unique_ptr<Forecaster>> model =
      from_file ? LoadForecaster(a.model) : MakeForecaster(a.model, forecaster);
  if (!model.ok()) {
    return ReportError(model.status().code() == absl::StatusCode::kInvalidArgument && !from_file
                           ? absl::InvalidArgumentError("--model: " + ErrorText(model.status()))
                           : model.status());
  }
  options.fit = !from_file;
  if (from_file && (*model)->step() != trace->step) {
    return ReportError(absl::InvalidArgumentError(
        fmt::format("--model {}: fitted at a {} s step, the trace has {} s (resample with --step)",
                    a.model, (*model)->step(), trace->step)));
  }
  std::vector<Event> events;
  const History history = HistoryOf(*trace, &events);
  absl::StatusOr<BacktestResult> result = Backtest(**model, history, options);
  if (!result.ok()) return ReportError(result.status());
  if (absl::Status st = WriteTextFileAtomically(a.out, BacktestCsv(result->rows)); !st.ok()) {
    return ReportError(st);
  }
  std::printf("backtest of %s on %zu samples (%g s), trained on the first %.0f %%\n",
              (*model)->name().c_str(), trace->demand.size(), trace->step,
              100 * options.train_fraction);
  std::printf("  %-8s %8s %10s %10s %8s %8s %9s %10s %9s %8s %10s\n", "horizon", "n", "MAE", "RMSE",
              "MAPE%", "sMAPE%", "/naive", "/seasonal", "pinball", "p10-p90", "MAE@events");
  for (const auto& [h, m] : result->by_horizon) {
    std::printf("  %-8s %8zu %10.4g %10.4g %8.2f %8.2f %9s %10s %9.4g %7.1f%% %10.4g\n",
                fmt::format("{}s", h).c_str(), m.n, m.mae, m.rmse, 100 * m.mape, 100 * m.smape,
                Pct(m.mae_ratio_naive).c_str(), Pct(m.mae_ratio_seasonal_naive).c_str(), m.pinball,
                100 * m.coverage, m.mae_in_events);
  }
  // How much the ratios could move on another stretch of the series: on a
  // few days of real traffic a ratio's 90 % interval is often +-0.05 wide.
  std::printf("  90 %% intervals of the ratios (moving-block bootstrap of the scored targets):\n");
  for (const auto& [h, m] : result->by_horizon) {
    std::printf("  %-8s %8s /naive %s  /seasonal %s  (blocks of %zu targets)\n",
                fmt::format("{}s", h).c_str(), "", Range(m.mae_ratio_naive_90).c_str(),
                Range(m.mae_ratio_seasonal_naive_90).c_str(), m.ratio_block);
  }
  std::printf("wrote %s (%zu forecasts)\n", a.out.c_str(), result->rows.size());
  return 0;
}

}  // namespace

void RegisterModelCommands(CLI::App& app, int* exit_code) {
  {
    auto a = std::make_shared<TrainArgs>();
    CLI::App* cmd = app.add_subcommand("train", "Train an LSTM/GRU forecaster on a demand trace");
    cmd->add_option("--trace", a->trace, "Trace (HDF5, CSV or Prometheus JSON)")->required();
    cmd->add_option("--arch", a->arch, "lstm or gru")->capture_default_str();
    cmd->add_option("--horizons", a->horizons, "Horizons to predict")->capture_default_str();
    cmd->add_option("--epochs", a->options.epochs, "At most this many epochs (early stopping)")
        ->capture_default_str();
    cmd->add_option("--seed", a->options.seed, "Random seed")->capture_default_str();
    cmd->add_option("--threads", a->options.threads, "LibTorch threads (1: bit-reproducible)")
        ->capture_default_str();
    cmd->add_flag("!--no-events", a->options.use_events, "Ignore event covariates");
    cmd->add_option("--variant", a->options.variant,
                    "rich (calendar inputs), lean (none, weight decay), or auto: train both and "
                    "keep lean unless rich validates 5% better")
        ->check(CLI::IsMember({"auto", "rich", "lean"}))
        ->capture_default_str();
    cmd->add_option("-o,--out", a->out, "Model file to write")->required();
    a->flags.Add(cmd);
    cmd->callback([a, exit_code] { *exit_code = RunTrain(*a); });
  }
  {
    auto a = std::make_shared<BacktestArgs>();
    CLI::App* cmd = app.add_subcommand(
        "backtest",
        "Fit on the first part of a trace, then forecast from every later origin and score it");
    cmd->add_option("--csv", a->csv, "Demand as CSV");
    cmd->add_option("--trace", a->trace, "Demand as a trace file (or CSV / Prometheus JSON)");
    cmd->add_option("--model", a->model,
                    "naive, seasonal-naive, holt-winters, lstm, gru, or a model file")
        ->capture_default_str();
    cmd->add_option("--horizon", a->horizon, "Score only this horizon (default: all)");
    cmd->add_option("--horizons", a->forecaster.horizons, "Horizons in seconds for a named model")
        ->delimiter(',');
    cmd->add_option("--train-fraction", a->options.train_fraction, "Share used for the first fit")
        ->capture_default_str();
    cmd->add_option("--retrain-every", a->options.retrain_every, "Refit every N origins (0: never)")
        ->capture_default_str();
    cmd->add_option("--seed", a->forecaster.seed, "Random seed")->capture_default_str();
    cmd->add_option("--variant", a->forecaster.variant,
                    "For lstm/gru: rich, lean, or auto (see train --help)")
        ->check(CLI::IsMember({"auto", "rich", "lean"}))
        ->capture_default_str();
    cmd->add_option("--season", a->season, "Seasonal period (default: detect a day or a week)");
    cmd->add_option("-o,--out", a->out, "Forecasts CSV: timestamp,horizon_s,actual,p10,p50,p90")
        ->required();
    a->flags.Add(cmd);
    cmd->callback([a, exit_code] { *exit_code = RunBacktest(*a); });
  }
}

}  // namespace meshtwin
