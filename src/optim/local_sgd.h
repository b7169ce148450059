// local_sgd.h: local SGD (periodic parameter averaging, FedAvg-style) as a Strategy: every peer
// trains alone and every H inner steps the parameters are averaged across peers,
//     sync after step s  <=>  (s + 1) % H == 0
// (DiLoCo with outer SGD lr 1 and no momentum computes the same thing up to rounding.) finish()
// averages once more if steps were taken since the last average. Stateless apart from step
// counters: nothing to share with a joining peer beyond the parameters.
// Failure contract (strategy.h): averaging is staged, so a failure leaves the parameters as they
// were. Not here: averaging optimizer state (the inner optimizer's state stays local).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "optim/bucketing.h"
#include "optim/strategy.h"

namespace loco::optim {

struct LocalSgdOptions {
  int64_t h = 100;  // inner steps between averages (at least 1)
  size_t bucket_bytes = kDefaultBucketBytes;
  // Wire codec of the parameter average ("" = fp32; see DilocoOptions::wire_codec).
  std::string wire_codec = {};
};

class LocalSgd final : public Strategy {
 public:
  explicit LocalSgd(LocalSgdOptions options)
      : options_(std::move(options)), codec_(parse_strategy_codec(options_.wire_codec)) {}

  std::string name() const override { return "local-sgd"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t step) const override { return (step + 1) % options_.h == 0; }
  std::vector<StateBuffer> state_buffers() override { return {}; }

 private:
  Status check(std::span<float> params) const;

  LocalSgdOptions options_;
  Result<WireCodec> codec_;  // options_.wire_codec, parsed once
  bool initialized_ = false;
  size_t count_ = 0;
  std::vector<float> staging_;
  int64_t last_step_ = -1;
  int64_t synced_step_ = -1;
};

}  // namespace loco::optim
