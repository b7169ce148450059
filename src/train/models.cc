// models.cc: the transformer language model and the two classifiers (see models.h).
#include "train/models.h"

#include <torch/nn.h>

#include <cmath>

namespace loco::train {

namespace {

constexpr int64_t kVocab = 256;

// GPT-2 style initialisation: N(0, 0.02) weights, zero biases, LayerNorm (1, 0).
void init_linear(torch::nn::Linear& l, double std) {
  torch::NoGradGuard g;
  l->weight.normal_(0.0, std);
  if (l->bias.defined()) l->bias.zero_();
}

struct BlockImpl : torch::nn::Module {
  BlockImpl(int width, int heads, int context, int layers) : width_(width), heads_(heads) {
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    qkv = register_module("qkv", torch::nn::Linear(width, 3 * width));
    proj = register_module("proj", torch::nn::Linear(width, width));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    fc1 = register_module("fc1", torch::nn::Linear(width, 4 * width));
    fc2 = register_module("fc2", torch::nn::Linear(4 * width, width));
    const double resid_std = 0.02 / std::sqrt(2.0 * layers);
    init_linear(qkv, 0.02);
    init_linear(proj, resid_std);
    init_linear(fc1, 0.02);
    init_linear(fc2, resid_std);
    // Additive causal mask: -inf above the diagonal. A buffer, not a parameter.
    mask = register_buffer(
        "mask", torch::full({context, context}, -std::numeric_limits<float>::infinity()).triu(1));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), T = x.size(1), C = width_, H = heads_, D = C / H;
    auto h = ln1(x);
    auto parts = qkv(h).view({B, T, 3, H, D}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, D]
    auto q = parts[0], k = parts[1], v = parts[2];
    auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(D)));
    att = att + mask.index({torch::indexing::Slice(0, T), torch::indexing::Slice(0, T)});
    att = torch::softmax(att, -1);
    auto y = torch::matmul(att, v).transpose(1, 2).reshape({B, T, C});
    auto out = x + proj(y);
    return out + fc2(torch::gelu(fc1(ln2(out))));
  }

  int width_, heads_;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::Tensor mask;
};
TORCH_MODULE(Block);

class Transformer final : public Model, public torch::nn::Module {
 public:
  explicit Transformer(const ModelConfig& c) : context_(c.context) {
    tok = register_module("tok", torch::nn::Embedding(kVocab, c.width));
    pos = register_module("pos", torch::nn::Embedding(c.context, c.width));
    {
      torch::NoGradGuard g;
      tok->weight.normal_(0.0, 0.02);
      pos->weight.normal_(0.0, 0.02);
    }
    for (int i = 0; i < c.layers; ++i) {
      blocks.push_back(register_module("block" + std::to_string(i),
                                       Block(c.width, c.heads, c.context, c.layers)));
    }
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
  }
  std::string name() const override { return "transformer"; }
  torch::nn::Module& module() override { return *this; }
  bool is_classifier() const override { return false; }

  torch::Tensor logits(const torch::Tensor& x) override {
    const int64_t T = x.size(1);
    auto h = tok(x) + pos->weight.index({torch::indexing::Slice(0, T)});
    for (auto& b : blocks) h = b->forward(h);
    h = ln_f(h);
    return torch::matmul(h, tok->weight.t());  // tied output head
  }

 private:
  int context_;
  torch::nn::Embedding tok{nullptr}, pos{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
};

class Mlp final : public Model, public torch::nn::Module {
 public:
  Mlp() {
    fc1 = register_module("fc1", torch::nn::Linear(28 * 28, 256));
    fc2 = register_module("fc2", torch::nn::Linear(256, 10));
  }
  std::string name() const override { return "mlp"; }
  torch::nn::Module& module() override { return *this; }
  bool is_classifier() const override { return true; }
  torch::Tensor logits(const torch::Tensor& x) override {
    return fc2(torch::relu(fc1(x.reshape({x.size(0), -1}))));
  }

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

class Cnn final : public Model, public torch::nn::Module {
 public:
  Cnn() {
    c1 = register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 5).padding(2)));
    c2 = register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 5).padding(2)));
    fc = register_module("fc", torch::nn::Linear(32 * 7 * 7, 10));
  }
  std::string name() const override { return "cnn"; }
  torch::nn::Module& module() override { return *this; }
  bool is_classifier() const override { return true; }
  torch::Tensor logits(const torch::Tensor& x) override {
    auto h = torch::max_pool2d(torch::relu(c1(x)), 2);  // [B, 16, 14, 14]
    h = torch::max_pool2d(torch::relu(c2(h)), 2);       // [B, 32, 7, 7]
    return fc(h.reshape({h.size(0), -1}));
  }

 private:
  torch::nn::Conv2d c1{nullptr}, c2{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace

torch::Tensor Model::loss(const Batch& b) {
  auto l = logits(b.x);
  return torch::nn::functional::cross_entropy(l.reshape({-1, l.size(-1)}), b.y.reshape({-1}));
}

int64_t Model::parameter_count() {
  int64_t n = 0;
  for (const auto& p : module().parameters()) n += p.numel();
  return n;
}

std::vector<std::pair<size_t, size_t>> Model::tensor_shapes() {
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& p : module().parameters()) {
    const auto n = static_cast<size_t>(p.numel());
    const size_t rows = p.dim() >= 2 ? static_cast<size_t>(p.size(0)) : n;
    out.emplace_back(rows, rows == 0 ? 0 : n / rows);
  }
  return out;
}

Result<std::unique_ptr<Model>> make_model(const ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  if (c.kind == "transformer") {
    if (c.layers < 1 || c.layers > 64 || c.width < 1 || c.width > 8192 || c.heads < 1 ||
        c.context < 2 || c.context > 65536) {
      return InvalidArgument("transformer: layers 1..64, width 1..8192, heads >= 1, context 2..65536");
    }
    if (c.width % c.heads != 0) {
      return InvalidArgument("transformer: width " + std::to_string(c.width) +
                             " is not divisible by heads " + std::to_string(c.heads));
    }
    return std::unique_ptr<Model>(new Transformer(c));
  }
  if (c.kind == "mlp") return std::unique_ptr<Model>(new Mlp());
  if (c.kind == "cnn") return std::unique_ptr<Model>(new Cnn());
  return InvalidArgument("unknown model '" + c.kind + "' (transformer, mlp or cnn)");
}

}  // namespace loco::train
