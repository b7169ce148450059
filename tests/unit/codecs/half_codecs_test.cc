// half_codecs_test.cc: fp16, bf16 and fp32 (identity) codecs. Rounding is checked element by
// element against independent references (GCC's _Float16 soft-float conversion for binary16, an
// exact nearest-value search for bfloat16), special values one by one, and the named budgets:
//   fp16: |x - x^| <= 2^-11 |x| for 2^-14 <= |x| <= 65504, <= 2^-25 below 2^-14 (subnormals)
//   bf16: |x - x^| <= 2^-8 |x| for normal |x| <= the largest bf16
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "codecs/codecs.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::bits_of;
using testing::decode_all;
using testing::encode_all;

__extension__ typedef _Float16 RefHalf;

float ref_fp16(float x) { return static_cast<float>(static_cast<RefHalf>(x)); }

// Nearest bfloat16 by search: the two candidates around x, ties to the even one, overflow to Inf
// when x is at or beyond the midpoint between the largest bf16 and 2^128.
float ref_bf16(float x) {
  if (std::isnan(x)) return x;
  const uint32_t u = bits_of(x);
  const uint32_t down = u & 0xFFFF0000u;
  const uint32_t up = down + 0x10000u;  // one bf16 ulp further from zero
  const double xd = x;
  const double dd = std::bit_cast<float>(down);
  const double ud = ((up & 0x7F800000u) == 0x7F800000u) ? std::copysign(0x1p128, xd)
                                                           : std::bit_cast<float>(up);
  const double e_down = std::fabs(xd - dd), e_up = std::fabs(ud - xd);
  uint32_t pick = down;
  if (e_up < e_down || (e_up == e_down && ((down >> 16) & 1u) != 0)) pick = up;
  return std::bit_cast<float>(pick);
}

std::vector<float> specials() {
  const float inf = std::numeric_limits<float>::infinity();
  return {0.0f, -0.0f, 1.0f, -1.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
          -std::numeric_limits<float>::quiet_NaN(), std::bit_cast<float>(0x7F800001u),  // sNaN
          FLT_MAX, -FLT_MAX, FLT_MIN, 1e-40f, -1e-45f, 65504.0f, 65519.0f, 65520.0f, 1e9f,
          0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-14f, 0x1.ffcp-15f, 1.0f + 0x1p-11f,
          1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 3.14159265f, -2.71828f};
}

void expect_same(float got, float want, const char* what, size_t i, float x) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << " at " << i << " x=" << x;
    EXPECT_EQ(std::signbit(got), std::signbit(want)) << what << " NaN sign at " << i;
  } else {
    EXPECT_EQ(bits_of(got), bits_of(want)) << what << " at " << i << " x=" << x << " got " << got
                                           << " want " << want;
  }
}

std::vector<std::vector<float>> inputs() {
  std::vector<std::vector<float>> all = {specials(), {}, {1.5f}, {-3.0f, 7.0f, 1e-6f}};
  for (testing::Shape s : testing::kAllShapes) all.push_back(testing::make_input(s, 2049, 7));
  std::vector<float> dense(5000);
  SplitMix64 rng(11);
  for (float& v : dense) v = std::bit_cast<float>(static_cast<uint32_t>(rng.next()));  // any bits
  all.push_back(dense);
  return all;
}

TEST(Fp16Codec, MatchesFloat16ConversionElementByElement) {
  std::unique_ptr<Codec> c = make_fp16_codec();
  for (const std::vector<float>& x : inputs()) {
    Bytes b = encode_all(*c, x);
    ASSERT_EQ(b.size(), kHeaderSize + 2 * x.size());
    std::vector<float> y = decode_all(*c, b, x.size());
    for (size_t i = 0; i < x.size(); ++i) expect_same(y[i], ref_fp16(x[i]), "fp16", i, x[i]);
  }
}

TEST(Bf16Codec, MatchesNearestBf16ElementByElement) {
  std::unique_ptr<Codec> c = make_bf16_codec();
  for (const std::vector<float>& x : inputs()) {
    std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
    for (size_t i = 0; i < x.size(); ++i) expect_same(y[i], ref_bf16(x[i]), "bf16", i, x[i]);
  }
}

