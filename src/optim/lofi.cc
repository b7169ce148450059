// lofi.cc: no communication until one final average (see lofi.h).
#include "optim/lofi.h"

namespace loco::optim {

Status Lofi::init(std::span<const float> params) {
  count_ = params.size();
  initialized_ = true;
  return OkStatus();
}

Status Lofi::on_gradients(std::span<float> /*grads*/, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("lofi: on_gradients before init");
  return OkStatus();
}

Status Lofi::after_inner_step(std::span<float> params, int64_t /*step*/, Reducer& /*reducer*/) {
  if (!initialized_) return FailedPrecondition("lofi: after_inner_step before init");
  if (params.size() != count_) {
    return InvalidArgument("lofi: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(count_));
  }
  return OkStatus();
}

Status Lofi::finish(std::span<float> params, Reducer& reducer) {
  if (!initialized_) return FailedPrecondition("lofi: finish before init");
  if (params.size() != count_) {
    return InvalidArgument("lofi: " + std::to_string(params.size()) + " parameters, expected " +
                           std::to_string(count_));
  }
  return reduce_atomically(params, staging_, bucket_elements(options_.bucket_bytes), reducer);
}

}  // namespace loco::optim
