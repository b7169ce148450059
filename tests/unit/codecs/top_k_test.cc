// top_k_test.cc: the top-k codec and selection. Named error budget: the kept values are exact, every
// dropped |x| <= every kept |x|, and sum of dropped x^2 <= (1 - k/n) sum x^2. The sampled-threshold
// path must return exactly the exact path's indices (ties broken by lower index), and must actually
// be taken on ordinary inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "codecs/top_k.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::decode_all;
using testing::encode_all;

// Independent reference: a full stable sort by decreasing |x|.
std::vector<uint32_t> ref_top_k(const std::vector<float>& x, size_t k) {
  std::vector<uint32_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](uint32_t a, uint32_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::unique_ptr<Codec> top_k(double fraction, bool exact = false) {
  return make_top_k_codec({fraction, exact}).value();
}

TEST(TopKCodec, KeepsTheLargestMagnitudesExactlyWithinBudget) {
  for (double fraction : {0.001, 0.01, 0.1, 0.5, 1.0}) {
    for (size_t n : {size_t{1}, size_t{2}, size_t{9}, size_t{1000}, size_t{4097}}) {
      for (testing::Shape shape : testing::kAllShapes) {
        std::vector<float> x = testing::make_input(shape, n, n + 17);
        std::unique_ptr<Codec> c = top_k(fraction);
        const size_t k = std::max<size_t>(1, std::min<size_t>(n, static_cast<size_t>(std::ceil(fraction * static_cast<double>(n)))));
        Bytes b = encode_all(*c, x);
        ASSERT_EQ(b.size(), kHeaderSize + 4 + 8 * k);
        std::vector<float> y = decode_all(*c, b, n);
        const std::vector<uint32_t> want = ref_top_k(x, k);
        std::vector<bool> kept(n, false);
        for (uint32_t i : want) kept[i] = true;
        double min_kept = INFINITY, max_dropped = 0, dropped_sq = 0, total_sq = 0;
        const std::string what = std::to_string(fraction) + " n " + std::to_string(n) + " " +
                                 testing::shape_name(shape);
        for (size_t i = 0; i < n; ++i) {
          total_sq += static_cast<double>(x[i]) * x[i];
          if (kept[i]) {
            ASSERT_EQ(testing::bits_of(y[i]), testing::bits_of(x[i])) << what << " i " << i;
            min_kept = std::min<double>(min_kept, std::fabs(x[i]));
          } else {
            ASSERT_EQ(testing::bits_of(y[i]), 0u) << what << " i " << i;
            max_dropped = std::max<double>(max_dropped, std::fabs(x[i]));
            dropped_sq += static_cast<double>(x[i]) * x[i];
          }
        }
        ASSERT_LE(max_dropped, min_kept) << what;
        ASSERT_LE(dropped_sq, (1.0 - static_cast<double>(k) / static_cast<double>(n)) * total_sq * (1 + 1e-12)) << what;
      }
    }
  }
}

TEST(TopKSelection, SampledPathEqualsExactPathAndIsTaken) {
  for (size_t n : {size_t{1} << 14, size_t{100003}, size_t{1} << 20}) {
    for (testing::Shape shape : testing::kAllShapes) {
      std::vector<float> x = testing::make_input(shape, n, n ^ 0xABC);
      for (double fraction : {1e-5, 1e-3, 0.01, 0.1, 0.25}) {
        const size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(fraction * static_cast<double>(n))));
        TopKPath path_fast, path_exact;
        std::vector<uint32_t> fast = top_k_indices(x, k, false, &path_fast);
        std::vector<uint32_t> exact = top_k_indices(x, k, true, &path_exact);
        const std::string what = std::string(testing::shape_name(shape)) + " n " +
                                 std::to_string(n) + " k " + std::to_string(k);
        EXPECT_EQ(path_exact, TopKPath::kExact) << what;
        ASSERT_EQ(fast, exact) << what;
        // Continuous distributions never need the fallback; the constant and sparse ones (ties,
        // mostly zeros) may.
        // (The sampled path is for k <= n/4 only.)
        if (k <= n / 4 && (shape == testing::Shape::kGaussian || shape == testing::Shape::kUniform ||
                           shape == testing::Shape::kHeavy)) {
          EXPECT_EQ(path_fast, TopKPath::kSampled) << what;
        }
        if (n == (size_t{1} << 20) && shape == testing::Shape::kGaussian) {
          ASSERT_EQ(exact, ref_top_k(x, k)) << what;
        }
      }
    }
  }
}

TEST(TopKSelection, TiesGoToTheLowerIndex) {
  std::vector<float> x(50000, 1.0f);
  x[7] = -1.0f;
  std::vector<uint32_t> got = top_k_indices(x, 5, false);
  EXPECT_EQ(got, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  x[40000] = 2.0f;
  got = top_k_indices(x, 3, false);
  EXPECT_EQ(got, (std::vector<uint32_t>{0, 1, 40000}));
}

TEST(TopKCodec, RejectsNonFiniteInput) {
  std::unique_ptr<Codec> c = top_k(0.5);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> x = {1, bad, 3, 4};
    Bytes out(c->encoded_size_bound(x.size()));
    EXPECT_EQ(c->encode(x, out).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(TopKCodec, ExactOptionGivesTheSameBytes) {
  std::vector<float> x = testing::make_input(testing::Shape::kGaussian, 200000, 99);
  EXPECT_EQ(encode_all(*top_k(0.01, false), x), encode_all(*top_k(0.01, true), x));
}

}  // namespace
}  // namespace loco::codecs
