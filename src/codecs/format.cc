// format.cc: the codec header (codec.h) and the checks shared by the codec files (format.h).
#include "codecs/format.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace loco::codecs {

std::string_view codec_id_name(CodecId id) {
  switch (id) {
    case CodecId::kIdentity: return "fp32";
    case CodecId::kFp16: return "fp16";
    case CodecId::kBf16: return "bf16";
    case CodecId::kInt8Block: return "int8";
    case CodecId::kInt4Block: return "int4";
    case CodecId::kSign: return "sign";
    case CodecId::kTopK: return "topk";
    case CodecId::kRandomK: return "randomk";
  }
  return "unknown";
}

void write_header(const CodecHeader& h, std::byte* out) {
  out[0] = static_cast<std::byte>(h.id);
  out[1] = static_cast<std::byte>(kFormatVersion);
  out[2] = std::byte{0};
  out[3] = std::byte{0};
  store_u32(out + 4, h.block_size);
  store_u64(out + 8, h.count);
}

Result<CodecHeader> read_header(ByteSpan in) {
  if (in.size() < kHeaderSize) {
    return DataLoss(fmt::format("codec buffer of {} bytes is shorter than its header", in.size()));
  }
  const auto id = static_cast<uint8_t>(in[0]);
  if (id == 0 || id > kMaxCodecId) return DataLoss(fmt::format("unknown codec id {}", id));
  const auto version = static_cast<uint8_t>(in[1]);
  if (version != kFormatVersion) {
    return ProtocolMismatch(
        fmt::format("codec format version {}, this build reads {}", version, kFormatVersion));
  }
  if (in[2] != std::byte{0} || in[3] != std::byte{0}) return DataLoss("codec header flags set");
  CodecHeader h;
  h.id = static_cast<CodecId>(id);
  h.block_size = load_u32(in.data() + 4);
  h.count = load_u64(in.data() + 8);
  if (h.count > kMaxCount) return DataLoss(fmt::format("codec element count {} too large", h.count));
  return h;
}

Result<CodecHeader> read_header_for(ByteSpan in, CodecId id, size_t out_count) {
  LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header(in));
  if (h.id != id) {
    return InvalidArgument(fmt::format("buffer holds {}, decoder is {}", codec_id_name(h.id),
                                       codec_id_name(id)));
  }
  if (h.count != out_count) {
    return InvalidArgument(
        fmt::format("buffer holds {} elements, output has room for {}", h.count, out_count));
  }
  return h;
}

namespace {
bool valid_block_size(uint32_t b) {
  return b >= kMinBlockSize && b <= kMaxBlockSize && b % 8 == 0;
}
}  // namespace

Status check_wire_block_size(uint32_t block_size) {
  if (!valid_block_size(block_size)) return DataLoss(fmt::format("bad block size {}", block_size));
  return OkStatus();
}

Status check_total_size(ByteSpan in, uint64_t expected) {
  if (in.size() != expected) {
    return DataLoss(fmt::format("codec buffer is {} bytes, its header says {}", in.size(), expected));
  }
  return OkStatus();
}

Status check_encode_args(std::string_view codec, size_t count, size_t out_size, size_t needed) {
  if (count > kMaxCount) {
    return InvalidArgument(fmt::format("{}: {} elements exceed the limit of {} per buffer", codec,
                                       count, kMaxCount));
  }
  if (out_size < needed) {
    return InvalidArgument(
        fmt::format("{}: output of {} bytes, {} needed", codec, out_size, needed));
  }
  return OkStatus();
}

Status check_block_size_option(uint32_t block_size) {
  if (!valid_block_size(block_size)) {
    return InvalidArgument(fmt::format(
        "block size {} must be a multiple of 8 between {} and {}", block_size, kMinBlockSize,
        kMaxBlockSize));
  }
  return OkStatus();
}

Status check_fraction_option(double fraction) {
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    return InvalidArgument(fmt::format("fraction {} must be in (0, 1]", fraction));
  }
  return OkStatus();
}

size_t k_for_fraction(double fraction, size_t count) {
  if (count == 0) return 0;
  const double k = std::ceil(fraction * static_cast<double>(count));
  if (k >= static_cast<double>(count)) return count;
  return k < 1.0 ? 1 : static_cast<size_t>(k);
}

}  // namespace loco::codecs
