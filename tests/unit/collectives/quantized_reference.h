// quantized_reference.h: what the quantized all-reduce must produce, computed in one process:
// the ring's exact sequence of encodes, decodes, f32 additions and the one division, piece by
// piece over the same layout, so a test can demand bit equality. Also the error budget against the
// exact (f64) result, derived from the codec's step and the number of hops, and the exact number
// of bytes a rank sends. Test-only; the algorithm itself is src/collectives/quantized_all_reduce.cc.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "collectives/data_messages.h"
#include "collectives/quantized_layout.h"
#include "collectives/reduce_kernels.h"
#include "collectives/ring_plan.h"
#include "wire/frame.h"

namespace loco::collectives::testing {

inline std::shared_ptr<const codecs::Codec> wire_codec_or_die(const std::string& spec) {
  auto c = parse_wire_codec(spec);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : nullptr;
}

inline QuantizedLayout layout_for(size_t count, size_t world, size_t piece_bytes,
                                  const codecs::Codec& codec) {
  return QuantizedLayout(count, world, quantized_piece_elems(piece_bytes, codec_block_size(codec)),
                         codec);
}

// decode(encode(x)) of one piece, in place.
inline void round_trip(const codecs::Codec& codec, float* x, size_t n) {
  std::vector<std::byte> buf(codec.encoded_size_bound(n));
  auto w = codec.encode({x, n}, buf);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  Status s = codec.decode(buf, {x, n});
  ASSERT_TRUE(s.ok()) << s.to_string();
}

// The ring's result: segment X is started by rank X+1 (its input encoded), each later rank adds
// its input to the decoded partial and re-encodes, the owner X divides (avg) and quantizes once.
inline std::vector<float> quantized_ring_reference(const codecs::Codec& codec,
                                                   const QuantizedLayout& layout, ReduceOp op,
                                                   const std::vector<std::vector<float>>& inputs) {
  const size_t world = inputs.size();
  std::vector<float> out(layout.count());
  for (size_t x = 0; x < world; ++x) {
    for (size_t k = 0; k < layout.num_pieces(x); ++k) {
      const PieceSlot s = layout.slot(x, k);
      float* acc = out.data() + s.elem_begin;
      std::copy_n(inputs[(x + 1) % world].data() + s.elem_begin, s.elems, acc);
      round_trip(codec, acc, s.elems);
      for (size_t h = 2; h <= world; ++h) {
        reduce_into(DataType::kF32, ReduceOp::kSum, acc,
                    inputs[(x + h) % world].data() + s.elem_begin, s.elems);
        if (h < world) round_trip(codec, acc, s.elems);
      }
      if (op == ReduceOp::kAvg) divide_into(DataType::kF32, acc, s.elems, static_cast<uint32_t>(world));
      round_trip(codec, acc, s.elems);
    }
  }
  return out;
}

// The exact result in f64.
inline std::vector<double> exact_result(ReduceOp op, const std::vector<std::vector<float>>& inputs) {
  std::vector<double> out(inputs[0].size(), 0.0);
  for (const auto& in : inputs) {
    for (size_t i = 0; i < in.size(); ++i) out[i] += in[i];
  }
  if (op == ReduceOp::kAvg) {
    for (double& v : out) v /= static_cast<double>(inputs.size());
  }
  return out;
}

// Relative size of one rounding step: a block codec with L levels rounds to half of range / L, a
// block's range being at most 2 max|x|; fp16/bf16 round to half an ulp, 2^-11 / 2^-8 of |x|.
inline double codec_unit(const codecs::Codec& codec) {
  switch (codec.id()) {
    case codecs::CodecId::kInt8Block: return 1.0 / 255.0;
    case codecs::CodecId::kInt4Block: return 1.0 / 15.0;
    case codecs::CodecId::kFp16: return std::ldexp(1.0, -11);
    case codecs::CodecId::kBf16: return std::ldexp(1.0, -8);
    default: return 1.0;
  }
}

// Error budget per element against the exact result, for inputs with |x| <= a on P peers. Hop k
// of the reduce-scatter (k = 1 .. P-1) encodes a partial sum of k inputs carrying the earlier
// error E(k-1), so |.| <= k a + E(k-1) and the encoding adds at most u times that:
//   E(0) = 0,  E(k) = E(k-1) + u (k a + E(k-1)).
// The owner's one encoding of the result adds u (P a + E(P-1)) for sum, u (a + E(P-1) / P) for
// avg (where E(P-1) is divided by P too). To first order: sum a u (P(P-1)/2 + P), avg
// a u ((P-1)/2 + 1). Plus 0.1% for the codecs' own f32 arithmetic and the f32 additions.
inline double error_budget(const codecs::Codec& codec, ReduceOp op, size_t world, double a) {
  const double u = codec_unit(codec);
  double e = 0.0;
  for (size_t k = 1; k < world; ++k) e += u * (static_cast<double>(k) * a + e);
  const double p = static_cast<double>(world);
  const double total = op == ReduceOp::kAvg ? e / p + u * (a + e / p) : e + u * (p * a + e);
  const double magnitude = op == ReduceOp::kAvg ? a : p * a;
  return 1.001 * total + 4 * p * magnitude * std::ldexp(1.0, -24);
}

// Bytes rank `rank` puts on the wire: P-1 reduce-scatter and P-1 all-gather segments, each
// piece's encoded bytes plus its two frame headers and DATA header.
inline uint64_t expected_bytes_sent(const QuantizedLayout& layout, size_t rank) {
  const size_t world = layout.world();
  const uint64_t overhead = 2 * wire::kFrameHeaderSize + kDataHeaderSize;
  uint64_t total = 0;
  for (size_t s = 0; s + 1 < world; ++s) {
    for (size_t seg : {rs_send_segment(rank, s, world), ag_send_segment(rank, s, world)}) {
      total += layout.segment_wire(seg).count + layout.num_pieces(seg) * overhead;
    }
  }
  return total;
}

}  // namespace loco::collectives::testing
