// OpDeadline and ThroughputEstimator (throughput.h): the stall and overall bounds of an operation,
// driven with made-up time points and byte counters, so no test here sleeps. Not here: a real
// slow link (tests/integration/multihost_test.cc, MultiHost.SlowLinkAllReduceFitsItsDeadline).
#include <gtest/gtest.h>

#include "collectives/throughput.h"

namespace loco::collectives {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

DeadlinePolicy policy(Duration base) {
  DeadlinePolicy p;
  p.base = base;
  p.slack = 4;
  p.floor_bytes_per_sec = 8e6;
  return p;
}

// 10 Mbit/s: 1.25 MB/s.
constexpr double kSlowLink = 1.25e6;

// The issue-12 case: 16 MiB over 10 Mbit/s, nothing measured yet, 13.4 s of steady progress.
// The old budget (10 s + 16 MiB at 8 MB/s = 12.1 s) failed it every time; now it completes.
TEST(OpDeadline, SlowLinkThatKeepsMovingIsNotHung) {
  const TimePoint t0{};
  const uint64_t bytes = 16u << 20;
  OpDeadline d(t0, bytes, policy(seconds(10)), 0);
  uint64_t sent = 0, received = 0;
  for (auto t = milliseconds(0); t <= milliseconds(14000); t += milliseconds(250)) {
    ASSERT_TRUE(d.check(t0 + t, sent, received).ok()) << "at " << t.count() << " ms";
    sent += static_cast<uint64_t>(kSlowLink / 4);
    received += static_cast<uint64_t>(kSlowLink / 4);
  }
  // Its own pace is what the overall bound now rests on: far beyond the transfer's 13.4 s.
  EXPECT_GT(d.overall() - t0, seconds(50));
}

TEST(OpDeadline, NoByteMovingForTheStallBoundFails) {
  const TimePoint t0{};
  OpDeadline d(t0, 64u << 20, policy(milliseconds(1500)), 1e9);
  ASSERT_TRUE(d.check(t0, 100, 100).ok());
  ASSERT_TRUE(d.check(t0 + milliseconds(1000), 200, 100).ok());  // progress resets the clock
  ASSERT_TRUE(d.check(t0 + milliseconds(2400), 200, 100).ok());  // 1.4 s without a byte
  Status s = d.check(t0 + milliseconds(2500), 200, 100);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("moved no byte"), std::string::npos) << s.to_string();
  // The next sample is due before the stall bound passes.
  OpDeadline e(t0, 1, policy(milliseconds(1500)), 0);
  ASSERT_TRUE(e.check(t0, 0, 0).ok());
  EXPECT_LE(e.next_check(t0), t0 + milliseconds(250));
}

TEST(OpDeadline, ExplicitStallBoundWinsOverBase) {
  const TimePoint t0{};
  DeadlinePolicy p = policy(seconds(30));
  p.stall = seconds(2);
  OpDeadline d(t0, 1000, p, 0);
  ASSERT_TRUE(d.check(t0, 0, 0).ok());
  EXPECT_EQ(d.check(t0 + seconds(2), 0, 0).code(), StatusCode::kDeadlineExceeded);
}

// Measured links: the overall bound is base + bytes * slack / measured rate; an operation that
// trickles far below it fails even though bytes still move.
TEST(OpDeadline, FarSlowerThanMeasuredFailsTheOverallBound) {
  const TimePoint t0{};
  const uint64_t bytes = 100'000'000;
  OpDeadline d(t0, bytes, policy(seconds(2)), 1e9);  // 1 GB/s measured: 2 s + 0.4 s
  EXPECT_NEAR(std::chrono::duration<double>(d.overall() - t0).count(), 2.4, 1e-6);
  uint64_t sent = 0;
  Status s;
  auto t = milliseconds(0);
  for (; t <= milliseconds(3000); t += milliseconds(100)) {
    s = d.check(t0 + t, sent += 1000, 0);
    if (!s.ok()) break;
  }
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("far slower than measured"), std::string::npos) << s.to_string();
  EXPECT_GE(t, milliseconds(2300));
  EXPECT_LE(t, milliseconds(2500));
}

TEST(OpDeadline, UnmeasuredFastOperationKeepsTheAssumedRate) {
  const TimePoint t0{};
  // 8 MB at the assumed 8 MB/s with slack 4: 10 s + 4 s.
  OpDeadline d(t0, 8'000'000, policy(seconds(10)), 0);
  EXPECT_NEAR(std::chrono::duration<double>(d.overall() - t0).count(), 14.0, 1e-6);
  ASSERT_TRUE(d.check(t0, 0, 0).ok());
  ASSERT_TRUE(d.check(t0 + seconds(2), 400'000'000, 0).ok());  // faster than assumed: unchanged
  EXPECT_NEAR(std::chrono::duration<double>(d.overall() - t0).count(), 14.0, 1e-6);
}

TEST(Throughput, EstimateIsPerEpoch) {
  ThroughputEstimator est;
  est.observe(10'000'000, seconds(1), 3);
  EXPECT_DOUBLE_EQ(est.bytes_per_sec(3), 1e7);
  EXPECT_DOUBLE_EQ(est.bytes_per_sec(4), 0);  // a new ring is unmeasured
  est.observe(1'000'000, seconds(1), 4);
  EXPECT_DOUBLE_EQ(est.bytes_per_sec(4), 1e6);
  EXPECT_DOUBLE_EQ(est.bytes_per_sec(3), 0);
  EXPECT_DOUBLE_EQ(est.bytes_per_sec(), 1e6);
}

}  // namespace
}  // namespace loco::collectives
