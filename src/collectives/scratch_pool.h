// scratch_pool.h: staging buffers reused across operations, so that a steady stream of
// operations does not pay for fresh (page-faulting) allocations every time. A Lease returns its
// buffer to the pool when it goes out of scope; the pool keeps at most `keep` idle buffers.
// Contents of a leased buffer are unspecified. Thread-safe. Not a general allocator.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace loco::collectives {

class ScratchPool {
 public:
  struct Buffer {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };

  class Lease {
   public:
    Lease() = default;
    Lease(ScratchPool* pool, Buffer buffer) : pool_(pool), buffer_(std::move(buffer)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), buffer_(std::move(o.buffer_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { release(); }

    std::byte* data() const { return buffer_.data.get(); }

   private:
    void release();
    ScratchPool* pool_ = nullptr;
    Buffer buffer_;
  };

  explicit ScratchPool(size_t keep) : keep_(keep) {}
  // A buffer of at least `bytes` bytes (bytes may be 0: an empty lease).
  Lease take(size_t bytes);

 private:
  void give_back(Buffer buffer);

  const size_t keep_;
  std::mutex mu_;
  std::vector<Buffer> idle_;
};

}  // namespace loco::collectives
