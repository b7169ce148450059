// throughput.h: per-operation deadlines that fit the link, from what the link really does.
//
// An operation fails with DEADLINE_EXCEEDED on one of two bounds (OpDeadline):
//  * stall: no byte moved on its epoch's links, either way, for `stall` (default: `base`). A
//    transfer that keeps moving bytes is not hung, however slow the link; a hung peer (SIGSTOP,
//    a work thread that never starts the operation) stops every byte once the socket buffers
//    are full, and is caught within about `stall` of that. Bytes are counted per socket call
//    (transport::ConnectionStats::progress_*), so a 2 MiB piece crawling over a 10 Mbit/s link
//    counts as progress all the way.
//  * overall: start + base + send_bytes * slack / rate. The reference rate is what this peer
//    measured on this epoch's links (an exponential moving average over completed operations of
//    at least kMinSample bytes; a new epoch, i.e. a new ring, starts unmeasured), or
//    `floor_bytes_per_sec` before anything was measured. Once the operation has moved bytes for
//    kPaceWindow, its own average pace lowers the rate (never raises it), but never below
//    reference / kMaxSlowdown. The rule that follows: an operation whose average pace stays at
//    or above reference / kMaxSlowdown is never failed by the overall bound, however slow the
//    link (the bound then lies at least slack times as far out as the whole transfer takes at
//    the pace so far); only a peer far slower than the link has shown, yet not quite stalled,
//    fails it, at the latest base + slack * kMaxSlowdown * send_bytes / reference after start. Issue 12
//    section 5: a 16 MiB all-reduce over 10 Mbit/s (~6x below the assumed 8 MB/s) used to
//    fail every attempt at ~12.5 s; now its bound follows its pace.
// `base` also absorbs what does not scale with size (peers starting at different times, link
// set-up, the commit vote). Pure logic on time points given by the caller: unit tested without
// sleeping. Not a rate limiter; the heartbeats that detect dead peers are membership's.
#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.h"
#include "common/status.h"

namespace loco::collectives {

struct DeadlinePolicy {
  Duration base = std::chrono::seconds(10);
  // The longest an operation may go without a byte moving on its links. Zero: `base`.
  Duration stall{};
  double slack = 4.0;
  // The rate the overall bound assumes before one was measured on the epoch's links.
  double floor_bytes_per_sec = 8e6;

  Duration stall_bound() const { return stall > Duration::zero() ? stall : base; }
};

class ThroughputEstimator {
 public:
  static constexpr uint64_t kMinSample = 256 * 1024;

  // `bytes` this peer sent in `elapsed` (its local part of one operation) on the links of
  // `epoch`; a sample from another epoch than the last one starts the average afresh.
  void observe(uint64_t bytes, Duration elapsed, uint64_t epoch = 0);
  // Bytes per second of the latest epoch observed, or 0 before the first sample.
  double bytes_per_sec() const;
  // The same for `epoch` only: 0 when nothing was measured on it.
  double bytes_per_sec(uint64_t epoch) const;
  // The overall budget of an operation that sends `bytes` under `policy`, at the latest rate.
  Duration budget(uint64_t bytes, const DeadlinePolicy& policy) const;

 private:
  mutable std::mutex mu_;
  double rate_ = 0;
  uint64_t epoch_ = 0;
};

// The two bounds of one running operation (see the header comment). Owned by the thread that
// waits for the operation; not thread-safe.
class OpDeadline {
 public:
  // How long the operation's own pace is sampled before it may lower the reference rate.
  static constexpr Duration kPaceWindow = std::chrono::seconds(1);
  // The overall bound never assumes a rate below reference / kMaxSlowdown.
  static constexpr double kMaxSlowdown = 100;

  // `measured`: the epoch's rate in bytes/s (0: none yet).
  OpDeadline(TimePoint start, uint64_t send_bytes, const DeadlinePolicy& policy, double measured);

  // A sample of the links' progress counters (bytes sent and received so far, any origin) taken
  // at `now`. OK while within both bounds, else DEADLINE_EXCEEDED saying which bound passed.
  Status check(TimePoint now, uint64_t sent, uint64_t received);
  // When to sample next: soon enough to notice a stall within a small part of the stall bound.
  TimePoint next_check(TimePoint now) const;
  // The overall bound as of the last check.
  TimePoint overall() const { return overall_; }

 private:
  void update_overall(TimePoint now, uint64_t sent);

  const TimePoint start_;
  const uint64_t send_bytes_;
  const DeadlinePolicy policy_;
  const Duration stall_;
  const bool measured_;
  const double reference_;  // measured, or assumed: bytes/s
  double rate_;  // bytes/s the overall bound rests on
  TimePoint overall_;
  bool sampled_ = false;
  TimePoint first_sample_{};
  uint64_t first_sent_ = 0;
  uint64_t last_sent_ = 0;
  uint64_t last_received_ = 0;
  TimePoint last_progress_{};
};

}  // namespace loco::collectives
