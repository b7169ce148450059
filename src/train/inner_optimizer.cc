// inner_optimizer.cc: AdamW / SGD on flat spans and the warmup-cosine schedule (see the header).
#include "train/inner_optimizer.h"

#include <cmath>
#include <numbers>

namespace loco::train {

double scheduled_lr(const InnerOptions& o, int64_t step) {
  if (o.warmup > 0 && step < o.warmup) {
    return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  }
  const int64_t decay_steps = o.total_steps - o.warmup;
  if (decay_steps <= 0) return o.lr;
  double progress = static_cast<double>(step - o.warmup) / static_cast<double>(decay_steps);
  if (progress > 1.0) progress = 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return o.lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
}

double clip_grad_norm(std::span<float> grads, double max_norm) {
  double sq = 0.0;
  for (float g : grads) sq += static_cast<double>(g) * static_cast<double>(g);
  const double norm = std::sqrt(sq);
  if (max_norm > 0.0 && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (float& g : grads) g *= scale;
  }
  return norm;
}

Result<InnerOptimizer> InnerOptimizer::make(const InnerOptions& options, size_t param_count) {
  if (options.kind != "adamw" && options.kind != "sgd") {
    return InvalidArgument("inner optimizer must be adamw or sgd, not '" + options.kind + "'");
  }
  if (!(options.lr > 0.0) || options.warmup < 0 || options.min_lr_ratio < 0.0 ||
      options.min_lr_ratio > 1.0 || options.weight_decay < 0.0 || options.beta1 < 0.0 ||
      options.beta1 >= 1.0 || options.beta2 < 0.0 || options.beta2 >= 1.0) {
    return InvalidArgument("inner optimizer: lr must be > 0, warmup >= 0, min-lr-ratio in [0,1], "
                           "weight decay >= 0, betas in [0,1)");
  }
  InnerOptimizer opt;
  opt.options_ = options;
  if (options.kind == "adamw") {
    opt.m_.assign(param_count, 0.0f);
    opt.v_.assign(param_count, 0.0f);
  }
  return opt;
}

void InnerOptimizer::step(std::span<float> params, std::span<const float> grads, double lr) {
  ++t_;
  const size_t n = params.size();
  if (options_.kind == "sgd") {
    const auto a = static_cast<float>(lr);
    for (size_t i = 0; i < n; ++i) params[i] -= a * grads[i];
    return;
  }
  const auto b1 = static_cast<float>(options_.beta1);
  const auto b2 = static_cast<float>(options_.beta2);
  const auto decay = static_cast<float>(1.0 - lr * options_.weight_decay);
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(t_));
  const auto step_size = static_cast<float>(lr / bc1);
  const auto inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const auto eps = static_cast<float>(options_.eps);
  for (size_t i = 0; i < n; ++i) {
    const float g = grads[i];
    m_[i] = b1 * m_[i] + (1.0f - b1) * g;
    v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
    const float denom = std::sqrt(v_[i]) * inv_sqrt_bc2 + eps;
    params[i] = params[i] * decay - step_size * m_[i] / denom;
  }
}

std::vector<optim::StateBuffer> InnerOptimizer::state_buffers() {
  std::vector<optim::StateBuffer> out;
  if (!m_.empty()) {
    out.push_back({"inner.adamw.m", std::span<float>(m_)});
    out.push_back({"inner.adamw.v", std::span<float>(v_)});
  }
  return out;
}

}  // namespace loco::train
