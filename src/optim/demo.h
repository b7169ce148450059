// demo.h: DeMo, decoupled momentum optimization (Peng, Quesnelle, Kingma 2024), as a Strategy on
// a flat span. Each peer keeps its own momentum m and, per step,
//     m <- decay * m + g
//     per chunk of `chunk` elements: C = DCT-II(m chunk); keep the `topk` largest |C_k|
//         (ties: lower k first); m <- m - IDCT(kept)          (the transmitted part leaves m)
//     all-gather the kept (index, value) pairs of every peer
//     per chunk and frequency: the mean over the peers that sent it (peers that did not are
//         not counted, as the reference's scatter-reduce "mean" does), then IDCT
//     grads <- sign(that)   (0 stays 0)
// The trainer's inner optimizer must then be plain SGD (DeMo is sign-SGD on this direction);
// with it every peer applies the same update and the parameters stay bit-identical.
// m accumulates g without the learning rate: for a constant lr the sign update is the same as the
// reference's m <- decay m + lr g; under a schedule the weighting of old gradients differs.
// On the wire per chunk: topk x (u16 index, f32 value); chunks cut from the flat span in order,
// the last one shorter when the size is not a multiple of `chunk`.
// Failure contract (strategy.h): the new momentum is built in scratch and committed, and grads
// written, only after the all-gather succeeded. Gathered bytes are validated (DATA_LOSS if bad).
// Not here: weight decay (the trainer's), 1-bit values, the 2-D chunking of matrices.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "optim/dct.h"
#include "optim/strategy.h"

namespace loco::optim {

struct DemoOptions {
  size_t chunk = 64;     // DCT chunk size (2 .. 65536)
  size_t topk = 8;       // coefficients sent per chunk (1 .. chunk)
  float decay = 0.999f;  // momentum decay, in [0, 1)
};

[[nodiscard]] Status validate(const DemoOptions& options);

class Demo final : public Strategy {
 public:
  explicit Demo(DemoOptions options) : options_(options) {}

  std::string name() const override { return "demo"; }
  Status init(std::span<const float> params) override;
  Status on_gradients(std::span<float> grads, int64_t step, Reducer& reducer) override;
  Status after_inner_step(std::span<float> params, int64_t step, Reducer& reducer) override;
  Status finish(std::span<float> params, Reducer& reducer) override;
  bool syncs_after(int64_t /*step*/) const override { return false; }
  bool params_synced_after(int64_t /*step*/) const override { return true; }
  bool clip_before_on_gradients() const override { return true; }
  std::vector<StateBuffer> state_buffers() override;

  // Bytes this peer contributes per step (before the all-gather multiplies by the world).
  size_t payload_bytes() const { return payload_bytes_; }
  static constexpr size_t kEntryBytes = 6;  // u16 index + f32 value (little-endian)

 private:
  size_t chunk_len(size_t c) const;
  size_t chunk_k(size_t c) const { return std::min(options_.topk, chunk_len(c)); }
  const ChunkDct& dct_for(size_t len) const { return len == options_.chunk ? *full_ : *tail_; }

  DemoOptions options_;
  bool initialized_ = false;
  size_t count_ = 0;
  size_t chunks_ = 0;
  size_t payload_bytes_ = 0;
  std::unique_ptr<ChunkDct> full_;
  std::unique_ptr<ChunkDct> tail_;
  std::vector<float> momentum_;
  // Scratch, reused across steps.
  std::vector<float> next_momentum_;
  std::vector<std::byte> payload_;
  std::vector<std::byte> gathered_;
  std::vector<float> sum_, coeffs_, decoded_;
  std::vector<uint32_t> contributors_;
};

}  // namespace loco::optim
