#include "models/drift.h"

#include <algorithm>
#include <cmath>

namespace meshtwin {

bool PageHinkley::Update(double x) {
  // A missing error sample (no actual yet) says nothing about drift.
  if (!std::isfinite(x)) return false;
  ++n_;
  mean_ += (x - mean_) / n_;
  // m_n = sum of (x_t - mean_n - delta): it falls while the mean holds and
  // climbs once the mean rises by more than delta; the alarm is its rise
  // above the lowest point so far. The state is kept after an alarm (it keeps
  // firing) until the caller acts and calls Reset.
  cumulative_ += x - mean_ - delta_;
  minimum_ = std::min(minimum_, cumulative_);
  return n_ >= min_samples_ && cumulative_ - minimum_ >= lambda_;
}

void PageHinkley::Reset() {
  n_ = 0;
  mean_ = 0;
  cumulative_ = 0;
  minimum_ = 0;
}

}  // namespace meshtwin
