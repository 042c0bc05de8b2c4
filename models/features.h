// Model inputs of the LSTM/GRU forecasters, built from a History at a
// forecast origin: pure C++ (no LibTorch), so the rules that matter — above
// all "no peeking at the future" — are unit-tested without a network.
//
// For an origin n (the history's first n samples are known; origin time
// t0 = start + n*step) and horizon k steps ahead, the target is sample
// n + k - 1: the sample that ends at t0 + k*step. Two blocks of inputs:
//
//   sequence  window x sequence_width(): for each of the last `window`
//             samples: its normalised value (missing: carried forward), a
//             missing flag, the values one day and one week earlier, and the
//             time of day as sin/cos. The RNN reads this.
//   statics   static_width(): the anchor (last known normalised value), the
//             daily and weekly lags of the origin and of every target (so the
//             network never needs a window of a day or a week), calendar
//             features of the origin and of every target (time of day and
//             week as sin/cos, weekend, holiday), and event covariates at the
//             origin, at every target and one day before every target (so a
//             network can tell whether a daily lag held a spike).
//
// Event covariates only ever use events announced at or before t0. The
// features of sample times use the middle of the sample's interval.
//
// Layout of statics (C = 6 calendar values if use_calendar, else 0;
// E = EventWidth(): event_slots * SlotWidth() + 7 if use_events, else 0):
//   origin:       anchor, daily lag, weekly lag, has daily, has weekly,
//                 M (mean of the last 1 h and 4 h, if use_recent_means), C, E
//   per horizon:  daily lag, weekly lag, has daily, has weekly, C,
//                 E at the target, E one day before the target
// Calendar: sin/cos time of day, sin/cos time of week, weekend, holiday.
// Event slot: one-hot category (categories + other), magnitude, active,
// 2 kernels before the start, 3 after it, 1 after the end, duration. After
// the slots, the aggregate: the sum over all relevant events of magnitude
// times (active, the 2 before-kernels, the 3 after-kernels, after-end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/forecaster.h"

namespace meshtwin {

// Event categories with a one-hot column of their own (the event tagger's
// categories and the generator presets'); any other category shares one
// "other" column. "holiday" is not in the list: holidays are a calendar flag.
const std::vector<std::string>& DefaultEventCategories();

// What the inputs are; stored in the model file, so a model always gets the
// inputs it was trained on.
struct FeatureSpec {
  Seconds step = 60;
  std::vector<int> horizon_steps;  // k per horizon (>= 1)
  int window = 24;                 // samples the RNN reads
  int lag_radius = 1;              // a lag is the mean of 2r+1 samples around it (noise)
  // Weekly lags. Off when the training history is too short for most windows
  // to have one (Fit decides): a lag never seen in training would otherwise
  // switch on unannounced in forecasting, a week after the data began, with
  // weights learnt while it was a copy of the daily lag.
  bool use_weekly = true;
  // Means of the last hour and of the last 4 hours (lean networks): the
  // recent level over spans longer than the window, which at a 30 s step
  // covers 12 minutes. Off by default: the format 1 (and rich) layout.
  bool use_recent_means = false;
  bool use_calendar = true;
  bool use_events = true;
  int event_slots = 2;  // events described per time point (the most relevant)
  std::vector<std::string> categories = DefaultEventCategories();

  // Samples per day and per week at this step (rounded; >= 1).
  int DaySteps() const;
  int WeekSteps() const;
  int SequenceWidth() const;
  int StaticWidth() const;
  // Width of one event slot, and of a time point's event block (slots and aggregate).
  int SlotWidth() const;
  int EventWidth() const;
};

// Demand normalisation fitted on training data: u = log1p(max(y, 0) / scale)
// (spikes are multiplicative, and log makes them additive), then z-scored.
struct Normalizer {
  double scale = 1;
  double mean = 0;
  double stddev = 1;

  // Fits on the finite values (any NaN is skipped).
  static Normalizer Fit(std::span<const double> values);
  double Forward(double y) const;  // NaN stays NaN
  double Inverse(double x) const;  // >= 0
};

// Calendar features of a UTC unix time: time of day and of the week (Monday
// 00:00 UTC = 0) as sin/cos, and a weekend flag. Writes 5 values.
void CalendarFeatures(double unix_time, float* out);

// Builds features of one history at any origin. Keeps `history`'s spans:
// the data they view must outlive the builder.
// Event slots per time point: at most this many.
inline constexpr int kMaxEventSlots = 8;
// Where the networks find the value of each sequence row (normalised, carried
// forward) and the anchor among the statics.
inline constexpr int kSequenceValueColumn = 0;
inline constexpr int kStaticAnchorColumn = 0;

class FeatureBuilder {
 public:
  FeatureBuilder(const FeatureSpec& spec, const Normalizer& norm, const History& history);

  // Any origin n in [1, history.values.size()] can be built; samples
  // before the start count as missing. Writes spec.window * SequenceWidth() floats to `sequence`
  // (time-major, oldest first) and StaticWidth() floats to `statics`. Returns the anchor: the last
  // known normalised value (0 when nothing is known), which the network's p50 is relative to.
  float Build(std::size_t n, float* sequence, float* statics) const;

  // Normalised target of horizon j from origin n, relative to the anchor
  // (NaN when the target is missing or beyond the history).
  float Target(std::size_t n, std::size_t j, float anchor) const;

 private:
  struct PreparedEvent {
    double start, end, announced;
    int category;  // index into spec.categories, or categories.size() for "other"
    float magnitude;
    float duration;  // scaled
  };

  // Normalised value of sample i, NaN when missing or outside [0, n).
  double Value(long i, std::size_t n) const;
  // Mean normalised value over [c - r, c + r] within [0, n); NaN if none.
  double Lag(long c, std::size_t n) const;
  // Writes the calendar block (5 values + holiday flag) for time t seen from origin time t0.
  void Calendar(double t, double t0, float* out) const;
  // Writes the event block for time t, using only events announced <= t0.
  void EventSlots(double t, double t0, float* out) const;
  // The 9 values after a slot's one-hot category (see the layout above).
  static void Kernels(const PreparedEvent& e, double t, float* x);
  double SampleTime(long i) const;

  FeatureSpec spec_;
  Normalizer norm_;
  History history_;
  std::vector<PreparedEvent> events_;    // sorted by start; no holidays
  std::vector<PreparedEvent> holidays_;  // category "holiday"
  double max_event_length_ = 0;          // of events_ (bounds the search per time)
  long day_steps_;
  long week_steps_;
};

// FNV-1a (64 bit) over the step and every value's bit pattern (NaNs folded to
// one pattern): identifies the data a model was trained on.
std::uint64_t TrainingDataHash(const History& history);

}  // namespace meshtwin
