// inner_optimizer.h: the trainer's own (inner) optimizer on the flat parameter bucket: AdamW
// (decoupled weight decay, bias-corrected moments, the same update as torch.optim.AdamW) or plain
// SGD, plus the learning-rate schedule (linear warmup, cosine decay to a floor) and global-norm
// gradient clipping. It works on std::span<float> so it is exact, deterministic and checkpointable
// without LibTorch. Not the outer optimizer: that belongs to the strategy (src/optim).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "optim/strategy.h"

namespace loco::train {

struct InnerOptions {
  std::string kind = "adamw";  // "adamw" or "sgd"
  double lr = 2e-3;            // peak learning rate
  int64_t warmup = 150;        // steps of linear warmup
  int64_t total_steps = 3000;  // cosine decays from the end of warmup to this step
  double min_lr_ratio = 0.1;   // the floor, as a fraction of lr
  double weight_decay = 0.1;   // AdamW only (decoupled)
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double clip = 1.0;  // global gradient-norm clip; <= 0 disables
};

// Learning rate of 0-based step `step`: lr*(step+1)/warmup during warmup, then a cosine from lr
// down to lr*min_lr_ratio at total_steps (and the floor after it).
double scheduled_lr(const InnerOptions& o, int64_t step);

// Scales `grads` in place so that their L2 norm is at most `max_norm`; returns the norm before.
double clip_grad_norm(std::span<float> grads, double max_norm);

class InnerOptimizer {
 public:
  static Result<InnerOptimizer> make(const InnerOptions& options, size_t param_count);

  // One update of `params` with `grads` (already clipped) at learning rate `lr`.
  void step(std::span<float> params, std::span<const float> grads, double lr);

  // State to checkpoint: the moments (AdamW) and the step counter, as named buffers.
  std::vector<optim::StateBuffer> state_buffers();
  int64_t steps_taken() const { return t_; }
  void set_steps_taken(int64_t t) { t_ = t; }
  const InnerOptions& options() const { return options_; }

 private:
  InnerOptions options_;
  std::vector<float> m_;
  std::vector<float> v_;
  int64_t t_ = 0;
};

}  // namespace loco::train
