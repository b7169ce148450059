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
// Also each algorithm's staging plan (StagingPlan). Not here: applying it (the communicator's
// scratch, commit vote and copy to the caller's buffers).
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "collectives/quantized_layout.h"
#include "collectives/ring_op.h"

namespace loco::collectives {

// Where an operation's algorithm writes and what its commit copies: a pure plan per algorithm,
// defined next to the algorithm, applied by the communicator (scratch lease, copies). Offsets are
// in bytes.
struct StagingShape {
  size_t count = 0;      // elements, as in OpRequest
  size_t elem_bytes = 0;
  size_t world = 1;
  size_t rank = 0;
  size_t root = 0;               // broadcast
  bool in_place = false;         // in == out
  bool input_overlaps = false;   // all-gather: this rank's input overlaps the output
};
struct StagingPlan {
  enum class Work { kNone, kScratch, kOut };  // kNone: nothing is received (a broadcast root)
  enum class From { kNothing, kWork, kInput };
  Work work = Work::kNone;
  size_t scratch_bytes = 0;  // with kScratch
  // Before start: this rank's input copied into work at seed_offset (all-gather).
  size_t seed_offset = 0;
  size_t seed_bytes = 0;
  // After the vote said OK: commit_bytes copied from (work or input) + commit_offset to out.
  From commit_from = From::kNothing;
  size_t commit_offset = 0;
  size_t commit_bytes = 0;
  size_t send_bytes = 0;  // what this peer sends: sizes the deadline
};
StagingPlan plan_all_reduce(const StagingShape& s);
StagingPlan plan_reduce_scatter(const StagingShape& s);
StagingPlan plan_all_gather(const StagingShape& s);
StagingPlan plan_broadcast(const StagingShape& s);

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
