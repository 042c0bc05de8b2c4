// LSTM/GRU forecasters on LibTorch. The network: an LSTM or GRU reads the
// last `window` samples (models/features.h, "sequence"); its last hidden
// state and the static inputs (lags, calendar, events) feed a small MLP head
// that gives, for every horizon, p50 relative to the last known value and
// two softplus offsets for p10 and p90 (so p10 <= p50 <= p90 by
// construction). A linear skip from the static inputs to p50 expresses "last
// value plus yesterday's change" directly; in the lean variant a linear
// autoregression on the window's values (relative to the last one) joins it,
// for the short-term pull back to the recent level of real traffic. The
// recurrent part and the MLP learn the rest. Fit trains a rich and a lean
// network and keeps the lean one unless the rich one validates at least 5 %
// better (TrainingVariant).
#include "models/rnn_forecaster.h"

#include <dlfcn.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "datasets/splitmix.h"
#include "models/features.h"

namespace meshtwin {
namespace {

using nlohmann::json;

constexpr char kFormat[] = "meshtwin-model";
// Version 2 added the autoregressive part (architecture.autoregressive), the
// recent means and weekly-lag switch (features.use_recent_means, use_weekly)
// and the variant (training.variant); version 1 files load as rich networks
// without them.
constexpr int kFormatVersion = 2;
constexpr int kOldestFormatVersion = 1;
constexpr char kCreatedBy[] = "meshtwin models/rnn_forecaster.cpp";
constexpr char kMetadataKey[] = "metadata";
constexpr std::array<float, 3> kQuantiles = {0.1F, 0.5F, 0.9F};

// Sizes chosen to train 10,000 points in well under a minute on two cores
// and to predict in a fraction of a millisecond: the lags and calendar
// inputs carry the seasonal information, so the recurrent part only needs
// the recent shape of the series.
constexpr int kWindow = 24;
constexpr int kHidden = 32;
constexpr int kLayers = 1;
constexpr int kHead = 64;
constexpr std::size_t kBatch = 64;
constexpr double kLearningRate = 3e-3;
constexpr double kValidationFraction = 0.15;
// The learning rate halves after kLrPatience epochs without a better
// validation loss, and training stops after kPatience: on the presets the
// halvings gained as much as doubling the epochs.
constexpr int kLrPatience = 2;
constexpr int kPatience = 6;
// Windows per epoch: all of them, but at least twice as many (two passes)
// up to kEpochWindows, and at most kMaxWindowsPerEpoch (a random subset).
// With one pass per epoch, 28 days at 300 s were still improving after 30
// epochs; two passes cut the held-out error inside market-open's event
// windows (30 min: MAE 403-529 -> 391-423 over three seeds, 2 h: 365-485 ->
// 389-402) and on all presets and the Google trace.
// Long histories cost more features but not proportionally more training.
constexpr std::size_t kEpochWindows = 12800;
constexpr std::size_t kMaxWindowsPerEpoch = 16384;
constexpr std::size_t kMinWindows = 32;
constexpr std::size_t kPredictChunk = 2048;

// The data order must not depend on the standard library's distributions
// (which the standard leaves open).
using Rng = SplitMix64;

// OpenBLAS' own thread pool fights LibTorch's OpenMP pool for the same cores
// (on two cores a training epoch took six times longer): LibTorch
// parallelises above BLAS, so BLAS runs single-threaded. Looked up at run
// time, so that a BLAS without this entry point costs nothing.
void KeepBlasSingleThreaded() {
  static const bool done = [] {
    using SetThreads = void (*)(int);
    if (void* f = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
      reinterpret_cast<SetThreads>(f)(1);
    }
    return true;
  }();
  (void)done;
}

struct Architecture {
  std::string kind;  // "lstm" | "gru"
  int hidden = kHidden;
  int layers = kLayers;
  int head = kHead;
  bool autoregressive = false;  // the linear part reads the window too (format 2, lean)
};

class NetImpl : public torch::nn::Module {
 public:
  NetImpl(const Architecture& arch, int sequence_width, int static_width, int window, int horizons)
      : lstm_(arch.kind == "lstm"), horizons_(horizons) {
    if (lstm_) {
      lstm_rnn_ =
          register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(sequence_width, arch.hidden)
                                                     .num_layers(arch.layers)
                                                     .batch_first(true)));
    } else {
      gru_rnn_ =
          register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(sequence_width, arch.hidden)
                                                    .num_layers(arch.layers)
                                                    .batch_first(true)));
    }
    hidden_ = register_module("hidden", torch::nn::Linear(arch.hidden + static_width, arch.head));
    out_ = register_module("out", torch::nn::Linear(arch.head, 3 * horizons));
    skip_ = register_module("skip", torch::nn::Linear(static_width, horizons));
    if (arch.autoregressive) {
      ar_ = register_module(
          "ar", torch::nn::Linear(torch::nn::LinearOptions(window, horizons).bias(false)));
    }
    // The linear part starts at zero: an untrained network forecasts the
    // last value, the hard baseline, and training moves it from there.
    torch::NoGradGuard no_grad;
    skip_->weight.zero_();
    skip_->bias.zero_();
    if (ar_) ar_->weight.zero_();
  }

  // The window's values relative to the anchor (statics' first input), the
  // autoregressive part's inputs: [B, window].
  static torch::Tensor ArInputs(const torch::Tensor& sequence, const torch::Tensor& statics) {
    return sequence.select(2, kSequenceValueColumn) -
           statics.select(1, kStaticAnchorColumn).unsqueeze(1);
  }

  // The linear part of p50 for every horizon: [B, horizons].
  torch::Tensor Linear(const torch::Tensor& sequence, const torch::Tensor& statics) {
    torch::Tensor lin = skip_->forward(statics);
    if (ar_) lin = lin + ar_->forward(ArInputs(sequence, statics));
    return lin;
  }

  // sequence [B, window, C], statics [B, S] -> [B, horizons, 3]: p10, p50,
  // p90 of each target, normalised and relative to the anchor.
  torch::Tensor forward(const torch::Tensor& sequence, const torch::Tensor& statics) {
    torch::Tensor h;
    if (lstm_) {
      h = std::get<0>(std::get<1>(lstm_rnn_->forward(sequence)));
    } else {
      h = std::get<1>(gru_rnn_->forward(sequence));
    }
    h = h.select(0, h.size(0) - 1);  // the last layer's final state
    const torch::Tensor o =
        out_->forward(torch::relu(hidden_->forward(torch::cat({h, statics}, 1))))
            .view({-1, horizons_, 3});
    const torch::Tensor p50 = o.select(2, 0) + Linear(sequence, statics);
    const torch::Tensor p10 = p50 - torch::nn::functional::softplus(o.select(2, 1));
    const torch::Tensor p90 = p50 + torch::nn::functional::softplus(o.select(2, 2));
    return torch::stack({p10, p50, p90}, 2);
  }

 private:
  bool lstm_;
  int horizons_;
  torch::nn::LSTM lstm_rnn_{nullptr};
  torch::nn::GRU gru_rnn_{nullptr};
  torch::nn::Linear hidden_{nullptr};
  torch::nn::Linear out_{nullptr};
  torch::nn::Linear skip_{nullptr};
  torch::nn::Linear ar_{nullptr};
};
TORCH_MODULE(Net);

