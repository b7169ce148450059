// DDP with top-k + error feedback (and DGC momentum correction) against numbers worked out by
// hand: two simulated peers, four elements, k = 1 (fraction 1/4).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "optim/topk_ddp.h"
#include "unit/optim/fake_reducers.h"

namespace loco::optim {
namespace {

using V = std::vector<float>;

// Runs two peers for the given per-step gradients; returns grads after each step and final state.
struct TwoPeers {
  std::vector<std::vector<V>> grads_out{2};
  std::vector<std::vector<V>> state{2};
};

TwoPeers run(float momentum, const std::vector<std::vector<V>>& g) {
  testing::SimulatedSwarm swarm(2);
  TwoPeers out;
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&, p] {
      TopkDdp s(TopkDdpOptions{0.25, momentum, {}});
      EXPECT_TRUE(s.init(V(4, 0.0f)).ok());
      for (const V& step_g : g[p]) {
        V grads = step_g;
        Status st = s.on_gradients(grads, 0, swarm.peer(p));
        EXPECT_TRUE(st.ok()) << st.to_string();
        out.grads_out[p].push_back(grads);
      }
      out.state[p] = testing::copy_state(s);
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

TEST(TopkDdpMath, ErrorFeedbackWithoutMomentum) {
  // Step 0: A v = (1, -3, 2, 0) sends (1: -3), keeps (1, 0, 2, 0); B v = (0, 1, 0, 4) sends (3: 4),
  //   keeps (0, 1, 0, 0). Mean: (0, -1.5, 0, 2).
  // Step 1: A v = (2, 0, 2, 0): a tie, the lower index goes: sends (0: 2), keeps (0, 0, 2, 0);
  //   B v = (0, 1, 0, 1): sends (1: 1), keeps (0, 0, 0, 1). Mean: (1, 0.5, 0, 0).
  auto r = run(0.0f, {{{1, -3, 2, 0}, {1, 0, 0, 0}}, {{0, 1, 0, 4}, {0, 0, 0, 1}}});
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(r.grads_out[p][0], (V{0, -1.5f, 0, 2}));
    EXPECT_EQ(r.grads_out[p][1], (V{1, 0.5f, 0, 0}));
  }
  ASSERT_EQ(r.state[0].size(), 1u);  // the residual only
  EXPECT_EQ(r.state[0][0], (V{0, 0, 2, 0}));
  EXPECT_EQ(r.state[1][0], (V{0, 0, 0, 1}));
}

TEST(TopkDdpMath, MomentumCorrectionAndMasking) {
  // mu = 1/2. Step 0 as above (u = g); masking zeroes u where sent: u_A = (1, 0, 2, 0),
  //   u_B = (0, 1, 0, 0).
  // Step 1: A u = u/2 + (1, 0, 0, 0) = (1.5, 0, 1, 0); v = (1, 0, 2, 0) + u = (2.5, 0, 3, 0):
  //   sends (2: 3); v_A = (2.5, 0, 0, 0), u_A = (1.5, 0, 0, 0).
  //   B u = (0, 0.5, 0, 0) + (0, 0, 0, 1) = (0, 0.5, 0, 1); v = (0, 1.5, 0, 1): sends (1: 1.5);
  //   v_B = (0, 0, 0, 1), u_B = (0, 0, 0, 1). Mean: (0, 0.75, 1.5, 0).
  auto r = run(0.5f, {{{1, -3, 2, 0}, {1, 0, 0, 0}}, {{0, 1, 0, 4}, {0, 0, 0, 1}}});
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(r.grads_out[p][0], (V{0, -1.5f, 0, 2}));
    EXPECT_EQ(r.grads_out[p][1], (V{0, 0.75f, 1.5f, 0}));
  }
  ASSERT_EQ(r.state[0].size(), 2u);  // residual, momentum
  EXPECT_EQ(r.state[0][0], (V{2.5f, 0, 0, 0}));
  EXPECT_EQ(r.state[0][1], (V{1.5f, 0, 0, 0}));
  EXPECT_EQ(r.state[1][0], (V{0, 0, 0, 1}));
  EXPECT_EQ(r.state[1][1], (V{0, 0, 0, 1}));
}

TEST(TopkDdpMath, CorruptPeerMessageIsDataLoss) {
  struct Corrupt final : Reducer {
    Status all_reduce_avg(std::span<float>) override { return Internal("unused"); }
    Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override {
      all.assign(mine.begin(), mine.end());
      all.insert(all.end(), mine.begin(), mine.end());
      all[mine.size() + 16] = std::byte{0xff};  // the second peer's first index: far out of range
      all[mine.size() + 17] = std::byte{0xff};
      return OkStatus();
    }
    int world_size() const override { return 2; }
    uint64_t bytes_sent() const override { return 0; }
    uint64_t bytes_received() const override { return 0; }
  } r;
  TopkDdp s(TopkDdpOptions{0.25, 0.0f, {}});
  ASSERT_TRUE(s.init(V(8, 0.0f)).ok());
  V g = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(s.on_gradients(g, 0, r).code(), StatusCode::kDataLoss);
  EXPECT_EQ(g, (V{1, 2, 3, 4, 5, 6, 7, 8}));
  for (float v : s.state_buffers()[0].data) EXPECT_EQ(v, 0.0f);
}

// Other compressors through the `codec` option: both peers end every step with identical averaged
// gradients, random-k draws the same coordinates on both peers for a step (so each step's average
// touches at most k), and a lossy codec leaves a residual (the exact EF identity is checked with
// sign below).
void run_codec(const std::string& spec, size_t n, size_t expect_nonzero_max) {
  testing::SimulatedSwarm swarm(2);
  std::vector<std::vector<V>> out(2);
  std::vector<V> residual(2);
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&, p] {
      TopkDdp s(TopkDdpOptions{0.25, 0.0f, spec});
      ASSERT_TRUE(s.init(V(n, 0.0f)).ok());
      for (int64_t step = 0; step < 3; ++step) {
        V g(n);
        for (size_t i = 0; i < n; ++i) {
          g[i] = static_cast<float>((i * 7 + static_cast<size_t>(step) * 3 + static_cast<size_t>(p) * 5) % 11) - 5.0f;
        }
        Status st = s.on_gradients(g, step, swarm.peer(p));
        ASSERT_TRUE(st.ok()) << st.to_string();
        out[p].push_back(g);
      }
      residual[p].assign(s.state_buffers()[0].data.begin(), s.state_buffers()[0].data.end());
    });
  }
  for (auto& t : threads) t.join();
  for (size_t k = 0; k < out[0].size(); ++k) {
    ASSERT_EQ(0, std::memcmp(out[0][k].data(), out[1][k].data(), n * sizeof(float))) << spec;
    size_t nonzero = 0;
    for (float v : out[0][k]) nonzero += v != 0.0f ? 1 : 0;
    EXPECT_GT(nonzero, 0u) << spec;
    EXPECT_LE(nonzero, expect_nonzero_max) << spec << " step " << k;
  }
  EXPECT_NE(residual[0], V(n, 0.0f)) << spec << ": a lossy codec leaves a residual";
}

