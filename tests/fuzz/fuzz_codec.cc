// fuzz_codec.cc: libFuzzer target for one codec decoder of src/codecs, the codec being named by
// kFuzzCodecSpec (fuzz_codec_spec.cc, compiled once per target with LOCO_FUZZ_CODEC). Each input is
// used twice:
//  1. as an encoded buffer, decoded into an output sized from its header (at most 2^16 elements):
//     the decoder may refuse it only with DATA_LOSS, INVALID_ARGUMENT or PROTOCOL_MISMATCH; when it
//     accepts, the output must be what the format allows (finite values for every lossy codec, at
//     most k non-zeros for the sparse ones) and 16-bit codes must re-encode to the same bytes;
//  2. as f32 values (the bytes after the first 4, which pick the block size or fraction): encoding
//     either refuses non-finite input with INVALID_ARGUMENT or gives bytes that decode within the
//     codec's error budget (docs/algorithms.md).
// Anything else calls abort(). Built twice, like fuzz_wire.cc: the libFuzzer binary
// fuzz_codec_<codec> and the corpus replay test fuzz_codec_<codec>_replay.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "common/half.h"

extern const char* const kFuzzCodecSpec;

namespace loco::codecs {
namespace {

constexpr uint64_t kMaxFuzzCount = 1u << 16;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_codec(%s): property violated: %s\n", kFuzzCodecSpec, what.c_str());
  std::abort();
}

bool finite_only(CodecId id) {
  return id != CodecId::kIdentity && id != CodecId::kFp16 && id != CodecId::kBf16;
}

void check_decode(const Codec& codec, ByteSpan in) {
  Result<CodecHeader> h = read_header(in);
  const size_t n = h.ok() ? static_cast<size_t>(std::min(h->count, kMaxFuzzCount)) : in.size() % 64;
  std::vector<float> y(n);
  Status st = codec.decode(in, y);
  if (!st.ok()) {
    const StatusCode c = st.code();
    if (c != StatusCode::kDataLoss && c != StatusCode::kInvalidArgument &&
        c != StatusCode::kProtocolMismatch) {
      fail("decoder returned " + st.to_string());
    }
    return;
  }
  if (!h.ok() || h->id != codec.id() || h->count != n) fail("decoder accepted a mismatched header");
  if (finite_only(codec.id())) {
    for (float v : y) {
      if (!std::isfinite(v)) fail("decoded a non-finite value");
    }
  }
  if (codec.id() == CodecId::kTopK || codec.id() == CodecId::kRandomK) {
    const size_t k_at = kHeaderSize + (codec.id() == CodecId::kRandomK ? 8 : 0);
    uint32_t k;
    std::memcpy(&k, in.data() + k_at, 4);
    const size_t nonzero = static_cast<size_t>(std::count_if(y.begin(), y.end(), [](float v) { return v != 0.0f; }));
    if (nonzero > k) fail("more non-zeros than k");
  }
  if (codec.id() == CodecId::kFp16 || codec.id() == CodecId::kBf16) {
    // Decoding is exact, so re-encoding gives the same codes, except NaN (made quiet).
    Bytes again(codec.encoded_size_bound(n));
    if (!codec.encode(y, again).ok()) fail("re-encode of decoded 16-bit values failed");
    for (size_t i = 0; i < n; ++i) {
      uint16_t a, b;
      std::memcpy(&a, in.data() + kHeaderSize + 2 * i, 2);
      std::memcpy(&b, again.data() + kHeaderSize + 2 * i, 2);
      if (a != b && !std::isnan(y[i])) fail("16-bit code changed in a round trip");
    }
  }
}

// The budget of the block quantizers (block_quant.h) for x against its decoding y.
void check_block_budget(std::span<const float> x, std::span<const float> y, uint32_t block, int levels) {
  for (size_t at = 0; at < x.size(); at += block) {
    const size_t m = std::min<size_t>(block, x.size() - at);
    const auto [lo_it, hi_it] = std::minmax_element(x.begin() + static_cast<std::ptrdiff_t>(at),
                                                    x.begin() + static_cast<std::ptrdiff_t>(at + m));
    const double lo = *lo_it, hi = *hi_it;
    const double budget = 0.5 * (hi - lo) / levels * (1 + 0x1p-12) +
                          0x1p-21 * std::max(std::fabs(lo), std::fabs(hi)) + 0x1p-118;
    for (size_t i = at; i < at + m; ++i) {
      if (std::fabs(static_cast<double>(x[i]) - y[i]) > budget) fail("quantization error over budget");
    }
  }
}

void check_encode(const std::string& spec, CodecId id, std::span<const float> x) {
  std::unique_ptr<Codec> codec = make_codec(spec).value();
  Bytes enc(codec->encoded_size_bound(x.size()));
  Result<size_t> n = codec->encode(x, enc);
  if (!n.ok()) {
    if (n.status().code() != StatusCode::kInvalidArgument) fail("encoder returned " + n.status().to_string());
    const bool any_bad = std::any_of(x.begin(), x.end(), [](float v) { return !std::isfinite(v); });
    if (!any_bad && id != CodecId::kInt8Block && id != CodecId::kInt4Block) fail("finite input refused");
    return;
  }
  if (*n != enc.size()) fail("encoded size differs from the bound");
  std::vector<float> y(x.size());
  Status st = codec->decode(enc, y);
  if (!st.ok()) fail("cannot decode own encoding: " + st.to_string());
  Result<CodecHeader> h = read_header(enc);
  switch (id) {
    case CodecId::kFp16:
    case CodecId::kBf16:
      for (size_t i = 0; i < x.size(); ++i) {
        const float want = id == CodecId::kFp16 ? half_to_float(float_to_half(x[i]))
                                                : bf16_to_float(float_to_bf16(x[i]));
        if (std::bit_cast<uint32_t>(want) != std::bit_cast<uint32_t>(y[i]) && !std::isnan(want)) {
          fail("16-bit rounding differs from common/half.h");
        }
      }
      return;
    case CodecId::kInt8Block: return check_block_budget(x, y, h->block_size, 255);
    case CodecId::kInt4Block: return check_block_budget(x, y, h->block_size, 15);
    case CodecId::kSign:
      for (size_t i = 0; i < x.size(); ++i) {
        if (std::signbit(x[i]) != std::signbit(y[i])) fail("sign flipped");
        if (std::fabs(y[i]) != std::fabs(y[i - i % h->block_size])) fail("scale differs in a block");
      }
      return;
    case CodecId::kTopK:
    case CodecId::kRandomK:
      for (size_t i = 0; i < x.size(); ++i) {
        if (y[i] != 0.0f && std::bit_cast<uint32_t>(y[i]) != std::bit_cast<uint32_t>(x[i])) {
          fail("a kept value changed");
        }
      }
      return;
    case CodecId::kIdentity: return;
  }
}

// The encoder's options come from the first input byte: a block size of 8..256 or a fraction.
std::string spec_for(const std::string& base, uint8_t pick) {
  if (base == "int8" || base == "int4" || base == "sign") {
    return base + ":block=" + std::to_string(8 * (1 + pick % 32));
  }
  if (base == "topk") return "topk:fraction=" + std::to_string((1 + pick % 100) / 100.0) + ",exact=" + std::to_string(pick >> 7);
  if (base == "randomk") return "randomk:fraction=" + std::to_string((1 + pick % 100) / 100.0) + ",seed=" + std::to_string(pick);
  return base;
}

}  // namespace
}  // namespace loco::codecs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loco::codecs;  // NOLINT(google-build-using-namespace)
  static const std::unique_ptr<Codec> decoder = make_codec(kFuzzCodecSpec).value();
  loco::ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  check_decode(*decoder, in);
  if (size >= 4) {
    std::vector<float> x((size - 4) / 4);
    if (!x.empty()) std::memcpy(x.data(), data + 4, 4 * x.size());
    check_encode(spec_for(kFuzzCodecSpec, data[0]), decoder->id(), x);
  }
  return 0;
}
