// ddp.h: data-parallel training as a Strategy: after every backward pass the gradients are
// averaged across all live peers, in buckets of a configurable size (4 MiB by default; one
// collective per bucket, never one per tensor), so every peer applies the same update and the
// parameters stay bit-identical. Stateless between steps.
// Failure contract (strategy.h): the buckets are reduced in a staging copy and written back only
// when all of them succeeded, so a failed call leaves the gradients untouched. Not here: gradient
// compression (later strategies), overlapping communication with backward (the trainer's call).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "optim/bucketing.h"
#include "optim/strategy.h"

namespace loco::optim {

struct DdpOptions {
  size_t bucket_bytes = kDefaultBucketBytes;
  // Wire codec of the gradient average ("" = fp32; see DilocoOptions::wire_codec). No error
  // feedback: each step's rounding is lost (ddp-topk is the compressed DDP with feedback).
  std::string wire_codec = {};
};

class Ddp final : public Strategy {
 public:
  explicit Ddp(DdpOptions options = {})
      : options_(options), codec_(parse_strategy_codec(options_.wire_codec)) {}

  std::string name() const override { return "ddp"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t /*step*/) const override { return false; }
  bool params_synced_after(int64_t /*step*/) const override { return true; }
  std::vector<StateBuffer> state_buffers() override { return {}; }

 private:
  DdpOptions options_;
  Result<WireCodec> codec_;  // options_.wire_codec, parsed once
  size_t count_ = 0;
  bool initialized_ = false;
  std::vector<float> staging_;
};

}  // namespace loco::optim