// Inputs of many origins, row-major, ready to become tensors.
struct Batch {
  std::vector<float> sequence;
  std::vector<float> statics;
  std::vector<float> anchors;
  std::vector<float> targets;  // [rows, horizons], NaN = missing
  std::size_t rows = 0;
};

Batch BuildBatch(const FeatureBuilder& builder, const FeatureSpec& spec,
                 std::span<const std::size_t> origins, bool with_targets) {
  const std::size_t seq = static_cast<std::size_t>(spec.window * spec.SequenceWidth());
  const std::size_t stat = static_cast<std::size_t>(spec.StaticWidth());
  const std::size_t nh = spec.horizon_steps.size();
  Batch b;
  b.rows = origins.size();
  b.sequence.resize(b.rows * seq);
  b.statics.resize(b.rows * stat);
  b.anchors.resize(b.rows);
  if (with_targets) b.targets.resize(b.rows * nh);
  for (std::size_t r = 0; r < b.rows; ++r) {
    const float anchor =
        builder.Build(origins[r], b.sequence.data() + r * seq, b.statics.data() + r * stat);
    b.anchors[r] = anchor;
    if (with_targets) {
      for (std::size_t j = 0; j < nh; ++j) {
        b.targets[r * nh + j] = builder.Target(origins[r], j, anchor);
      }
    }
  }
  return b;
}

// Views (no copy) of a batch's buffers; the batch must outlive them.
torch::Tensor SequenceTensor(Batch& b, const FeatureSpec& spec) {
  return torch::from_blob(b.sequence.data(),
                          {static_cast<long>(b.rows), spec.window, spec.SequenceWidth()});
}
torch::Tensor StaticsTensor(Batch& b, const FeatureSpec& spec) {
  return torch::from_blob(b.statics.data(), {static_cast<long>(b.rows), spec.StaticWidth()});
}

// Mean pinball loss over the known targets; `target` NaN-free, `mask` 1/0.
torch::Tensor PinballLoss(const torch::Tensor& pred, const torch::Tensor& target,
                          const torch::Tensor& mask) {
  const torch::Tensor q =
      torch::tensor({kQuantiles[0], kQuantiles[1], kQuantiles[2]}).view({1, 1, 3});
  const torch::Tensor diff = target.unsqueeze(2) - pred;
  const torch::Tensor loss = torch::max(q * diff, (q - 1) * diff) * mask.unsqueeze(2);
  return loss.sum() / (mask.sum() * 3).clamp_min(1);
}

std::string FormatDuration(double s) {
  if (s < 60) return absl::StrCat(static_cast<int>(std::lround(s)), "s");
  const long m = std::lround(s / 60);
  return absl::StrCat(m / 60 > 0 ? absl::StrCat(m / 60, "h") : "", m % 60, "m");
}

std::string Hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string ShapeText(const torch::Tensor& t) {
  std::string s = "[";
  for (long i = 0; i < t.dim(); ++i) absl::StrAppend(&s, i > 0 ? "," : "", t.size(i));
  return s + "]";
}

// Archive keys: parameter names with '.' (not allowed in the archive's
// attribute names) spelled '/'.
std::string ParamKey(std::string name) {
  std::replace(name.begin(), name.end(), '.', '/');
  return "param/" + name;
}

