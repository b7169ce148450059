// scratch_pool.cc: see scratch_pool.h.
#include "collectives/scratch_pool.h"

#include <algorithm>

namespace loco::collectives {

ScratchPool::Lease& ScratchPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    buffer_ = std::move(o.buffer_);
    o.pool_ = nullptr;
  }
  return *this;
}

void ScratchPool::Lease::release() {
  if (pool_ != nullptr && buffer_.data) pool_->give_back(std::move(buffer_));
  pool_ = nullptr;
}

ScratchPool::Lease ScratchPool::take(size_t bytes) {
  if (bytes == 0) return Lease();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The smallest idle buffer that fits.
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->size >= bytes && (best == idle_.end() || it->size < best->size)) best = it;
    }
    if (best != idle_.end()) {
      Buffer b = std::move(*best);
      idle_.erase(best);
      return Lease(this, std::move(b));
    }
  }
  Buffer b;
  b.data.reset(new std::byte[bytes]);  // default-initialized: no zeroing pass
  b.size = bytes;
  return Lease(this, std::move(b));
}

void ScratchPool::give_back(Buffer buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(buffer));
  if (idle_.size() > keep_) {
    // Drop the smallest: large buffers are the expensive ones to fault in again.
    auto smallest =
        std::min_element(idle_.begin(), idle_.end(),
                         [](const Buffer& a, const Buffer& b) { return a.size < b.size; });
    idle_.erase(smallest);
  }
}

}  // namespace loco::collectives
