// The outer optimizer against hand-computed steps (all values dyadic, so fp32 is exact and the
// expectations are equalities).
#include <gtest/gtest.h>

#include <vector>

#include "optim/outer_sgd.h"

namespace loco::optim {
namespace {

TEST(OuterSgd, PlainSgdIsXMinusLrG) {
  OuterSgd opt({.lr = 0.5f, .momentum = 0.0f, .nesterov = false, .extra_momenta = {}});
  ASSERT_TRUE(opt.init(2).ok());
  std::vector<float> x = {1.0f, -2.0f};
  ASSERT_TRUE(opt.step(x, std::vector<float>{0.5f, -1.0f}).ok());
  EXPECT_EQ(x, (std::vector<float>{0.75f, -1.5f}));  // 1 - 0.25, -2 + 0.5
  EXPECT_TRUE(opt.state_buffers("o.").empty());     // no momentum, no state
}

TEST(OuterSgd, HeavyBallMomentum) {
  OuterSgd opt({.lr = 0.5f, .momentum = 0.5f, .nesterov = false, .extra_momenta = {}});
  ASSERT_TRUE(opt.init(1).ok());
  std::vector<float> x = {1.0f};
  // step 1: v = 1,                 x = 1 - 0.5*1      = 0.5
  ASSERT_TRUE(opt.step(x, std::vector<float>{1.0f}).ok());
  EXPECT_EQ(x[0], 0.5f);
  // step 2: v = 0.5*1 + 1 = 1.5,   x = 0.5 - 0.5*1.5  = -0.25
  ASSERT_TRUE(opt.step(x, std::vector<float>{1.0f}).ok());
  EXPECT_EQ(x[0], -0.25f);
  auto st = opt.state_buffers("o.");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].name, "o.momentum");
  EXPECT_EQ(st[0].data[0], 1.5f);
}

TEST(OuterSgd, NesterovMatchesTorchFormula) {
  OuterSgd opt({.lr = 0.5f, .momentum = 0.5f, .nesterov = true, .extra_momenta = {}});
  ASSERT_TRUE(opt.init(1).ok());
  std::vector<float> x = {1.0f};
  // step 1: v = 1,   d = 1 + 0.5*1 = 1.5,       x = 1 - 0.75 = 0.25
  ASSERT_TRUE(opt.step(x, std::vector<float>{1.0f}).ok());
  EXPECT_EQ(x[0], 0.25f);
  // step 2: g = -2: v = 0.5 - 2 = -1.5, d = -2 + 0.5*(-1.5) = -2.75, x = 0.25 + 1.375 = 1.625
  ASSERT_TRUE(opt.step(x, std::vector<float>{-2.0f}).ok());
  EXPECT_EQ(x[0], 1.625f);
  EXPECT_EQ(opt.state_buffers("o.")[0].data[0], -1.5f);
}

TEST(OuterSgd, MultiTimescaleAveragesBuffers) {
  OuterSgd opt({.lr = 1.0f, .momentum = 0.5f, .nesterov = false, .extra_momenta = {0.75f}});
  ASSERT_TRUE(opt.init(1).ok());
  std::vector<float> x = {0.0f};
  // step 1: v1 = 1, v2 = 1, d = 1, x = -1
  ASSERT_TRUE(opt.step(x, std::vector<float>{1.0f}).ok());
  EXPECT_EQ(x[0], -1.0f);
  // step 2: v1 = 1.5, v2 = 1.75, d = 1.625, x = -2.625
  ASSERT_TRUE(opt.step(x, std::vector<float>{1.0f}).ok());
  EXPECT_EQ(x[0], -2.625f);
  auto st = opt.state_buffers("o.");
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[1].name, "o.momentum_1");
  EXPECT_EQ(st[1].data[0], 1.75f);
  // Nesterov with two buffers: d = g + mean(mu_j v_j).
  OuterSgd nes({.lr = 1.0f, .momentum = 0.5f, .nesterov = true, .extra_momenta = {0.75f}});
  ASSERT_TRUE(nes.init(1).ok());
  std::vector<float> y = {0.0f};
  // v1 = v2 = 1, d = 1 + (0.5 + 0.75)/2 = 1.625
  ASSERT_TRUE(nes.step(y, std::vector<float>{1.0f}).ok());
  EXPECT_EQ(y[0], -1.625f);
}

TEST(OuterSgd, RejectsBadOptionsAndSizes) {
  EXPECT_EQ(validate(OuterSgdOptions{.lr = 0.0f, .momentum = 0.9f, .nesterov = true,
                                     .extra_momenta = {}})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(validate(OuterSgdOptions{.lr = -1.0f, .momentum = 0.9f, .nesterov = true,
                                     .extra_momenta = {}})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(validate(OuterSgdOptions{.lr = 1.0f, .momentum = 1.0f, .nesterov = true,
                                     .extra_momenta = {}})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(validate(OuterSgdOptions{.lr = 1.0f, .momentum = 0.9f, .nesterov = true,
                                     .extra_momenta = {1.5f}})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate(OuterSgdOptions{}).ok());
  OuterSgd opt({});
  ASSERT_TRUE(opt.init(3).ok());
  std::vector<float> x = {1.0f, 2.0f, 3.0f};
  EXPECT_EQ(opt.step(x, std::vector<float>{1.0f}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(x, (std::vector<float>{1.0f, 2.0f, 3.0f}));
}

}  // namespace
}  // namespace loco::optim
