// Models (parameter count of the reference transformer, shapes, seeded init), flat parameter and
// gradient views, and the inner optimizer against LibTorch's own AdamW.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>

#include "train/flat_params.h"
#include "train/inner_optimizer.h"
#include "train/models.h"

namespace loco::train {
namespace {

std::unique_ptr<Model> build(const ModelConfig& c, uint64_t seed = 1) {
  auto m = make_model(c, seed);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return std::move(m).value();
}

TEST(Models, ReferenceTransformerHas120576Parameters) {
  ModelConfig c;  // 2 layers, width 64, 4 heads, context 64
  auto m = build(c);
  EXPECT_EQ(m->parameter_count(), 120576);
  // 16384 token + 4096 position embeddings, 2 x 49984 per block, 128 final LayerNorm, tied head.
  ModelConfig wider = c;
  wider.layers = 3;
  wider.width = 96;
  wider.heads = 6;
  wider.context = 32;
  const int64_t w = 96;
  EXPECT_EQ(build(wider)->parameter_count(),
            256 * w + 32 * w + 3 * (12 * w * w + 13 * w) + 2 * w);
}

TEST(Models, ShapesAndCausality) {
  ModelConfig c;
  c.layers = 1;
  c.width = 32;
  c.heads = 2;
  c.context = 16;
  auto m = build(c);
  auto x = torch::randint(0, 256, {3, 16}, torch::kInt64);
  auto logits = m->logits(x);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 16, 256}));
  // Changing the last token never changes the predictions for earlier positions (causal mask).
  auto x2 = x.clone();
  x2.index_put_({0, 15}, (x[0][15].item<int64_t>() + 1) % 256);
  auto logits2 = m->logits(x2);
  EXPECT_TRUE(torch::equal(logits.index({0, torch::indexing::Slice(0, 15)}),
                           logits2.index({0, torch::indexing::Slice(0, 15)})));
  EXPECT_FALSE(torch::equal(logits[0][15], logits2[0][15]));
  // Shorter sequences than the context work too.
  EXPECT_EQ(m->logits(x.index({torch::indexing::Slice(), torch::indexing::Slice(0, 5)})).size(1), 5);

  auto images = torch::rand({4, 1, 28, 28});
  for (const char* kind : {"mlp", "cnn"}) {
    ModelConfig k;
    k.kind = kind;
    auto cls = build(k);
    EXPECT_EQ(cls->logits(images).sizes(), (std::vector<int64_t>{4, 10})) << kind;
    EXPECT_TRUE(cls->is_classifier());
  }
}

TEST(Models, SeededInitIsIdenticalAndBadConfigsFail) {
  ModelConfig c;
  auto a = build(c, 5), b = build(c, 5), other = build(c, 6);
  FlatParams fa(a->module()), fb(b->module()), fo(other->module());
  EXPECT_TRUE(torch::equal(fa.flat_params(), fb.flat_params()));
  EXPECT_FALSE(torch::equal(fa.flat_params(), fo.flat_params()));
  ModelConfig bad = c;
  bad.heads = 5;
  auto r = make_model(bad, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("divisible"), std::string::npos);
  bad = c;
  bad.kind = "rnn";
  EXPECT_FALSE(make_model(bad, 1).ok());
}

