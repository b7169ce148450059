// lofi.h: lo-fi (Wortsman et al.: "lo-fi: distributed fine-tuning without communication") as a
// Strategy: peers train independently with no communication at all, and finish() averages the
// parameters once. The baseline for "how much does communicating during training buy".
// Failure contract (strategy.h): the final average is staged; a failure leaves the parameters as
// they were, and finish() may be called again. Not here: anything during training.
#pragma once

#include <cstddef>
#include <vector>

#include "optim/bucketing.h"
#include "optim/strategy.h"

namespace loco::optim {

struct LofiOptions {
  size_t bucket_bytes = kDefaultBucketBytes;
};

class Lofi final : public Strategy {
 public:
  explicit Lofi(LofiOptions options = {}) : options_(options) {}

  std::string name() const override { return "lofi"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t /*step*/) const override { return false; }
  std::vector<StateBuffer> state_buffers() override { return {}; }

 private:
  LofiOptions options_;
  bool initialized_ = false;
  size_t count_ = 0;
  std::vector<float> staging_;
};

}  // namespace loco::optim
