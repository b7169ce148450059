// clock.h: monotonic time and deadlines. Pure code takes time as a value (TimePoint) so it can be
// tested without sleeping; only I/O shells call now().
#pragma once

#include <chrono>
#include <cstdint>

namespace loco {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::milliseconds;

inline TimePoint now() { return Clock::now(); }

// A point in time after which an operation gives up. Deadline::never() waits forever.
class Deadline {
 public:
  static Deadline never() { return Deadline(TimePoint::max()); }
  static Deadline after(Duration d) { return Deadline(now() + d); }
  static Deadline at(TimePoint t) { return Deadline(t); }

  bool is_never() const { return when_ == TimePoint::max(); }
  bool expired() const { return !is_never() && now() >= when_; }
  TimePoint when() const { return when_; }
  // Milliseconds left, clamped to [0, INT32_MAX]; -1 for never (the poll(2) convention).
  int poll_timeout_ms() const;
  Deadline earliest(Deadline other) const { return when_ < other.when_ ? *this : other; }

 private:
  explicit Deadline(TimePoint t) : when_(t) {}
  TimePoint when_;
};

inline int Deadline::poll_timeout_ms() const {
  if (is_never()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when_ - now()).count();
  if (left <= 0) return 0;
  if (left > INT32_MAX) return INT32_MAX;
  return static_cast<int>(left) + 1;  // round up so we do not wake just before the deadline
}

}  // namespace loco
