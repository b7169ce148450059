// flat_params.cc: rebinding parameters and gradients to slices of flat tensors (see the header).
#include "train/flat_params.h"

#include <torch/nn/module.h>

namespace loco::train {

FlatParams::FlatParams(torch::nn::Module& module) {
  auto parameters = module.parameters();
  int64_t total = 0;
  for (const auto& p : parameters) total += p.numel();
  params_ = torch::empty({total}, torch::kFloat32);
  grads_ = torch::zeros({total}, torch::kFloat32);
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& p : parameters) {
    const int64_t n = p.numel();
    auto slice = params_.narrow(0, offset, n);
    slice.copy_(p.detach().reshape({-1}));
    p.set_data(slice.view(p.sizes()));
    p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
  count_ = parameters.size();
}

}  // namespace loco::train
