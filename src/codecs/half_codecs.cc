// half_codecs.cc: the 16-bit float codecs, fp16 (IEEE binary16) and bf16 (bfloat16): each element
// rounded to nearest, ties to even (common/half.h), so the only error is that one rounding.
// Special values: NaN stays NaN (sign kept, made quiet), +-Inf stays +-Inf, finite values beyond
// the format's range become +-Inf (fp16 above 65504 rounds to Inf; bf16 has f32's range), and
// subnormals are rounded to the format's subnormals or zero, never flushed. Decoding is exact, and
// every 16-bit pattern is a valid code, so the decoder only checks the header and the length.
// Also the identity codec (f32 as is), which shares the structure. Not quantizers: int8/int4 are in
// their own files.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "codecs/codecs.h"
#include "codecs/format.h"
#include "common/half.h"

namespace loco::codecs {
namespace {

// Converts through a small stack buffer so the loops run over aligned uint16_t arrays (the output
// bytes may have any alignment) and vectorize.
constexpr size_t kChunk = 2048;

template <uint16_t (*ToHalf)(float), float (*FromHalf)(uint16_t)>
class HalfCodec final : public Codec {
 public:
  HalfCodec(CodecId id, std::string name) : id_(id), name_(std::move(name)) {}

  CodecId id() const override { return id_; }
  std::string_view name() const override { return name_; }
  size_t encoded_size_bound(size_t count) const override { return kHeaderSize + 2 * count; }

  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override {
    const size_t n = in.size();
    const size_t total = encoded_size_bound(n);
    LOCO_RETURN_IF_ERROR(check_encode_args(name_, n, out.size(), total));
    write_header({id_, 0, n}, out.data());
    std::byte* body = out.data() + kHeaderSize;
    uint16_t tmp[kChunk];
    for (size_t at = 0; at < n; at += kChunk) {
      const size_t m = std::min(kChunk, n - at);
      const float* x = in.data() + at;
      for (size_t i = 0; i < m; ++i) tmp[i] = ToHalf(x[i]);
      std::memcpy(body + 2 * at, tmp, 2 * m);
    }
    return total;
  }

  Status decode(ByteSpan in, std::span<float> out) const override {
    LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, id_, out.size()));
    if (h.block_size != 0) return DataLoss(name_ + ": block size must be 0");
    LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 2 * h.count));
    const std::byte* body = in.data() + kHeaderSize;
    uint16_t tmp[kChunk];
    for (size_t at = 0; at < out.size(); at += kChunk) {
      const size_t m = std::min(kChunk, out.size() - at);
      std::memcpy(tmp, body + 2 * at, 2 * m);
      float* y = out.data() + at;
      for (size_t i = 0; i < m; ++i) y[i] = FromHalf(tmp[i]);
    }
    return OkStatus();
  }

 private:
  CodecId id_;
  std::string name_;
};

class IdentityCodec final : public Codec {
 public:
  CodecId id() const override { return CodecId::kIdentity; }
  std::string_view name() const override { return "fp32"; }
  bool lossless() const override { return true; }
  size_t encoded_size_bound(size_t count) const override { return kHeaderSize + 4 * count; }

  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override {
    const size_t total = encoded_size_bound(in.size());
    LOCO_RETURN_IF_ERROR(check_encode_args("fp32", in.size(), out.size(), total));
    write_header({CodecId::kIdentity, 0, in.size()}, out.data());
    if (!in.empty()) std::memcpy(out.data() + kHeaderSize, in.data(), 4 * in.size());
    return total;
  }

  Status decode(ByteSpan in, std::span<float> out) const override {
    LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, CodecId::kIdentity, out.size()));
    if (h.block_size != 0) return DataLoss("fp32: block size must be 0");
    LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 4 * h.count));
    if (!out.empty()) std::memcpy(out.data(), in.data() + kHeaderSize, 4 * out.size());
    return OkStatus();
  }
};

}  // namespace

std::unique_ptr<Codec> make_identity_codec() { return std::make_unique<IdentityCodec>(); }

std::unique_ptr<Codec> make_fp16_codec() {
  return std::make_unique<HalfCodec<float_to_half, half_to_float>>(CodecId::kFp16, "fp16");
}

std::unique_ptr<Codec> make_bf16_codec() {
  return std::make_unique<HalfCodec<float_to_bf16, bf16_to_float>>(CodecId::kBf16, "bf16");
}

}  // namespace loco::codecs
