// Online anomaly detectors for one metric stream (a node's latency,
// utilisation, error rate...): a point goes in, a score in [0, 1] comes out,
// computed from the points seen so far only. Cheap enough for one detector
// per node in the control loop (see models/README.md, "Anomaly detectors").
//
//   AnomalyDetectorOptions o;  o.step = 15;  o.season = 86400;
//   absl::StatusOr<std::unique_ptr<AnomalyDetector>> d = MakeDetector("robust-z", o);
//   double score = (*d)->Update(t, latency);   // every control interval
//   if ((*d)->IsAnomaly()) { /* suspect: drain */ }
//
// A detector is not thread-safe; distinct detectors (clones included) may be
// used from distinct threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin {

struct AnomalyDetectorOptions {
  Seconds step = 60;          // sample spacing of the stream, seconds
  Seconds season = 86400;     // seasonal period (0: none; forecast-residual: 0 = detect day/week)
  double threshold = 0;       // exceedance threshold; 0: the detector's default (see below)
  int confirm = 2;            // k: flag when at least k of the last `confirm_window` points exceed
  int confirm_window = 3;     // m, in 1..32
  double instant_factor = 2;  // one point beyond instant_factor x threshold flags at once (0: off)

  // robust-z: value minus (level + seasonal profile), over a robust spread.
  Seconds profile_resolution = 900;  // spacing of the profile's knots (linear in between)
  double level_rate = 0.02;          // EWMA weight of the level per point
  double profile_rate = 0.1;         // EWMA weight of the two nearest knots per point
  double spread_rate = 0.02;         // EWMA weight of the mean absolute residual per point
  double clip = 3;         // residuals beyond clip x spread update the model as if at clip
  int spread_warmup = 60;  // points after the first season that only train the spread
  double min_relative_spread = 1e-3;  // spread floor, as a share of the typical |value|

  // forecast-residual: one step ahead p10-p90 of a Forecaster.
  std::string forecaster = "holt-winters";  // naive | seasonal-naive | holt-winters
  std::string model_path;   // a fitted model file instead (never refitted; overrides `forecaster`)
  int refit_every = 1440;   // points between refits on the history so far
  int history = 0;          // points kept to fit on; 0: two seasons + refit_every (or 2 days)
  int exclude_limit = 200;  // points beyond the threshold kept out of the history, at most in a row
};

// Default thresholds (AnomalyDetectorOptions::threshold = 0).
inline constexpr double kDefaultRobustZThreshold = 4.0;           // robust sigmas
inline constexpr double kDefaultForecastResidualThreshold = 1.5;  // p10-p90 widths outside

// One metric stream's detector. Scores map the detector's exceedance measure
// x (|z| or widths outside the interval) to x / (x + threshold): 0 for a
// perfectly normal point, 0.5 at the threshold, towards 1 beyond it.
class AnomalyDetector {
 public:
  virtual ~AnomalyDetector() = default;
  // Feeds the point at time `t` (seconds; regular spacing `step` expected) and
  // returns its score in [0, 1]. 0 during the warm-up and for a NaN value
  // (which changes nothing but the debounce window).
  virtual double Update(Seconds t, double value) = 0;
  // After Update: true when the debounce rule holds (k of the last m points
  // beyond the threshold, or the last one far beyond it).
  bool IsAnomaly() const { return anomaly_; }
  // True once the warm-up is over and scores mean something.
  virtual bool Ready() const = 0;
  virtual std::string_view name() const = 0;
  // A copy of the detector with all its state: feeding both the same points
  // gives the same scores. A configured, unfed detector cloned per node is the
  // way to build a fleet's detectors.
  virtual std::unique_ptr<AnomalyDetector> Clone() const = 0;

 protected:
  AnomalyDetector(int confirm, int confirm_window, double threshold, double instant_factor);
  // Records a point's exceedance measure x >= 0 (NaN: no information) and
  // returns its score; updates IsAnomaly().
  double Judge(double x);
  double threshold() const { return threshold_; }

 private:
  int confirm_, confirm_window_;
  double threshold_, instant_threshold_;
  std::uint32_t exceed_bits_ = 0;  // bit i: the point i updates ago exceeded
  bool anomaly_ = false;
};

// A detector by name: robust-z | forecast-residual. Options out of range are
// InvalidArgument naming the field; a model_path that cannot be read is the
// loader's error.
absl::StatusOr<std::unique_ptr<AnomalyDetector>> MakeDetector(
    std::string_view name, const AnomalyDetectorOptions& options);

// "robust-z, forecast-residual" (for messages and --help).
std::string_view DetectorNames();

}  // namespace meshtwin
