// topk_ddp.h: DDP with top-k sparsification and error feedback, optionally with Deep Gradient
// Compression's momentum correction (Lin et al. 2018), as a Strategy. Per step, on each peer:
//     u <- mu * u + g            (momentum correction; with mu = 0, u = g)
//     v <- v + u                 (error feedback: what was not sent accumulates)
//     send top-k(v) (codecs' top-k codec: the k = ceil(fraction * n) largest |v|, ties to the
//         lower index), then v <- 0 and u <- 0 where sent (momentum factor masking)
//     all-gather every peer's message; grads <- the mean over peers of the decoded messages
// With mu > 0 the momentum is applied here, so the trainer's inner optimizer must be plain SGD
// (DGC); with mu = 0 (the default) it is top-k + EF on the gradient, usable with any inner
// optimizer (AdamW then applies its own moments to the sparse averaged gradient).
// Traffic: each peer's message (16-byte header + k x (u32 index + f32 value)) reaches every other
// peer through an all-gather, so a peer receives (W - 1) messages per step: it grows with W.
// Other compressors (option `codec`, a codecs spec): "randomk:fraction=F" (the coordinates come
// from a seed all peers set to the step, so no indices travel), "sign:block=B" (1 bit per element
// and a scale per block), or any other codec; error feedback is then v <- v - D(C(v)) (for top-k
// this equals zeroing the sent entries), and momentum correction needs a sparse codec (top-k or
// random-k), whose sent entries are masked.
// Failure contract (strategy.h): u and v are updated in scratch and committed, and grads written,
// only after the all-gather and every decode succeeded. Decoding treats peers' bytes as untrusted.
// Not here: DGC's warm-up schedule of the sparsity, gradient clipping (the trainer's).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/random_k.h"
#include "optim/strategy.h"

namespace loco::optim {

struct TopkDdpOptions {
  double fraction = 0.01;  // share of elements each peer sends per step, in (0, 1]
  float momentum = 0.0f;   // DGC momentum correction, in [0, 1); 0: plain top-k + EF
  std::string codec;       // empty: top-k with `fraction`; else a codecs spec (see above)
};

[[nodiscard]] Status validate(const TopkDdpOptions& options);

class TopkDdp final : public Strategy {
 public:
  explicit TopkDdp(TopkDdpOptions options) : options_(options) {}

  std::string name() const override { return "ddp-topk"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t /*step*/) const override { return false; }
  bool params_synced_after(int64_t /*step*/) const override { return true; }
  std::vector<StateBuffer> state_buffers() override;

  // Bytes of this peer's message per step.
  size_t message_bytes() const { return message_.size(); }

 private:
  TopkDdpOptions options_;
  bool initialized_ = false;
  size_t count_ = 0;
  std::unique_ptr<codecs::Codec> codec_;
  codecs::RandomKCodec* random_k_ = nullptr;  // codec_ when it is random-k (seeded per step)
  std::vector<float> residual_;  // v
  std::vector<float> momentum_;  // u (empty when momentum == 0)
  // Scratch.
  std::vector<float> next_residual_, next_momentum_, sent_, decoded_, sum_;
  std::vector<std::byte> message_, gathered_;
};

}  // namespace loco::optim
