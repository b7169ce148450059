// local_sgd.cc: parameter averaging every H steps (see local_sgd.h).
#include "optim/local_sgd.h"

#include <algorithm>

namespace loco::optim {

Status LocalSgd::init(std::span<const float> params) {
  if (options_.h < 1) {
    return InvalidArgument("local-sgd: H (steps between averages) must be >= 1, got " +
                           std::to_string(options_.h));
  }
  count_ = params.size();
  last_step_ = -1;
  synced_step_ = -1;
  initialized_ = true;
  return OkStatus();
}

Status LocalSgd::check(std::span<float> params) const {
  if (!initialized_) return FailedPrecondition("local-sgd: used before init");
  if (params.size() != count_) {
    return InvalidArgument("local-sgd: " + std::to_string(params.size()) +
                           " parameters, expected " + std::to_string(count_));
  }
  return OkStatus();
}

Status LocalSgd::on_gradients(std::span<float> /*grads*/, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("local-sgd: on_gradients before init");
  return OkStatus();
}

Status LocalSgd::after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) {
  LOCO_RETURN_IF_ERROR(check(params));
  if (step < 0) return InvalidArgument("local-sgd: negative step " + std::to_string(step));
  if (syncs_after(step)) {
    if (!codec_.ok()) return codec_.status();
    LOCO_RETURN_IF_ERROR(
        reduce_atomically(params, staging_, bucket_elements(options_.bucket_bytes), reducer,
                          *codec_));
    synced_step_ = step;
  }
  last_step_ = std::max(last_step_, step);
  return OkStatus();
}

Status LocalSgd::finish(std::span<float> params, Reducer& reducer) {
  LOCO_RETURN_IF_ERROR(check(params));
  if (last_step_ <= synced_step_) return OkStatus();
  if (!codec_.ok()) return codec_.status();
  LOCO_RETURN_IF_ERROR(reduce_atomically(params, staging_, bucket_elements(options_.bucket_bytes),
                                         reducer, *codec_));
  synced_step_ = last_step_;
  return OkStatus();
}

}  // namespace loco::optim
