// quantized_all_reduce.cc: ring all-reduce of f32 (sum or avg) whose pieces travel encoded by a
// dense wire codec (fp16, bf16, int8 or int4 blocks), with bit parity across peers.
//
// Same ring and step plan as all_reduce.cc; only what crosses the wire differs. Every piece of a
// segment (quantized_layout.h) is encoded on its own into a fixed slot of an op-owned wire buffer,
// and DATA pieces carry slot bytes, so the receiver places them straight into the same slot.
//  * Reduce-scatter: rank X+1 encodes its input of segment X; each later rank decodes the partial
//    sum it receives, adds its own f32 input in f32 and, unless it owns X, re-encodes the sum into
//    the same slot and forwards it. Every hop quantizes once, so the error grows with the hops.
//  * The owner of X (the last hop) divides by P for kAvg, encodes the result ONCE, replaces its
//    own f32 copy with the decoded value and starts the all-gather with the encoded bytes.
//  * All-gather: every rank decodes the owner's bytes and forwards them unchanged.
// So every peer, the owner included, ends with decode(encode(result)) of the same bytes: identical
// floats everywhere. Received bytes are untrusted: a piece must fill exactly one slot once
// (claim_piece) and must decode cleanly, else the op fails with DATA_LOSS. With int8/int4, inputs
// and partial sums must be finite (those codecs refuse NaN/Inf: INVALID_ARGUMENT; fp16/bf16 carry
// them). Not here: the f32 ring
// (all_reduce.cc), staging and commit (communicator.cc), the codecs (src/codecs).
#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "collectives/algorithms.h"
#include "collectives/reduce_kernels.h"

namespace loco::collectives {
namespace {

class QuantizedAllReduceOp final : public RingOp {
 public:
  // `wire` must hold layout.wire_bytes(); the base receives into it (its `work`).
  QuantizedAllReduceOp(std::shared_ptr<EpochLinks> links, const OpParams& p,
                       std::shared_ptr<const codecs::Codec> codec, QuantizedLayout layout,
                       const float* input, float* out, std::vector<std::byte> wire)
      : RingOp(std::move(links), p, reinterpret_cast<const std::byte*>(input), wire.data()),
        codec_(std::move(codec)),
        layout_(std::move(layout)),
        in_(input),
        out_(out),
        wire_(std::move(wire)) {  // moving a vector keeps its data pointer
    slot_base_.assign(num_steps() + 1, 0);
    for (size_t s = 0; s < num_steps(); ++s) {
      slot_base_[s + 1] = slot_base_[s] + layout_.num_pieces(recv_index(s));
    }
    claimed_slots_ = std::make_unique<std::atomic<bool>[]>(slot_base_.back());
    for (size_t i = 0; i < slot_base_.back(); ++i) claimed_slots_[i].store(false);
  }

 protected:
  size_t num_steps() const override { return 2 * (world_ - 1); }

  Segment recv_segment(size_t step) const override { return layout_.segment(recv_index(step)); }
  Segment recv_bytes(size_t step) const override { return layout_.segment_wire(recv_index(step)); }
  size_t recv_unit() const override { return 1; }

  Status claim_piece(const DataHeader& h) override {
    LOCO_ASSIGN_OR_RETURN(PieceSlot slot,
                          layout_.find_slot(recv_index(h.step), h.offset, h.length));
    if (claimed_slots_[slot_base_[h.step] + slot.index].exchange(true)) {
      return DataLoss("quantized DATA piece received twice");
    }
    return OkStatus();
  }

  void send_initial() override {
    const size_t seg = rs_send_segment(rank_, 0, world_);
    for (size_t k = 0; k < layout_.num_pieces(seg); ++k) {
      const PieceSlot slot = layout_.slot(seg, k);
      if (!encode(slot, in_ + slot.elem_begin)) return;
      send_piece(0, slot.wire_offset, slot.wire_bytes, wire_.data() + slot.wire_offset);
    }
  }

