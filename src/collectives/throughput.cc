// throughput.cc: bandwidth estimate and the stall and overall bounds of an operation (see
// throughput.h).
#include "collectives/throughput.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace loco::collectives {
namespace {

Duration seconds_of(double s) {
  // Bounded far below TimePoint's range: an absurd budget is as good as none.
  s = std::min(s, 1e7);
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

}  // namespace

void ThroughputEstimator::observe(uint64_t bytes, Duration elapsed, uint64_t epoch) {
  if (bytes < kMinSample || elapsed <= Duration::zero()) return;
  const double rate = static_cast<double>(bytes) / secs(elapsed);
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) {
    epoch_ = epoch;
    rate_ = 0;
  }
  rate_ = rate_ == 0 ? rate : 0.8 * rate_ + 0.2 * rate;
}

double ThroughputEstimator::bytes_per_sec() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_;
}

double ThroughputEstimator::bytes_per_sec(uint64_t epoch) const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch == epoch_ ? rate_ : 0;
}

Duration ThroughputEstimator::budget(uint64_t bytes, const DeadlinePolicy& policy) const {
  const double rate = bytes_per_sec();
  const double usable =
      rate > 0 ? rate / std::max(policy.slack, 1.0) : std::max(policy.floor_bytes_per_sec, 1.0);
  return policy.base + seconds_of(static_cast<double>(bytes) / usable);
}

OpDeadline::OpDeadline(TimePoint start, uint64_t send_bytes, const DeadlinePolicy& policy,
                       double measured)
    : start_(start),
      send_bytes_(send_bytes),
      policy_(policy),
      stall_(policy.stall_bound()),
      measured_(measured > 0),
      reference_(measured > 0 ? measured : std::max(policy.floor_bytes_per_sec, 1.0)),
      rate_(reference_) {
  update_overall(start, 0);
}

void OpDeadline::update_overall(TimePoint now, uint64_t sent) {
  // The operation's own average pace, once it has one, lowers the reference rate, down to
  // reference / kMaxSlowdown: at that pace or faster the overall bound stays ahead of the
  // transfer (throughput.h); below it the peer is far slower than the link has shown.
  if (sampled_ && now - first_sample_ >= kPaceWindow) {
    const double own = static_cast<double>(sent - first_sent_) / secs(now - first_sample_);
    rate_ = std::min(rate_, std::max(own, reference_ / kMaxSlowdown));
  }
  const double slack = std::max(policy_.slack, 1.0);
  overall_ = start_ + policy_.base + seconds_of(static_cast<double>(send_bytes_) * slack / rate_);
}

Status OpDeadline::check(TimePoint now, uint64_t sent, uint64_t received) {
  if (!sampled_) {
    sampled_ = true;
    first_sample_ = last_progress_ = now;
    first_sent_ = last_sent_ = sent;
    last_received_ = received;
  } else if (sent != last_sent_ || received != last_received_) {
    last_sent_ = sent;
    last_received_ = received;
    last_progress_ = now;
  }
  update_overall(now, sent);
  if (now - last_progress_ >= stall_) {
    return DeadlineExceeded(
        "moved no byte on its links for " + fmt("%.1f", secs(now - last_progress_)) +
        " s (stall bound " + fmt("%.1f", secs(stall_)) + " s): a peer is hung or unreachable");
  }
  if (now >= overall_) {
    return DeadlineExceeded(
        "passed its overall deadline of " + fmt("%.1f", secs(overall_ - start_)) + " s (" +
        std::to_string(send_bytes_) + " bytes to send at " + fmt("%.3g", rate_ / 1e6) +
        " MB/s, its own pace but never below 1/" + fmt("%.0f", kMaxSlowdown) + " of the " +
        fmt("%.3g", reference_ / 1e6) + (measured_ ? " MB/s measured" : " MB/s assumed") +
        ", slack " +
        fmt("%.3g", policy_.slack) + "): a peer is far slower than " +
        (measured_ ? "measured" : "assumed"));
  }
  return OkStatus();
}

TimePoint OpDeadline::next_check(TimePoint now) const {
  const Duration poll = std::clamp<Duration>(stall_ / 8, std::chrono::milliseconds(5),
                                             std::chrono::milliseconds(250));
  return std::min({now + poll, last_progress_ + stall_, overall_});
}

}  // namespace loco::collectives