// First line of a c10::Error (the rest is a C++ backtrace, useless to users).
std::string FirstLine(const char* what) {
  std::string s(what);
  const std::size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// How a network is trained. "rich" is the format 1 network: calendar inputs
// (time of day and week, weekend, holiday), its recurrent part and MLP trained
// freely. "lean" goes without calendar inputs (the daily and weekly lags still
// carry the seasons), adds the autoregressive part and the recent means, and
// trains the recurrent part and MLP slower with weight decay; the linear part
// trains alike in both. Measured (bench_forecast, seeds 1-3; models/README.md):
// on the generator presets, driven by the calendar and announced events, rich
// validates 17-45 % better; on the Google 2019 and Alibaba 2018 traces rich
// overfits within one or two epochs (a week holds seven days to learn the time
// of day from) and lean is better at 30 min and 2 h.
struct TrainingVariant {
  const char* name;
  bool calendar;
  bool autoregressive;   // the linear part reads the window (Architecture)
  bool recent_means;     // the means of the last 1 h and 4 h (FeatureSpec)
  double learning_rate;  // recurrent part and MLP
  double weight_decay;   // recurrent part and MLP (Adam's L2)
};
constexpr TrainingVariant kRich = {"rich", true, false, false, 3e-3, 0.0};
constexpr TrainingVariant kLean = {"lean", false, true, true, 1e-3, 1e-3};
// "auto" keeps rich only when it validates at least this much better than lean.
constexpr double kRichMargin = 0.05;

const TrainingVariant* FindVariant(std::string_view name) {
  for (const TrainingVariant* v : {&kRich, &kLean}) {
    if (name == v->name) return v;
  }
  return nullptr;
}

// Adam with two parameter groups: the linear part (skip, autoregression) and
// the rest (recurrent part, MLP), which alone gets weight decay.
torch::optim::Adam MakeOptimizer(NetImpl& net, double linear_lr, double other_lr,
                                 double other_weight_decay) {
  std::vector<torch::Tensor> linear, other;
  for (const auto& p : net.named_parameters()) {
    const bool is_linear = p.key().rfind("skip.", 0) == 0 || p.key().rfind("ar.", 0) == 0;
    (is_linear ? linear : other).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(linear, std::make_unique<torch::optim::AdamOptions>(linear_lr));
  groups.emplace_back(other,
                      std::make_unique<torch::optim::AdamOptions>(
                          torch::optim::AdamOptions(other_lr).weight_decay(other_weight_decay)));
  return torch::optim::Adam(std::move(groups), torch::optim::AdamOptions(linear_lr));
}

struct ValidationMetrics {
  std::vector<double> mae;      // per horizon, in the data's units
  std::vector<double> pinball;  // per horizon, mean over p10/p50/p90
  std::size_t windows = 0;
};

class RnnForecaster final : public Forecaster {
 public:
  RnnForecaster(std::string_view arch, const ForecasterOptions& options)
      : options_(options), horizons_(options.horizons) {
    arch_.kind = std::string(arch);
  }

  std::string name() const override { return arch_.kind; }
  const std::vector<Seconds>& horizons() const override { return horizons_; }
  Seconds step() const override { return spec_.step; }

  absl::Status Fit(const History& history) override;
  Forecast Predict(const History& history) const override;
  std::vector<Forecast> PredictMany(const History& full,
                                    std::span<const std::size_t> origins) const override;
  absl::Status Save(const std::string& path) const override;
  absl::StatusOr<std::unique_ptr<Forecaster>> FineTuned(
      const History& history, const FineTuneOptions& options) const override;
  bool fine_tunable() const override { return true; }
  std::string fit_summary() const override;

  // For LoadRnnForecasterFile.
  absl::Status Restore(const std::string& path, torch::serialize::InputArchive& archive,
                       const json& meta, int format_version);

 private:
  // One candidate network, trained with early stopping on the validation
  // windows (the rows from val_begin on).
  struct TrainedVariant {
    const TrainingVariant* variant = nullptr;
    Architecture arch;
    FeatureSpec spec;
    Net net{nullptr};
    double best_val = std::numeric_limits<double>::infinity();
    int epochs_run = 0;
    int best_epoch = 0;
  };
  TrainedVariant TrainVariant(const TrainingVariant& variant, const FeatureSpec& spec,
                              const History& history, std::span<const std::size_t> origins,
                              std::vector<long> train_rows, std::size_t val_begin) const;
  json Metadata() const;
  ValidationMetrics Validate(const History& history, std::span<const std::size_t> origins) const;

  ForecasterOptions options_;
  Architecture arch_;
  std::vector<Seconds> horizons_;
  FeatureSpec spec_;
  Normalizer norm_;
  mutable Net net_{nullptr};  // forward() is not const in LibTorch; Predict does not modify it
  bool fitted_ = false;
  // Provenance for the model file.
  std::string data_hash_;
  std::size_t samples_ = 0;
  std::size_t windows_ = 0;
  int epochs_run_ = 0;
  int best_epoch_ = 0;
  const TrainingVariant* variant_ = &kRich;
  std::vector<std::pair<std::string, double>> variant_validation_;  // candidate -> best loss
  ValidationMetrics validation_;
};

absl::Status RnnForecaster::Fit(const History& history) {
  KeepBlasSingleThreaded();
  if (!(history.step > 0)) return absl::InvalidArgumentError("history step must be positive");
  if (horizons_.empty()) return absl::InvalidArgumentError("no horizons to forecast");
  std::vector<const TrainingVariant*> candidates;
  if (options_.variant == "auto") {
    candidates = {&kLean, &kRich};
  } else if (const TrainingVariant* v = FindVariant(options_.variant)) {
    candidates = {v};
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown network variant \"", options_.variant, "\" (auto, rich or lean)"));
  }
  if (options_.threads > 0) at::set_num_threads(options_.threads);
  // A failed Fit leaves no half-updated model behind.
  fitted_ = false;

  FeatureSpec base;
  base.step = history.step;
  base.window = kWindow;
  base.use_events = options_.use_events;
  base.horizon_steps.clear();
  for (Seconds h : horizons_) {
    const double k = h / history.step;
    if (!(k >= 1) || std::abs(k - std::round(k)) > 1e-9 * k) {
      return absl::InvalidArgumentError(absl::StrCat(
          "horizon ", h, " s is not a positive multiple of the step (", history.step, " s)"));
    }
    base.horizon_steps.push_back(static_cast<int>(std::lround(k)));
  }
  const std::size_t n_values = history.values.size();
  const std::size_t k_max = static_cast<std::size_t>(
      *std::max_element(base.horizon_steps.begin(), base.horizon_steps.end()));
  const std::size_t first = static_cast<std::size_t>(base.window);
  if (n_values < first + k_max - 1 + kMinWindows) {
    return absl::InvalidArgumentError(
        absl::StrCat("history too short to train a network: ", n_values, " samples, need at least ",
                     first + k_max - 1 + kMinWindows, " (window ", base.window,
                     " + longest horizon ", k_max, " steps + ", kMinWindows, ")"));
  }
  // Weekly lags only when at least half of the windows have one.
  base.use_weekly = n_values >= 2 * static_cast<std::size_t>(base.WeekSteps());
  norm_ = Normalizer::Fit(history.values);

  // Training windows: every origin whose longest target lies in the history.
  std::vector<std::size_t> origins;
  for (std::size_t n = first; n + k_max - 1 < n_values; ++n) origins.push_back(n);
  // Chronological split; the training windows whose targets reach into the
  // validation period are dropped, so validation sees no target twice.
  const std::size_t n_val = std::max<std::size_t>(
      1, static_cast<std::size_t>(
             std::lround(kValidationFraction * static_cast<double>(origins.size()))));
  const std::size_t val_begin = origins.size() - n_val;
  std::vector<long> train_rows;
  for (std::size_t r = 0; r + k_max - 1 < val_begin; ++r) {
    train_rows.push_back(static_cast<long>(r));
  }
  if (train_rows.size() < kMinWindows / 2) {
    return absl::InvalidArgumentError("history too short to train a network");
  }

  std::vector<TrainedVariant> trained;
  for (const TrainingVariant* v : candidates) {
    FeatureSpec spec = base;
    spec.use_calendar = v->calendar;
    spec.use_recent_means = v->recent_means;
    trained.push_back(TrainVariant(*v, spec, history, origins, train_rows, val_begin));
  }
  // The lean network unless the rich one validates clearly better: on real
  // traces a week or a few of data hold too few days for calendar inputs,
  // and a margin keeps a noisy validation day from choosing them anyway.
  const TrainedVariant* chosen = &trained.front();
  for (const TrainedVariant& t : trained) {
    if (t.variant == &kRich && chosen->variant == &kLean &&
        t.best_val < (1 - kRichMargin) * chosen->best_val) {
      chosen = &t;
    } else if (!std::isfinite(chosen->best_val) && std::isfinite(t.best_val)) {
      chosen = &t;
    }
  }
  if (!std::isfinite(chosen->best_val)) {
    // No finite validation loss at all: the targets are missing or the
    // training diverged. A network that cannot be validated is not kept.
    return absl::InvalidArgumentError(
        "training failed: no finite validation loss (is the validation part all missing?)");
  }
  variant_ = chosen->variant;
  arch_ = chosen->arch;
  variant_validation_.clear();
  for (const TrainedVariant& t : trained) {
    variant_validation_.emplace_back(t.variant->name, t.best_val);
  }
  spec_ = chosen->spec;
  net_ = chosen->net;
  epochs_run_ = chosen->epochs_run;
  best_epoch_ = chosen->best_epoch;
  net_->eval();
  fitted_ = true;

  samples_ = n_values;
  windows_ = origins.size();
  data_hash_ = "fnv1a64:" + Hex(TrainingDataHash(history));
  validation_ = Validate(history, std::span<const std::size_t>(origins).subspan(val_begin));
  return absl::OkStatus();
}

