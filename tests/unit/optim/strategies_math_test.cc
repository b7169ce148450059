// Each strategy's arithmetic against numbers worked out by hand: two simulated peers, two
// parameters, inner SGD with lr 1/4, and gradients from a fixed table. Every value is a short
// dyadic fraction, so fp32 computes them exactly and the expectations are equalities.
//
// Start x = (1, -2). Gradients per step:
//            step 0     step 1     step 2     step 3
//   peer A   (1, 2)     (1, 0)     (0, 1)     (2, 1)
//   peer B   (3, -2)    (1, 4)     (-1, 0)    (-1, 2)
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "optim/ddp.h"
#include "optim/diloco.h"
#include "optim/local_sgd.h"
#include "optim/lofi.h"
#include "unit/optim/driver.h"

namespace loco::optim {
namespace {

using testing::PeerRun;
using testing::run_swarm;
using testing::table_grads;
using V = std::vector<float>;

const V kX0 = {1.0f, -2.0f};
constexpr float kLr = 0.25f;

testing::GradFn hand_grads() {
  return table_grads({{{1, 2}, {1, 0}, {0, 1}, {2, 1}}, {{3, -2}, {1, 4}, {-1, 0}, {-1, 2}}});
}

bool same_bits(const V& a, const V& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(DdpMath, AveragesGradientsEveryStep) {
  // step 0: mean g = (2, 0)  -> x = (1 - 0.5, -2)       = (0.5, -2)
  // step 1: mean g = (1, 2)  -> x = (0.25, -2.5)
  // step 2: mean g = (-0.5, 0.5) -> x = (0.375, -2.625)
  // step 3: mean g = (0.5, 1.5)  -> x = (0.25, -3)
  std::vector<int> calls;
  auto runs = run_swarm(
      2, [] { return std::make_unique<Ddp>(DdpOptions{.bucket_bytes = 4}); }, kX0, 4, kLr,
      hand_grads(), &calls);
  const std::vector<V> expected = {{0.5f, -2.0f}, {0.25f, -2.5f}, {0.375f, -2.625f}, {0.25f, -3.0f}};
  for (const PeerRun& r : runs) {
    ASSERT_TRUE(r.status.ok()) << r.status.to_string();
    EXPECT_EQ(r.synced, expected);  // DDP: parameters identical after every step
    EXPECT_EQ(r.params, expected.back());
  }
  // A 4-byte bucket holds one float: two collectives per step, none in finish().
  EXPECT_EQ(calls, (std::vector<int>{8, 8}));
}

TEST(DdpMath, BucketsNeverOneMessagePerElement) {
  // 10 floats with the default 4 MiB bucket: one collective per step; with 16-byte buckets
  // (4 floats): 3 per step (4 + 4 + 2).
  testing::GradFn g = [](int rank, int64_t step, std::span<const float>, std::span<float> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(rank + step) + 0.5f * static_cast<float>(i);
  };
  const V x0(10, 1.0f);
  std::vector<int> calls;
  auto big = run_swarm(2, [] { return std::make_unique<Ddp>(); }, x0, 3, kLr, g, &calls);
  EXPECT_EQ(calls, (std::vector<int>{3, 3}));
  auto small = run_swarm(
      2, [] { return std::make_unique<Ddp>(DdpOptions{.bucket_bytes = 16}); }, x0, 3, kLr, g,
      &calls);
  EXPECT_EQ(calls, (std::vector<int>{9, 9}));
  // Bucketing does not change the result (the average is element-wise).
  EXPECT_TRUE(same_bits(big[0].params, small[0].params));
  EXPECT_TRUE(same_bits(big[0].params, big[1].params));
}

TEST(DilocoMath, TwoRoundsWithNesterov) {
  // H = 2, outer lr 1/2, Nesterov momentum 1/2.
  // Round 1 (steps 0, 1): A = x - (2, 2)/4 = (0.5, -2.5); B = x - (4, 2)/4 = (0, -2.5).
  //   pseudo-gradients: A (0.5, 0.5), B (1, 0.5); mean D = (0.75, 0.5)
  //   v = D = (0.75, 0.5); d = D + v/2 = (1.125, 0.75); x = (1, -2) - d/2 = (0.4375, -2.375)
  // Round 2 (steps 2, 3): A = x - (2, 2)/4 = (-0.0625, -2.875); B = x - (-2, 2)/4 = (0.9375, -2.875)
  //   pseudo-gradients: A (0.5, 0.5), B (-0.5, 0.5); mean D = (0, 0.5)
  //   v = v/2 + D = (0.375, 0.75); d = D + v/2 = (0.1875, 0.875); x = (0.34375, -2.8125)
  DilocoOptions o;
  o.h = 2;
  o.outer = {.lr = 0.5f, .momentum = 0.5f, .nesterov = true, .extra_momenta = {}};
  std::vector<int> calls;
  auto runs = run_swarm(2, [&] { return std::make_unique<Diloco>(o); }, kX0, 4, kLr, hand_grads(),
                        &calls);
  for (const PeerRun& r : runs) {
    ASSERT_TRUE(r.status.ok()) << r.status.to_string();
    ASSERT_EQ(r.synced.size(), 2u);
    EXPECT_EQ(r.synced[0], (V{0.4375f, -2.375f}));
    EXPECT_EQ(r.synced[1], (V{0.34375f, -2.8125f}));
    EXPECT_EQ(r.params, (V{0.34375f, -2.8125f}));  // 4 steps = 2 full rounds: finish() is a no-op
  }
  EXPECT_EQ(calls, (std::vector<int>{2, 2}));
}

TEST(DilocoMath, StateBuffersHoldGlobalCopyAndMomentum) {
  DilocoOptions o;
  o.h = 2;
  o.outer = {.lr = 0.5f, .momentum = 0.5f, .nesterov = true, .extra_momenta = {}};
  testing::SimulatedSwarm swarm(1);
  Diloco d(o);
  EXPECT_TRUE(d.state_buffers().empty());
  V x = kX0;
  ASSERT_TRUE(d.init(x).ok());
  // One peer alone, grads (1, 2) then (1, 0): local x = (0.5, -2.5), D = (0.5, 0.5),
  // v = (0.5, 0.5), d = (0.75, 0.75), global = (1 - 0.375, -2 - 0.375) = (0.625, -2.375).
  auto g = hand_grads();
  V grads(2);
  for (int64_t s = 0; s < 2; ++s) {
    g(0, s, x, grads);
    ASSERT_TRUE(d.on_gradients(grads, s, swarm.peer(0)).ok());
    testing::inner_sgd(x, grads, kLr);
    EXPECT_EQ(d.syncs_after(s), s == 1);
    ASSERT_TRUE(d.after_inner_step(x, s, swarm.peer(0)).ok());
  }
  auto st = d.state_buffers();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "diloco.global");
  EXPECT_EQ(st[1].name, "diloco.outer_momentum");
  EXPECT_EQ(V(st[0].data.begin(), st[0].data.end()), (V{0.625f, -2.375f}));
  EXPECT_EQ(V(st[1].data.begin(), st[1].data.end()), (V{0.5f, 0.5f}));
  EXPECT_EQ(x, (V{0.625f, -2.375f}));
  // A joining peer overwrites the buffers with the swarm's state and continues from there.
  Diloco joiner(o);
  V jx = {9.0f, 9.0f};
  ASSERT_TRUE(joiner.init(jx).ok());
  auto jst = joiner.state_buffers();
  for (size_t b = 0; b < st.size(); ++b) std::copy(st[b].data.begin(), st[b].data.end(), jst[b].data.begin());
  EXPECT_EQ(V(joiner.global_params().begin(), joiner.global_params().end()), (V{0.625f, -2.375f}));
}

TEST(DilocoMath, OuterLrOneWithoutMomentumIsParameterAveraging) {
  // With outer SGD lr 1 and no momentum, DiLoCo's round is x - mean(x - x_i) = mean(x_i): the
  // local SGD numbers below, exact here because every value is dyadic.
  DilocoOptions o;
  o.h = 2;
  o.outer = {.lr = 1.0f, .momentum = 0.0f, .nesterov = false, .extra_momenta = {}};
  auto runs = run_swarm(2, [&] { return std::make_unique<Diloco>(o); }, kX0, 4, kLr, hand_grads());
  for (const PeerRun& r : runs) {
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.synced, (std::vector<V>{{0.25f, -2.5f}, {0.25f, -3.0f}}));
  }
}

TEST(DilocoMath, FinishRunsAPendingRound) {
  // H = 3 over 4 steps: a round after step 2, and finish() averages the one pending step.
  // Round 1: A = x - (2, 3)/4 = (0.5, -2.75); B = x - (3, 2)/4 = (0.25, -2.5);
  //   D = mean((0.5, 0.75), (0.75, 0.5)) = (0.625, 0.625); lr 1, no momentum: x = (0.375, -2.625)
  // finish (step 3): A = x - (2, 1)/4 = (-0.125, -2.875); B = x - (-1, 2)/4 = (0.625, -3.125)
  //   D = mean((0.5, 0.25), (-0.25, 0.5)) = (0.125, 0.375); x = (0.25, -3)
  DilocoOptions o;
  o.h = 3;
  o.outer = {.lr = 1.0f, .momentum = 0.0f, .nesterov = false, .extra_momenta = {}};
  std::vector<int> calls;
  auto runs = run_swarm(2, [&] { return std::make_unique<Diloco>(o); }, kX0, 4, kLr, hand_grads(),
                        &calls);
  for (const PeerRun& r : runs) {
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.synced, (std::vector<V>{{0.375f, -2.625f}}));
    EXPECT_EQ(r.params, (V{0.25f, -3.0f}));
  }
  EXPECT_NE(runs[0].before_finish[0], runs[1].before_finish[0]);  // they had diverged
  EXPECT_EQ(calls, (std::vector<int>{2, 2}));
}

