// codec_test_util.h: helpers for the codec unit tests: unwrap a factory's Result, encode and decode
// whole vectors, and generate seeded test inputs of several shapes. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/codecs.h"
#include "common/bytes.h"
#include "common/rng.h"

namespace loco::codecs::testing {

inline std::unique_ptr<Codec> must_make(std::string_view spec) {
  Result<std::unique_ptr<Codec>> c = make_codec(spec);
  EXPECT_TRUE(c.ok()) << spec << ": " << c.status().to_string();
  return c.ok() ? std::move(c).value() : nullptr;
}

inline Bytes encode_all(const Codec& codec, std::span<const float> x) {
  Bytes out(codec.encoded_size_bound(x.size()));
  Result<size_t> n = codec.encode(x, out);
  EXPECT_TRUE(n.ok()) << codec.name() << ": " << n.status().to_string();
  if (n.ok()) {
    EXPECT_EQ(*n, out.size()) << codec.name() << ": encoded size differs from the bound";
    out.resize(*n);
  }
  return out;
}

inline std::vector<float> decode_all(const Codec& codec, ByteSpan bytes, size_t count) {
  std::vector<float> y(count, -12345.0f);
  Status st = codec.decode(bytes, y);
  EXPECT_TRUE(st.ok()) << codec.name() << ": " << st.to_string();
  return y;
}

// Uniform in [lo, hi).
inline float uniform(SplitMix64& rng, float lo, float hi) {
  const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
  return static_cast<float>(lo + (hi - lo) * u);
}

inline float gaussian(SplitMix64& rng) {
  const double u1 = (static_cast<double>(rng.next() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

enum class Shape { kUniform, kGaussian, kOffset, kHuge, kTiny, kDenormal, kConstant, kSparse, kHeavy };
inline const char* shape_name(Shape s) {
  switch (s) {
    case Shape::kUniform: return "uniform";
    case Shape::kGaussian: return "gaussian";
    case Shape::kOffset: return "offset";
    case Shape::kHuge: return "huge";
    case Shape::kTiny: return "tiny";
    case Shape::kDenormal: return "denormal";
    case Shape::kConstant: return "constant";
    case Shape::kSparse: return "sparse";
    case Shape::kHeavy: return "heavy";
  }
  return "?";
}
inline constexpr Shape kAllShapes[] = {Shape::kUniform, Shape::kGaussian, Shape::kOffset,
                                       Shape::kHuge,    Shape::kTiny,     Shape::kDenormal,
                                       Shape::kConstant, Shape::kSparse,  Shape::kHeavy};

inline std::vector<float> make_input(Shape shape, size_t n, uint64_t seed) {
  SplitMix64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(shape));
  std::vector<float> x(n);
  for (float& v : x) {
    switch (shape) {
      case Shape::kUniform: v = uniform(rng, -1.0f, 1.0f); break;
      case Shape::kGaussian: v = gaussian(rng); break;
      case Shape::kOffset: v = 1000.0f + 1e-3f * gaussian(rng); break;
      case Shape::kHuge: v = 1e37f * uniform(rng, -1.0f, 1.0f); break;
      case Shape::kTiny: v = 1e-30f * gaussian(rng); break;
      case Shape::kDenormal: v = 1e-40f * uniform(rng, -1.0f, 1.0f); break;
      case Shape::kConstant: v = -2.5f; break;
      case Shape::kSparse: v = (rng.next() % 10 == 0) ? gaussian(rng) : ((rng.next() & 1) ? 0.0f : -0.0f); break;
      case Shape::kHeavy: {
        const float g = gaussian(rng);
        v = g / (std::fabs(gaussian(rng)) + 1e-3f);  // Cauchy-like tails
        break;
      }
    }
  }
  return x;
}

inline uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }

}  // namespace loco::codecs::testing
