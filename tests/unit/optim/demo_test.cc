// DeMo: the chunked DCT against hand-computed values, one DeMo step against numbers worked out by
// hand, parity and progress over a few steps with three simulated peers, and rejection of bad
// gathered bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/rng.h"
#include "optim/dct.h"
#include "optim/demo.h"
#include "unit/optim/driver.h"

namespace loco::optim {
namespace {

using V = std::vector<float>;

TEST(ChunkDct, FourPointValuesByHand) {
  // X_k = s_k cos(pi (0 + 1/2) k / 4) for x = e_0: s_0 = 1/2, s_k = sqrt(1/2).
  ChunkDct dct(4);
  V out(4);
  dct.forward(V{1, 0, 0, 0}, out);
  EXPECT_NEAR(out[0], 0.5, 1e-7);
  EXPECT_NEAR(out[1], std::sqrt(0.5) * std::cos(M_PI / 8), 1e-6);      // 0.653281
  EXPECT_NEAR(out[2], std::sqrt(0.5) * std::cos(M_PI / 4), 1e-6);      // 0.5
  EXPECT_NEAR(out[3], std::sqrt(0.5) * std::cos(3 * M_PI / 8), 1e-6);  // 0.270598
  dct.forward(V{1, 1, 1, 1}, out);  // a constant is all in the first coefficient
  EXPECT_EQ(out[0], 2.0f);
  for (int k = 1; k < 4; ++k) EXPECT_NEAR(out[k], 0.0, 1e-6);
}

TEST(ChunkDct, InverseUndoesForwardAndPreservesNorm) {
  for (size_t n : {2u, 5u, 64u}) {
    ChunkDct dct(n);
    V x(n), X(n), y(n);
    SplitMix64 r(n);
    double norm_x = 0, norm_X = 0;
    for (auto& v : x) {
      v = static_cast<float>(static_cast<double>(r.next() >> 40) / 16777216.0 - 0.5);
      norm_x += v * v;
    }
    dct.forward(x, X);
    for (float v : X) norm_X += v * v;
    dct.inverse(X, y);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], x[i], 1e-5) << n << " " << i;
    EXPECT_NEAR(norm_X, norm_x, 1e-4 * norm_x);  // orthonormal
  }
}

