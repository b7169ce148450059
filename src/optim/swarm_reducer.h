// swarm_reducer.h: the Reducer (strategy.h) over loco's collectives: all_reduce_avg is one
// in-place Communicator::all_reduce (fp32, ReduceOp::kAvg) on a fixed tag (all_reduce_avg_quantized
// the same through the quantized all-reduce), and the byte counters
// add up the OpStats of every successful operation (frame and piece headers included).
// No retrying here: a failed operation's status (ABORTED, UNAVAILABLE, DEADLINE_EXCEEDED when a
// peer died, hung or the membership changed) is returned as is, with the buffer untouched (the
// Communicator's commit vote guarantees that), and the trainer retries the whole strategy call
// after the next epoch (SwarmPeer::with_retry). Bytes of failed attempts are not counted, since
// the Communicator reports no stats for them.
// Non-finite values: a contribution to an average that holds a NaN or an Inf (a diverged peer, a
// bad batch) would reach every replica through the all-reduce. Before each average this reducer
// scans its own contribution; if any value is not finite it sends zeros instead (its step is
// skipped: the average is over the others' values, still divided by the world size), logs a
// warning naming its rank, and counts it (nonfinite_skips()). Every peer still ends with the same
// finite bytes. The sparse all_gather_bytes is not checked (its callers encode first).
// Not here: membership, joining, shared state; the Communicator must outlive this object.
#pragma once

#include <atomic>
#include <cstdint>

#include "collectives/communicator.h"
#include "optim/strategy.h"

namespace loco::optim {

class SwarmReducer final : public Reducer {
 public:
  // `tag`: the collectives tag used for every operation (operations on one tag must be started
  // in the same order on every peer; use a tag of its own if other code shares the Communicator).
  explicit SwarmReducer(collectives::Communicator& comm, uint64_t tag = kDefaultTag)
      : comm_(comm), tag_(tag) {}

  static constexpr uint64_t kDefaultTag = 0x6f7074;  // "opt"

  Status all_reduce_avg(std::span<float> data) override;
  // Communicator::all_reduce_quantized (kAvg) on the same tag.
  Status all_reduce_avg_quantized(std::span<float> data, const WireCodec& codec) override;
  // Communicator::all_gather of bytes (kU8), every peer's part the same size. ABORTED if the
  // membership changed between reading the world size and the operation (a retry fixes it).
  Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override;
  // The current epoch's world size (at least 1 before the first epoch, so callers may divide).
  int world_size() const override;
  uint64_t bytes_sent() const override { return sent_.load(std::memory_order_relaxed); }
  uint64_t bytes_received() const override { return received_.load(std::memory_order_relaxed); }
  // Successful operations so far.
  uint64_t operations() const { return ops_.load(std::memory_order_relaxed); }
  // Averages to which this peer sent zeros because its contribution was not finite.
  uint64_t nonfinite_skips() const { return skips_.load(std::memory_order_relaxed); }

 private:
  collectives::Communicator& comm_;
  const uint64_t tag_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> skips_{0};

  void guard_finite(std::span<float> data);
};

// True iff every value is finite (no NaN, no Inf). A branch-free scan the compiler vectorizes.
bool all_finite(std::span<const float> data);

}  // namespace loco::optim
