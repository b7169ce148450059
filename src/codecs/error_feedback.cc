// error_feedback.cc: EF and EF21 around any codec (error_feedback.h).
#include "codecs/error_feedback.h"

#include <algorithm>

#include <fmt/format.h>

namespace loco::codecs {

ErrorFeedback::ErrorFeedback(const Codec& codec, size_t count, FeedbackMode mode,
                             float residual_decay)
    : codec_(codec),
      mode_(mode),
      decay_(residual_decay),
      state_(count, 0.0f),
      decoded_(count, 0.0f),
      scratch_(count, 0.0f) {}

void ErrorFeedback::reset() {
  std::fill(state_.begin(), state_.end(), 0.0f);
  std::fill(decoded_.begin(), decoded_.end(), 0.0f);
}

Result<size_t> ErrorFeedback::encode(std::span<const float> x, MutableByteSpan out) {
  const size_t n = state_.size();
  if (x.size() != n) {
    return InvalidArgument(fmt::format("error feedback over {} elements given {}", n, x.size()));
  }
  // scratch = what gets compressed: x + decay * e (EF) or x - g (EF21).
  if (mode_ == FeedbackMode::kEf) {
    for (size_t i = 0; i < n; ++i) scratch_[i] = x[i] + decay_ * state_[i];
  } else {
    for (size_t i = 0; i < n; ++i) scratch_[i] = x[i] - state_[i];
  }
  LOCO_ASSIGN_OR_RETURN(size_t bytes, codec_.encode(scratch_, out));
  Status st = codec_.decode(out.first(bytes), decoded_);
  if (!st.ok()) return Internal("error feedback: the codec cannot decode its own bytes: " + st.to_string());
  if (mode_ == FeedbackMode::kEf) {
    for (size_t i = 0; i < n; ++i) state_[i] = scratch_[i] - decoded_[i];
  } else {
    for (size_t i = 0; i < n; ++i) state_[i] += decoded_[i];
  }
  return bytes;
}

Ef21Receiver::Ef21Receiver(const Codec& codec, size_t count)
    : codec_(codec), estimate_(count, 0.0f), scratch_(count, 0.0f) {}

Status Ef21Receiver::apply(ByteSpan message, float weight) {
  LOCO_RETURN_IF_ERROR(codec_.decode(message, scratch_));
  for (size_t i = 0; i < estimate_.size(); ++i) estimate_[i] += weight * scratch_[i];
  return OkStatus();
}

}  // namespace loco::codecs