std::string RnnForecaster::fit_summary() const {
  if (!fitted_) return {};
  std::string s =
      absl::StrCat("variant ", variant_->name, ", best epoch ", best_epoch_, " of ", epochs_run_);
  if (variant_validation_.size() > 1) {
    absl::StrAppend(&s, "; validation loss");
    for (const auto& [name, loss] : variant_validation_) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", loss);
      absl::StrAppend(&s, " ", name, " ", buf);
    }
  }
  return s;
}

RnnForecaster::TrainedVariant RnnForecaster::TrainVariant(const TrainingVariant& variant,
                                                          const FeatureSpec& spec,
                                                          const History& history,
                                                          std::span<const std::size_t> origins,
                                                          std::vector<long> train_rows,
                                                          std::size_t val_begin) const {
  TrainedVariant out;
  out.variant = &variant;
  out.arch = arch_;
  out.arch.autoregressive = variant.autoregressive;
  out.spec = spec;
  const FeatureBuilder builder(spec, norm_, history);
  Batch all = BuildBatch(builder, spec, origins, true);
  const std::size_t nh = spec.horizon_steps.size();
  torch::Tensor seq_all = SequenceTensor(all, spec);
  torch::Tensor stat_all = StaticsTensor(all, spec);
  torch::Tensor target_raw =
      torch::from_blob(all.targets.data(), {static_cast<long>(all.rows), static_cast<long>(nh)});
  torch::Tensor mask_all = torch::isfinite(target_raw).to(torch::kFloat);
  torch::Tensor target_all = torch::nan_to_num(target_raw, 0.0);
  const torch::Tensor val_index =
      torch::arange(static_cast<long>(val_begin), static_cast<long>(all.rows));
  const torch::Tensor seq_val = seq_all.index_select(0, val_index);
  const torch::Tensor stat_val = stat_all.index_select(0, val_index);
  const torch::Tensor target_val = target_all.index_select(0, val_index);
  const torch::Tensor mask_val = mask_all.index_select(0, val_index);

  torch::manual_seed(options_.seed);
  Net net(out.arch, spec.SequenceWidth(), spec.StaticWidth(), spec.window, static_cast<int>(nh));
  torch::optim::Adam optimizer =
      MakeOptimizer(*net, kLearningRate, variant.learning_rate, variant.weight_decay);
  Rng rng(options_.seed);

  const bool progress = options_.verbose && isatty(STDERR_FILENO) != 0;
  const auto t_start = std::chrono::steady_clock::now();
  out.best_val = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_params;
  int bad_epochs = 0;
  const int max_epochs = std::max(1, options_.epochs);
  const std::size_t n_train = train_rows.size();
  const std::size_t per_epoch =
      std::min(std::max(n_train, std::min(2 * n_train, kEpochWindows)), kMaxWindowsPerEpoch);
  std::vector<long> order(per_epoch);
  std::vector<long>& pass = train_rows;
  std::size_t pass_used = pass.size();  // all used: shuffle before the next draw
  for (int epoch = 1; epoch <= max_epochs; ++epoch) {
    // Fisher-Yates with our own generator: the same seed, the same order.
    // An epoch continues the current shuffled pass where the last one
    // stopped, so every window is seen equally often.
    for (std::size_t i = 0; i < per_epoch; ++i) {
      if (pass_used == pass.size()) {
        for (std::size_t k = pass.size(); k > 1; --k) std::swap(pass[k - 1], pass[rng.Below(k)]);
        pass_used = 0;
      }
      order[i] = pass[pass_used++];
    }
    double train_sum = 0;
    std::size_t train_batches = 0;
    net->train();
    for (std::size_t b = 0; b < per_epoch; b += kBatch) {
      const std::size_t e = std::min(per_epoch, b + kBatch);
      const torch::Tensor idx =
          torch::from_blob(order.data() + b, {static_cast<long>(e - b)}, torch::kLong);
      const torch::Tensor pred =
          net->forward(seq_all.index_select(0, idx), stat_all.index_select(0, idx));
      torch::Tensor loss =
          PinballLoss(pred, target_all.index_select(0, idx), mask_all.index_select(0, idx));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      train_sum += loss.item<double>();
      ++train_batches;
    }
    double val_loss = 0;
    {
      torch::NoGradGuard no_grad;
      net->eval();
      val_loss = PinballLoss(net->forward(seq_val, stat_val), target_val, mask_val).item<double>();
    }
    out.epochs_run = epoch;
    if (val_loss < out.best_val - 1e-6) {
      out.best_val = val_loss;
      out.best_epoch = epoch;
      bad_epochs = 0;
      best_params.clear();
      for (const torch::Tensor& p : net->parameters()) best_params.push_back(p.detach().clone());
    } else {
      ++bad_epochs;
      // Plateau: a smaller step often finds the rest of the improvement.
      if (bad_epochs % kLrPatience == 0) {
        for (auto& group : optimizer.param_groups()) {
          auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
          o.lr(o.lr() * 0.5);
        }
      }
    }
    if (progress) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      const double eta = elapsed / epoch * (max_epochs - epoch);
      std::fprintf(stderr,
                   "%s (%s) epoch %d/%d  train %.4f  validation %.4f%s  %s elapsed, ETA <= %s\n",
                   arch_.kind.c_str(), variant.name, epoch, max_epochs,
                   train_sum / static_cast<double>(std::max<std::size_t>(1, train_batches)),
                   val_loss, out.best_epoch == epoch ? " (best)" : "",
                   FormatDuration(elapsed).c_str(), FormatDuration(eta).c_str());
    }
    if (bad_epochs >= kPatience) break;
  }
  if (!best_params.empty()) {
    // Back to the epoch that validated best.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params = net->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
  }
  if (progress) {
    std::fprintf(stderr, "%s (%s): best validation %.4f at epoch %d\n", arch_.kind.c_str(),
                 variant.name, out.best_val, out.best_epoch);
  }
  out.net = net;
  return out;
}

