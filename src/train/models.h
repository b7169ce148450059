// models.h: the models the trainer trains, as LibTorch modules behind one small interface:
//  * "transformer": a decoder-only byte-level language model (vocabulary 256, learned positions,
//    pre-LayerNorm blocks of causal multi-head self-attention and a 4x GELU MLP, final LayerNorm,
//    output head tied to the token embedding). 2 layers, width 64, 4 heads, context 64 has
//    120,576 parameters (the reference configuration).
//  * "mlp": 784-256-10 classifier; "cnn": two 5x5 conv + pool layers and a linear head.
// Initialisation is seeded (torch::manual_seed), so every peer builds identical parameters.
// Not here: data (batches.h), optimisation (inner_optimizer.h), flattening (flat_params.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace loco::train {

struct ModelConfig {
  std::string kind = "transformer";  // transformer | mlp | cnn
  int layers = 2;
  int width = 64;
  int heads = 4;
  int context = 64;
};

struct Batch {
  torch::Tensor x;    // transformer: [B, T] int64 bytes; classifiers: [B, 1, 28, 28] float
  torch::Tensor y;    // transformer: [B, T] int64 next bytes; classifiers: [B] int64 classes
  int64_t units = 0;  // tokens (transformer) or samples (classifiers)
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual torch::nn::Module& module() = 0;
  // Transformer: [B, T, 256]; classifiers: [B, 10].
  virtual torch::Tensor logits(const torch::Tensor& x) = 0;
  virtual bool is_classifier() const = 0;

  // Mean cross-entropy (nats per token or per sample).
  torch::Tensor loss(const Batch& b);
  int64_t parameter_count();
  // rows x cols of every parameter in the flat order (matrices: size(0) x the rest; vectors:
  // n x 1), for strategies that compress per matrix (ddp-powersgd).
  std::vector<std::pair<size_t, size_t>> tensor_shapes();
};

// INVALID_ARGUMENT for an unknown kind or an impossible shape (width not divisible by heads, ...).
Result<std::unique_ptr<Model>> make_model(const ModelConfig& config, uint64_t seed);

}  // namespace loco::train
