// PowerSGD: exact on a rank-1 matrix, error feedback conserves the gradient sum, peers stay
// bit-identical, and missing or wrong shapes are rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/rng.h"
#include "optim/powersgd.h"
#include "unit/optim/driver.h"

namespace loco::optim {
namespace {

using V = std::vector<float>;

TEST(PowerSgdMath, RankOneMatrixIsReproducedAndLeavesNoError) {
  // M = a b^T with a = (1, 2, -1), b = (1, 0, 2, -1): P = M Q = a (b^T Q) -> a / |a| after
  // orthonormalization (up to sign), Q' = M^T P = b |a|, P Q'^T = a b^T.
  const V a = {1, 2, -1}, b = {1, 0, 2, -1};
  V g(12);
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 4; ++j) g[i * 4 + j] = a[i] * b[j];
  const V m = g;
  PowerSgd s(PowerSgdOptions{1, {{3, 4}}, 7});
  ASSERT_TRUE(s.init(V(12, 0.0f)).ok());
  EXPECT_EQ(s.floats_per_step(), 7u);  // P: 3, Q: 4 (instead of 12)
  testing::SimulatedSwarm swarm(1);
  ASSERT_TRUE(s.on_gradients(g, 0, swarm.peer(0)).ok());
  for (size_t i = 0; i < 12; ++i) EXPECT_NEAR(g[i], m[i], 1e-5) << i;
  for (float e : s.state_buffers()[0].data) EXPECT_NEAR(e, 0.0f, 1e-5);
  EXPECT_EQ(swarm.peer(0).calls(), 2);
}

TEST(PowerSgdMath, ErrorFeedbackConservesTheSumOfGradients) {
  // One peer: what was applied plus what is still in the residual equals what came in.
  PowerSgd s(PowerSgdOptions{1, {{4, 5}, {3, 1}}, 1});
  ASSERT_TRUE(s.init(V(23, 0.0f)).ok());
  testing::SimulatedSwarm swarm(1);
  SplitMix64 rng(3);
  std::vector<double> in(23, 0.0), applied(23, 0.0);
  for (int step = 0; step < 8; ++step) {
    V g(23);
    for (auto& v : g) v = static_cast<float>(static_cast<double>(rng.next() >> 40) / 8388608.0 - 1.0);
    const V g0 = g;
    for (size_t i = 0; i < 23; ++i) in[i] += g[i];
    ASSERT_TRUE(s.on_gradients(g, step, swarm.peer(0)).ok());
    for (size_t i = 20; i < 23; ++i) EXPECT_EQ(g[i], g0[i]);  // the vector goes uncompressed
    for (size_t i = 0; i < 23; ++i) applied[i] += g[i];
  }
  auto e = s.state_buffers()[0].data;
  double worst = 0.0, residual = 0.0;
  for (size_t i = 0; i < 23; ++i) {
    worst = std::max(worst, std::fabs(applied[i] + e[i] - in[i]));
    residual = std::max(residual, std::fabs(static_cast<double>(e[i])));
  }
  EXPECT_LT(worst, 1e-4);
  EXPECT_GT(residual, 1e-3);  // rank 1 of random 4x5 matrices does leave an error to carry
}

TEST(PowerSgdMath, PeersStayBitIdentical) {
  const std::vector<std::pair<size_t, size_t>> shapes = {{8, 6}, {6, 1}, {5, 5}};
  const size_t n = 48 + 6 + 25;
  testing::GradFn g = [](int p, int64_t step, std::span<const float> x, std::span<float> out) {
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = x[i] - std::sin(0.3f * static_cast<float>(i) + static_cast<float>(p + step));
    }
  };
  std::vector<int> calls;
  auto runs = testing::run_swarm(
      3, [&] { return std::make_unique<PowerSgd>(PowerSgdOptions{2, shapes, 5}); }, V(n, 0.5f), 6,
      0.1f, g, &calls);
  for (int p = 0; p < 3; ++p) {
    ASSERT_TRUE(runs[p].status.ok()) << runs[p].status.to_string();
    ASSERT_EQ(runs[p].synced.size(), 6u);
    for (size_t s = 0; s < 6; ++s) {
      EXPECT_EQ(0, std::memcmp(runs[p].synced[s].data(), runs[0].synced[s].data(), n * sizeof(float)));
    }
  }
  EXPECT_EQ(calls, (std::vector<int>{12, 12, 12}));
  EXPECT_NE(runs[0].params, V(n, 0.5f));
}

TEST(PowerSgdMath, ShapesMustCoverTheParameters) {
  PowerSgd none(PowerSgdOptions{2, {}, 0});
  EXPECT_EQ(none.init(V(4)).code(), StatusCode::kInvalidArgument);
  PowerSgd wrong(PowerSgdOptions{2, {{2, 3}}, 0});
  EXPECT_EQ(wrong.init(V(7)).code(), StatusCode::kInvalidArgument);
  PowerSgd zero(PowerSgdOptions{2, {{0, 3}}, 0});
  EXPECT_EQ(zero.init(V(0)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loco::optim
