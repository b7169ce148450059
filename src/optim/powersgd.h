// powersgd.h: DDP with PowerSGD gradient compression (Vogels, Karimireddy, Jaggi 2019) as a
// Strategy, with error feedback and warm start. The flat span is cut into the tensors named by
// `shapes` (rows x cols, in order; 1-D tensors as n x 1). A tensor is compressed when
// (rows + cols) * rank < rows * cols; the rest are averaged uncompressed. Per step:
//     M = grad + e                                  (error feedback)
//     P = M Q   (Q: the previous step's, or seeded pseudo-random at the start; same on all peers)
//     all-reduce-average [P of every tensor, uncompressed tensors]       (one collective)
//     orthonormalize the columns of P (Gram-Schmidt)
//     Q' = M^T P;  all-reduce-average [Q' of every tensor]              (a second collective)
//     grad <- P Q'^T;  e <- M - P Q'^T;  Q <- Q'
// Traffic per step: (rows + cols) * rank floats per compressed tensor, in two sequential
// all-reduces, instead of rows * cols.
// Failure contract (strategy.h): everything lives in scratch until both collectives succeeded.
// Not here: the "start after N steps" warm-up (the trainer can begin with "ddp" and switch),
// batching same-shape tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "optim/strategy.h"

namespace loco::optim {

struct PowerSgdOptions {
  size_t rank = 2;
  std::vector<std::pair<size_t, size_t>> shapes;  // rows x cols per tensor, in flat order
  uint64_t seed = 0;                              // for the initial Q (same on every peer)
};

class PowerSgd final : public Strategy {
 public:
  explicit PowerSgd(PowerSgdOptions options) : options_(std::move(options)) {}

  std::string name() const override { return "ddp-powersgd"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t /*step*/) const override { return false; }
  bool params_synced_after(int64_t /*step*/) const override { return true; }
  std::vector<StateBuffer> state_buffers() override;

  // Floats all-reduced per step (both collectives together).
  size_t floats_per_step() const { return p_floats_ + uncompressed_ + q_floats_; }

 private:
  struct Tensor {
    size_t offset, rows, cols;
    bool compressed;
    size_t p_offset, q_offset;  // into the P and Q buffers (compressed only)
  };

  PowerSgdOptions options_;
  bool initialized_ = false;
  size_t count_ = 0;
  std::vector<Tensor> tensors_;
  size_t p_floats_ = 0, q_floats_ = 0, uncompressed_ = 0;
  std::vector<float> error_;  // e, over the whole span (0 for uncompressed tensors)
  std::vector<float> q_;      // warm-start Q of every compressed tensor (cols x rank, row-major)
  // Scratch.
  std::vector<float> m_, p_buf_, q_buf_;
};

}  // namespace loco::optim
