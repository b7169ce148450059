// quantized_layout.cc: slot arithmetic of the quantized all-reduce's wire buffer (see
// quantized_layout.h).
#include "collectives/quantized_layout.h"

#include <algorithm>
#include <string>

#include "codecs/codecs.h"
#include "common/check.h"

namespace loco::collectives {

QuantizedLayout::QuantizedLayout(size_t count, size_t world, size_t piece_elems,
                                 const codecs::Codec& codec)
    : count_(count), world_(world), piece_elems_(piece_elems) {
  LOCO_CHECK(world >= 1 && piece_elems >= 1);
  full_bytes_ = codec.encoded_size_bound(piece_elems);
  tail_bytes_.assign(world, 0);
  seg_wire_.assign(world + 1, 0);
  for (size_t s = 0; s < world; ++s) {
    const size_t n = segment(s).count;
    const size_t full = n / piece_elems;
    const size_t rest = n % piece_elems;
    size_t bytes = full * full_bytes_;
    if (n > 0) {
      tail_bytes_[s] = rest > 0 ? codec.encoded_size_bound(rest) : full_bytes_;
      if (rest > 0) bytes += tail_bytes_[s];
    }
    seg_wire_[s + 1] = seg_wire_[s] + bytes;
  }
}

size_t QuantizedLayout::num_pieces(size_t seg) const {
  return (segment(seg).count + piece_elems_ - 1) / piece_elems_;
}

PieceSlot QuantizedLayout::slot(size_t seg, size_t piece) const {
  const Segment s = segment(seg);
  const size_t pieces = num_pieces(seg);
  LOCO_CHECK(piece < pieces);
  PieceSlot out;
  out.index = piece;
  out.elem_begin = s.begin + piece * piece_elems_;
  out.elems = std::min(piece_elems_, s.count - piece * piece_elems_);
  out.wire_offset = seg_wire_[seg] + piece * full_bytes_;
  out.wire_bytes = piece + 1 == pieces ? tail_bytes_[seg] : full_bytes_;
  return out;
}

Result<PieceSlot> QuantizedLayout::find_slot(size_t seg, uint64_t offset, uint64_t length) const {
  if (seg >= world_) return DataLoss("quantized DATA piece for a segment out of range");
  const Segment w = segment_wire(seg);
  if (offset < w.begin || offset >= w.begin + w.count) {
    return DataLoss("quantized DATA piece outside its segment's wire range");
  }
  const uint64_t rel = offset - w.begin;
  const size_t piece = static_cast<size_t>(rel / full_bytes_);
  if (rel % full_bytes_ != 0 || piece >= num_pieces(seg)) {
    return DataLoss("quantized DATA piece does not start at a piece slot (offset " +
                    std::to_string(offset) + ")");
  }
  PieceSlot s = slot(seg, piece);
  if (length != s.wire_bytes) {
    return DataLoss("quantized DATA piece of " + std::to_string(length) + " bytes for a slot of " +
                    std::to_string(s.wire_bytes));
  }
  return s;
}

size_t quantized_piece_elems(size_t piece_bytes, uint32_t block_size) {
  size_t n = std::max<size_t>(1, piece_bytes / sizeof(float));
  if (block_size > 0 && n >= block_size) n -= n % block_size;
  return n;
}

Status check_wire_codec(const codecs::Codec& codec) {
  switch (codec.id()) {
    case codecs::CodecId::kFp16:
    case codecs::CodecId::kBf16:
    case codecs::CodecId::kInt8Block:
    case codecs::CodecId::kInt4Block:
      return OkStatus();
    default:
      break;
  }
  return InvalidArgument("wire codec '" + std::string(codec.name()) +
                         "' cannot be summed hop by hop in a ring all-reduce (dense codecs only: "
                         "fp16, bf16, int8[:block=N], int4[:block=N]); reduce sparse or 1-bit "
                         "contributions with an all-gather of the encoded bytes instead");
}

Result<std::shared_ptr<const codecs::Codec>> parse_wire_codec(std::string_view spec) {
  if (spec.empty() || spec == "fp32") return std::shared_ptr<const codecs::Codec>();
  LOCO_ASSIGN_OR_RETURN(std::unique_ptr<codecs::Codec> codec, codecs::make_codec(spec));
  LOCO_RETURN_IF_ERROR(check_wire_codec(*codec));
  return std::shared_ptr<const codecs::Codec>(std::move(codec));
}

uint32_t codec_block_size(const codecs::Codec& codec) { return codec.block_size(); }

}  // namespace loco::collectives
