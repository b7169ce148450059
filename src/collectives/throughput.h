// throughput.h: per-operation deadlines derived from the operation's size and the bandwidth this
// peer has measured, instead of one fixed timeout:
//
//   deadline = start + base + bytes / max(measured_bandwidth / slack, floor_bandwidth)
//
// `base` absorbs what does not scale with size (peers starting the operation at different times,
// link set-up, the commit vote); `slack` lets a transient slowdown pass; the floor bounds the wait
// before anything was measured. The measurement is an exponential moving average over completed
// operations of at least kMinSample bytes. Thread-safe. Not a rate limiter.
#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.h"

namespace loco::collectives {

struct DeadlinePolicy {
  Duration base = std::chrono::seconds(10);
  double slack = 4.0;
  double floor_bytes_per_sec = 8e6;
};

class ThroughputEstimator {
 public:
  static constexpr uint64_t kMinSample = 256 * 1024;

  // `bytes` this peer sent in `elapsed` (its local part of one operation).
  void observe(uint64_t bytes, Duration elapsed);
  // Bytes per second, or 0 before the first sample.
  double bytes_per_sec() const;
  // The time an operation that sends `bytes` may take under `policy`.
  Duration budget(uint64_t bytes, const DeadlinePolicy& policy) const;

 private:
  mutable std::mutex mu_;
  double rate_ = 0;
};

}  // namespace loco::collectives
