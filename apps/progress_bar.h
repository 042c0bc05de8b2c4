// A one-line progress indicator on stderr, shown only when stderr is a
// terminal and the work has already taken a couple of seconds.
#pragma once

#include <chrono>
#include <string>

namespace meshtwin {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label, bool enabled);
  ~ProgressBar();
  // `fraction` of the work is done (0..1). Cheap to call often.
  void Update(double fraction);
  // Erases the line if one was drawn.
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace meshtwin
