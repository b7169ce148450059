// swarm_reducer.cc: Reducer over collectives::Communicator (see swarm_reducer.h).
#include "optim/swarm_reducer.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/log.h"

namespace loco::optim {

bool all_finite(std::span<const float> data) {
  // An IEEE-754 single is NaN or Inf iff its exponent bits are all ones.
  uint32_t bad = 0;
  for (float v : data) {
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

void SwarmReducer::guard_finite(std::span<float> data) {
  if (all_finite(data)) return;
  std::memset(data.data(), 0, data.size_bytes());
  skips_.fetch_add(1, std::memory_order_relaxed);
  LOCO_LOG_WARN("rank {}: {} values to average hold a NaN or Inf: sending zeros for this step "
                "(skipped {} so far)",
                comm_.rank(), data.size(), nonfinite_skips());
}

Status SwarmReducer::all_reduce_avg(std::span<float> data) {
  if (data.empty()) return OkStatus();
  guard_finite(data);
  auto stats = comm_.all_reduce(data.data(), data.size(), collectives::DataType::kF32,
                                collectives::ReduceOp::kAvg, tag_);
  if (!stats.ok()) return stats.status();
  sent_.fetch_add(stats->bytes_sent, std::memory_order_relaxed);
  received_.fetch_add(stats->bytes_received, std::memory_order_relaxed);
  ops_.fetch_add(1, std::memory_order_relaxed);
  return OkStatus();
}

Status SwarmReducer::all_reduce_avg_quantized(std::span<float> data, const WireCodec& codec) {
  if (!codec) return all_reduce_avg(data);
  if (data.empty()) return OkStatus();
  guard_finite(data);
  auto stats = comm_.run({.kind = collectives::OpKind::kAllReduce,
                          .in = data.data(),
                          .out = data.data(),
                          .count = data.size(),
                          .dtype = collectives::DataType::kF32,
                          .op = collectives::ReduceOp::kAvg,
                          .tag = tag_,
                          .codec = codec});
  if (!stats.ok()) return stats.status();
  sent_.fetch_add(stats->bytes_sent, std::memory_order_relaxed);
  received_.fetch_add(stats->bytes_received, std::memory_order_relaxed);
  ops_.fetch_add(1, std::memory_order_relaxed);
  return OkStatus();
}

Status SwarmReducer::all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) {
  const uint64_t epoch = comm_.epoch();
  const size_t world = comm_.world_size();
  if (world == 0) return Unavailable("all_gather_bytes: not a member of any epoch yet");
  all.resize(world * mine.size());
  if (mine.empty()) return OkStatus();
  auto stats = comm_.all_gather(mine.data(), all.data(), all.size(), collectives::DataType::kU8, tag_);
  if (!stats.ok()) {
    // A request sized for an epoch that was replaced meanwhile is a membership change, not a bug.
    if (comm_.epoch() != epoch) return Aborted("all_gather_bytes: epoch changed: " + stats.status().message());
    return stats.status();
  }
  if (stats->world_size != world) return Aborted("all_gather_bytes: the world changed during the call");
  sent_.fetch_add(stats->bytes_sent, std::memory_order_relaxed);
  received_.fetch_add(stats->bytes_received, std::memory_order_relaxed);
  ops_.fetch_add(1, std::memory_order_relaxed);
  return OkStatus();
}

int SwarmReducer::world_size() const {
  return static_cast<int>(std::max<size_t>(1, comm_.world_size()));
}

}  // namespace loco::optim