TEST(FlatParams, ParamsAndGradsAreViewsIntoOneBuffer) {
  ModelConfig c;
  c.layers = 1;
  c.width = 16;
  c.heads = 2;
  c.context = 8;
  auto m = build(c, 3);
  auto reference = build(c, 3);  // same init, not flattened
  FlatParams flat(m->module());
  auto params = m->module().parameters();
  ASSERT_EQ(flat.tensor_count(), params.size());
  EXPECT_EQ(static_cast<int64_t>(flat.size()), m->parameter_count());
  std::vector<torch::Tensor> pieces;
  for (auto& p : params) pieces.push_back(p.detach().reshape({-1}));
  EXPECT_TRUE(torch::equal(torch::cat(pieces), flat.flat_params()));
  // The flat copy is the model: identical outputs to the unflattened twin.
  auto x = torch::randint(0, 256, {2, 8}, torch::kInt64);
  Batch b{x, torch::randint(0, 256, {2, 8}, torch::kInt64), 16};
  EXPECT_TRUE(torch::equal(m->logits(x), reference->logits(x)));
  // Backward accumulates straight into the flat gradient, equal to the twin's gradients.
  flat.zero_grads();
  m->loss(b).backward();
  reference->loss(b).backward();
  std::vector<torch::Tensor> ref_grads;
  for (auto& p : reference->module().parameters()) ref_grads.push_back(p.grad().reshape({-1}));
  EXPECT_TRUE(torch::allclose(torch::cat(ref_grads), flat.flat_grads(), 1e-6, 1e-7));
  EXPECT_GT(flat.flat_grads().abs().sum().item<double>(), 0.0);
  // A second backward accumulates; zero_grads clears the same memory.
  auto g1 = flat.flat_grads().clone();
  m->loss(b).backward();
  EXPECT_TRUE(torch::allclose(flat.flat_grads(), 2 * g1, 1e-5, 1e-7));
  flat.zero_grads();
  EXPECT_EQ(params[0].grad().abs().sum().item<double>(), 0.0);
  // Writing the span changes the model's parameters.
  flat.params()[0] += 1.0f;
  EXPECT_EQ(params[0].reshape({-1})[0].item<float>(), flat.params()[0]);
  EXPECT_FALSE(torch::equal(m->logits(x), reference->logits(x)));
}

TEST(InnerOptimizer, ScheduleWarmupCosineFloor) {
  InnerOptions o;
  o.lr = 1.0;
  o.warmup = 10;
  o.total_steps = 110;
  o.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 9), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 10), 1.0);
  EXPECT_NEAR(scheduled_lr(o, 60), 0.55, 1e-12);  // half way: (1 + 0.1) / 2
  EXPECT_NEAR(scheduled_lr(o, 110), 0.1, 1e-12);
  EXPECT_NEAR(scheduled_lr(o, 500), 0.1, 1e-12);
}

TEST(InnerOptimizer, ClipScalesToMaxNorm) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 1.0), 5.0);
  EXPECT_NEAR(std::hypot(g[0], g[1]), 1.0, 1e-5);
  std::vector<float> small = {0.3f, 0.4f};
  clip_grad_norm(small, 1.0);
  EXPECT_EQ(small[0], 0.3f);
}

TEST(InnerOptimizer, AdamWMatchesLibTorch) {
  torch::manual_seed(0);
  auto p = torch::randn({257});
  auto ours = p.clone();
  auto theirs = p.clone().set_requires_grad(true);
  InnerOptions o;
  o.weight_decay = 0.1;
  auto opt = InnerOptimizer::make(o, 257);
  ASSERT_TRUE(opt.ok());
  torch::optim::AdamW ref({theirs}, torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.1).eps(1e-8));
  for (int step = 0; step < 20; ++step) {
    auto g = torch::randn({257});
    theirs.mutable_grad() = g.clone();
    ref.step();
    opt->step({ours.data_ptr<float>(), 257}, {g.data_ptr<float>(), 257}, 1e-2);
  }
  EXPECT_TRUE(torch::allclose(ours, theirs.detach(), 1e-5, 1e-6))
      << (ours - theirs.detach()).abs().max().item<float>();
  EXPECT_EQ(opt->steps_taken(), 20);
  EXPECT_EQ(opt->state_buffers().size(), 2u);
  InnerOptions sgd;
  sgd.kind = "sgd";
  auto s = InnerOptimizer::make(sgd, 2);
  ASSERT_TRUE(s.ok());
  std::vector<float> w = {1.0f, 2.0f}, g = {0.5f, -1.0f};
  s->step(w, g, 0.1);
  EXPECT_FLOAT_EQ(w[0], 0.95f);
  EXPECT_FLOAT_EQ(w[1], 2.1f);
  EXPECT_TRUE(s->state_buffers().empty());
  sgd.kind = "lion";
  EXPECT_FALSE(InnerOptimizer::make(sgd, 2).ok());
}

}  // namespace
}  // namespace loco::train