// Retraining on drift: a copy of the network trained a few epochs further
// from its own weights. Fixed epochs and no early stopping: the caller
// judges the result on data this never sees (the held-out slice after the
// history). Every epoch mixes windows of the new regime (`recent_from` on)
// with windows of the whole retrain window, so a few hours after an alarm
// weigh as much as the week before them without the week being forgotten.
// Windows near the end whose longer targets are not in the history yet
// train only the horizons that are.
absl::StatusOr<std::unique_ptr<Forecaster>> RnnForecaster::FineTuned(
    const History& history, const FineTuneOptions& options) const {
  if (!fitted_) return absl::FailedPreconditionError("cannot fine-tune an untrained network");
  if (history.step != spec_.step) {
    return absl::InvalidArgumentError(absl::StrCat(
        "history step ", history.step, " s differs from the model's ", spec_.step, " s"));
  }
  KeepBlasSingleThreaded();
  if (options_.threads > 0) at::set_num_threads(options_.threads);
  const std::size_t n_values = history.values.size();
  const std::size_t k_first = static_cast<std::size_t>(spec_.horizon_steps.front());
  std::vector<std::size_t> origins;
  std::size_t recent_begin = 0;  // first index into origins of the new regime
  for (std::size_t n = std::max<std::size_t>(spec_.window, options.first_origin);
       n + k_first - 1 < n_values; ++n) {
    if (n + k_first - 1 < options.recent_from) recent_begin = origins.size() + 1;
    origins.push_back(n);
  }
  if (origins.size() < kMinWindows) {
    return absl::InvalidArgumentError(absl::StrCat("too little data to fine-tune: ", origins.size(),
                                                   " windows, need ", kMinWindows));
  }

  auto copy = std::make_unique<RnnForecaster>(arch_.kind, options_);
  copy->spec_ = spec_;
  copy->norm_ = norm_;
  copy->horizons_ = horizons_;
  copy->arch_ = arch_;
  copy->variant_ = variant_;
  // The fine-tune chose no variant: its file and summary describe this run.
  copy->variant_validation_.clear();
  torch::manual_seed(options_.seed);  // shapes only: the values are copied below
  copy->net_ = Net(arch_, spec_.SequenceWidth(), spec_.StaticWidth(), spec_.window,
                   static_cast<int>(spec_.horizon_steps.size()));
  {
    torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> from = net_->parameters();
    std::vector<torch::Tensor> to = copy->net_->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
  }

  const FeatureBuilder builder(spec_, norm_, history);
  Batch all = BuildBatch(builder, spec_, origins, true);
  const long nh = static_cast<long>(spec_.horizon_steps.size());
  const torch::Tensor seq_all = SequenceTensor(all, spec_);
  const torch::Tensor stat_all = StaticsTensor(all, spec_);
  const torch::Tensor target_raw =
      torch::from_blob(all.targets.data(), {static_cast<long>(all.rows), nh});
  const torch::Tensor mask_all = torch::isfinite(target_raw).to(torch::kFloat);
  const torch::Tensor target_all = torch::nan_to_num(target_raw, 0.0);

  // Two shuffled pools drawn from in turn: the new regime's windows and all.
  std::vector<long> pool_all(origins.size());
  for (std::size_t i = 0; i < pool_all.size(); ++i) pool_all[i] = static_cast<long>(i);
  std::vector<long> pool_recent(pool_all.begin() + static_cast<std::ptrdiff_t>(recent_begin),
                                pool_all.end());
  Rng rng(options_.seed ^ 0x5EEDF17E7A11ULL);
  std::size_t used_all = pool_all.size(), used_recent = pool_recent.size();
  auto draw = [&rng](std::vector<long>& pool, std::size_t& used) {
    if (used == pool.size()) {
      for (std::size_t k = pool.size(); k > 1; --k) std::swap(pool[k - 1], pool[rng.Below(k)]);
      used = 0;
    }
    return pool[used++];
  };
  const std::size_t per_epoch =
      std::max<std::size_t>(kBatch, std::min(options.windows_per_epoch, 2 * origins.size()));
  const double share = pool_recent.empty() ? 0.0 : std::clamp(options.recent_share, 0.0, 1.0);
  // A few hours after an alarm hold a few dozen windows: drawn more often than
  // `recent_repeat` times an epoch, the network learns them by heart (it then
  // validated worse than the old one on the hours after them).
  const std::size_t n_recent =
      std::min(static_cast<std::size_t>(std::lround(share * static_cast<double>(per_epoch))),
               static_cast<std::size_t>(std::max(0, options.recent_repeat)) * pool_recent.size());

  torch::optim::Adam optimizer = MakeOptimizer(*copy->net_, options.learning_rate,
                                               options.learning_rate, variant_->weight_decay);
  copy->net_->train();
  std::vector<long> order(per_epoch);
  const int epochs = std::max(1, options.epochs);
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    for (std::size_t i = 0; i < per_epoch; ++i) {
      order[i] = i < n_recent ? draw(pool_recent, used_recent) : draw(pool_all, used_all);
    }
    // Mix the two kinds within every batch.
    for (std::size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[rng.Below(k)]);
    for (std::size_t b = 0; b < per_epoch; b += kBatch) {
      const std::size_t e = std::min(per_epoch, b + kBatch);
      const torch::Tensor idx =
          torch::from_blob(order.data() + b, {static_cast<long>(e - b)}, torch::kLong);
      const torch::Tensor pred =
          copy->net_->forward(seq_all.index_select(0, idx), stat_all.index_select(0, idx));
      torch::Tensor loss =
          PinballLoss(pred, target_all.index_select(0, idx), mask_all.index_select(0, idx));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    }
  }
  copy->net_->eval();
  {
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& p : copy->net_->parameters()) {
      if (!torch::isfinite(p).all().item<bool>()) {
        return absl::InternalError("fine-tuning diverged (non-finite parameters)");
      }
    }
  }
  copy->fitted_ = true;
  copy->samples_ = n_values;
  copy->windows_ = origins.size();
  copy->epochs_run_ = epochs;
  copy->best_epoch_ = epochs;
  copy->data_hash_ = "fnv1a64:" + Hex(TrainingDataHash(history));
  // The model file's validation block: the last 15 % of the windows whose
  // targets are all in the history (the original's figures if none are).
  const std::size_t k_max = static_cast<std::size_t>(
      *std::max_element(spec_.horizon_steps.begin(), spec_.horizon_steps.end()));
  std::vector<std::size_t> complete;
  for (std::size_t n : origins) {
    if (n + k_max - 1 < n_values) complete.push_back(n);
  }
  const auto n_val = static_cast<std::size_t>(
      std::lround(kValidationFraction * static_cast<double>(complete.size())));
  copy->validation_ =
      n_val > 0 ? copy->Validate(history, std::span<const std::size_t>(complete).last(n_val))
                : validation_;
  return std::unique_ptr<Forecaster>(std::move(copy));
}