TEST(TopkDdpMath, OtherCodecsWithErrorFeedback) {
  run_codec("randomk:fraction=0.25", 64, 16);  // the same 16 coordinates on both peers
  run_codec("sign:block=16", 64, 64);
  run_codec("int4:block=16", 64, 64);
}

TEST(TopkDdpMath, SignResidualIsInputMinusDecoded) {
  // One peer alone (world 1): grads after the call are D(C(g)), the residual g - D(C(g)).
  testing::SimulatedSwarm swarm(1);
  TopkDdp s(TopkDdpOptions{0.25, 0.0f, "sign:block=8"});
  ASSERT_TRUE(s.init(V(8, 0.0f)).ok());
  const V g = {1, -2, 3, -4, 5, -6, 7, -8};
  V out = g;
  ASSERT_TRUE(s.on_gradients(out, 0, swarm.peer(0)).ok());
  // sign with one block: scale = mean |g| = 4.5, decoded = 4.5 * sign(g).
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_FLOAT_EQ(std::fabs(out[i]), 4.5f);
    EXPECT_EQ(out[i] > 0, g[i] > 0);
    EXPECT_FLOAT_EQ(s.state_buffers()[0].data[i], g[i] - out[i]);
  }
}

TEST(TopkDdpMath, CodecOptionValidated) {
  EXPECT_EQ(validate(TopkDdpOptions{0.01, 0.0f, "nonsense"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate(TopkDdpOptions{0.01, 0.5f, "sign:block=8"}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate(TopkDdpOptions{0.01, 0.5f, "randomk:fraction=0.1"}).ok());
}

}  // namespace
}  // namespace loco::optim
