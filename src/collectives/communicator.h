// communicator.h: the front of loco's collectives: ring all-reduce, reduce-scatter, all-gather and
// broadcast over a Mesh (mesh.h), committed through a CommitVoter (commit_voter.h).
//
// Design in one page (docs/ takes it from here):
//  * Data plane: per epoch, `stripes` TCP connections to the next ring peer and as many from the
//    previous one. A buffer is cut into balanced segments, one per rank (ring_plan.h), and each
//    segment into pieces of `piece_bytes` spread round-robin over the stripes. Receiver threads
//    place each piece straight into the operation's buffer, reduce it there and queue it for the
//    next peer, so receiving, reducing and sending of different pieces overlap (ring_op.h).
//  * Every operation is (epoch, tag, seq): seq counts operations per tag within an epoch, so
//    operations on one tag must be started in the same order on every peer; operations on
//    different tags may run concurrently over the same links (async forms).
//  * Fault semantics: an operation fails on every survivor within a bounded time with ABORTED (the
//    epoch was replaced or aborted), UNAVAILABLE (a link broke) or DEADLINE_EXCEEDED (its deadline,
//    from its size and measured bandwidth, throughput.h, passed: a hung peer). Any failure fails
//    the whole epoch's links, which tells the neighbours at once through the closed sockets; ops of
//    that epoch then fail fast until the membership layer installs a new epoch (Mesh::set_epoch).
//  * Commit: the result is staged (scratch, or the caller's separate output buffer) until the
//    voter says every member completed; only then is it copied into the caller's in-place buffer.
//    On any failure an in-place buffer and every input buffer are exactly as before the call, so
//    retrying in the new epoch is always correct. A separate output buffer (out != in) is working
//    space: its contents are unspecified after a failure.
//  * Determinism: each element is reduced by one chain of ranks in ring order and then copied,
//    so all peers end with identical bytes, floats included (reduce_kernels.h for the arithmetic).
//  * Quantized all-reduce (f32 sum/avg with a dense wire codec: fp16, bf16, int8, int4): the same
//    ring with every piece encoded; results stay bit-identical on every peer by the parity rule
//    of docs/algorithms.md, "Quantized all-reduce" (quantized_all_reduce.cc). Same staging and commit; OpStats count the encoded
//    bytes actually sent. In a world of one the result is still decode(encode(input)).
// Threading: every method may be called from any thread. Not here: membership, the C API.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <memory>
#include <string_view>

#include "codecs/codec.h"
#include "collectives/commit_voter.h"
#include "collectives/data_messages.h"
#include "collectives/mesh.h"
#include "collectives/ring_op.h"
#include "collectives/ring_plan.h"
#include "collectives/throughput.h"
#include "collectives/types.h"
#include "common/clock.h"
#include "common/status.h"
#include "wire/messages.h"

namespace loco::collectives {

struct CommunicatorOptions {
  size_t piece_bytes = 2u << 20;  // pipeline granularity (multiple of 8, at most the mesh limit)
  DeadlinePolicy deadline;
  size_t scratch_buffers_kept = 4;  // staging buffers reused across operations
  PieceHook test_on_piece;          // test hook, empty in production (see OpParams::on_piece)
};

struct OpStats {
  wire::OpId op;
  size_t world_size = 0;
  uint64_t bytes_sent = 0;      // on the wire, frame and piece headers included
  uint64_t bytes_received = 0;  // on the wire, frame and piece headers included
  Duration duration{};          // call to commit
  Duration vote_time{};         // of which waiting for the commit vote
};

// What to run; the public methods fill it in.
struct OpRequest {
  OpKind kind = OpKind::kAllReduce;
  const void* in = nullptr;
  void* out = nullptr;
  size_t count = 0;  // see the method comments
  DataType dtype = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;
  size_t root = 0;
  uint64_t tag = 0;
  // All-reduce only: the wire codec (a spec as codecs::make_codec parses it, or a parsed codec,
  // which wins). Empty / null / "fp32": the raw ring. Otherwise the quantized all-reduce: dtype
  // f32, op sum or avg, a dense codec (fp16, bf16, int8[:block=N], int4[:block=N]); anything
  // else is INVALID_ARGUMENT. Every peer must pass the same codec (and piece size): a peer that
  // does not fails the operation with INVALID_ARGUMENT, like any mismatched call.
  std::string_view wire_codec = {};
  std::shared_ptr<const codecs::Codec> codec = nullptr;
};

class ScratchPool;
struct RunningOp;

// The future of an async operation. wait() returns its result once; the destructor waits too.
class OpHandle {
 public:
  OpHandle() = default;
  OpHandle(OpHandle&&) noexcept;
  OpHandle& operator=(OpHandle&&) noexcept;
  ~OpHandle();

