// The sanity anchor from the design guide: DiLoCo with H = 1, inner SGD, and outer SGD with lr 1
// and no momentum reproduces DDP. Per step, DDP computes x - lr * mean(g_i); DiLoCo computes
// x - mean(x - (x - lr * g_i)). The two are equal in real arithmetic; in fp32 they can differ
// only by the rounding of x - lr * g_i and of the subtraction back from x.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/rng.h"
#include "optim/ddp.h"
#include "optim/diloco.h"
#include "unit/optim/driver.h"

namespace loco::optim {
namespace {

using V = std::vector<float>;

std::unique_ptr<Strategy> make_ddp() { return std::make_unique<Ddp>(DdpOptions{.bucket_bytes = 64}); }
std::unique_ptr<Strategy> make_diloco_h1() {
  DilocoOptions o;
  o.h = 1;
  o.outer = {.lr = 1.0f, .momentum = 0.0f, .nesterov = false, .extra_momenta = {}};
  o.bucket_bytes = 64;
  return std::make_unique<Diloco>(o);
}

// Uniform in [-1, 1) from a hash of (seed, rank, step, i).
float noise(uint64_t seed, int rank, int64_t step, size_t i) {
  SplitMix64 r(seed ^ (static_cast<uint64_t>(rank) << 48) ^ (static_cast<uint64_t>(step) << 24) ^ i);
  return static_cast<float>(static_cast<double>(r.next() >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

TEST(DilocoDdpProperty, BitExactWhenEveryValueIsDyadic) {
  // 4 peers (so the average's division is exact), parameters and gradients on a grid of 1/256,
  // inner lr 1/8: every intermediate value is exactly representable, so the identity holds bit
  // for bit. Any slip in sign, scaling or averaging order shows up as a mismatch here.
  const size_t n = 37;
  V x0(n);
  for (size_t i = 0; i < n; ++i) x0[i] = std::round(noise(1, 9, 0, i) * 1024.0f) / 256.0f;
  testing::GradFn g = [](int rank, int64_t step, std::span<const float>, std::span<float> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::round(noise(2, rank, step, i) * 256.0f) / 256.0f;
  };
  auto ddp = testing::run_swarm(4, make_ddp, x0, 12, 0.125f, g);
  auto dil = testing::run_swarm(4, make_diloco_h1, x0, 12, 0.125f, g);
  for (int p = 0; p < 4; ++p) {
    ASSERT_TRUE(ddp[p].status.ok() && dil[p].status.ok());
    ASSERT_EQ(ddp[p].synced.size(), 12u);
    ASSERT_EQ(dil[p].synced.size(), 12u);
    for (size_t s = 0; s < 12; ++s) {
      EXPECT_EQ(0, std::memcmp(ddp[p].synced[s].data(), dil[p].synced[s].data(), n * sizeof(float)))
          << "peer " << p << " step " << s;
    }
  }
  EXPECT_NE(ddp[0].params, x0);
}

TEST(DilocoDdpProperty, WithinRoundingForArbitraryFloats) {
  // 3 peers, random parameters, gradients of a per-peer quadratic 0.5 |x - t_p|^2 plus noise
  // (they depend on x, as in training), inner lr 0.1, 20 steps.
  // Tolerance: per step the two paths differ by the rounding of a = lr * g_i, of x - a and of
  // x - (x - a) (each at most half an ulp of the larger operand, u = 2^-24 relative), which
  // the averaging and the final subtraction carry over, so at most about 4u (|x| + |a|) per
  // element and step; since the update x -> x - lr * (x - t) contracts (factor 0.9) the
  // differences add up over steps at worst. We allow 8u (max|x| + max|a|) per step, times steps.
  const size_t n = 257;
  const int64_t steps = 20;
  const float lr = 0.1f;
  V x0(n);
  for (size_t i = 0; i < n; ++i) x0[i] = 3.0f * noise(3, 7, 0, i);
  testing::GradFn g = [](int rank, int64_t step, std::span<const float> x, std::span<float> out) {
    for (size_t i = 0; i < out.size(); ++i) {
      const float target = 2.0f * noise(4, rank, 0, i);
      out[i] = (x[i] - target) + 0.5f * noise(5, rank, step, i);
    }
  };
  auto ddp = testing::run_swarm(3, make_ddp, x0, steps, lr, g);
  auto dil = testing::run_swarm(3, make_diloco_h1, x0, steps, lr, g);
  float max_x = 0.0f;
  for (float v : x0) max_x = std::max(max_x, std::fabs(v));
  for (const auto& s : ddp[0].synced) {
    for (float v : s) max_x = std::max(max_x, std::fabs(v));
  }
  const float max_a = lr * (2.0f * max_x + 2.5f);  // |x - t| + |noise| bounds |g|
  const double u = std::ldexp(1.0, -24);
  const double tol = 8.0 * u * (max_x + max_a) * static_cast<double>(steps);
  double worst = 0.0;
  size_t differing = 0;
  for (int p = 0; p < 3; ++p) {
    ASSERT_TRUE(ddp[p].status.ok() && dil[p].status.ok());
    for (size_t i = 0; i < n; ++i) {
      const double d = std::fabs(static_cast<double>(ddp[p].params[i]) - dil[p].params[i]);
      worst = std::max(worst, d);
      differing += d != 0.0 ? 1 : 0;
    }
    // Each strategy on its own keeps every peer bit-identical.
    EXPECT_EQ(0, std::memcmp(dil[p].params.data(), dil[0].params.data(), n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(ddp[p].params.data(), ddp[0].params.data(), n * sizeof(float)));
  }
  EXPECT_LE(worst, tol);
  std::printf("DiLoCo(H=1) vs DDP after %lld steps: max |diff| %.3g (tolerance %.3g), %zu of %zu "
              "elements differ\n",
              static_cast<long long>(steps), worst, tol, differing / 3, n);
  // The runs really trained: far from the start.
  double moved = 0.0;
  for (size_t i = 0; i < n; ++i) moved = std::max(moved, std::fabs(static_cast<double>(ddp[0].params[i]) - x0[i]));
  EXPECT_GT(moved, 0.1);
}

TEST(DilocoWarmStart, IsDdpForWStepsThenRoundsEveryH) {
  // Warm start W = 5, H = 4, 3 peers, 17 steps: steps 0..4 must equal DDP bit for bit (the same
  // gradient averages applied by the same inner SGD), outer rounds follow after steps 8, 12, 16,
  // and the global copy starts from the parameters after step 4 (so the first round's
  // pseudo-gradient covers steps 5..8 only).
  const size_t n = 29;
  const int64_t w = 5, h = 4, steps = 17;
  V x0(n);
  for (size_t i = 0; i < n; ++i) x0[i] = noise(6, 1, 0, i);
  testing::GradFn g = [](int rank, int64_t step, std::span<const float> x, std::span<float> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = 0.3f * x[i] + noise(7, rank, step, i);
  };
  auto make_warm = [&] {
    DilocoOptions o;
    o.h = h;
    o.warm_start = w;
    o.outer = {.lr = 0.7f, .momentum = 0.9f, .nesterov = true, .extra_momenta = {}};
    o.bucket_bytes = 64;
    return std::unique_ptr<Strategy>(std::make_unique<Diloco>(o));
  };
  {
    Diloco probe(DilocoOptions{.h = h, .warm_start = w, .outer = {}, .bucket_bytes = 64});
    std::vector<int64_t> sync_steps;
    for (int64_t s = 0; s < steps; ++s) {
      if (probe.syncs_after(s)) sync_steps.push_back(s);
      EXPECT_EQ(probe.params_synced_after(s), s < w || probe.syncs_after(s)) << s;
    }
    EXPECT_EQ(sync_steps, (std::vector<int64_t>{8, 12, 16}));
  }
  std::vector<int> ddp_calls, warm_calls;
  auto ddp = testing::run_swarm(3, make_ddp, x0, w, 0.05f, g, &ddp_calls);
  auto warm = testing::run_swarm(3, make_warm, x0, steps, 0.05f, g, &warm_calls);
  for (int p = 0; p < 3; ++p) {
    ASSERT_TRUE(ddp[p].status.ok()) << ddp[p].status.to_string();
    ASSERT_TRUE(warm[p].status.ok()) << warm[p].status.to_string();
    // Synced snapshots: the W warm-start steps, then one per round.
    ASSERT_EQ(warm[p].synced.size(), static_cast<size_t>(w + 3));
    for (int64_t s = 0; s < w; ++s) {
      EXPECT_EQ(0, std::memcmp(ddp[p].synced[static_cast<size_t>(s)].data(),
                               warm[p].synced[static_cast<size_t>(s)].data(), n * sizeof(float)))
          << "peer " << p << " warm-start step " << s;
    }
    // Every snapshot is bit-identical across peers, and the runs end identical.
    for (size_t k = 0; k < warm[p].synced.size(); ++k) {
      EXPECT_EQ(0, std::memcmp(warm[0].synced[k].data(), warm[p].synced[k].data(), n * sizeof(float)));
    }
    EXPECT_EQ(0, std::memcmp(warm[0].params.data(), warm[p].params.data(), n * sizeof(float)));
  }
  // W gradient all-reduces (one bucket of 64 bytes = 16 floats, so 2 per call) plus 3 rounds.
  const int per_call = static_cast<int>((n + 15) / 16);
  EXPECT_EQ(warm_calls[0], (w + 3) * per_call);
  // The rounds really changed the parameters after the warm start (not a DDP run in disguise).
  EXPECT_NE(warm[0].synced[static_cast<size_t>(w - 1)], warm[0].synced[static_cast<size_t>(w)]);
}

}  // namespace
}  // namespace loco::optim
