// codecs.h: how to get a codec. One factory per codec (each defined in that codec's file) and
// make_codec(), which parses a codec spec as the CLI and the C API name them:
//   fp32 | fp16 | bf16 | int8[:block=256] | int4[:block=128] | sign[:block=1024]
//   topk[:fraction=0.01][,exact=1] | randomk[:fraction=0.01][,seed=0]
// and decode_any(), which decodes a buffer with whatever codec its header names.
// Formats, error budgets and costs: docs/algorithms.md. Not here: error feedback (error_feedback.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "codecs/codec.h"

namespace loco::codecs {

inline constexpr uint32_t kDefaultInt8Block = 256;
inline constexpr uint32_t kDefaultInt4Block = 128;
inline constexpr uint32_t kDefaultSignBlock = 1024;
inline constexpr double kDefaultSparseFraction = 0.01;

std::unique_ptr<Codec> make_identity_codec();
std::unique_ptr<Codec> make_fp16_codec();
std::unique_ptr<Codec> make_bf16_codec();
// Block codecs: INVALID_ARGUMENT unless the block size is a multiple of 8 in [8, 2^20].
Result<std::unique_ptr<Codec>> make_int8_codec(uint32_t block_size = kDefaultInt8Block);
Result<std::unique_ptr<Codec>> make_int4_codec(uint32_t block_size = kDefaultInt4Block);
Result<std::unique_ptr<Codec>> make_sign_codec(uint32_t block_size = kDefaultSignBlock);

struct TopKOptions {
  double fraction = kDefaultSparseFraction;  // k = ceil(fraction * count), at least 1
  bool exact = false;  // skip the sampled-threshold fast path (same output, slower)
};
Result<std::unique_ptr<Codec>> make_top_k_codec(TopKOptions options = {});

// Random-k's codec object also has a seed to set per round: random_k.h (RandomKCodec).

// Parses a spec (above). INVALID_ARGUMENT for an unknown codec, option or value.
Result<std::unique_ptr<Codec>> make_codec(std::string_view spec);

// Decodes a buffer of any codec (named by its header) into `out`.
Status decode_any(ByteSpan in, std::span<float> out);

}  // namespace loco::codecs
