// Knowing when a model has gone stale: a Page-Hinkley test on the model's
// forecast error relative to the naive baseline's. Pure; not thread-safe.
#pragma once

namespace meshtwin {

// Page-Hinkley change detector for an increase in the mean of a series.
class PageHinkley {
 public:
  // delta: tolerated drift of the mean; lambda: alarm threshold;
  // min_samples: no alarm before this many samples.
  PageHinkley(double delta, double lambda, int min_samples = 30)
      : delta_(delta), lambda_(lambda), min_samples_(min_samples) {}
  // Adds one observation; true when a change (an increase) is detected.
  bool Update(double x);
  void Reset();
  double statistic() const { return cumulative_ - minimum_; }

 private:
  double delta_, lambda_;
  int min_samples_;
  int n_ = 0;
  double mean_ = 0, cumulative_ = 0, minimum_ = 0;
};

}  // namespace meshtwin
