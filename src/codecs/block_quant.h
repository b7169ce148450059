// block_quant.h: the arithmetic shared by the block quantizers (int8_codec.cc, int4_codec.cc):
// per block of `block_size` elements, the minimum lo and a scale = (max - lo) / L for L = 2^bits - 1
// levels; code q = min(L, trunc((x - lo) * (1 / scale) + 0.5)); decoded value lo + q * scale.
// Every step is one IEEE f32 operation in a fixed order (the codec files build with
// -ffp-contract=off), so encoders on every machine produce the same bytes and decoders the same
// floats; tests/golden/gen_codecs.py implements the same definition in Python.
// Error budget (per element, checked by tests/unit/codecs/block_quant_test.cc):
//   |x - decoded| <= scale / 2 * (1 + 2^-12) + 2^-21 * max(|lo|, |max|) + 2^-118
// i.e. half a quantization step, plus a few ulps of the block's magnitude for the f32 arithmetic,
// plus a term for blocks whose range is so small that the scale would be subnormal (stored as 0).
// Not a codec: the header, layout and validation are in the codec files.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace loco::codecs::block_quant {

struct Range {
  float lo;
  float hi;
  bool finite;  // every value finite (no NaN, no Inf)
};

// Min and max of x[0, m) in 8 independent lanes, which compile to vector min/max, with a NaN/Inf
// detector (v - v is 0 for finite v, NaN otherwise) that costs one vector add.
inline Range block_range(const float* x, size_t m) {
  float lo[8], hi[8], z[8];
  for (int j = 0; j < 8; ++j) {
    lo[j] = INFINITY;
    hi[j] = -INFINITY;
    z[j] = 0.0f;
  }
  size_t i = 0;
  for (; i + 8 <= m; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const float v = x[i + j];
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = v > hi[j] ? v : hi[j];
      z[j] += v - v;
    }
  }
  for (; i < m; ++i) {
    const float v = x[i];
    lo[0] = v < lo[0] ? v : lo[0];
    hi[0] = v > hi[0] ? v : hi[0];
    z[0] += v - v;
  }
  Range r{lo[0], hi[0], true};
  float zs = z[0];
  for (int j = 1; j < 8; ++j) {
    r.lo = lo[j] < r.lo ? lo[j] : r.lo;
    r.hi = hi[j] > r.hi ? hi[j] : r.hi;
    zs += z[j];
  }
  r.finite = zs == 0.0f;
  return r;
}

struct Params {
  float lo;     // stored
  float scale;  // stored
  float inv;    // 1 / scale, or 0 when scale is 0
};

// The block's parameters; false when max - min overflows f32 (the caller reports it).
// lo + 0.0f turns a -0 minimum into +0, so the stored bytes do not depend on which of +-0 a
// vectorized min happened to see first.
template <int kLevels>
inline bool make_params(const Range& r, Params* p) {
  const float range = r.hi - r.lo;
  if (!std::isfinite(range)) return false;
  float scale = range / static_cast<float>(kLevels);
  if (!(scale >= FLT_MIN)) scale = 0.0f;  // zero or subnormal step: every code 0, value = lo
  p->lo = r.lo + 0.0f;
  // Near the top of f32's range lo + L * scale can round past FLT_MAX; the decoder would reject
  // that, so step the scale down (an ulp or two; the top code then decodes a few ulps below max).
  while (!std::isfinite(p->lo + static_cast<float>(kLevels) * scale)) {
    scale = std::nextafter(scale, 0.0f);
  }
  p->scale = scale;
  p->inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  return true;
}

// Codes of x[0, m) into q[0, m). x - lo >= 0 and (x - lo) * inv <= L(1 + eps), so the clamp at the
// top suffices and the conversion never sees a negative, huge or NaN value.
template <int kLevels>
inline void quantize(const float* x, size_t m, const Params& p, uint8_t* q) {
  const float lo = p.lo, inv = p.inv, top = static_cast<float>(kLevels);
  for (size_t i = 0; i < m; ++i) {
    float t = (x[i] - lo) * inv + 0.5f;
    t = t < top ? t : top;
    q[i] = static_cast<uint8_t>(static_cast<int32_t>(t));
  }
}

inline void dequantize(const uint8_t* q, size_t m, float lo, float scale, float* y) {
  for (size_t i = 0; i < m; ++i) y[i] = lo + static_cast<float>(q[i]) * scale;
}

// Decoder's check of untrusted parameters: finite, scale >= 0, and the top code's value finite.
template <int kLevels>
inline bool valid_params(float lo, float scale) {
  return std::isfinite(lo) && std::isfinite(scale) && scale >= 0.0f &&
         std::isfinite(lo + static_cast<float>(kLevels) * scale);
}

}  // namespace loco::codecs::block_quant