TEST(LocalSgdMath, AveragesParametersEveryHSteps) {
  // H = 2. Round 1: A = (0.5, -2.5), B = (0, -2.5) -> (0.25, -2.5).
  // Round 2: A = (0.25 - 0.5, -3), B = (0.25 + 0.5, -3) -> (0.25, -3).
  std::vector<int> calls;
  auto runs = run_swarm(
      2, [] { return std::make_unique<LocalSgd>(LocalSgdOptions{.h = 2, .bucket_bytes = kDefaultBucketBytes}); }, kX0, 4, kLr,
      hand_grads(), &calls);
  for (const PeerRun& r : runs) {
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.synced, (std::vector<V>{{0.25f, -2.5f}, {0.25f, -3.0f}}));
    EXPECT_EQ(r.params, (V{0.25f, -3.0f}));
  }
  EXPECT_EQ(calls, (std::vector<int>{2, 2}));
}

TEST(LofiMath, NoCommunicationUntilOneFinalAverage) {
  // A: x - (4, 4)/4 = (0, -3); B: x - (2, 4)/4 = (0.5, -3); finish: (0.25, -3).
  std::vector<int> calls;
  auto runs = run_swarm(2, [] { return std::make_unique<Lofi>(); }, kX0, 4, kLr, hand_grads(),
                        &calls);
  EXPECT_EQ(runs[0].before_finish[0], (V{0.0f, -3.0f}));
  EXPECT_EQ(runs[1].before_finish[0], (V{0.5f, -3.0f}));
  for (const PeerRun& r : runs) {
    ASSERT_TRUE(r.status.ok());
    EXPECT_TRUE(r.synced.empty());
    EXPECT_EQ(r.params, (V{0.25f, -3.0f}));
  }
  EXPECT_EQ(calls, (std::vector<int>{1, 1}));  // one collective in the whole run
}

