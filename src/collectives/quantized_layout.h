// quantized_layout.h: where the encoded pieces of a quantized all-reduce live in its wire buffer.
// Pure arithmetic over the ring plan (ring_plan.h) and a codec's exact encoded sizes; no I/O.
//
// Each ring segment is cut into pieces of `piece_elems` elements (the last piece of a segment may
// be shorter) and each piece is encoded on its own, so a piece of n elements always takes
// codec.encoded_size_bound(n) bytes. The wire buffer holds the segments in ring order, each
// segment's pieces back to back, so every peer computes the same slot (byte offset and length) for
// every piece from (count, world, piece_elems, codec) alone. A DATA piece of a quantized operation
// must fill exactly one slot: find_slot() is the check of untrusted headers.
// Also the choice of wire codec (parse_wire_codec). Not here: the algorithm
// (quantized_all_reduce.cc), the codecs (src/codecs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "collectives/ring_plan.h"
#include "common/status.h"

namespace loco::collectives {

struct PieceSlot {
  size_t index = 0;        // piece number within its segment
  size_t elem_begin = 0;   // first element (of the whole buffer)
  size_t elems = 0;        // elements in the piece
  size_t wire_offset = 0;  // first byte in the wire buffer
  size_t wire_bytes = 0;   // encoded bytes
};

class QuantizedLayout {
 public:
  // `piece_elems` >= 1. The codec must report exact sizes (every dense codec does).
  QuantizedLayout(size_t count, size_t world, size_t piece_elems, const codecs::Codec& codec);

  size_t count() const { return count_; }
  size_t world() const { return world_; }
  size_t piece_elems() const { return piece_elems_; }
  size_t wire_bytes() const { return seg_wire_.back(); }  // the whole wire buffer

  Segment segment(size_t seg) const { return segment_of(count_, world_, seg); }
  // Byte range [begin, begin + count) of segment `seg` in the wire buffer.
  Segment segment_wire(size_t seg) const {
    return {seg_wire_[seg], seg_wire_[seg + 1] - seg_wire_[seg]};
  }
  size_t num_pieces(size_t seg) const;
  PieceSlot slot(size_t seg, size_t piece) const;
  // The slot of segment `seg` that a piece at wire byte `offset` of `length` bytes fills:
  // DATA_LOSS unless it starts at a slot's first byte and is exactly that slot's length.
  Result<PieceSlot> find_slot(size_t seg, uint64_t offset, uint64_t length) const;

 private:
  size_t count_;
  size_t world_;
  size_t piece_elems_;
  size_t full_bytes_;              // encoded size of a full piece
  std::vector<size_t> tail_bytes_;  // per segment: encoded size of its last piece (0: none)
  std::vector<size_t> seg_wire_;    // world + 1 prefix offsets
};

// The piece size a quantized all-reduce uses for a raw piece budget of `piece_bytes`: as many f32
// as fit (piece_bytes / 4, at least 1), rounded down to whole codec blocks when that is at least
// one block, so no piece pays for a partial block in its middle.
size_t quantized_piece_elems(size_t piece_bytes, uint32_t block_size);

// The wire codec of a quantized all-reduce from its spec (codecs.h grammar): null for "" and
// "fp32" (the raw f32 ring); fp16, bf16, int8[:block=N] and int4[:block=N] are accepted; sign,
// top-k and random-k are INVALID_ARGUMENT (sparse or 1-bit contributions cannot be summed hop by
// hop; they are exchanged by all-gather instead), as is anything make_codec() rejects.
Result<std::shared_ptr<const codecs::Codec>> parse_wire_codec(std::string_view spec);
// INVALID_ARGUMENT unless `codec` is one of the dense codecs above.
Status check_wire_codec(const codecs::Codec& codec);
// codec.block_size(): the block size a block codec writes in its header (0 for fp16/bf16).
uint32_t codec_block_size(const codecs::Codec& codec);

}  // namespace loco::collectives
