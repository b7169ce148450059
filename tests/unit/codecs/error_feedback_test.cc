// error_feedback_test.cc: EF and EF21 around lossy codecs.
//   EF: after T rounds, sum of decoded messages + residual = sum of inputs (telescoping), up to f32
//       rounding; with a constant input the residual stays bounded, so the mean decoded message
//       converges to the input, which plain top-k never does.
//   EF21: the estimate g converges to a constant input, and a receiver applying the same messages
//       holds bit-identical g.
// Also: a failed encode leaves the state untouched; wrong sizes are INVALID_ARGUMENT.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "codecs/error_feedback.h"
#include "codecs/random_k.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::must_make;

double norm(std::span<const float> v) {
  double s = 0;
  for (float f : v) s += static_cast<double>(f) * f;
  return std::sqrt(s);
}

TEST(ErrorFeedback, TelescopesForEveryLossyCodec) {
  const size_t n = 3000;
  for (const char* spec : {"topk:fraction=0.01", "int4:block=64", "sign:block=256", "int8:block=64",
                           "randomk:fraction=0.05", "bf16"}) {
    std::unique_ptr<Codec> c = must_make(spec);
    ErrorFeedback ef(*c, n);
    std::vector<double> sum_x(n, 0), sum_sent(n, 0);
    Bytes out(ef.encoded_size_bound());
    for (int t = 0; t < 50; ++t) {
      if (c->id() == CodecId::kRandomK) static_cast<RandomKCodec*>(c.get())->set_seed(static_cast<uint64_t>(t));
      std::vector<float> x = testing::make_input(testing::Shape::kGaussian, n, static_cast<uint64_t>(t));
      Result<size_t> bytes = ef.encode(x, out);
      ASSERT_TRUE(bytes.ok()) << spec << ": " << bytes.status().to_string();
      std::vector<float> decoded(n);
      ASSERT_TRUE(c->decode(ByteSpan(out).first(*bytes), decoded).ok());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(decoded[i], ef.last_decoded()[i]) << spec;
        sum_x[i] += x[i];
        sum_sent[i] += decoded[i];
      }
    }
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::fabs(sum_sent[i] + ef.state()[i] - sum_x[i]));
    }
    EXPECT_LT(worst, 1e-3) << spec << ": sum sent + residual != sum of inputs";
  }
}

TEST(ErrorFeedback, TopKWithFeedbackConvergesWhereTopKAloneStalls) {
  const size_t n = 1000;
  std::unique_ptr<Codec> c = must_make("topk:fraction=0.01");
  std::vector<float> x = testing::make_input(testing::Shape::kUniform, n, 1);
  ErrorFeedback ef(*c, n);
  Bytes out(ef.encoded_size_bound());
  std::vector<double> mean_ef(n, 0), mean_plain(n, 0);
  const int rounds = 2000;
  std::vector<float> plain(n);
  for (int t = 0; t < rounds; ++t) {
    ASSERT_TRUE(ef.encode(x, out).ok());
    for (size_t i = 0; i < n; ++i) mean_ef[i] += ef.last_decoded()[i] / double{rounds};
    Bytes b(c->encoded_size_bound(n));
    ASSERT_TRUE(c->encode(x, b).ok());
    ASSERT_TRUE(c->decode(b, plain).ok());
    for (size_t i = 0; i < n; ++i) mean_plain[i] += plain[i] / double{rounds};
  }
  double err_ef = 0, err_plain = 0;
  for (size_t i = 0; i < n; ++i) {
    err_ef += (mean_ef[i] - x[i]) * (mean_ef[i] - x[i]);
    err_plain += (mean_plain[i] - x[i]) * (mean_plain[i] - x[i]);
  }
  const double nx = norm(x);
  // Without feedback 99% of the coordinates are never sent: the error stays near |x|.
  EXPECT_GT(std::sqrt(err_plain), 0.9 * nx);
  // With feedback the residual stays bounded, so the mean error shrinks like 1/T.
  EXPECT_LT(std::sqrt(err_ef), 0.05 * nx);
  // The EF bound for a delta-contractive compressor (top-k: delta = k/n): |e| <= q/(1-q) max|x|,
  // q = sqrt(1 - delta).
  const double q = std::sqrt(1.0 - 0.01);
  EXPECT_LT(norm(ef.state()), q / (1 - q) * nx);
}

