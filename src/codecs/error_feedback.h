// error_feedback.h: error feedback around any lossy codec, a stateful object separate from the
// codecs (which stay pure). Two modes:
//   kEf   (Seide et al. 2014; EF-SGD): p = x + e; send C(p); e <- p - D(C(p)).
//         What is not sent this round is carried into the next, so the sum of what receivers decode
//         over rounds equals the sum of the inputs minus the current residual e (exactly, up to f32
//         rounding of the additions).
//   kEf21 (Richtarik et al. 2021): the sender keeps g, its receivers' estimate of x;
//         send C(x - g); g <- g + D(C(x - g)). Receivers keep the same g (Ef21Receiver), which
//         follows x and converges to it when x stops changing.
// `residual_decay` (EF only, default 1) multiplies e before it is added: e <- decay * e.
// On an encode error (NaN input, small output) the state is left as it was.
// Not thread-safe; one object per buffer per sender. Not a codec: the wrapped codec's bytes are
// sent unchanged and decoded by the plain codec (kEf) or by Ef21Receiver (kEf21).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "codecs/codec.h"

namespace loco::codecs {

enum class FeedbackMode { kEf, kEf21 };

class ErrorFeedback {
 public:
  // `codec` must outlive this object; `count` is the length of every encode()'s input.
  ErrorFeedback(const Codec& codec, size_t count, FeedbackMode mode = FeedbackMode::kEf,
                float residual_decay = 1.0f);

  FeedbackMode mode() const { return mode_; }
  size_t encoded_size_bound() const { return codec_.encoded_size_bound(state_.size()); }
  // Encodes x with feedback into `out`; returns the bytes written. INVALID_ARGUMENT when
  // x.size() != count or the codec refuses the input; a decode failure of our own bytes is INTERNAL.
  Result<size_t> encode(std::span<const float> x, MutableByteSpan out);
  // kEf: the residual e; kEf21: the estimate g.
  std::span<const float> state() const { return state_; }
  // What the receivers decode from the last message sent (D(C(.))).
  std::span<const float> last_decoded() const { return decoded_; }
  void reset();

 private:
  const Codec& codec_;
  FeedbackMode mode_;
  float decay_;
  std::vector<float> state_;
  std::vector<float> decoded_;
  std::vector<float> scratch_;
};

// The receiving side of kEf21: g <- g + D(message). For an average over peers, add each peer's
// decoded message divided by the number of peers (apply(..., weight)).
class Ef21Receiver {
 public:
  Ef21Receiver(const Codec& codec, size_t count);
  // Decodes `message` (untrusted) and adds weight * decoded to the estimate; on error the estimate
  // is unchanged.
  Status apply(ByteSpan message, float weight = 1.0f);
  std::span<const float> estimate() const { return estimate_; }

 private:
  const Codec& codec_;
  std::vector<float> estimate_;
  std::vector<float> scratch_;
};

}  // namespace loco::codecs
