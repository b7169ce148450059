// ddp.cc: bucketed gradient averaging every step (see ddp.h).
#include "optim/ddp.h"

namespace loco::optim {

Status Ddp::init(std::span<const float> params) {
  count_ = params.size();
  initialized_ = true;
  return OkStatus();
}

Status Ddp::on_gradients(std::span<float> grads, int64_t /*step*/, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("ddp: on_gradients before init");
  if (grads.size() != count_) {
    return InvalidArgument("ddp: " + std::to_string(grads.size()) + " gradients for " +
                           std::to_string(count_) + " parameters");
  }
  if (!codec_.ok()) return codec_.status();
  return reduce_atomically(grads, staging_, bucket_elements(options_.bucket_bytes), reducer,
                           *codec_);
}

Status Ddp::after_inner_step(std::span<float> params, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("ddp: after_inner_step before init");
  if (params.size() != count_) {
    return InvalidArgument("ddp: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(count_));
  }
  return OkStatus();
}

// Parameters are already identical on every peer (same start, same averaged updates).
Status Ddp::finish(std::span<float> params, Reducer& reducer) {
  return after_inner_step(params, 0, reducer);
}

}  // namespace loco::optim
