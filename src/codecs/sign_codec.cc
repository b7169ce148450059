// sign_codec.cc: 1-bit sign compression with a scale per block (signSGD / 1-bit Adam style):
// element i decodes to +s or -s, s = mean |x| over its block. Layout after the header (block size
// B, count n, nb = ceil(n / B)):
//   nb x f32 scale | ceil(n / 8) bytes of sign bits, element i in bit i % 8 of byte i / 8, 1 when
//   the f32 sign bit is set (so -0 decodes to -s); unused bits of the last byte are 0.
// The scale is the mean of |x| in double: lane j (0..7) sums the elements at block offsets = j mod
// 8 in order, the lanes are added as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)), divided by the block's
// length, rounded once to f32. That order is fixed so that every machine (and the Python reference
// in tests/golden) gets the same bits.
// Error budget: per block of m elements, sum (x - x^)^2 = sum x^2 - m s^2 <= (1 - 1/m) sum x^2
// (the best scale for fixed signs; the bound is Cauchy-Schwarz), up to f32 rounding of s.
// Inputs must be finite. Not here: the sign-SGD update or error feedback.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "codecs/codecs.h"
#include "codecs/format.h"

namespace loco::codecs {
namespace {

// Mean |x| with the fixed summation order described above; NaN or Inf when an input is.
float mean_abs(const float* x, size_t m) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= m; i += 8) {
    for (int j = 0; j < 8; ++j) lane[j] += static_cast<double>(std::fabs(x[i + j]));
  }
  for (int j = 0; i < m; ++i, ++j) lane[j] += static_cast<double>(std::fabs(x[i]));
  const double total = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  return static_cast<float>(total / static_cast<double>(m));
}

uint8_t sign_byte(const float* x, size_t len) {
  uint32_t byte = 0;
  for (size_t j = 0; j < len; ++j) byte |= (std::bit_cast<uint32_t>(x[j]) >> 31) << j;
  return static_cast<uint8_t>(byte);
}

class SignCodec final : public Codec {
 public:
  explicit SignCodec(uint32_t block_size)
      : block_size_(block_size), name_(fmt::format("sign:block={}", block_size)) {}

  CodecId id() const override { return CodecId::kSign; }
  std::string_view name() const override { return name_; }
  uint32_t block_size() const override { return block_size_; }
  size_t encoded_size_bound(size_t count) const override {
    return kHeaderSize + 4 * num_blocks(count, block_size_) + (count + 7) / 8;
  }

  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override {
    const size_t n = in.size();
    const size_t total = encoded_size_bound(n);
    LOCO_RETURN_IF_ERROR(check_encode_args(name_, n, out.size(), total));
    const size_t nb = num_blocks(n, block_size_);
    write_header({CodecId::kSign, block_size_, n}, out.data());
    std::byte* scales = out.data() + kHeaderSize;
    auto* bits = reinterpret_cast<uint8_t*>(scales + 4 * nb);
    for (size_t b = 0; b < nb; ++b) {
      const size_t at = b * block_size_;
      const size_t m = std::min<size_t>(block_size_, n - at);
      const float s = mean_abs(in.data() + at, m);
      if (!std::isfinite(s)) return InvalidArgument(fmt::format("{}: NaN or Inf in block {}", name_, b));
      store_f32(scales + 4 * b, s);
      const float* x = in.data() + at;
      for (size_t k = 0; k < m; k += 8) bits[(at + k) / 8] = sign_byte(x + k, std::min<size_t>(8, m - k));
    }
    return total;
  }

  Status decode(ByteSpan in, std::span<float> out) const override {
    LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, CodecId::kSign, out.size()));
    LOCO_RETURN_IF_ERROR(check_wire_block_size(h.block_size));
    const size_t n = out.size();
    const size_t nb = num_blocks(n, h.block_size);
    LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 4 * nb + (n + 7) / 8));
    const std::byte* scales = in.data() + kHeaderSize;
    const auto* bits = reinterpret_cast<const uint8_t*>(scales + 4 * nb);
    if (n % 8 != 0 && (bits[n / 8] >> (n % 8)) != 0) return DataLoss("sign: padding bits set");
    for (size_t b = 0; b < nb; ++b) {
      const float s = load_f32(scales + 4 * b);
      if (!(std::isfinite(s) && s >= 0.0f)) {
        return DataLoss(fmt::format("sign: bad scale in block {}", b));
      }
      const size_t at = b * h.block_size;
      const size_t m = std::min<size_t>(h.block_size, n - at);
      float* y = out.data() + at;
      // The sign bit of the output is the code bit: vectorizes as shift, and, or.
      const uint32_t sbits = std::bit_cast<uint32_t>(s) & 0x7FFFFFFFu;  // -0 scale read as +0
      for (size_t i = 0; i < m; ++i) {
        const uint32_t bit = (bits[(at + i) / 8] >> (i % 8)) & 1u;
        y[i] = std::bit_cast<float>(sbits | (bit << 31));
      }
    }
    return OkStatus();
  }

 private:
  uint32_t block_size_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<Codec>> make_sign_codec(uint32_t block_size) {
  LOCO_RETURN_IF_ERROR(check_block_size_option(block_size));
  return std::unique_ptr<Codec>(std::make_unique<SignCodec>(block_size));
}

}  // namespace loco::codecs
