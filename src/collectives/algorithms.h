// algorithms.h: factories for the ring algorithms, one per file (all_reduce.cc, reduce_scatter.cc,
// all_gather.cc, broadcast.cc). Each returns a RingOp (ring_op.h) bound to one epoch's links; the
// communicator starts it, waits for it and commits its result. World size must be at least 2 (a
// world of one needs no algorithm). Buffers, by algorithm (e = element size, P = world size,
// seg(i) = segment_of(count, P, i), r = this rank):
//   all-reduce      input: count elements       work: count elements; result in all of it
//   reduce-scatter  input: count elements       work: count elements; result in seg(r)
//   all-gather      input: seg(r) elements      work: count elements; every seg but seg(r) filled
//   broadcast       input: count (root only)    work: count (non-root); unused at the root
//   quantized all-reduce (f32, sum/avg; quantized_all_reduce.cc)
//                   input: count f32            work: count f32; result in all of it (the op
//                                               owns its encoded wire buffer)
// Not here: the commit and the copy to the caller's buffers.
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "collectives/quantized_layout.h"
#include "collectives/ring_op.h"

namespace loco::collectives {

std::shared_ptr<RingOp> make_all_reduce_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                           const std::byte* input, std::byte* work);
std::shared_ptr<RingOp> make_reduce_scatter_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                               const std::byte* input, std::byte* work);
std::shared_ptr<RingOp> make_all_gather_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                           const std::byte* input, std::byte* work);
std::shared_ptr<RingOp> make_broadcast_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                          const std::byte* input, std::byte* work);
// `p`: kind kAllReduce, dtype kF32, op kSum or kAvg. `layout` for p.count, the links' world and
// `codec` (a dense codec: check_wire_codec). The codec and piece size go into the fingerprint.
std::shared_ptr<RingOp> make_quantized_all_reduce_op(std::shared_ptr<EpochLinks> links,
                                                     const OpParams& p,
                                                     std::shared_ptr<const codecs::Codec> codec,
                                                     const QuantizedLayout& layout,
                                                     const float* input, float* work);

}  // namespace loco::collectives
