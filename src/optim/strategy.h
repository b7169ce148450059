// strategy.h: the contract between the trainer (src/train, LibTorch) and the communication
// strategies (src/optim: DDP, DiLoCo, local SGD, lo-fi, and later compressed ones).
//
// A strategy sees only flat float buckets (the trainer flattens parameters and gradients into
// contiguous buckets, never one message per tensor), a Reducer (the collective it may call), and
// step numbers. It never includes LibTorch. It is not the inner optimizer: the trainer owns that.
//
// The trainer's loop, per inner step:
//     forward, backward  -> gradients in `grads` buckets
//     strategy.on_gradients(grads, reducer)      // DDP averages them here
//     inner optimizer step (AdamW / SGD) on params
//     strategy.after_inner_step(params, step, reducer)   // DiLoCo / local SGD sync every H steps
// and once at the end: strategy.finish(params, reducer)   // lo-fi averages here
//
// Failure contract: a call that returns a retryable status (ABORTED, UNAVAILABLE,
// DEADLINE_EXCEEDED: a peer died or the membership changed) has left `params`, `grads` and the
// strategy's own state exactly as before the call, so the trainer waits for the next membership
// and calls it again with the same arguments (the retry idiom). Any other status is fatal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "common/status.h"

namespace loco::optim {

// A parsed dense wire codec for the quantized all-reduce; null: plain fp32. Strategies parse the
// spec once, when they are built (parse_strategy_codec in bucketing.h), not per bucket.
using WireCodec = std::shared_ptr<const codecs::Codec>;

// The collective a strategy needs. Implemented over collectives::Communicator by SwarmReducer
// (swarm_reducer.h; it does not retry: the trainer retries whole strategy calls, see above), and
// by in-process fakes in unit tests (tests/unit/optim/fake_reducers.h).
class Reducer {
 public:
  virtual ~Reducer() = default;
  // Averages `data` element-wise across all live peers, in place. Every peer ends with identical
  // bytes. On a non-OK status `data` is exactly as before the call.
  [[nodiscard]] virtual Status all_reduce_avg(std::span<float> data) = 0;
  // The same average with the data sent through a dense wire codec (fp16, bf16, int8[:block=N],
  // int4[:block=N]; collectives' quantized all-reduce): every peer still ends with identical
  // bytes, the decoded value of one encoding of the average, within the codec's error (once per
  // ring hop) of the exact average. A null codec is all_reduce_avg. Reducers without it say
  // UNIMPLEMENTED; a codec that is not dense is INVALID_ARGUMENT.
  [[nodiscard]] virtual Status all_reduce_avg_quantized(std::span<float> data,
                                                        const WireCodec& codec) {
    if (!codec) return all_reduce_avg(data);
    return Status(StatusCode::kUnimplemented, "this reducer has no quantized all-reduce");
  }
  virtual int world_size() const = 0;
  // Gathers every live peer's `mine` (the same size on every peer) into `all`, in rank order:
  // afterwards all.size() == W * mine.size() for the W peers the operation ran with (which may
  // differ from an earlier world_size()). `all` is output only (unspecified after a failure).
  // For sparse exchanges (DeMo, top-k); reducers that cannot do it say UNIMPLEMENTED.
  [[nodiscard]] virtual Status all_gather_bytes(std::span<const std::byte> mine,
                                                std::vector<std::byte>& all) {
    (void)mine;
    all.clear();
    return Status(StatusCode::kUnimplemented, "this reducer has no all_gather_bytes");
  }
  // Totals over this reducer's life, on the wire (headers included).
  virtual uint64_t bytes_sent() const = 0;
  virtual uint64_t bytes_received() const = 0;
};

// A named float buffer a strategy keeps across steps (DiLoCo's global copy, outer momentum).
// The trainer checkpoints these and shares them as state; `name` is stable across versions.
struct StateBuffer {
  std::string name;
  std::span<float> data;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;

  // Called once before training with the initial parameters (identical on all peers).
  [[nodiscard]] virtual Status init(std::span<const float> params) = 0;
  // After backward, before the inner optimizer step. May rewrite `grads` (DDP averages them).
  [[nodiscard]] virtual Status on_gradients(std::span<float> grads, int64_t step,
                                            Reducer& reducer) = 0;
  // After the inner optimizer step `step` (0-based). May rewrite `params` (a sync every H steps).
  [[nodiscard]] virtual Status after_inner_step(std::span<float> params, int64_t step,
                                                Reducer& reducer) = 0;
  // Once after the last step (lo-fi averages here; others may do a final sync or nothing).
  [[nodiscard]] virtual Status finish(std::span<float> params, Reducer& reducer) = 0;

  // True when this step's after_inner_step will communicate (the trainer uses it for metrics).
  virtual bool syncs_after(int64_t step) const = 0;
  // True when, after this step's after_inner_step returned OK, `params` are bit-identical on every
  // peer (DDP: every step, since all peers apply the same averaged gradients; DiLoCo and local
  // SGD: the sync steps; lo-fi: never, only after finish). Tests and the trainer's parity checks
  // use it. After an OK finish() the parameters are identical on every peer for every strategy.
  virtual bool params_synced_after(int64_t step) const { return syncs_after(step); }
  // True when on_gradients() turns the gradient into an update direction whose scale is fixed
  // (DeMo's signs): the trainer then clips the raw local gradient before the call instead of the
  // strategy's output after it (clipping a vector of +-1 to norm 1 would shrink every step by
  // about the square root of the parameter count).
  virtual bool clip_before_on_gradients() const { return false; }
  // Buffers to checkpoint and to share with joining peers; empty if the strategy is stateless.
  // Valid after init() until the strategy is destroyed; the trainer may overwrite their contents
  // (checkpoint restore, state received by a joining peer) between calls.
  virtual std::vector<StateBuffer> state_buffers() = 0;

  // Joining a running swarm (src/train/state_rendezvous.h). True when every buffer of
  // state_buffers() is bit-identical on every peer whenever the strategy communicates (DiLoCo's
  // global copy and outer momentum): only then are they exchanged by a state sync. Otherwise they
  // are per-peer (error-feedback residuals, local momentum) and a joining peer keeps its own.
  // A strategy whose parameters are not identical after every step admits joining peers only if
  // it returns true here and sets the parameters in adopt_shared_state.
  virtual bool state_buffers_shared() const { return false; }
  // Called on a peer that has just received the shared state of a running swarm, before it goes on
  // from `step` (0-based; the swarm's next communication is at that step, or at finish when step is
  // the last one). DiLoCo sets `params` to the received global copy. Default: nothing.
  virtual void adopt_shared_state(std::span<float> params, int64_t step) {
    (void)params;
    (void)step;
  }
};

}  // namespace loco::optim
