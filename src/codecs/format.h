// format.h: helpers shared by the codec files for the parts of the encoded format they have in
// common: header checks on the decode side, argument checks on the encode side, block arithmetic
// and unaligned f32/u32 loads and stores. Internal to src/codecs; not a codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "codecs/codec.h"

namespace loco::codecs {

// The header of a buffer given to `id`'s decoder, checked against the caller's output size:
// INVALID_ARGUMENT for another (known) codec or another count, else read_header's statuses.
Result<CodecHeader> read_header_for(ByteSpan in, CodecId id, size_t out_count);

// Decode side: DATA_LOSS unless the header's block size is a valid one.
Status check_wire_block_size(uint32_t block_size);
// Decode side: DATA_LOSS unless the buffer is exactly `expected` bytes long.
Status check_total_size(ByteSpan in, uint64_t expected);

// Encode side: INVALID_ARGUMENT for a count above kMaxCount or an output smaller than `needed`.
Status check_encode_args(std::string_view codec, size_t count, size_t out_size, size_t needed);
// Options: INVALID_ARGUMENT unless 8 <= block_size <= 2^20 and a multiple of 8.
Status check_block_size_option(uint32_t block_size);
// Options: INVALID_ARGUMENT unless 0 < fraction <= 1.
Status check_fraction_option(double fraction);

// Number of elements kept by the sparse codecs: ceil(fraction * count), at least 1 when count > 0.
size_t k_for_fraction(double fraction, size_t count);

inline size_t num_blocks(size_t count, uint32_t block_size) {
  return (count + block_size - 1) / block_size;
}

inline void store_f32(std::byte* out, float v) { std::memcpy(out, &v, sizeof v); }
inline float load_f32(const std::byte* in) {
  float v;
  std::memcpy(&v, in, sizeof v);
  return v;
}
inline void store_u32(std::byte* out, uint32_t v) { std::memcpy(out, &v, sizeof v); }
inline uint32_t load_u32(const std::byte* in) {
  uint32_t v;
  std::memcpy(&v, in, sizeof v);
  return v;
}
inline void store_u64(std::byte* out, uint64_t v) { std::memcpy(out, &v, sizeof v); }
inline uint64_t load_u64(const std::byte* in) {
  uint64_t v;
  std::memcpy(&v, in, sizeof v);
  return v;
}

}  // namespace loco::codecs