TEST(DemoMath, OneStepByHand) {
  // chunk 4, top-1, two peers. A: g = (1, 1, 1, 1) -> C = (2, 0, 0, 0): sends (0, 2), keeps m = 0.
  // B: g = (-3, 0, 0, 0) -> C = -3 * (0.5, 0.653281, 0.5, 0.270598): sends (1, -1.959844) and
  // keeps m = g + 1.959844 * basis_1 = (-1.719670, 0.530330, -0.530330, -1.280330).
  // Gathered: frequency 0 from A only (mean 2), frequency 1 from B only (mean -1.959844):
  // IDCT = (1, 1, 1, 1) - 1.959844 * basis_1 = (-0.28033, 0.46967, 1.53033, 2.28033) -> sign
  // (-1, 1, 1, 1). (Dividing by the world instead of the contributors would give (-1, -1, 1, 1).)
  testing::SimulatedSwarm swarm(2);
  std::vector<V> grads = {{1, 1, 1, 1}, {-3, 0, 0, 0}};
  std::vector<V> momentum(2);
  std::vector<Status> st(2);
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&, p] {
      Demo d(DemoOptions{.chunk = 4, .topk = 1, .decay = 0.5f});
      st[p] = d.init(V(4, 0.0f));
      if (st[p].ok()) st[p] = d.on_gradients(grads[p], 0, swarm.peer(p));
      auto sb = d.state_buffers();
      momentum[p].assign(sb[0].data.begin(), sb[0].data.end());
      EXPECT_EQ(d.payload_bytes(), 6u);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(st[0].ok() && st[1].ok()) << st[0].to_string() << st[1].to_string();
  EXPECT_EQ(grads[0], (V{-1, 1, 1, 1}));
  EXPECT_EQ(grads[1], (V{-1, 1, 1, 1}));
  for (float v : momentum[0]) EXPECT_NEAR(v, 0.0, 1e-6);
  const V mb = {-1.719670f, 0.530330f, -0.530330f, -1.280330f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(momentum[1][i], mb[i], 1e-5);
}

TEST(DemoMath, ThreePeersStayIdenticalAndDescend) {
  // Quadratic 0.5 |x - t_p|^2 per peer; 131 parameters in chunks of 16 (the last has 3), top-4.
  const size_t n = 131;
  const float lr = 0.01f;
  auto target = [](int p, size_t i) { return std::sin(0.1f * static_cast<float>(i) + static_cast<float>(p)); };
  testing::GradFn g = [&](int p, int64_t, std::span<const float> x, std::span<float> out) {
    for (size_t i = 0; i < n; ++i) out[i] = x[i] - target(p, i);
  };
  const V x0(n, 2.0f);
  std::vector<int> calls;
  auto runs = testing::run_swarm(
      3, [] { return std::make_unique<Demo>(DemoOptions{.chunk = 16, .topk = 4, .decay = 0.9f}); },
      x0, 30, lr, g, &calls);
  auto loss = [&](const V& x) {
    double l = 0;
    for (int p = 0; p < 3; ++p)
      for (size_t i = 0; i < n; ++i) l += 0.5 * std::pow(x[i] - target(p, i), 2);
    return l;
  };
  for (int p = 0; p < 3; ++p) {
    ASSERT_TRUE(runs[p].status.ok()) << runs[p].status.to_string();
    ASSERT_EQ(runs[p].synced.size(), 30u);
    for (size_t s = 0; s < 30; ++s) {
      ASSERT_EQ(0, std::memcmp(runs[p].synced[s].data(), runs[0].synced[s].data(), n * sizeof(float)))
          << "peer " << p << " step " << s;
    }
  }
  EXPECT_EQ(calls, (std::vector<int>{30, 30, 30}));  // one all-gather per step
  EXPECT_LT(loss(runs[0].params), 0.8 * loss(x0));
}

// Returns whatever bytes it is told to, as a broken or malicious peer set would.
class BadGather final : public Reducer {
 public:
  explicit BadGather(int mode) : mode_(mode) {}
  Status all_reduce_avg(std::span<float>) override { return Internal("unused"); }
  Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override {
    all.assign(mine.begin(), mine.end());
    if (mode_ == 0) all.push_back(std::byte{1});  // not a whole number of payloads
    if (mode_ == 1) all[0] = all[1] = std::byte{0xff};  // index 65535 in a chunk of 4
    if (mode_ == 2) {
      const float nan = std::nanf("");
      std::memcpy(all.data() + 2, &nan, 4);
    }
    return OkStatus();
  }
  int world_size() const override { return 1; }
  uint64_t bytes_sent() const override { return 0; }
  uint64_t bytes_received() const override { return 0; }

 private:
  int mode_;
};

TEST(DemoMath, BadGatheredBytesAreDataLossAndChangeNothing) {
  for (int mode = 0; mode < 3; ++mode) {
    Demo d(DemoOptions{.chunk = 4, .topk = 2, .decay = 0.5f});
    ASSERT_TRUE(d.init(V(8, 0.0f)).ok());
    V g = {1, 2, 3, 4, 5, 6, 7, 8};
    const V g0 = g;
    BadGather r(mode);
    EXPECT_EQ(d.on_gradients(g, 0, r).code(), StatusCode::kDataLoss) << mode;
    EXPECT_EQ(g, g0);
    for (float v : d.state_buffers()[0].data) EXPECT_EQ(v, 0.0f);
  }
}

TEST(DemoMath, ReducersWithoutGatherSayUnimplemented) {
  struct OnlyReduce final : Reducer {
    Status all_reduce_avg(std::span<float>) override { return OkStatus(); }
    int world_size() const override { return 1; }
    uint64_t bytes_sent() const override { return 0; }
    uint64_t bytes_received() const override { return 0; }
  } r;
  Demo d(DemoOptions{.chunk = 4, .topk = 2, .decay = 0.5f});
  ASSERT_TRUE(d.init(V(4, 0.0f)).ok());
  V g = {1, 2, 3, 4};
  EXPECT_EQ(d.on_gradients(g, 0, r).code(), StatusCode::kUnimplemented);
  EXPECT_EQ(g, (V{1, 2, 3, 4}));
}

}  // namespace
}  // namespace loco::optim