TEST(Fp16Codec, SpecialValues) {
  std::unique_ptr<Codec> c = make_fp16_codec();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {65504.0f, 65519.0f, 65520.0f, -1e9f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f,
                          -0.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, inf, 1e-40f};
  std::vector<float> want = {65504.0f, 65504.0f, inf, -inf, 0x1p-24f, 0.0f, 0x1p-24f,
                             -0.0f, 1.0f, 1.0f + 0x1p-9f, inf, 0.0f};
  std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
  for (size_t i = 0; i < x.size(); ++i) expect_same(y[i], want[i], "fp16 special", i, x[i]);
  std::vector<float> nan = {std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::bit_cast<float>(0x7F800001u)};
  std::vector<float> yn = decode_all(*c, encode_all(*c, nan), nan.size());
  EXPECT_TRUE(std::isnan(yn[0]) && !std::signbit(yn[0]));
  EXPECT_TRUE(std::isnan(yn[1]) && std::signbit(yn[1]));
  EXPECT_TRUE(std::isnan(yn[2]));  // a signaling NaN stays NaN (made quiet), never Inf
}

TEST(Bf16Codec, SpecialValues) {
  std::unique_ptr<Codec> c = make_bf16_codec();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, FLT_MAX, -FLT_MAX, 65520.0f, -0.0f,
                          inf, 0x1p-133f};
  std::vector<float> want = {1.0f, 1.0f + 0x1p-6f, inf, -inf, 65536.0f, -0.0f, inf, 0x1p-133f};
  std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
  for (size_t i = 0; i < x.size(); ++i) expect_same(y[i], want[i], "bf16 special", i, x[i]);
  // f32 subnormals are rounded to bf16 subnormals, not flushed.
  std::vector<float> sub = {1e-40f, -3e-39f};
  std::vector<float> ys = decode_all(*c, encode_all(*c, sub), sub.size());
  EXPECT_EQ(ys[0], 0x1p-133f);  // the nearest multiple of bf16's subnormal step 2^-133
  EXPECT_LT(ys[1], 0.0f);
  EXPECT_NEAR(ys[1], -3e-39f, 0x1p-134f);
}

TEST(Fp16Codec, ErrorBudget) {
  std::unique_ptr<Codec> c = make_fp16_codec();
  std::vector<float> x;
  SplitMix64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const float mag = std::ldexp(1.0f, static_cast<int>(rng.next() % 46) - 30);  // 2^-30 .. 2^15
    x.push_back(testing::uniform(rng, -1.0f, 1.0f) * mag);
  }
  std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = std::fabs(static_cast<double>(x[i]));
    const double err = std::fabs(static_cast<double>(x[i]) - y[i]);
    const double budget = a >= 0x1p-14 ? 0x1p-11 * a : 0x1p-25;
    ASSERT_LE(err, budget) << "x=" << x[i] << " y=" << y[i];
  }
}

TEST(Bf16Codec, ErrorBudget) {
  std::unique_ptr<Codec> c = make_bf16_codec();
  std::vector<float> x;
  SplitMix64 rng(6);
  for (int i = 0; i < 20000; ++i) {
    const float mag = std::ldexp(1.0f, static_cast<int>(rng.next() % 250) - 125);
    x.push_back(testing::uniform(rng, -1.0f, 1.0f) * mag);
  }
  std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = std::fabs(static_cast<double>(x[i]));
    if (a < FLT_MIN) continue;
    ASSERT_LE(std::fabs(static_cast<double>(x[i]) - y[i]), 0x1p-8 * a) << "x=" << x[i];
  }
}

TEST(IdentityCodec, KeepsEveryBitIncludingNaNPayloads) {
  std::unique_ptr<Codec> c = make_identity_codec();
  std::vector<float> x = specials();
  x.push_back(std::bit_cast<float>(0xFFA00001u));
  Bytes b = encode_all(*c, x);
  std::vector<float> y = decode_all(*c, b, x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(bits_of(y[i]), bits_of(x[i])) << i;
}

// The header names the codec and count, and each element's code depends on that element only: a
// slice encodes to the matching slice of the whole encoding, from any alignment.
TEST(HalfCodecs, HeaderAndElementwiseDeterminism) {
  std::vector<float> x = testing::make_input(testing::Shape::kGaussian, 3001, 9);
  for (auto make : {make_fp16_codec, make_bf16_codec}) {
    std::unique_ptr<Codec> c = make();
    Bytes whole = encode_all(*c, x);
    EXPECT_EQ(whole[0], static_cast<std::byte>(c->id()));
    Result<CodecHeader> h = read_header(whole);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->count, x.size());
    EXPECT_EQ(h->block_size, 0u);
    for (size_t off : {size_t{1}, size_t{17}, size_t{1000}}) {
      std::span<const float> part(x.data() + off, x.size() - off);
      Bytes b = encode_all(*c, part);
      ASSERT_EQ(b.size() - kHeaderSize, whole.size() - kHeaderSize - 2 * off);
      EXPECT_TRUE(std::equal(b.begin() + kHeaderSize, b.end(),
                             whole.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + 2 * off)))
          << c->name() << " offset " << off;
    }
  }
}

}  // namespace
}  // namespace loco::codecs
