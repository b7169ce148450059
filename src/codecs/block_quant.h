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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace loco::codecs::block_quant {

struct Range {
  float lo;
  float hi;
  bool finite;  // every value finite (no NaN, no Inf)
};

// Min and max of x[0, m), and whether all of x is finite (v - v is 0 for finite v, NaN otherwise).
// GCC does not vectorize a float min/max reduction without -ffinite-math-only, so on x86-64 the
// main loop uses SSE2 (part of the x86-64 baseline, so there is no dispatch): minps/maxps compute
// exactly the a < b ? a : b of the portable loop, and min/max do not depend on the order.
inline Range block_range(const float* x, size_t m) {
  float lo = INFINITY, hi = -INFINITY, z = 0.0f;
  size_t i = 0;
#if defined(__SSE2__)
  if (m >= 8) {
    __m128 lo0 = _mm_set1_ps(INFINITY), lo1 = lo0;
    __m128 hi0 = _mm_set1_ps(-INFINITY), hi1 = hi0;
    __m128 z0 = _mm_setzero_ps(), z1 = z0;
    for (; i + 8 <= m; i += 8) {
      const __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
      lo0 = _mm_min_ps(a, lo0);
      lo1 = _mm_min_ps(b, lo1);
      hi0 = _mm_max_ps(a, hi0);
      hi1 = _mm_max_ps(b, hi1);
      z0 = _mm_add_ps(z0, _mm_sub_ps(a, a));
      z1 = _mm_add_ps(z1, _mm_sub_ps(b, b));
    }
    alignas(16) float l[4], h[4], zz[4];
    _mm_store_ps(l, _mm_min_ps(lo0, lo1));
    _mm_store_ps(h, _mm_max_ps(hi0, hi1));
    _mm_store_ps(zz, _mm_add_ps(z0, z1));
    for (int j = 0; j < 4; ++j) {
      lo = l[j] < lo ? l[j] : lo;
      hi = h[j] > hi ? h[j] : hi;
      z += zz[j];
    }
  }
#endif
  for (; i < m; ++i) {
    const float v = x[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    z += v - v;
  }
  return Range{lo, hi, z == 0.0f};
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