  void process(const DataHeader& h, std::byte* dst) override {
    // claim_piece() accepted the header, so the slot exists.
    Result<PieceSlot> found = layout_.find_slot(recv_index(h.step), h.offset, h.length);
    if (!found.ok()) {
      fail(found.status());
      return;
    }
    const PieceSlot slot = *found;
    float* acc = out_ + slot.elem_begin;
    if (!decode(slot, dst, acc)) return;
    const size_t last_rs = world_ - 2;
    if (h.step <= last_rs) {
      reduce_into(DataType::kF32, ReduceOp::kSum, acc, in_ + slot.elem_begin, slot.elems);
      if (h.step < last_rs) {
        if (encode(slot, acc)) forward(h.step + 1U, h, dst);
        return;
      }
      // This rank owns the segment: quantize once, keep exactly what every other peer will see.
      if (params_.op == ReduceOp::kAvg) {
        divide_into(DataType::kF32, acc, slot.elems, static_cast<uint32_t>(world_));
      }
      if (!encode(slot, acc) || !decode(slot, dst, acc)) return;
      forward(world_ - 1, h, dst);  // all-gather step 0
      return;
    }
    if (h.step + 1U < num_steps()) forward(h.step + 1U, h, dst);
  }

 private:
  size_t recv_index(size_t step) const {
    if (step < world_ - 1) return rs_recv_segment(rank_, step, world_);
    return ag_recv_segment(rank_, step - (world_ - 1), world_);
  }

  // Encodes slot.elems floats from `src` into the slot; false (and the op failed) on error.
  bool encode(const PieceSlot& slot, const float* src) {
    Result<size_t> n = codec_->encode(std::span<const float>(src, slot.elems),
                                      MutableByteSpan(wire_.data() + slot.wire_offset,
                                                      slot.wire_bytes));
    if (!n.ok()) {
      fail(n.status().with_context("quantized all-reduce: encoding elements " +
                                   std::to_string(slot.elem_begin) + ".." +
                                   std::to_string(slot.elem_begin + slot.elems)));
      return false;
    }
    if (*n != slot.wire_bytes) {
      fail(Internal("quantized all-reduce: codec wrote " + std::to_string(*n) +
                    " bytes for a slot of " + std::to_string(slot.wire_bytes)));
      return false;
    }
    return true;
  }

  // Decodes the slot's bytes at `src` into `dst`; any error is the sender's fault: DATA_LOSS.
  bool decode(const PieceSlot& slot, const std::byte* src, float* dst) {
    Status s = codec_->decode(ByteSpan(src, slot.wire_bytes), std::span<float>(dst, slot.elems));
    if (!s.ok()) {
      fail(DataLoss("quantized all-reduce: piece of elements " + std::to_string(slot.elem_begin) +
                    ".." + std::to_string(slot.elem_begin + slot.elems) +
                    " does not decode as " + std::string(codec_->name()) + ": " + s.to_string()));
      return false;
    }
    return true;
  }

  const std::shared_ptr<const codecs::Codec> codec_;
  const QuantizedLayout layout_;
  const float* const in_;
  float* const out_;
  std::vector<std::byte> wire_;
  std::vector<size_t> slot_base_;  // per step: index of its first slot in claimed_slots_
  std::unique_ptr<std::atomic<bool>[]> claimed_slots_;
};

uint64_t codec_fingerprint(const codecs::Codec& codec, size_t piece_elems) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : codec.name()) h = fingerprint_mix(h, static_cast<unsigned char>(c));
  h = fingerprint_mix(h, piece_elems);
  return h == 0 ? 1 : h;
}

}  // namespace

std::shared_ptr<RingOp> make_quantized_all_reduce_op(std::shared_ptr<EpochLinks> links,
                                                     const OpParams& p,
                                                     std::shared_ptr<const codecs::Codec> codec,
                                                     const QuantizedLayout& layout,
                                                     const float* input, float* work) {
  OpParams q = p;
  q.fingerprint_extra = codec_fingerprint(*codec, layout.piece_elems());
  std::vector<std::byte> wire(layout.wire_bytes());
  return std::make_shared<QuantizedAllReduceOp>(std::move(links), q, std::move(codec), layout,
                                                input, work, std::move(wire));
}

}  // namespace loco::collectives
