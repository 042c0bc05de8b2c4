#include "models/drift.h"

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace meshtwin {
namespace {

TEST(PageHinkley, HandComputedStatistic) {
  // delta 0: after 0, 0, 0 the running mean is 0 and so is the sum; 10
  // moves the mean to 2.5 and the sum to 10 - 2.5 = 7.5, its minimum is 0.
  PageHinkley ph(/*delta=*/0, /*lambda=*/7.5, /*min_samples=*/1);
  EXPECT_FALSE(ph.Update(0));
  EXPECT_FALSE(ph.Update(0));
  EXPECT_FALSE(ph.Update(0));
  EXPECT_TRUE(ph.Update(10));
  EXPECT_DOUBLE_EQ(ph.statistic(), 7.5);
}

TEST(PageHinkley, FiresSoonAfterAMeanShift) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> gauss(0, 1);
  PageHinkley ph(/*delta=*/0.5, /*lambda=*/30);
  int fired_at = -1;
  for (int i = 0; i < 2000 && fired_at < 0; ++i) {
    const double x = gauss(rng) + (i >= 1000 ? 2.0 : 0.0);
    if (ph.Update(x)) fired_at = i;
  }
  ASSERT_GE(fired_at, 1000) << "false alarm before the shift";
  EXPECT_LT(fired_at, 1100);
}

TEST(PageHinkley, QuietOnStationaryNoiseAndOnADecrease) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> gauss(5, 1);
  PageHinkley ph(/*delta=*/0.5, /*lambda=*/30);
  for (int i = 0; i < 50000; ++i) ASSERT_FALSE(ph.Update(gauss(rng))) << "sample " << i;
  // A drop in the mean is not what it watches for.
  for (int i = 0; i < 5000; ++i) ASSERT_FALSE(ph.Update(gauss(rng) - 3)) << "sample " << i;
}

TEST(PageHinkley, NoAlarmBeforeMinSamplesAndResetClears) {
  PageHinkley ph(/*delta=*/0, /*lambda=*/1, /*min_samples=*/5);
  EXPECT_FALSE(ph.Update(0));
  EXPECT_FALSE(ph.Update(100));  // statistic 50 but only 2 samples
  EXPECT_GT(ph.statistic(), 1);
  EXPECT_FALSE(ph.Update(100));
  EXPECT_FALSE(ph.Update(100));
  EXPECT_TRUE(ph.Update(100));
  EXPECT_TRUE(ph.Update(100));  // keeps firing until reset
  ph.Reset();
  EXPECT_EQ(ph.statistic(), 0);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(ph.Update(100));  // the new normal
}

TEST(PageHinkley, IgnoresMissingSamples) {
  PageHinkley ph(/*delta=*/0, /*lambda=*/7.5, /*min_samples=*/1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const double x : {0.0, nan, 0.0, 0.0, nan}) EXPECT_FALSE(ph.Update(x));
  EXPECT_EQ(ph.statistic(), 0);
  EXPECT_TRUE(ph.Update(10));  // as if the NaNs were not there
  EXPECT_DOUBLE_EQ(ph.statistic(), 7.5);
}

}  // namespace
}  // namespace meshtwin
