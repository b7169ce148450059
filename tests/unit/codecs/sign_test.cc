// sign_test.cc: the sign codec. Its named error budget is an identity (sign_codec.cc): per block of
// m elements with s = mean |x|,  sum (x - x^)^2 = sum x^2 - m s^2  <=  (1 - 1/m) sum x^2,
// checked here in double with a relative slack of 1e-5 for the f32 rounding of s. Also: decoded
// values are +-s with the input's sign bit, s is the mean |x|, edge counts, specials, padding.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::decode_all;
using testing::encode_all;

std::unique_ptr<Codec> sign_codec(uint32_t block) { return make_sign_codec(block).value(); }

TEST(SignCodec, ErrorBudgetIdentityAndContraction) {
  for (uint32_t block : {8u, 64u, 1024u}) {
    std::unique_ptr<Codec> c = sign_codec(block);
    for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1023}, size_t{1025},
                     size_t{5000}}) {
      for (testing::Shape shape : testing::kAllShapes) {
        std::vector<float> x = testing::make_input(shape, n, n * 3 + block);
        Bytes b = encode_all(*c, x);
        ASSERT_EQ(b.size(), kHeaderSize + 4 * ((n + block - 1) / block) + (n + 7) / 8);
        std::vector<float> y = decode_all(*c, b, n);
        for (size_t at = 0; at < n; at += block) {
          const size_t m = std::min<size_t>(block, n - at);
          long double sum_abs = 0, sum_sq = 0, err_sq = 0;
          for (size_t i = at; i < at + m; ++i) {
            sum_abs += std::fabs(static_cast<long double>(x[i]));
            sum_sq += static_cast<long double>(x[i]) * x[i];
            const long double d = static_cast<long double>(x[i]) - y[i];
            err_sq += d * d;
          }
          const long double s = sum_abs / static_cast<long double>(m);
          const std::string what = "block " + std::to_string(block) + " n " + std::to_string(n) +
                                   " " + testing::shape_name(shape) + " at " + std::to_string(at);
          // Every decoded value is +-s with the sign bit of its input.
          for (size_t i = at; i < at + m; ++i) {
            ASSERT_EQ(std::signbit(y[i]), std::signbit(x[i])) << what << " i " << i;
            ASSERT_EQ(std::fabs(y[i]), std::fabs(y[at])) << what << " i " << i;
          }
          ASSERT_NEAR(static_cast<double>(std::fabs(y[at])), static_cast<double>(s),
                      1e-6 * static_cast<double>(s) + 1e-45) << what;
          const long double slack = 1e-5L * sum_sq + 1e-90L;
          ASSERT_NEAR(static_cast<double>(err_sq),
                      static_cast<double>(sum_sq - static_cast<long double>(m) * s * s),
                      static_cast<double>(slack)) << what;
          ASSERT_LE(static_cast<double>(err_sq),
                    static_cast<double>((1.0L - 1.0L / m) * sum_sq + slack)) << what;
        }
      }
    }
  }
}

TEST(SignCodec, NegativeZeroDecodesNegativeAndZeroBlockIsZero) {
  std::unique_ptr<Codec> c = sign_codec(8);
  std::vector<float> x = {-0.0f, 0.0f, 2.0f, -2.0f, 0, 0, 0, 0, /*second block*/ 0, -0.0f};
  std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
  EXPECT_EQ(y[0], -0.5f);
  EXPECT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], -0.5f);
  EXPECT_EQ(y[8], 0.0f);
  EXPECT_TRUE(std::signbit(y[9]));
}

TEST(SignCodec, RejectsNonFiniteInputAndPadsWithZeroBits) {
  std::unique_ptr<Codec> c = sign_codec(8);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x = {1, 2, 3, bad, 5};
    Bytes out(c->encoded_size_bound(x.size()));
    EXPECT_EQ(c->encode(x, out).status().code(), StatusCode::kInvalidArgument);
  }
  std::vector<float> x(11, -1.0f);
  Bytes b = encode_all(*c, x);
  EXPECT_EQ(static_cast<uint8_t>(b.back()), 0x07);  // 3 used bits set, 5 padding bits clear
}

TEST(SignCodec, DeterministicAcrossAlignments) {
  std::unique_ptr<Codec> c = sign_codec(64);
  std::vector<float> x = testing::make_input(testing::Shape::kHeavy, 1000, 2);
  Bytes ref = encode_all(*c, x);
  for (size_t shift = 1; shift < 8; ++shift) {
    std::vector<float> buf(x.size() + shift);
    std::copy(x.begin(), x.end(), buf.begin() + static_cast<std::ptrdiff_t>(shift));
    EXPECT_EQ(encode_all(*c, std::span<const float>(buf.data() + shift, x.size())), ref);
  }
}

}  // namespace
}  // namespace loco::codecs
