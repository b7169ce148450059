// swarm_reducer.cc: Reducer over collectives::Communicator (see swarm_reducer.h).
#include "optim/swarm_reducer.h"

#include <algorithm>

namespace loco::optim {

Status SwarmReducer::all_reduce_avg(std::span<float> data) {
  if (data.empty()) return OkStatus();
  auto stats = comm_.all_reduce(data.data(), data.size(), collectives::DataType::kF32,
                                collectives::ReduceOp::kAvg, tag_);
  if (!stats.ok()) return stats.status();
  sent_.fetch_add(stats->bytes_sent, std::memory_order_relaxed);
  received_.fetch_add(stats->bytes_received, std::memory_order_relaxed);
  ops_.fetch_add(1, std::memory_order_relaxed);
  return OkStatus();
}

int SwarmReducer::world_size() const {
  return static_cast<int>(std::max<size_t>(1, comm_.world_size()));
}

}  // namespace loco::optim
