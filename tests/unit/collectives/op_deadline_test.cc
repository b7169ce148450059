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
  // The next sample is due well before the stall bound passes.
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

double secs_from(TimePoint t0, TimePoint t) {
  return std::chrono::duration<double>(t - t0).count();
}

// Feeds `d` a steady pace of `rate` bytes/s (sent and received) every 100 ms until `bytes` were
// sent; the first failure, or OK.
Status steady(OpDeadline& d, TimePoint t0, uint64_t bytes, double rate, Duration* when = nullptr) {
  uint64_t moved = 0;
  for (auto t = milliseconds(0);; t += milliseconds(100)) {
    const double at = rate * std::chrono::duration<double>(t).count();
    moved = std::min<uint64_t>(bytes, static_cast<uint64_t>(at));
    Status s = d.check(t0 + t, moved, moved);
    if (when) *when = t;
    if (!s.ok() || moved >= bytes) return s;
  }
}

// Measured links: the overall bound is base + bytes * slack / measured rate at first.
TEST(OpDeadline, OverallBoundStartsFromTheMeasuredRate) {
  const TimePoint t0{};
  OpDeadline d(t0, 100'000'000, policy(seconds(2)), 1e9);  // 1 GB/s measured: 2 s + 0.4 s
  EXPECT_NEAR(secs_from(t0, d.overall()), 2.4, 1e-6);
}

// The rule in throughput.h: at any pace down to 1/kMaxSlowdown of the reference rate, measured
// or assumed, the overall bound never fails an operation that keeps moving (the measurement may
// come from small operations that the socket buffers absorbed, or the link may have slowed).
TEST(OpDeadline, SanePaceNeverFailsTheOverallBound) {
  const TimePoint t0{};
  for (double measured : {0.0, 1e7, 1e9}) {
    const double reference = measured > 0 ? measured : 8e6;
    for (double slowdown : {1.0, 6.4, 30.0, OpDeadline::kMaxSlowdown}) {
      const double pace = reference / slowdown;
      const uint64_t bytes = static_cast<uint64_t>(pace * 20);  // 20 s of transfer
      OpDeadline d(t0, bytes, policy(seconds(2)), measured);
      Status s = steady(d, t0, bytes, pace);
      EXPECT_TRUE(s.ok()) << "measured " << measured << ", " << slowdown << "x slower: "
                          << s.to_string();
    }
  }
}

// Below 1/kMaxSlowdown of the measured rate, yet never stalled: the overall bound fails it, at
// base + slack * kMaxSlowdown * bytes / measured, and says which bound and why.
TEST(OpDeadline, FarSlowerThanMeasuredFailsTheOverallBound) {
  const TimePoint t0{};
  const uint64_t bytes = 10'000'000;
  OpDeadline d(t0, bytes, policy(seconds(2)), 1e7);  // 10 MB/s measured: 2 s + 4 s at first
  EXPECT_NEAR(secs_from(t0, d.overall()), 6.0, 1e-6);
  Duration when{};
  Status s = steady(d, t0, bytes, 1e3, &when);  // 1 kB/s: 10,000x slower than measured
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  // 2 s + 4 * 100 * 10 MB / 10 MB/s = 402 s.
  EXPECT_NEAR(std::chrono::duration<double>(when).count(), 402, 0.11);
  EXPECT_NE(s.message().find("overall deadline of 402.0 s"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("far slower than measured"), std::string::npos) << s.to_string();
  EXPECT_EQ(s.message().find("stall"), std::string::npos) << s.to_string();
}

// An unmeasured link: after kPaceWindow of samples the op's own pace (here 10 Mbit/s, 6.4x
// below the assumed 8 MB/s) is what the overall bound rests on.
TEST(OpDeadline, UnmeasuredRateIsLoweredByTheOperationsOwnPace) {
  const TimePoint t0{};
  const uint64_t bytes = 16u << 20;
  OpDeadline d(t0, bytes, policy(seconds(10)), 0);
  const double assumed = 10 + 4.0 * bytes / 8e6;
  ASSERT_TRUE(d.check(t0, 0, 0).ok());
  ASSERT_TRUE(d.check(t0 + milliseconds(900), 1'125'000, 0).ok());  // inside the pace window
  EXPECT_NEAR(secs_from(t0, d.overall()), assumed, 1e-6);
  ASSERT_TRUE(d.check(t0 + seconds(1), 1'250'000, 0).ok());
  EXPECT_NEAR(secs_from(t0, d.overall()), 10 + 4.0 * bytes / kSlowLink, 1e-3);
  // A faster pace later never raises it again.
  ASSERT_TRUE(d.check(t0 + seconds(2), 20'000'000, 0).ok());
  EXPECT_NEAR(secs_from(t0, d.overall()), 10 + 4.0 * bytes / kSlowLink, 1e-3);
}

TEST(OpDeadline, StallMessageNamesTheStallBound) {
  const TimePoint t0{};
  OpDeadline d(t0, 1u << 20, policy(seconds(3)), 0);
  ASSERT_TRUE(d.check(t0, 5, 5).ok());
  Status s = d.check(t0 + seconds(3), 5, 5);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("moved no byte on its links for 3.0 s (stall bound 3.0 s)"),
            std::string::npos)
      << s.to_string();
  EXPECT_EQ(s.message().find("overall"), std::string::npos) << s.to_string();
}

// Bytes moving in one direction only (a peer that receives a long frame while it has nothing to
// send yet) are progress too.
TEST(OpDeadline, ReceivingAloneIsProgress) {
  const TimePoint t0{};
  OpDeadline d(t0, 1u << 30, policy(seconds(2)), 0);
  uint64_t received = 0;
  for (auto t = milliseconds(0); t <= seconds(20); t += milliseconds(500)) {
    ASSERT_TRUE(d.check(t0 + t, 0, received += 1000).ok()) << t.count();
  }
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
