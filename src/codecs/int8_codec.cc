// int8_codec.cc: block-wise asymmetric 8-bit quantization (the arithmetic and its error budget are
// in block_quant.h). Layout after the header (block size B, count n, nb = ceil(n / B) blocks):
//   nb x (f32 lo, f32 scale) | n x u8 code
// Every byte value is a valid code. The decoder rejects NaN/Inf/negative scales, non-finite lo and
// blocks whose top code would decode to Inf. Inputs must be finite (INVALID_ARGUMENT otherwise), as
// must each block's range max - min (so |x| up to about 1.7e38 is always fine).
// Not here: error feedback (error_feedback.h) or the quantized all-reduce (collectives).
#include <algorithm>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "codecs/block_quant.h"
#include "codecs/codecs.h"
#include "codecs/format.h"

namespace loco::codecs {
namespace {

constexpr int kLevels = 255;

class Int8Codec final : public Codec {
 public:
  explicit Int8Codec(uint32_t block_size)
      : block_size_(block_size), name_(fmt::format("int8:block={}", block_size)) {}

  CodecId id() const override { return CodecId::kInt8Block; }
  std::string_view name() const override { return name_; }
  uint32_t block_size() const override { return block_size_; }
  size_t encoded_size_bound(size_t count) const override {
    return kHeaderSize + 8 * num_blocks(count, block_size_) + count;
  }

  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override {
    const size_t n = in.size();
    const size_t total = encoded_size_bound(n);
    LOCO_RETURN_IF_ERROR(check_encode_args(name_, n, out.size(), total));
    const size_t nb = num_blocks(n, block_size_);
    write_header({CodecId::kInt8Block, block_size_, n}, out.data());
    std::byte* params = out.data() + kHeaderSize;
    auto* codes = reinterpret_cast<uint8_t*>(params + 8 * nb);
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
      block_quant::quantize<kLevels>(in.data() + at, m, p, codes + at);
    }
    return total;
  }

  Status decode(ByteSpan in, std::span<float> out) const override {
    LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, CodecId::kInt8Block, out.size()));
    LOCO_RETURN_IF_ERROR(check_wire_block_size(h.block_size));
    const size_t n = out.size();
    const size_t nb = num_blocks(n, h.block_size);
    LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 8 * nb + n));
    const std::byte* params = in.data() + kHeaderSize;
    const auto* codes = reinterpret_cast<const uint8_t*>(params + 8 * nb);
    for (size_t b = 0; b < nb; ++b) {
      const float lo = load_f32(params + 8 * b);
      const float scale = load_f32(params + 8 * b + 4);
      if (!block_quant::valid_params<kLevels>(lo, scale)) {
        return DataLoss(fmt::format("int8: bad scale or offset in block {}", b));
      }
      const size_t at = b * h.block_size;
      const size_t m = std::min<size_t>(h.block_size, n - at);
      block_quant::dequantize(codes + at, m, lo, scale, out.data() + at);
    }
    return OkStatus();
  }

 private:
  uint32_t block_size_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<Codec>> make_int8_codec(uint32_t block_size) {
  LOCO_RETURN_IF_ERROR(check_block_size_option(block_size));
  return std::unique_ptr<Codec>(std::make_unique<Int8Codec>(block_size));
}

}  // namespace loco::codecs
