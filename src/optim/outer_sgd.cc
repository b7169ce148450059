// outer_sgd.cc: SGD with (multi-timescale, Nesterov) momentum on spans (see outer_sgd.h).
#include "optim/outer_sgd.h"

#include <cmath>

namespace loco::optim {

namespace {
bool valid_beta(float b) { return std::isfinite(b) && b >= 0.0f && b < 1.0f; }
}  // namespace

Status validate(const OuterSgdOptions& o) {
  if (!std::isfinite(o.lr) || o.lr <= 0.0f) {
    return InvalidArgument("outer learning rate must be a finite number > 0, got " +
                           std::to_string(o.lr));
  }
  if (!valid_beta(o.momentum)) {
    return InvalidArgument("outer momentum must be in [0, 1), got " + std::to_string(o.momentum));
  }
  for (float b : o.extra_momenta) {
    if (!valid_beta(b) || b == 0.0f) {
      return InvalidArgument("extra outer momentum must be in (0, 1), got " + std::to_string(b));
    }
  }
  if (!o.extra_momenta.empty() && o.momentum == 0.0f) {
    return InvalidArgument("extra outer momenta need a main outer momentum > 0");
  }
  return OkStatus();
}

Status OuterSgd::init(size_t count) {
  LOCO_RETURN_IF_ERROR(validate(options_));
  count_ = count;
  betas_.clear();
  buffers_.clear();
  if (options_.momentum > 0.0f) {
    betas_.push_back(options_.momentum);
    for (float b : options_.extra_momenta) betas_.push_back(b);
  }
  buffers_.assign(betas_.size(), std::vector<float>(count, 0.0f));
  return OkStatus();
}

Status OuterSgd::step(std::span<float> x, std::span<const float> g) {
  if (x.size() != count_ || g.size() != count_) {
    return InvalidArgument("outer SGD: expected " + std::to_string(count_) + " elements, got " +
                           std::to_string(x.size()) + " parameters and " +
                           std::to_string(g.size()) + " gradients");
  }
  const float lr = options_.lr;
  if (betas_.empty()) {
    for (size_t i = 0; i < count_; ++i) x[i] -= lr * g[i];
    return OkStatus();
  }
  if (betas_.size() == 1) {
    const float mu = betas_[0];
    float* v = buffers_[0].data();
    for (size_t i = 0; i < count_; ++i) {
      v[i] = mu * v[i] + g[i];
      const float d = options_.nesterov ? g[i] + mu * v[i] : v[i];
      x[i] -= lr * d;
    }
    return OkStatus();
  }
  // Several timescales: the mean over buffers, summed in buffer order.
  const float inv_m = 1.0f / static_cast<float>(betas_.size());
  for (size_t i = 0; i < count_; ++i) {
    float acc = 0.0f;
    for (size_t j = 0; j < betas_.size(); ++j) {
      float& v = buffers_[j][i];
      v = betas_[j] * v + g[i];
      acc += options_.nesterov ? betas_[j] * v : v;
    }
    const float d = options_.nesterov ? g[i] + acc * inv_m : acc * inv_m;
    x[i] -= lr * d;
  }
  return OkStatus();
}

std::vector<StateBuffer> OuterSgd::state_buffers(const std::string& prefix) {
  std::vector<StateBuffer> out;
  for (size_t j = 0; j < buffers_.size(); ++j) {
    std::string name = prefix + "momentum";
    if (j > 0) name += "_" + std::to_string(j);
    out.push_back({std::move(name), std::span<float>(buffers_[j])});
  }
  return out;
}

}  // namespace loco::optim
