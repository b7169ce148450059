// shared_state.h: a peer's shared state: a named list of buffers (name, element type, element
// count, pointer owned by the caller) with a revision number, cut into chunks that are hashed
// with XXH3-64. Buffers declared per-peer (a data-loader position, an RNG state) are part of the
// layout but excluded from chunks, hashes and parity.
//
// Chunks: each shared buffer, in registration order, is cut into pieces of chunk_size bytes (the
// last one shorter); a zero-length buffer has no chunk. The layout digest covers the chunk size
// and every buffer's name, type, count and per-peer flag, so peers with different layouts never
// exchange chunks. Not here: networking or the sync protocol (state_sync.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/types.h"
#include "common/bytes.h"
#include "common/status.h"

namespace loco::state {

inline constexpr size_t kDefaultChunkSize = 4u << 20;

struct BufferSpec {
  std::string name;
  collectives::DataType dtype = collectives::DataType::kF32;
  size_t count = 0;
  void* data = nullptr;
  bool per_peer = false;
  size_t bytes() const { return count * collectives::dtype_size(dtype); }
};

struct ChunkRef {
  size_t buffer = 0;  // index into buffers()
  size_t offset = 0;  // bytes into the buffer
  size_t length = 0;
};

class SharedState {
 public:
  // chunk_size: 4 KiB .. 64 MiB, else INVALID_ARGUMENT from the first add_buffer.
  explicit SharedState(size_t chunk_size = kDefaultChunkSize);

  // Registers a buffer. INVALID_ARGUMENT: empty or repeated name (at most 256 bytes), null data
  // with a non-zero count, unknown type, or the state would exceed wire::kMaxStateChunks chunks.
  Status add_buffer(std::string name, collectives::DataType dtype, size_t count, void* data,
                    bool per_peer = false);

  uint64_t revision() const { return revision_; }
  void set_revision(uint64_t revision) { revision_ = revision; }
  size_t chunk_size() const { return chunk_size_; }
  const std::vector<BufferSpec>& buffers() const { return buffers_; }
  const std::vector<ChunkRef>& chunks() const { return chunks_; }
  size_t shared_bytes() const;

  MutableByteSpan chunk_bytes(size_t chunk) const;
  uint64_t hash_chunk(size_t chunk) const;
  std::vector<uint64_t> hash_chunks() const;
  uint64_t layout_digest() const;
  // XXH3-64 of a whole buffer (shared or per-peer), for parity checks and reports.
  uint64_t buffer_hash(size_t buffer) const;

 private:
  size_t chunk_size_;
  uint64_t revision_ = 0;
  std::vector<BufferSpec> buffers_;
  std::vector<ChunkRef> chunks_;
};

uint64_t hash_bytes(ByteSpan bytes);

}  // namespace loco::state
