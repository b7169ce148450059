// int4_codec.cc: block-wise asymmetric 4-bit quantization (15 steps per block; the arithmetic and
// its error budget are in block_quant.h). Layout after the header (block size B, count n,
// nb = ceil(n / B) blocks):
//   nb x (f32 lo, f32 scale) | ceil(n / 2) bytes of codes, element i in byte i / 2, low nibble
//   for even i; when n is odd the last byte's high nibble is 0 (the decoder checks it).
// B is a multiple of 8, so each block's codes start on a byte. Same input and parameter rules as
// int8 (int8_codec.cc). Not here: error feedback or collectives.
#include <algorithm>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "codecs/block_quant.h"
#include "codecs/codecs.h"
#include "codecs/format.h"

namespace loco::codecs {
namespace {

constexpr int kLevels = 15;
// Codes go through a stack buffer of this many elements (even) before they are packed.
constexpr size_t kChunk = 2048;

void pack(const uint8_t* q, size_t m, uint8_t* out) {
  for (size_t k = 0; k < m / 2; ++k) out[k] = static_cast<uint8_t>(q[2 * k] | (q[2 * k + 1] << 4));
  if (m % 2 != 0) out[m / 2] = q[m - 1];
}

void unpack(const uint8_t* in, size_t m, uint8_t* q) {
  for (size_t k = 0; k < m / 2; ++k) {
    q[2 * k] = in[k] & 0x0F;
    q[2 * k + 1] = static_cast<uint8_t>(in[k] >> 4);
  }
  if (m % 2 != 0) q[m - 1] = in[m / 2] & 0x0F;
}

class Int4Codec final : public Codec {
 public:
  explicit Int4Codec(uint32_t block_size)
      : block_size_(block_size), name_(fmt::format("int4:block={}", block_size)) {}

  CodecId id() const override { return CodecId::kInt4Block; }
  std::string_view name() const override { return name_; }
  uint32_t block_size() const override { return block_size_; }
  size_t encoded_size_bound(size_t count) const override {
    return kHeaderSize + 8 * num_blocks(count, block_size_) + (count + 1) / 2;
  }

  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override {
    const size_t n = in.size();
    const size_t total = encoded_size_bound(n);
    LOCO_RETURN_IF_ERROR(check_encode_args(name_, n, out.size(), total));
    const size_t nb = num_blocks(n, block_size_);
    write_header({CodecId::kInt4Block, block_size_, n}, out.data());
    std::byte* params = out.data() + kHeaderSize;
    auto* codes = reinterpret_cast<uint8_t*>(params + 8 * nb);
    uint8_t q[kChunk];
    for (size_t b = 0; b < nb; ++b) {
      const size_t at = b * block_size_;
      const size_t m = std::min<size_t>(block_size_, n - at);
      const block_quant::Range r = block_quant::block_range(in.data() + at, m);
      if (!r.finite) return InvalidArgument(fmt::format("{}: NaN or Inf in block {}", name_, b));
      block_quant::Params p;
      if (!block_quant::make_params<kLevels>(r, &p)) {
        return InvalidArgument(fmt::format("{}: range of block {} overflows f32", name_, b));
      }
      store_f32(params + 8 * b, p.lo);
      store_f32(params + 8 * b + 4, p.scale);
      for (size_t c = 0; c < m; c += kChunk) {
        const size_t len = std::min(kChunk, m - c);
        block_quant::quantize<kLevels>(in.data() + at + c, len, p, q);
        pack(q, len, codes + (at + c) / 2);
      }
    }
    return total;
  }

  Status decode(ByteSpan in, std::span<float> out) const override {
    LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, CodecId::kInt4Block, out.size()));
    LOCO_RETURN_IF_ERROR(check_wire_block_size(h.block_size));
    const size_t n = out.size();
    const size_t nb = num_blocks(n, h.block_size);
    LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 8 * nb + (n + 1) / 2));
    const std::byte* params = in.data() + kHeaderSize;
    const auto* codes = reinterpret_cast<const uint8_t*>(params + 8 * nb);
    if (n % 2 != 0 && (codes[n / 2] & 0xF0) != 0) return DataLoss("int4: padding nibble set");
    uint8_t q[kChunk];
    for (size_t b = 0; b < nb; ++b) {
      const float lo = load_f32(params + 8 * b);
      const float scale = load_f32(params + 8 * b + 4);
      if (!block_quant::valid_params<kLevels>(lo, scale)) {
        return DataLoss(fmt::format("int4: bad scale or offset in block {}", b));
      }
      const size_t at = b * h.block_size;
      const size_t m = std::min<size_t>(h.block_size, n - at);
      for (size_t c = 0; c < m; c += kChunk) {
        const size_t len = std::min(kChunk, m - c);
        unpack(codes + (at + c) / 2, len, q);
        block_quant::dequantize(q, len, lo, scale, out.data() + at + c);
      }
    }
    return OkStatus();
  }

 private:
  uint32_t block_size_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<Codec>> make_int4_codec(uint32_t block_size) {
  LOCO_RETURN_IF_ERROR(check_block_size_option(block_size));
  return std::unique_ptr<Codec>(std::make_unique<Int4Codec>(block_size));
}

}  // namespace loco::codecs
