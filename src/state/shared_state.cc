// shared_state.cc: buffers, chunks and hashes of a shared state (see shared_state.h).
#include "state/shared_state.h"

#include <xxhash.h>

#include "wire/messages.h"
#include "wire/state_messages.h"

namespace loco::state {

uint64_t hash_bytes(ByteSpan bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

SharedState::SharedState(size_t chunk_size) : chunk_size_(chunk_size) {}

Status SharedState::add_buffer(std::string name, collectives::DataType dtype, size_t count,
                               void* data, bool per_peer) {
  if (chunk_size_ < (4u << 10) || chunk_size_ > (64u << 20)) {
    return InvalidArgument("chunk size must be between 4 KiB and 64 MiB, got " +
                           std::to_string(chunk_size_));
  }
  if (name.empty() || name.size() > wire::kMaxNameLen) {
    return InvalidArgument("buffer names must have 1 to 256 bytes");
  }
  for (const BufferSpec& b : buffers_) {
    if (b.name == name) return InvalidArgument("buffer '" + name + "' is already registered");
  }
  if (!collectives::is_valid(dtype)) return InvalidArgument("unknown element type");
  if (data == nullptr && count > 0) return InvalidArgument("buffer '" + name + "' has no data");
  BufferSpec spec{std::move(name), dtype, count, data, per_peer};
  std::vector<ChunkRef> added;
  if (!per_peer) {
    const size_t bytes = spec.bytes();
    for (size_t off = 0; off < bytes; off += chunk_size_) {
      added.push_back(ChunkRef{buffers_.size(), off, std::min(chunk_size_, bytes - off)});
      if (chunks_.size() + added.size() > wire::kMaxStateChunks) {
        return InvalidArgument("the state would have more than " +
                               std::to_string(wire::kMaxStateChunks) +
                               " chunks: raise the chunk size");
      }
    }
  }
  buffers_.push_back(std::move(spec));
  chunks_.insert(chunks_.end(), added.begin(), added.end());
  return OkStatus();
}

size_t SharedState::shared_bytes() const {
  size_t n = 0;
  for (const ChunkRef& c : chunks_) n += c.length;
  return n;
}

MutableByteSpan SharedState::chunk_bytes(size_t chunk) const {
  const ChunkRef& c = chunks_.at(chunk);
  auto* base = static_cast<std::byte*>(buffers_[c.buffer].data);
  return {base + c.offset, c.length};
}

uint64_t SharedState::hash_chunk(size_t chunk) const { return hash_bytes(chunk_bytes(chunk)); }

std::vector<uint64_t> SharedState::hash_chunks() const {
  std::vector<uint64_t> out(chunks_.size());
  for (size_t i = 0; i < chunks_.size(); ++i) out[i] = hash_chunk(i);
  return out;
}

uint64_t SharedState::layout_digest() const {
  Bytes b;
  ByteWriter w(b);
  w.put<uint64_t>(chunk_size_);
  for (const BufferSpec& s : buffers_) {
    w.put_string(s.name);
    w.put<uint8_t>(static_cast<uint8_t>(s.dtype));
    w.put<uint64_t>(s.count);
    w.put<uint8_t>(s.per_peer ? 1 : 0);
  }
  return hash_bytes(b);
}

uint64_t SharedState::buffer_hash(size_t buffer) const {
  const BufferSpec& s = buffers_.at(buffer);
  return hash_bytes({static_cast<const std::byte*>(s.data), s.bytes()});
}

}  // namespace loco::state
