// random_k_test.cc: random-k with a shared seed. The indices are a pure function of (seed, n, k):
// distinct, ascending, in range, reproducible, different for different seeds and close to uniform.
// The codec sends only seed and values, and the decoder regenerates the indices from the seed on
// the wire. Named error budget: x^ equals x on the k drawn coordinates and 0 elsewhere, so
// |x - x^|^2 = |x|^2 - sum over drawn x^2, whose mean over seeds is (1 - k/n)|x|^2 (checked within
// 5% over 400 seeds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "codecs/random_k.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::decode_all;
using testing::encode_all;

TEST(RandomKIndices, DistinctSortedInRangeAndReproducible) {
  for (size_t n : {size_t{1}, size_t{2}, size_t{63}, size_t{64}, size_t{65}, size_t{1000}, size_t{100000}}) {
    for (size_t k : {size_t{0}, size_t{1}, n / 3, n - 1, n}) {
      if (k > n) continue;
      std::vector<uint32_t> a = random_k_indices(42, n, k);
      ASSERT_EQ(a.size(), k);
      for (size_t j = 0; j < a.size(); ++j) {
        ASSERT_LT(a[j], n);
        if (j > 0) {
          ASSERT_LT(a[j - 1], a[j]);
        }
      }
      EXPECT_EQ(random_k_indices(42, n, k), a);
      if (k == n) {
        for (size_t j = 0; j < n; ++j) ASSERT_EQ(a[j], j);
      }
    }
  }
  EXPECT_NE(random_k_indices(1, 100000, 100), random_k_indices(2, 100000, 100));
  EXPECT_TRUE(random_k_indices(1, 10, 11).empty());  // k > n: nothing (the codec never asks)
}

TEST(RandomKIndices, RoughlyUniform) {
  const size_t n = 100, k = 10, rounds = 20000;
  std::vector<int> hits(n, 0);
  for (size_t s = 0; s < rounds; ++s) {
    for (uint32_t i : random_k_indices(s, n, k)) ++hits[i];
  }
  const double expect = static_cast<double>(rounds * k) / n;  // 2000, sd about 42
  for (size_t i = 0; i < n; ++i) EXPECT_NEAR(hits[i], expect, 6 * std::sqrt(expect)) << i;
}

TEST(RandomKCodec, SendsSeedAndValuesOnlyAndDecodesFromTheWireSeed) {
  std::unique_ptr<RandomKCodec> enc = RandomKCodec::make({0.1, 0}).value();
  std::unique_ptr<RandomKCodec> dec = RandomKCodec::make({0.5, 777}).value();  // other options
  std::vector<float> x = testing::make_input(testing::Shape::kGaussian, 1001, 3);
  const size_t k = 101;
  for (uint64_t seed : {uint64_t{0}, uint64_t{5}, ~uint64_t{0}}) {
    enc->set_seed(seed);
    Bytes b = encode_all(*enc, x);
    ASSERT_EQ(b.size(), kHeaderSize + 12 + 4 * k);
    std::vector<float> y = decode_all(*dec, b, x.size());
    std::vector<uint32_t> idx = random_k_indices(seed, x.size(), k);
    std::vector<bool> drawn(x.size(), false);
    for (uint32_t i : idx) drawn[i] = true;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(y[i], drawn[i] ? x[i] : 0.0f) << "seed " << seed << " i " << i;
    }
  }
}

TEST(RandomKCodec, ErrorBudgetInExpectation) {
  std::unique_ptr<RandomKCodec> c = RandomKCodec::make({0.05, 0}).value();
  std::vector<float> x = testing::make_input(testing::Shape::kHeavy, 2000, 4);
  double norm = 0;
  for (float v : x) norm += static_cast<double>(v) * v;
  double mean_ratio = 0;
  const int rounds = 400;
  for (int s = 0; s < rounds; ++s) {
    c->set_seed(static_cast<uint64_t>(s));
    std::vector<float> y = decode_all(*c, encode_all(*c, x), x.size());
    double err = 0;
    for (size_t i = 0; i < x.size(); ++i) err += (static_cast<double>(x[i]) - y[i]) * (x[i] - y[i]);
    ASSERT_LE(err, norm * (1 + 1e-12));
    mean_ratio += err / norm / rounds;
  }
  EXPECT_NEAR(mean_ratio, 1.0 - 0.05, 0.05);
}

TEST(RandomKCodec, RejectsNonFiniteDrawnInput) {
  std::unique_ptr<RandomKCodec> c = RandomKCodec::make({1.0, 0}).value();
  std::vector<float> x = {1, std::numeric_limits<float>::quiet_NaN(), 2};
  Bytes out(c->encoded_size_bound(x.size()));
  EXPECT_EQ(c->encode(x, out).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loco::codecs