TEST(ErrorFeedback, Ef21EstimateConvergesAndReceiverMatchesBitForBit) {
  const size_t n = 500;
  for (const char* spec : {"topk:fraction=0.05", "int4:block=32", "sign:block=64"}) {
    std::unique_ptr<Codec> c = must_make(spec);
    ErrorFeedback ef(*c, n, FeedbackMode::kEf21);
    Ef21Receiver rx(*c, n);
    std::vector<float> x = testing::make_input(testing::Shape::kGaussian, n, 2);
    Bytes out(ef.encoded_size_bound());
    for (int t = 0; t < 400; ++t) {
      Result<size_t> bytes = ef.encode(x, out);
      ASSERT_TRUE(bytes.ok());
      ASSERT_TRUE(rx.apply(ByteSpan(out).first(*bytes)).ok());
    }
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(testing::bits_of(rx.estimate()[i]), testing::bits_of(ef.state()[i])) << spec;
    }
    std::vector<float> diff(n);
    for (size_t i = 0; i < n; ++i) diff[i] = x[i] - ef.state()[i];
    EXPECT_LT(norm(diff), 1e-3 * norm(x)) << spec;
    // The receiver ignores a corrupt message and keeps its estimate.
    std::vector<float> before(rx.estimate().begin(), rx.estimate().end());
    Bytes bad(out.begin(), out.begin() + 10);
    EXPECT_FALSE(rx.apply(bad).ok());
    EXPECT_TRUE(std::equal(before.begin(), before.end(), rx.estimate().begin()));
  }
}

TEST(ErrorFeedback, FailedEncodeLeavesStateAndWrongSizeIsRejected) {
  std::unique_ptr<Codec> c = must_make("int8:block=8");
  ErrorFeedback ef(*c, 16);
  std::vector<float> x = testing::make_input(testing::Shape::kUniform, 16, 3);
  Bytes out(ef.encoded_size_bound());
  ASSERT_TRUE(ef.encode(x, out).ok());
  std::vector<float> state(ef.state().begin(), ef.state().end());
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ef.encode(x, out).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::equal(state.begin(), state.end(), ef.state().begin()));
  std::vector<float> wrong(15);
  EXPECT_EQ(ef.encode(wrong, out).status().code(), StatusCode::kInvalidArgument);
  Bytes small(3);
  x[5] = 0;
  EXPECT_EQ(ef.encode(x, small).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::equal(state.begin(), state.end(), ef.state().begin()));
  ef.reset();
  EXPECT_EQ(norm(ef.state()), 0.0);
}

TEST(ErrorFeedback, ResidualDecayScalesTheCarriedError) {
  std::unique_ptr<Codec> c = must_make("topk:fraction=0.1");
  ErrorFeedback ef(*c, 10, FeedbackMode::kEf, 0.5f);
  std::vector<float> x = {10, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  Bytes out(ef.encoded_size_bound());
  ASSERT_TRUE(ef.encode(x, out).ok());  // sends 10, residual = the nine 1s
  EXPECT_EQ(ef.state()[0], 0.0f);
  EXPECT_EQ(ef.state()[1], 1.0f);
  std::vector<float> zero(10, 0.0f);
  ASSERT_TRUE(ef.encode(zero, out).ok());  // compresses 0.5 * residual: sends index 1 (0.5)
  EXPECT_EQ(ef.last_decoded()[1], 0.5f);
  EXPECT_EQ(ef.state()[1], 0.0f);
  EXPECT_EQ(ef.state()[2], 0.5f);
}

}  // namespace
}  // namespace loco::codecs
