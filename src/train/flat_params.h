// flat_params.h: the model's parameters and gradients as views into two contiguous float tensors.
// After binding, every parameter's data is a slice of one flat tensor and its .grad a slice of
// another, so a Strategy gets std::span<float> over all parameters (or all gradients) without a
// copy, the inner optimizer updates the model by writing the span, and backward accumulates
// straight into the flat gradient. The layout is module.parameters() order, identical on every
// peer for the same model configuration. Not here: the optimizer or communication.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <span>

namespace loco::train {

class FlatParams {
 public:
  // Copies the current parameter values into the flat tensor and rebinds every parameter (data
  // and grad) to its slice. The module must not re-register parameters afterwards.
  explicit FlatParams(torch::nn::Module& module);

  std::span<float> params() { return {params_.data_ptr<float>(), size()}; }
  std::span<float> grads() { return {grads_.data_ptr<float>(), size()}; }
  torch::Tensor& flat_params() { return params_; }
  torch::Tensor& flat_grads() { return grads_; }
  void zero_grads() { grads_.zero_(); }
  size_t size() const { return static_cast<size_t>(params_.numel()); }
  size_t tensor_count() const { return count_; }

 private:
  torch::Tensor params_;
  torch::Tensor grads_;
  size_t count_ = 0;
};

}  // namespace loco::train
