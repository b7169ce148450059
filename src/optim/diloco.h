// diloco.h: DiLoCo (Douillard et al. 2023) as a Strategy. Every peer trains alone for H inner
// steps; then the pseudo-gradient (global copy minus local parameters) is averaged across peers,
// the outer optimizer (outer_sgd.h; SGD lr 0.7 with Nesterov momentum 0.9 by default) is applied
// to the global copy, and the global copy is written back into the parameters. The inner
// optimizer's state is the trainer's and stays local.
//     sync after step s  <=>  (s + 1) % H == 0
// finish() runs one more outer round if inner steps were taken since the last one, so that every
// peer ends with the same parameters.
// Warm start (option warm_start = W > 0; the DiLoCo paper starts from a briefly data-parallel
// model): steps 0..W-1 average the gradients every step as DDP does, the global copy is taken
// from the (then identical) parameters after step W-1, and outer rounds follow every H steps:
//     sync after step s  <=>  s >= W  and  (s - W + 1) % H == 0
// Those W steps cost W full-size all-reduces, which a bytes budget must count.
// State (state_buffers): "diloco.global" (the global copy) and "diloco.outer_momentum[_j]"; a
// joining peer must load all of them, and set its parameters to the global copy.
// Failure contract (strategy.h): the pseudo-gradient lives in scratch; the global copy, the
// momentum and the parameters are written only after every bucket was averaged.
// With a wire codec (DilocoOptions::wire_codec) the pseudo-gradient travels quantized (int8 as in
// INTELLECT-1): each peer's averaged pseudo-gradient is the same decoded value, so the outer step
// and the parameters stay bit-identical across peers; only its accuracy changes.
// Not here: streaming (fragmented) or delayed DiLoCo, error feedback on the pseudo-gradient.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "optim/bucketing.h"
#include "optim/outer_sgd.h"
#include "optim/strategy.h"

namespace loco::optim {

struct DilocoOptions {
  int64_t h = 100;  // inner steps per outer round (at least 1)
  int64_t warm_start = 0;  // data-parallel steps before the first inner round (0: none)
  OuterSgdOptions outer;
  size_t bucket_bytes = kDefaultBucketBytes;
  // Wire codec of the pseudo-gradient all-reduce: "" (fp32), "fp16", "bf16", "int8[:block=N]",
  // "int4[:block=N]" (Reducer::all_reduce_avg_quantized). Peers still end bit-identical.
  std::string wire_codec = {};
};

class Diloco final : public Strategy {
 public:
  explicit Diloco(DilocoOptions options)
      : options_(std::move(options)),
        codec_(parse_strategy_codec(options_.wire_codec)),
        outer_(options_.outer) {}

  std::string name() const override { return "diloco"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t step) const override {
    return step >= options_.warm_start && (step - options_.warm_start + 1) % options_.h == 0;
  }
  bool params_synced_after(int64_t step) const override {
    return step < options_.warm_start || syncs_after(step);
  }
  std::vector<StateBuffer> state_buffers() override;
  bool state_buffers_shared() const override { return true; }
  // params <- the global copy; the next outer round (at `step` or at finish) includes this peer.
  void adopt_shared_state(std::span<float> params, int64_t step) override;

  const DilocoOptions& options() const { return options_; }
  // The global copy (valid after init).
  std::span<const float> global_params() const { return global_; }

 private:
  // One outer round: average (global - params), outer step on global, params <- global.
  Status outer_round(std::span<float> params, Reducer& reducer);

  DilocoOptions options_;
  Result<WireCodec> codec_;  // options_.wire_codec, parsed once
  OuterSgd outer_;
  bool initialized_ = false;
  std::vector<float> global_;
  std::vector<float> delta_;  // scratch: the pseudo-gradient
  std::vector<float> staging_;  // scratch: warm-start gradient buckets
  int64_t last_step_ = -1;    // newest step seen by after_inner_step
  int64_t synced_step_ = -1;  // newest step covered by an outer round
};

}  // namespace loco::optim