ValidationMetrics RnnForecaster::Validate(const History& history,
                                          std::span<const std::size_t> origins) const {
  const std::size_t nh = spec_.horizon_steps.size();
  ValidationMetrics m;
  m.mae.assign(nh, 0);
  m.pinball.assign(nh, 0);
  m.windows = origins.size();
  std::vector<std::size_t> counts(nh, 0);
  const std::vector<Forecast> forecasts = PredictMany(history, origins);
  for (std::size_t r = 0; r < origins.size(); ++r) {
    for (std::size_t j = 0; j < nh; ++j) {
      const std::size_t t = origins[r] + static_cast<std::size_t>(spec_.horizon_steps[j]) - 1;
      const double y = history.values[t];
      if (!std::isfinite(y)) continue;
      const Forecast& f = forecasts[r];
      m.mae[j] += std::abs(y - f.p50[j]);
      const std::array<double, 3> q = {f.p10[j], f.p50[j], f.p90[j]};
      double pin = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        const double d = y - q[k];
        pin += std::max(kQuantiles[k] * d, (kQuantiles[k] - 1) * d);
      }
      m.pinball[j] += pin / 3;
      ++counts[j];
    }
  }
  for (std::size_t j = 0; j < nh; ++j) {
    const double c = static_cast<double>(std::max<std::size_t>(1, counts[j]));
    m.mae[j] /= c;
    m.pinball[j] /= c;
  }
  return m;
}

Forecast RnnForecaster::Predict(const History& history) const {
  if (history.values.empty()) return {};
  const std::array<std::size_t, 1> origin = {history.values.size()};
  return PredictMany(history, origin).front();
}

std::vector<Forecast> RnnForecaster::PredictMany(const History& full,
                                                 std::span<const std::size_t> origins) const {
  // Nothing to say (empty forecasts, as the baselines do) without a fitted
  // network, for a history at another step (the lags and horizons are counted
  // in steps), or from an origin with no sample before it or past the end.
  std::vector<Forecast> out(origins.size());
  if (!fitted_ || full.step != spec_.step) return out;
  KeepBlasSingleThreaded();
  std::vector<std::size_t> rows;  // indices into origins that get a forecast
  for (std::size_t i = 0; i < origins.size(); ++i) {
    if (origins[i] >= 1 && origins[i] <= full.values.size()) rows.push_back(i);
  }
  const FeatureBuilder builder(spec_, norm_, full);
  const std::size_t nh = spec_.horizon_steps.size();
  c10::InferenceMode inference;
  std::vector<std::size_t> chunk;
  for (std::size_t c = 0; c < rows.size(); c += kPredictChunk) {
    chunk.clear();
    for (std::size_t r = c; r < std::min(rows.size(), c + kPredictChunk); ++r) {
      chunk.push_back(origins[rows[r]]);
    }
    Batch b = BuildBatch(builder, spec_, chunk, false);
    const torch::Tensor pred =
        net_->forward(SequenceTensor(b, spec_), StaticsTensor(b, spec_)).contiguous();
    const float* p = pred.data_ptr<float>();
    for (std::size_t r = 0; r < b.rows; ++r) {
      Forecast& f = out[rows[c + r]];
      f.horizons = horizons_;
      f.p10.resize(nh);
      f.p50.resize(nh);
      f.p90.resize(nh);
      for (std::size_t j = 0; j < nh; ++j) {
        const float* q = p + (r * nh + j) * 3;
        // Inverse is monotone and >= 0, so the order p10 <= p50 <= p90 and
        // non-negativity both survive.
        const double anchor = b.anchors[r];
        f.p10[j] = norm_.Inverse(anchor + q[0]);
        f.p50[j] = norm_.Inverse(anchor + q[1]);
        f.p90[j] = norm_.Inverse(anchor + q[2]);
      }
    }
  }
  return out;
}

