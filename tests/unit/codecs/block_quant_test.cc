// block_quant_test.cc: the int8 and int4 block codecs. The named error budget (block_quant.h):
//   |x - x^| <= scale/2 * (1 + 2^-12) + 2^-21 * max(|lo|, |hi|) + 2^-118,  scale = (hi - lo) / L
// with lo, hi the block's min and max computed here independently (L = 255 or 15). Also: the
// stored parameters, exact extremes, monotonicity, edge counts and block sizes, special values,
// -0 canonicalization and bit-exact determinism across memory alignments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::bits_of;
using testing::decode_all;
using testing::encode_all;

struct Variant {
  const char* name;
  int levels;
  Result<std::unique_ptr<Codec>> (*make)(uint32_t);
  size_t code_bytes(size_t n) const { return levels == 255 ? n : (n + 1) / 2; }
};
const Variant kVariants[] = {{"int8", 255, make_int8_codec}, {"int4", 15, make_int4_codec}};

std::unique_ptr<Codec> make(const Variant& v, uint32_t block) {
  Result<std::unique_ptr<Codec>> c = v.make(block);
  EXPECT_TRUE(c.ok());
  return std::move(c).value();
}

// Checks the budget for every element; returns the largest error in units of scale (for info).
void check_budget(const Variant& v, uint32_t block, std::span<const float> x,
                  std::span<const float> y, const std::string& what) {
  for (size_t at = 0; at < x.size(); at += block) {
    const size_t m = std::min<size_t>(block, x.size() - at);
    double lo = x[at], hi = x[at];
    for (size_t i = at; i < at + m; ++i) {
      lo = std::min<double>(lo, x[i]);
      hi = std::max<double>(hi, x[i]);
    }
    const double scale = (hi - lo) / v.levels;
    const double budget = 0.5 * scale * (1.0 + 0x1p-12) +
                          0x1p-21 * std::max(std::fabs(lo), std::fabs(hi)) + 0x1p-118;
    for (size_t i = at; i < at + m; ++i) {
      const double err = std::fabs(static_cast<double>(x[i]) - y[i]);
      ASSERT_LE(err, budget) << what << " element " << i << " x=" << x[i] << " y=" << y[i]
                             << " scale=" << scale;
      // Decoded values stay inside the block's range, give or take the same slack.
      ASSERT_GE(y[i], lo - budget) << what << " element " << i;
      ASSERT_LE(y[i], hi + budget) << what << " element " << i;
    }
  }
}

TEST(BlockQuant, ErrorBudgetOverShapesCountsAndBlockSizes) {
  for (const Variant& v : kVariants) {
    for (uint32_t block : {8u, 64u, 256u, 4096u}) {
      std::unique_ptr<Codec> c = make(v, block);
      for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{8}, size_t{9},
                       size_t{255}, size_t{256}, size_t{257}, size_t{1001}, size_t{8193}}) {
        for (testing::Shape shape : testing::kAllShapes) {
          std::vector<float> x = testing::make_input(shape, n, n + block);
          Bytes b = encode_all(*c, x);
          ASSERT_EQ(b.size(), kHeaderSize + 8 * ((n + block - 1) / block) + v.code_bytes(n));
          std::vector<float> y = decode_all(*c, b, n);
          check_budget(v, block, x, y,
                       std::string(v.name) + " block " + std::to_string(block) + " n " +
                           std::to_string(n) + " " + testing::shape_name(shape));
        }
      }
    }
  }
}

TEST(BlockQuant, StoredParametersAndExactExtremes) {
  for (const Variant& v : kVariants) {
    std::unique_ptr<Codec> c = make(v, 64);
    std::vector<float> x = testing::make_input(testing::Shape::kUniform, 64, 3);
    Bytes b = encode_all(*c, x);
    float lo, scale;
    std::memcpy(&lo, b.data() + kHeaderSize, 4);
    std::memcpy(&scale, b.data() + kHeaderSize + 4, 4);
    const float mn = *std::min_element(x.begin(), x.end());
    const float mx = *std::max_element(x.begin(), x.end());
    EXPECT_EQ(lo, mn) << v.name;
    EXPECT_EQ(scale, (mx - mn) / static_cast<float>(v.levels)) << v.name;
    std::vector<float> y = decode_all(*c, b, x.size());
    const size_t imin = static_cast<size_t>(std::min_element(x.begin(), x.end()) - x.begin());
    const size_t imax = static_cast<size_t>(std::max_element(x.begin(), x.end()) - x.begin());
    EXPECT_EQ(y[imin], mn) << v.name << ": the minimum is code 0, decoded exactly";
    EXPECT_NEAR(y[imax], mx, 1e-6) << v.name << ": the maximum is the top code";
  }
}

