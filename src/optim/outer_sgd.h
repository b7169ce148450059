// outer_sgd.h: the outer optimizer of DiLoCo: SGD with optional heavy-ball or Nesterov momentum on
// flat float spans, with PyTorch's torch.optim.SGD conventions (dampening 0):
//     v <- mu * v + g                     (v starts at 0, so the first step gives v = g)
//     d <- g + mu * v   if Nesterov,  d <- v   otherwise     (d = g when mu = 0)
//     x <- x - lr * d
// Optional multi-timescale momentum (MT-DAO-like): extra buffers v_j with their own mu_j, updated
// the same way; the step uses their mean, d <- g + mean_j(mu_j v_j) (Nesterov) or mean_j(v_j).
// With one buffer this is exactly the rule above. Pure arithmetic, element-wise and in index
// order, so every peer that applies it to identical inputs gets identical bytes.
// Not here: the pseudo-gradient or any communication (diloco.h), weight decay, learning-rate
// schedules.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "optim/strategy.h"

namespace loco::optim {

struct OuterSgdOptions {
  float lr = 0.7f;        // DiLoCo paper
  float momentum = 0.9f;  // DiLoCo paper; 0 disables momentum (no buffer is kept)
  bool nesterov = true;   // DiLoCo paper
  // Extra momentum coefficients for multi-timescale momentum (each in [0, 1)); empty: classic.
  std::vector<float> extra_momenta;
};

// INVALID_ARGUMENT with a message naming the bad field, or OK.
[[nodiscard]] Status validate(const OuterSgdOptions& options);

class OuterSgd {
 public:
  explicit OuterSgd(OuterSgdOptions options) : options_(std::move(options)) {}

  // Sizes the momentum buffers for `count` parameters and zeroes them.
  [[nodiscard]] Status init(size_t count);
  // x <- x - lr * d as above. `x` and `g` must both have init()'s count (INVALID_ARGUMENT if not;
  // nothing is modified then).
  [[nodiscard]] Status step(std::span<float> x, std::span<const float> g);

  const OuterSgdOptions& options() const { return options_; }
  // The momentum buffers, named "<prefix>momentum", "<prefix>momentum_1", ... (none without
  // momentum).
  std::vector<StateBuffer> state_buffers(const std::string& prefix);

 private:
  OuterSgdOptions options_;
  size_t count_ = 0;
  std::vector<float> betas_;                 // momentum first, then extra_momenta
  std::vector<std::vector<float>> buffers_;  // one per beta
};

}  // namespace loco::optim
