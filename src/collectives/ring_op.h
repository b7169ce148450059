// ring_op.h: the machinery every ring algorithm shares: one running operation on one epoch's links.
//
// A RingOp owns no memory. It reads `input` (the caller's bytes, never written) and writes `work`
// (a scratch buffer, or the caller's output where the result may land before the commit). The
// algorithm (a subclass, one per file) says which byte range each step may receive into and what to
// do with a piece once it is in place: reduce it, forward it to the next peer, or both. Pieces
// arrive on the receiver threads of the links, so reduction and forwarding of one piece overlap the
// arrival of the next.
//
// Life cycle (driven by the communicator): start() registers with the links and queues the first
// pieces; wait_local(deadline) returns once every expected byte has arrived and every piece this
// peer sends has left, or with the first failure (its deadline's stall and overall bounds are
// checked against the links' byte counters while it waits, throughput.h). Whatever the outcome, when wait_local returns no
// thread touches `input` or `work` any more. On failure (its own deadline included) the op fails
// the whole epoch's links, which wakes every blocked send and receive on every peer of the ring.
// Not here: commit votes and copying results to the caller (communicator.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "collectives/data_messages.h"
#include "collectives/epoch_links.h"
#include "collectives/ring_plan.h"
#include "collectives/throughput.h"
#include "collectives/types.h"
#include "common/clock.h"
#include "common/status.h"
#include "wire/messages.h"

namespace loco::collectives {

// What a test hook learns about each DATA piece that arrived (see OpParams::on_piece).
struct PieceEvent {
  wire::OpId op;
  OpKind kind = OpKind::kAllReduce;
  size_t rank = 0;
  size_t world = 0;
  size_t step = 0;       // of num_steps; for all-reduce, steps >= world - 1 are the all-gather
  size_t num_steps = 0;
  // The piece's bytes as received (test hook only: fault tests may overwrite them to inject a
  // corrupt piece that passed the transport's checksum).
  MutableByteSpan bytes = {};
};
using PieceHook = std::function<void(const PieceEvent&)>;

struct OpParams {
  OpKind kind = OpKind::kAllReduce;
  DataType dtype = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;
  size_t count = 0;  // elements of the whole (all-reduce, reduce-scatter input, all-gather output)
  size_t root = 0;   // broadcast only: the ring rank of the root
  uint64_t tag = 0;
  size_t piece_bytes = 1 << 20;  // largest DATA body; a multiple of 8
  // Mixed into the DATA fingerprint when non-zero: what else peers must agree on (the quantized
  // all-reduce puts its codec and piece size here). Zero for the raw algorithms.
  uint64_t fingerprint_extra = 0;
  // Test hook, empty in production: called on the receiving thread for every piece once it is in
  // place, before it is reduced or forwarded (fault tests kill a peer in a chosen phase with it).
  PieceHook on_piece;
};

class RingOp : public LinkedOp, public std::enable_shared_from_this<RingOp> {
 public:
  RingOp(std::shared_ptr<EpochLinks> links, const OpParams& params, const std::byte* input,
         std::byte* work);
  ~RingOp() override = default;
  RingOp(const RingOp&) = delete;
  RingOp& operator=(const RingOp&) = delete;

  Status start();
  Status wait_local(OpDeadline& deadline);

  wire::OpId id() const { return {links_->epoch(), params_.tag, seq_}; }
  uint64_t bytes_sent() const { return bytes_sent_.load(std::memory_order_relaxed); }
  uint64_t bytes_received() const { return bytes_received_.load(std::memory_order_relaxed); }
  size_t rank() const { return rank_; }
  size_t world() const { return world_; }

  // ---- LinkedOp: called by EpochLinks (epoch_links.h) ----
  void assign_seq(uint64_t seq) override { seq_ = seq; }
  bool try_pin() override;
  void unpin() override;
  Result<MutableByteSpan> destination(const DataHeader& h) override;
  void on_received(const DataHeader& h, std::byte* dst) override;
  void on_sent(const Status& s, size_t wire_bytes) override;
  void fail(const Status& s) override;

 protected:
  // Element range of `work` that pieces of `step` land in; empty when this rank receives nothing
  // at that step.
  virtual Segment recv_segment(size_t step) const = 0;
  virtual size_t num_steps() const = 0;
  // Byte range of `work` that pieces of `step` land in, and the unit their offsets and lengths
  // must be multiples of. By default recv_segment() times the element size; an algorithm with
  // another wire layout (the quantized all-reduce) overrides all three.
  virtual Segment recv_bytes(size_t step) const;
  virtual size_t recv_unit() const { return elem_bytes(); }
  // Further checks of a piece whose range passed the checks above, before any byte is received
  // (a DATA_LOSS status fails the operation). Called on receiver threads, concurrently.
  virtual Status claim_piece(const DataHeader& h) {
    (void)h;
    return OkStatus();
  }
  // Queues the pieces that need no input from the previous peer.
  virtual void send_initial() = 0;
  // A piece of `h.length` bytes is in place at `dst` (= work + h.offset): reduce and/or forward.
  virtual void process(const DataHeader& h, std::byte* dst) = 0;

  // Cuts [byte_offset, byte_offset + bytes) of the whole into pieces sent at `step` from `src`
  // (src points at byte_offset's data).
  void send_range(size_t step, size_t byte_offset, size_t bytes, const std::byte* src);
  // Sends one received piece on to the next peer at `step`.
  void forward(size_t step, const DataHeader& h, const std::byte* src);
  // Sends one piece: `bytes` bytes from `src`, to land at `byte_offset` of the next peer's work.
  void send_piece(size_t step, size_t byte_offset, size_t bytes, const std::byte* src);

  size_t elem_bytes() const { return dtype_size(params_.dtype); }
  Segment segment(size_t index) const { return segment_of(params_.count, world_, index); }

  const std::shared_ptr<EpochLinks> links_;
  const OpParams params_;
  const std::byte* const input_;
  std::byte* const work_;
  const size_t rank_;
  const size_t world_;

 private:
  void maybe_done_locked();

  uint64_t seq_ = 0;
  uint64_t fingerprint_ = 0;
  std::atomic<size_t> next_stripe_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  Status status_;
  bool initial_sent_ = false;
  bool closing_ = false;  // no new pins
  bool done_ = false;
  int pins_ = 0;
  size_t pending_sends_ = 0;
  size_t expected_bytes_ = 0;  // over all steps
  size_t arrived_bytes_ = 0;
  std::vector<size_t> claimed_;  // per step: bytes reserved by destination()
};

}  // namespace loco::collectives
