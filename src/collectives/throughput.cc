// throughput.cc: bandwidth estimate and deadline budget (see throughput.h).
#include "collectives/throughput.h"

#include <algorithm>

namespace loco::collectives {

void ThroughputEstimator::observe(uint64_t bytes, Duration elapsed) {
  if (bytes < kMinSample || elapsed <= Duration::zero()) return;
  const double secs = std::chrono::duration<double>(elapsed).count();
  const double rate = static_cast<double>(bytes) / secs;
  std::lock_guard<std::mutex> lock(mu_);
  rate_ = rate_ == 0 ? rate : 0.8 * rate_ + 0.2 * rate;
}

double ThroughputEstimator::bytes_per_sec() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_;
}

Duration ThroughputEstimator::budget(uint64_t bytes, const DeadlinePolicy& policy) const {
  const double usable = std::max(bytes_per_sec() / std::max(policy.slack, 1.0),
                                 std::max(policy.floor_bytes_per_sec, 1.0));
  const double secs = static_cast<double>(bytes) / usable;
  return policy.base + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(secs));
}

}  // namespace loco::collectives