json RnnForecaster::Metadata() const {
  json features = {{"window", spec_.window},
                   {"lag_radius", spec_.lag_radius},
                   {"use_weekly", spec_.use_weekly},
                   {"use_recent_means", spec_.use_recent_means},
                   {"use_calendar", spec_.use_calendar},
                   {"use_events", spec_.use_events},
                   {"event_slots", spec_.event_slots},
                   {"event_categories", spec_.categories},
                   {"horizon_steps", spec_.horizon_steps},
                   {"sequence_width", spec_.SequenceWidth()},
                   {"static_width", spec_.StaticWidth()}};
  // The candidates' best validation losses (normalised pinball), when Fit
  // chose between variants.
  json variant_json = json::object();
  for (const auto& [name, loss] : variant_validation_) {
    variant_json[name] = std::isfinite(loss) ? json(loss) : json(nullptr);
  }
  double pinball_mean = 0;
  for (double v : validation_.pinball) pinball_mean += v;
  if (!validation_.pinball.empty()) pinball_mean /= static_cast<double>(validation_.pinball.size());
  return json{
      {"format", kFormat},
      {"format_version", kFormatVersion},
      {"kind", arch_.kind},
      {"architecture",
       {{"rnn", arch_.kind},
        {"hidden_size", arch_.hidden},
        {"layers", arch_.layers},
        {"head_size", arch_.head},
        {"autoregressive", arch_.autoregressive},
        {"window", spec_.window},
        {"outputs", "p10,p50,p90 per horizon"}}},
      {"features", features},
      {"horizons_s", horizons_},
      {"step_s", spec_.step},
      {"normalization",
       {{"method", "log1p(max(y,0)/scale), then (u-mean)/stddev"},
        {"scale", norm_.scale},
        {"mean", norm_.mean},
        {"stddev", norm_.stddev}}},
      {"training",
       {{"data_hash", data_hash_},
        {"samples", samples_},
        {"windows", windows_},
        {"validation_windows", validation_.windows},
        {"epochs_run", epochs_run_},
        {"best_epoch", best_epoch_},
        {"variant", variant_->name},
        {"variant_validation", variant_json},
        {"max_epochs", options_.epochs},
        {"seed", options_.seed},
        {"threads", options_.threads}}},
      {"validation",
       {{"mae", validation_.mae},
        {"pinball", validation_.pinball},
        {"pinball_mean", pinball_mean}}},
      {"created_by", kCreatedBy},
  };
}

absl::Status RnnForecaster::Save(const std::string& path) const {
  if (!fitted_)
    return absl::FailedPreconditionError("cannot save an untrained " + arch_.kind + " model");
  const std::string tmp = path + ".tmp";
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& p : net_->named_parameters()) archive.write(ParamKey(p.key()), p.value());
    archive.write(kMetadataKey, c10::IValue(Metadata().dump()));
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot write the model: ", FirstLine(e.what())));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot write the model: ", ec.message()));
  }
  return absl::OkStatus();
}

// Reading metadata fields with messages that name the field.
class MetaReader {
 public:
  MetaReader(const std::string& path, const json& root) : path_(path), root_(root) {}
  template <typename T>
  T Get(const json& obj, const char* key, const char* where) {
    if (!status_.ok()) return T{};
    const auto it = obj.find(key);
    if (it == obj.end()) {
      status_ =
          absl::InvalidArgumentError(absl::StrCat(path_, ": model metadata lacks ", where, key));
      return T{};
    }
    try {
      return it->template get<T>();
    } catch (const json::exception&) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(path_, ": model metadata field ", where, key, " has the wrong type"));
      return T{};
    }
  }
  const json& Object(const json& obj, const char* key, const char* where = "") {
    static const json kEmpty = json::object();
    const auto it = obj.find(key);
    if (it == obj.end() || !it->is_object()) {
      if (status_.ok()) {
        status_ = absl::InvalidArgumentError(
            absl::StrCat(path_, ": model metadata lacks the object ", where, key));
      }
      return kEmpty;
    }
    return *it;
  }
  void Fail(const std::string& what) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(absl::StrCat(path_, ": ", what));
  }
  const absl::Status& status() const { return status_; }
  const json& root() const { return root_; }

 private:
  const std::string& path_;
  const json& root_;
  absl::Status status_;
};

