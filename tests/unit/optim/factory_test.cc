// make_strategy: every catalogued name builds, bad names and values give INVALID_ARGUMENT with a
// message a user can act on.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/diloco.h"
#include "optim/factory.h"

namespace loco::optim {
namespace {

TEST(Factory, EveryCatalogNameBuildsThatStrategy) {
  ASSERT_EQ(strategy_catalog().size(), 7u);
  EXPECT_EQ(strategy_names(), "ddp, diloco, local-sgd, lofi, demo, ddp-topk, ddp-powersgd");
  for (const auto& info : strategy_catalog()) {
    StrategyOptions o;
    o.name = std::string(info.name);
    auto s = make_strategy(o);
    ASSERT_TRUE(s.ok()) << info.name << ": " << s.status().to_string();
    EXPECT_EQ((*s)->name(), info.name);
    EXPECT_FALSE(info.summary.empty());
  }
}

TEST(Factory, DilocoGetsThePaperDefaultsAndTheGivenValues) {
  StrategyOptions o;
  auto s = make_strategy(o);
  ASSERT_TRUE(s.ok());
  auto* d = dynamic_cast<Diloco*>(s->get());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->options().outer.lr, 0.7f);
  EXPECT_EQ(d->options().outer.momentum, 0.9f);
  EXPECT_TRUE(d->options().outer.nesterov);
  EXPECT_EQ(d->options().h, 100);
  o.h = 7;
  o.outer_lr = 1.0f;
  o.outer_momentum = 0.0f;
  o.nesterov = false;
  o.bucket_bytes = 1024;
  s = make_strategy(o);
  ASSERT_TRUE(s.ok());
  d = dynamic_cast<Diloco*>(s->get());
  EXPECT_EQ(d->options().h, 7);
  EXPECT_EQ(d->options().outer.lr, 1.0f);
  EXPECT_EQ(d->options().outer.momentum, 0.0f);
  EXPECT_FALSE(d->options().outer.nesterov);
  EXPECT_EQ(d->options().bucket_bytes, 1024u);
  EXPECT_TRUE((*s)->syncs_after(6));
  EXPECT_FALSE((*s)->syncs_after(7));
}

void expect_invalid(const StrategyOptions& o, const std::string& needle) {
  auto s = make_strategy(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().message();
}

TEST(Factory, BadNamesAndValuesAreInvalidArgument) {
  StrategyOptions o;
  o.name = "dilocoo";
  expect_invalid(o, "unknown strategy 'dilocoo' (valid: ddp, diloco, local-sgd, lofi, demo, ddp-topk, ddp-powersgd)");
  o.name = "";
  expect_invalid(o, "unknown strategy");
  o = {};
  o.h = 0;
  expect_invalid(o, "H");
  o = {};
  o.name = "local-sgd";
  o.h = -3;
  expect_invalid(o, "-3");
  o = {};
  o.name = "ddp";
  o.h = 0;  // H is not used by DDP
  EXPECT_TRUE(make_strategy(o).ok());
  o = {};
  o.outer_lr = 0.0f;
  expect_invalid(o, "outer learning rate");
  o.outer_lr = std::nanf("");
  expect_invalid(o, "outer learning rate");
  o = {};
  o.outer_momentum = 1.0f;
  expect_invalid(o, "outer momentum");
  o.outer_momentum = -0.1f;
  expect_invalid(o, "outer momentum");
  o = {};
  o.extra_outer_momenta = {0.99f, 1.2f};
  expect_invalid(o, "extra outer momentum");
  o = {};
  o.name = "lofi";
  o.bucket_bytes = 2;
  expect_invalid(o, "bucket");
  o = {};
  o.name = "demo";
  o.demo.topk = 65;  // more than the chunk of 64
  expect_invalid(o, "top-k");
  o = {};
  o.name = "demo";
  o.demo.chunk = 1;
  expect_invalid(o, "chunk");
  o = {};
  o.name = "demo";
  o.demo.decay = 1.0f;
  expect_invalid(o, "decay");
  o = {};
  o.name = "ddp-topk";
  o.topk.fraction = 0.0;
  expect_invalid(o, "fraction");
  o.topk.fraction = 1.5;
  expect_invalid(o, "fraction");
  o = {};
  o.name = "ddp-topk";
  o.topk.momentum = 1.0f;
  expect_invalid(o, "momentum");
  o = {};
  o.name = "ddp-powersgd";
  o.powersgd.rank = 0;
  expect_invalid(o, "rank");
}

}  // namespace
}  // namespace loco::optim
