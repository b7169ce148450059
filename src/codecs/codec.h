// codec.h: the interface every wire codec implements, and the self-describing header that opens
// every encoded buffer. A codec turns a span of f32 into bytes and back; it is a pure function
// object (no sockets, no threads, no allocation visible to the caller beyond its own scratch).
// Decoders treat their input as untrusted: every length, count, block size, scale and index is
// validated and a bad buffer is answered with a Status, never a crash or an out-of-bounds access.
// Not here: the codecs themselves (one per file, built by the factories in codecs.h), error
// feedback (error_feedback.h), and collectives that use codecs (src/collectives).
//
// Encoded layout (little-endian), 16-byte header then a codec-specific body (docs/algorithms.md):
//   u8 codec id | u8 format version (1) | u16 flags (0) | u32 block size (0: none) | u64 count
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace loco::codecs {

static_assert(std::endian::native == std::endian::little,
              "codecs copy f32 and integer arrays as little-endian bytes");

enum class CodecId : uint8_t {
  kIdentity = 1,   // f32 as is
  kFp16 = 2,       // IEEE binary16, round to nearest even
  kBf16 = 3,       // bfloat16, round to nearest even
  kInt8Block = 4,  // per block: min and scale, 8-bit codes
  kInt4Block = 5,  // per block: min and scale, 4-bit codes
  kSign = 6,       // per block: mean |x|, 1 sign bit per element
  kTopK = 7,       // k largest magnitudes: indices + values
  kRandomK = 8,    // k coordinates chosen from a seed: seed + values
};
inline constexpr uint8_t kMaxCodecId = 8;

std::string_view codec_id_name(CodecId id);

inline constexpr size_t kHeaderSize = 16;
inline constexpr uint8_t kFormatVersion = 1;
// Element counts are limited to 2^32 - 1 (top-k indices are u32); a larger buffer is split.
inline constexpr uint64_t kMaxCount = 0xFFFFFFFFull;
// Block sizes of the block codecs: a multiple of 8 (so that packed 4-bit and 1-bit codes of a block
// start on a byte), from 8 to 2^20.
inline constexpr uint32_t kMinBlockSize = 8;
inline constexpr uint32_t kMaxBlockSize = 1u << 20;

struct CodecHeader {
  CodecId id = CodecId::kIdentity;
  uint32_t block_size = 0;
  uint64_t count = 0;
};

void write_header(const CodecHeader& h, std::byte* out);  // writes kHeaderSize bytes
// Parses a header from untrusted bytes: DATA_LOSS when short, unknown id or non-zero flags;
// PROTOCOL_MISMATCH for another format version; DATA_LOSS for a count above kMaxCount.
Result<CodecHeader> read_header(ByteSpan in);

class Codec {
 public:
  virtual ~Codec() = default;

  virtual CodecId id() const = 0;
  // The codec and its options, as make_codec() parses them: "int8:block=256".
  virtual std::string_view name() const = 0;
  virtual bool lossless() const { return false; }
  // Elements per block of a block codec (int8, int4, sign): the block size its header carries;
  // 0 for codecs without blocks.
  virtual uint32_t block_size() const { return 0; }
  // Bytes encode() writes for `count` elements (an exact size for every codec here).
  virtual size_t encoded_size_bound(size_t count) const = 0;
  // Encodes `in` into the front of `out` and returns the bytes written. INVALID_ARGUMENT when `out`
  // is smaller than encoded_size_bound(in.size()), the count exceeds kMaxCount, or (lossy codecs)
  // an input is NaN or infinite.
  virtual Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const = 0;
  // Decodes `in` (exactly one encoded buffer) into `out`, whose size must equal the encoded count.
  // DATA_LOSS for malformed bytes, INVALID_ARGUMENT when the bytes hold another codec or another
  // count than out.size(), PROTOCOL_MISMATCH for another format version. `out` may be partly
  // written when an error is returned. Decoders read their parameters (block size, k, seed) from
  // the bytes, not from the options this object was made with.
  virtual Status decode(ByteSpan in, std::span<float> out) const = 0;
};

}  // namespace loco::codecs