TEST(StrategyMisuse, WrongSizesAndOrderAreRejected) {
  testing::SimulatedSwarm swarm(1);
  V x = kX0;
  V wrong(3, 0.0f);
  Ddp ddp;
  EXPECT_EQ(ddp.on_gradients(x, 0, swarm.peer(0)).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(ddp.init(x).ok());
  EXPECT_EQ(ddp.on_gradients(wrong, 0, swarm.peer(0)).code(), StatusCode::kInvalidArgument);
  DilocoOptions h0;
  h0.h = 0;
  Diloco d(h0);
  EXPECT_EQ(d.init(x).code(), StatusCode::kInvalidArgument);
  DilocoOptions h1;
  h1.h = 1;
  Diloco d2(h1);
  ASSERT_TRUE(d2.init(x).ok());
  EXPECT_EQ(d2.after_inner_step(wrong, 0, swarm.peer(0)).code(), StatusCode::kInvalidArgument);
  LocalSgd l(LocalSgdOptions{.h = 1, .bucket_bytes = kDefaultBucketBytes});
  EXPECT_EQ(l.after_inner_step(x, 0, swarm.peer(0)).code(), StatusCode::kFailedPrecondition);
  Lofi lo;
  ASSERT_TRUE(lo.init(x).ok());
  EXPECT_EQ(lo.finish(wrong, swarm.peer(0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(swarm.peer(0).calls(), 0);
}

}  // namespace
}  // namespace loco::optim
