// diloco.cc: DiLoCo's outer rounds (see diloco.h).
#include "optim/diloco.h"

#include <algorithm>

namespace loco::optim {

Status Diloco::init(std::span<const float> params) {
  if (options_.h < 1) {
    return InvalidArgument("diloco: H (inner steps per round) must be >= 1, got " +
                           std::to_string(options_.h));
  }
  if (options_.bucket_bytes < sizeof(float)) {
    return InvalidArgument("diloco: bucket size must be at least 4 bytes");
  }
  if (options_.warm_start < 0) {
    return InvalidArgument("diloco: warm start must be >= 0 steps, got " +
                           std::to_string(options_.warm_start));
  }
  LOCO_RETURN_IF_ERROR(outer_.init(params.size()));
  global_.assign(params.begin(), params.end());
  delta_.assign(params.size(), 0.0f);
  last_step_ = -1;
  synced_step_ = -1;
  initialized_ = true;
  return OkStatus();
}

Status Diloco::on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("diloco: on_gradients before init");
  if (step >= options_.warm_start) return OkStatus();
  if (grads.size() != global_.size()) {
    return InvalidArgument("diloco: " + std::to_string(grads.size()) + " gradients for " +
                           std::to_string(global_.size()) + " parameters");
  }
  // Warm start: data parallel (all-or-nothing, as DDP).
  return reduce_atomically(grads, staging_, bucket_elements(options_.bucket_bytes), reducer);
}

Status Diloco::outer_round(std::span<float> params, Reducer& reducer) {
  if (params.size() != global_.size()) {
    return InvalidArgument("diloco: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(global_.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) delta_[i] = global_[i] - params[i];
  // delta_ is scratch: a failure part-way leaves only it modified.
  if (!codec_.ok()) return codec_.status();
  LOCO_RETURN_IF_ERROR(
      reduce_in_buckets(delta_, bucket_elements(options_.bucket_bytes), reducer, *codec_));
  LOCO_RETURN_IF_ERROR(outer_.step(global_, delta_));
  std::copy(global_.begin(), global_.end(), params.begin());
  return OkStatus();
}

Status Diloco::after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("diloco: after_inner_step before init");
  if (step < 0) return InvalidArgument("diloco: negative step " + std::to_string(step));
  if (params.size() != global_.size()) {
    return InvalidArgument("diloco: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(global_.size()));
  }
  if (step + 1 == options_.warm_start) {
    // End of the warm start: the parameters are identical on every peer; they become the global
    // copy (no communication, so nothing to fail).
    std::copy(params.begin(), params.end(), global_.begin());
    synced_step_ = step;
  } else if (syncs_after(step)) {
    LOCO_RETURN_IF_ERROR(outer_round(params, reducer));
    synced_step_ = step;
  }
  last_step_ = std::max(last_step_, step);
  return OkStatus();
}

Status Diloco::finish(std::span<float> params, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("diloco: finish before init");
  if (last_step_ <= synced_step_) {
    if (params.size() != global_.size()) {
      return InvalidArgument("diloco: " + std::to_string(params.size()) +
                             " parameters, expected " + std::to_string(global_.size()));
    }
    return OkStatus();
  }
  LOCO_RETURN_IF_ERROR(outer_round(params, reducer));
  synced_step_ = last_step_;
  return OkStatus();
}

void Diloco::adopt_shared_state(std::span<float> params, int64_t step) {
  if (!initialized_ || params.size() != global_.size()) return;
  std::copy(global_.begin(), global_.end(), params.begin());
  // As if inner steps up to step - 1 were taken since the last round, so that a finish() right
  // away takes part in the swarm's final round (with a zero pseudo-gradient).
  last_step_ = step - 1;
  synced_step_ = -1;
}

std::vector<StateBuffer> Diloco::state_buffers() {
  if (!initialized_) return {};
  std::vector<StateBuffer> out;
  out.push_back({"diloco.global", std::span<float>(global_)});
  for (auto& b : outer_.state_buffers("diloco.outer_")) out.push_back(std::move(b));
  return out;
}

}  // namespace loco::optim