TEST(BlockQuant, MonotoneWithinABlock) {
  for (const Variant& v : kVariants) {
    std::unique_ptr<Codec> c = make(v, 1024);
    std::vector<float> x = testing::make_input(testing::Shape::kGaussian, 1024, 4);
    std::sort(x.begin(), x.end());
    std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
    for (size_t i = 1; i < y.size(); ++i) ASSERT_LE(y[i - 1], y[i]) << v.name << " at " << i;
  }
}

TEST(BlockQuant, ConstantAndZeroBlocksAreExact) {
  for (const Variant& v : kVariants) {
    std::unique_ptr<Codec> c = make(v, 16);
    std::vector<float> x(40, 3.25f);
    std::fill(x.begin() + 16, x.begin() + 32, 0.0f);
    std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]) << v.name << " at " << i;
  }
}

TEST(BlockQuant, NegativeZeroMinimumIsStoredAsPlusZero) {
  for (const Variant& v : kVariants) {
    std::unique_ptr<Codec> c = make(v, 16);
    std::vector<float> a(16, 1.0f), b(16, 1.0f);
    a[3] = -0.0f;
    a[9] = 0.0f;
    b[3] = 0.0f;
    b[9] = -0.0f;
    Bytes ea = encode_all(*c, a), eb = encode_all(*c, b);
    float lo;
    std::memcpy(&lo, ea.data() + kHeaderSize, 4);
    EXPECT_EQ(bits_of(lo), 0u) << v.name;
    EXPECT_EQ(ea, eb) << v.name << ": +0 and -0 minimum give the same bytes";
  }
}

TEST(BlockQuant, SpecialInputsAreRejectedWithInvalidArgument) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Variant& v : kVariants) {
    std::unique_ptr<Codec> c = make(v, 8);
    for (std::vector<float> x : std::vector<std::vector<float>>{
             {1, 2, nan}, {inf, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9, -inf}, {-FLT_MAX, FLT_MAX},
             {-3e38f, 1, 3e38f}}) {
      Bytes out(c->encoded_size_bound(x.size()));
      EXPECT_EQ(c->encode(x, out).status().code(), StatusCode::kInvalidArgument) << v.name;
    }
    // Large magnitudes of one sign, and a range just inside f32, are fine.
    std::vector<float> big = {FLT_MAX, 3e38f, 1e38f, FLT_MAX};
    check_budget(v, 8, big, decode_all(*c, encode_all(*c, big), big.size()), "big");
    std::vector<float> wide = {-1.7e38f, 1.7e38f, 0.0f, 1.0f};
    check_budget(v, 8, wide, decode_all(*c, encode_all(*c, wide), wide.size()), "wide");
  }
}

TEST(BlockQuant, BitExactAcrossAlignmentsAndRepeats) {
  for (const Variant& v : kVariants) {
    std::unique_ptr<Codec> c = make(v, 256);
    std::vector<float> x = testing::make_input(testing::Shape::kGaussian, 5000, 8);
    Bytes ref = encode_all(*c, x);
    for (size_t shift = 1; shift < 8; ++shift) {
      std::vector<float> buf(x.size() + shift);
      std::copy(x.begin(), x.end(), buf.begin() + static_cast<std::ptrdiff_t>(shift));
      std::span<const float> moved(buf.data() + shift, x.size());
      EXPECT_EQ(encode_all(*c, moved), ref) << v.name << " shift " << shift;
      // Output at an odd address too.
      Bytes out(ref.size() + shift);
      ASSERT_TRUE(c->encode(x, MutableByteSpan(out).subspan(shift)).ok());
      EXPECT_TRUE(std::equal(ref.begin(), ref.end(), out.begin() + static_cast<std::ptrdiff_t>(shift)));
      std::vector<float> y1 = decode_all(*c, ref, x.size());
      std::vector<float> y2 = decode_all(*c, ByteSpan(out).subspan(shift), x.size());
      EXPECT_EQ(std::memcmp(y1.data(), y2.data(), 4 * y1.size()), 0);
    }
    // Blocks are independent: a block encodes to the same codes wherever it sits.
    std::span<const float> second(x.data() + 256, 256);
    Bytes part = encode_all(*c, second);
    const size_t nb = (x.size() + 255) / 256;
    EXPECT_TRUE(std::equal(part.begin() + kHeaderSize, part.begin() + kHeaderSize + 8,
                           ref.begin() + kHeaderSize + 8))
        << v.name << ": parameters of block 1";
    const size_t codes_at = kHeaderSize + 8 * nb + v.code_bytes(256);
    EXPECT_TRUE(std::equal(part.begin() + kHeaderSize + 8, part.end(),
                           ref.begin() + static_cast<std::ptrdiff_t>(codes_at)))
        << v.name << ": codes of block 1";
  }
}

TEST(Int4Codec, OddCountLeavesTheLastHighNibbleZero) {
  std::unique_ptr<Codec> c = make(kVariants[1], 8);
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  Bytes b = encode_all(*c, x);
  EXPECT_EQ(static_cast<uint8_t>(b.back()) & 0xF0, 0);
}

}  // namespace
}  // namespace loco::codecs