  Result<OpStats> wait();
  bool valid() const { return state_ != nullptr; }

  struct State;

 private:
  friend class Communicator;
  explicit OpHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class Communicator {
 public:
  // `mesh` and `voter` must outlive the communicator. The destructor waits for async operations.
  Communicator(Mesh& mesh, CommitVoter& voter, CommunicatorOptions options = {});
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // In place: buf (count elements) becomes the reduction over all peers, only on OK.
  Result<OpStats> all_reduce(void* buf, size_t count, DataType t, ReduceOp op, uint64_t tag = 0);
  // Out of place: `in` is never written; `out` (count elements, not overlapping `in`) holds the
  // result on OK and is unspecified otherwise. Saves the staging copy.
  Result<OpStats> all_reduce(const void* in, void* out, size_t count, DataType t, ReduceOp op,
                             uint64_t tag = 0);
  // `in`: count elements; `out`: segment(count, world_size(), rank()).count elements, this rank's
  // reduced segment. `out` is written only on OK (it may alias `in`).
  Result<OpStats> reduce_scatter(const void* in, void* out, size_t count, DataType t, ReduceOp op,
                                 uint64_t tag = 0);
  // `in`: this rank's segment(count, world_size(), rank()).count elements; `out`: count elements,
  // the segments of every rank in ring order. `out` is written only on OK.
  Result<OpStats> all_gather(const void* in, void* out, size_t count, DataType t, uint64_t tag = 0);
  // Every rank's buf (count elements) becomes the root's; written only on OK. `root` is a rank.
  Result<OpStats> broadcast(void* buf, size_t count, DataType t, size_t root, uint64_t tag = 0);
  // The quantized all-reduce (see OpRequest::wire_codec), in place and out of place. An empty
  // `wire_codec` is the raw f32 all-reduce.
  Result<OpStats> all_reduce_quantized(float* buf, size_t count, ReduceOp op,
                                       std::string_view wire_codec, uint64_t tag = 0);
  Result<OpStats> all_reduce_quantized(const float* in, float* out, size_t count, ReduceOp op,
                                       std::string_view wire_codec, uint64_t tag = 0);

  // Async forms: the operation is started (and its sequence number taken) before the call returns;
  // buffers must stay valid until the handle's wait() returned.
  OpHandle all_reduce_async(void* buf, size_t count, DataType t, ReduceOp op, uint64_t tag = 0);
  OpHandle all_reduce_async(const void* in, void* out, size_t count, DataType t, ReduceOp op,
                            uint64_t tag = 0);
  // Other kinds: run_async with an OpRequest.

  Result<OpStats> run(const OpRequest& request);
  OpHandle run_async(const OpRequest& request);

  // Of the current epoch (0 / 0 / 0 before the first epoch).
  size_t rank() const;
  size_t world_size() const;
  uint64_t epoch() const;
  // Fails every operation of `epoch` with ABORTED (if it is the current epoch).
  void abort(uint64_t epoch);

  static Segment segment(size_t count, size_t world, size_t rank) {
    return segment_of(count, world, rank);
  }

 private:
  Result<std::unique_ptr<RunningOp>> begin(const OpRequest& request);
  Result<std::unique_ptr<RunningOp>> begin_quantized(const OpRequest& request,
                                                     std::shared_ptr<EpochLinks> links,
                                                     std::shared_ptr<const codecs::Codec> codec);
  Result<OpStats> finish(RunningOp& op);
  Status validate(const OpRequest& r, size_t world, size_t rank) const;

  Mesh& mesh_;
  CommitVoter& voter_;
  const CommunicatorOptions options_;
  ThroughputEstimator estimator_;
  std::unique_ptr<ScratchPool> pool_;
  // Async operations still using this object; the destructor waits for them.
  std::mutex inflight_mu_;
  std::condition_variable inflight_cv_;
  size_t inflight_ = 0;
};

}  // namespace loco::collectives