absl::Status RnnForecaster::Restore(const std::string& path,
                                    torch::serialize::InputArchive& archive, const json& meta,
                                    int format_version) {
  MetaReader r(path, meta);
  const json& arch = r.Object(meta, "architecture");
  const json& features = r.Object(meta, "features");
  const json& norm = r.Object(meta, "normalization");
  const json& training = r.Object(meta, "training");
  const json& validation = r.Object(meta, "validation");
  arch_.hidden = r.Get<int>(arch, "hidden_size", "architecture.");
  arch_.layers = r.Get<int>(arch, "layers", "architecture.");
  arch_.head = r.Get<int>(arch, "head_size", "architecture.");
  arch_.autoregressive =
      format_version >= 2 && r.Get<bool>(arch, "autoregressive", "architecture.");
  spec_.window = r.Get<int>(features, "window", "features.");
  spec_.lag_radius = r.Get<int>(features, "lag_radius", "features.");
  // Format 1 models had no autoregressive part, always weekly lags and no
  // recent means.
  spec_.use_weekly = format_version < 2 || r.Get<bool>(features, "use_weekly", "features.");
  spec_.use_recent_means =
      format_version >= 2 && r.Get<bool>(features, "use_recent_means", "features.");
  spec_.use_calendar = r.Get<bool>(features, "use_calendar", "features.");
  spec_.use_events = r.Get<bool>(features, "use_events", "features.");
  spec_.event_slots = r.Get<int>(features, "event_slots", "features.");
  spec_.categories = r.Get<std::vector<std::string>>(features, "event_categories", "features.");
  spec_.horizon_steps = r.Get<std::vector<int>>(features, "horizon_steps", "features.");
  const int sequence_width = r.Get<int>(features, "sequence_width", "features.");
  const int static_width = r.Get<int>(features, "static_width", "features.");
  horizons_ = r.Get<std::vector<double>>(meta, "horizons_s", "");
  spec_.step = r.Get<double>(meta, "step_s", "");
  norm_.scale = r.Get<double>(norm, "scale", "normalization.");
  norm_.mean = r.Get<double>(norm, "mean", "normalization.");
  norm_.stddev = r.Get<double>(norm, "stddev", "normalization.");
  data_hash_ = r.Get<std::string>(training, "data_hash", "training.");
  samples_ = r.Get<std::size_t>(training, "samples", "training.");
  windows_ = r.Get<std::size_t>(training, "windows", "training.");
  epochs_run_ = r.Get<int>(training, "epochs_run", "training.");
  best_epoch_ = r.Get<int>(training, "best_epoch", "training.");
  if (format_version >= 2) {
    const std::string variant = r.Get<std::string>(training, "variant", "training.");
    variant_ = FindVariant(variant);
    if (variant_ == nullptr) {
      r.Fail(absl::StrCat("model metadata field training.variant \"", variant,
                          "\" is not rich or lean"));
      variant_ = &kRich;
    }
    variant_validation_.clear();
    const json& candidates = r.Object(training, "variant_validation", "training.");
    for (const auto& [name, loss] : candidates.items()) {
      if (!loss.is_number() && !loss.is_null()) {
        r.Fail(absl::StrCat("model metadata field training.variant_validation.", name,
                            " is not a number"));
        break;
      }
      variant_validation_.emplace_back(
          name, loss.is_number() ? loss.get<double>() : std::numeric_limits<double>::infinity());
    }
  } else {
    variant_ = &kRich;  // format 1 networks were trained so
  }
  options_.seed = r.Get<std::uint64_t>(training, "seed", "training.");
  options_.epochs = r.Get<int>(training, "max_epochs", "training.");
  options_.threads = r.Get<int>(training, "threads", "training.");
  validation_.mae = r.Get<std::vector<double>>(validation, "mae", "validation.");
  validation_.pinball = r.Get<std::vector<double>>(validation, "pinball", "validation.");
  validation_.windows = r.Get<std::size_t>(training, "validation_windows", "training.");
  MESHTWIN_RETURN_IF_ERROR(r.status());

  // Sanity of the values: a model that loads must be able to predict.
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid model metadata: ", what));
  };
  if (arch_.hidden < 1 || arch_.hidden > 4096 || arch_.layers < 1 || arch_.layers > 16 ||
      arch_.head < 1 || arch_.head > 4096) {
    return bad("architecture sizes out of range");
  }
  if (spec_.window < 1 || spec_.window > 100000 || spec_.lag_radius < 0 ||
      spec_.lag_radius > 1000 || spec_.event_slots < 0 || spec_.event_slots > kMaxEventSlots) {
    return bad("feature sizes out of range");
  }
  if (horizons_.empty() || horizons_.size() != spec_.horizon_steps.size()) {
    return bad("horizons_s and features.horizon_steps disagree");
  }
  for (std::size_t j = 0; j < horizons_.size(); ++j) {
    if (!(horizons_[j] > 0) || spec_.horizon_steps[j] < 1) return bad("a horizon is not positive");
  }
  if (!(spec_.step > 0) || !std::isfinite(spec_.step)) return bad("step_s is not positive");
  if (!(norm_.scale > 0) || !(norm_.stddev > 0) || !std::isfinite(norm_.mean) ||
      !std::isfinite(norm_.scale) || !std::isfinite(norm_.stddev)) {
    return bad("normalization is not finite and positive");
  }
  if (sequence_width != spec_.SequenceWidth() || static_width != spec_.StaticWidth()) {
    return bad(absl::StrCat("feature widths ", sequence_width, "/", static_width,
                            " do not match the feature spec (", spec_.SequenceWidth(), "/",
                            spec_.StaticWidth(), ")"));
  }

  torch::manual_seed(0);  // shapes only: the values are overwritten below
  net_ = Net(arch_, spec_.SequenceWidth(), spec_.StaticWidth(), spec_.window,
             static_cast<int>(horizons_.size()));
  torch::NoGradGuard no_grad;
  // Every parameter the file holds must be one this network has: a leftover
  // (say an autoregressive map under "autoregressive": false) would be
  // ignored, and the model would forecast otherwise than it was saved.
  std::vector<std::string> expected;
  for (const auto& p : net_->named_parameters()) expected.push_back(ParamKey(p.key()));
  for (const std::string& key : archive.keys()) {
    if (key.rfind("param/", 0) == 0 &&
        std::find(expected.begin(), expected.end(), key) == expected.end()) {
      return bad(absl::StrCat("parameter ", key.substr(6), " does not belong to this network"));
    }
  }
  for (auto& p : net_->named_parameters()) {
    torch::Tensor t;
    const std::string key = ParamKey(p.key());
    if (!archive.try_read(key, t)) return bad(absl::StrCat("parameter ", p.key(), " is missing"));
    if (!t.sizes().equals(p.value().sizes()) || t.scalar_type() != torch::kFloat) {
      return bad(absl::StrCat("parameter ", p.key(), " has shape ", ShapeText(t), ", expected ",
                              ShapeText(p.value())));
    }
    if (!torch::isfinite(t).all().item<bool>()) {
      return bad(absl::StrCat("parameter ", p.key(), " holds non-finite values"));
    }
    p.value().copy_(t);
  }
  net_->eval();
  fitted_ = true;
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Forecaster> MakeRnnForecaster(std::string_view arch,
                                              const ForecasterOptions& options) {
  if (arch != "lstm" && arch != "gru") return nullptr;
  return std::make_unique<RnnForecaster>(arch, options);
}

absl::StatusOr<std::unique_ptr<Forecaster>> LoadRnnForecasterFile(const std::string& path) {
  KeepBlasSingleThreaded();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such model file"));
  }
  try {
    torch::serialize::InputArchive archive;
    try {
      archive.load_from(path);
    } catch (const c10::Error& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": not a meshtwin model file (corrupt, truncated or not a model archive: ",
          FirstLine(e.what()), ")"));
    }
    c10::IValue meta_value;
    if (!archive.try_read(kMetadataKey, meta_value) || !meta_value.isString()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a meshtwin model file (no metadata entry)"));
    }
    json meta = json::parse(meta_value.toStringRef(), nullptr, /*allow_exceptions=*/false);
    if (meta.is_discarded() || !meta.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": model metadata is not a JSON object"));
    }
    if (meta.value("format", std::string()) != kFormat) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": not a meshtwin model file (metadata format is not \"", kFormat, "\")"));
    }
    const auto version = meta.find("format_version");
    if (version == meta.end() || !version->is_number_integer() ||
        version->get<int>() < kOldestFormatVersion || version->get<int>() > kFormatVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": model format_version ",
                       version == meta.end() ? std::string("(missing)") : version->dump(),
                       " is not supported (this build reads versions ", kOldestFormatVersion,
                       " to ", kFormatVersion, ")"));
    }
    const std::string kind = meta.value("kind", std::string());
    if (kind != "lstm" && kind != "gru") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": model kind \"", kind, "\" is not lstm or gru"));
    }
    auto model = std::make_unique<RnnForecaster>(kind, ForecasterOptions());
    MESHTWIN_RETURN_IF_ERROR(model->Restore(path, archive, meta, version->get<int>()));
    return std::unique_ptr<Forecaster>(std::move(model));
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": corrupt model file: ", FirstLine(e.what())));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid model metadata: ", e.what()));
  }
}

}  // namespace meshtwin
