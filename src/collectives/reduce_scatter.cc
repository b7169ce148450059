// reduce_scatter.cc: pipelined ring reduce-scatter: the first half of the all-reduce. After P-1
// steps rank r holds the reduced segment r (divided by P for kAvg) at its place in `work`; the
// reduction order per segment is the same as the all-reduce's, so both give identical bytes.
#include "collectives/algorithms.h"
#include "collectives/reduce_kernels.h"

namespace loco::collectives {
namespace {

class ReduceScatterOp final : public RingOp {
 public:
  using RingOp::RingOp;

 protected:
  size_t num_steps() const override { return world_ - 1; }

  Segment recv_segment(size_t step) const override {
    return segment(rs_recv_segment(rank_, step, world_));
  }

  void send_initial() override {
    const Segment s = segment(rs_send_segment(rank_, 0, world_));
    const size_t e = elem_bytes();
    send_range(0, s.begin * e, s.count * e, input_ + s.begin * e);
  }

  void process(const DataHeader& h, std::byte* dst) override {
    const size_t n = h.length / elem_bytes();
    reduce_into(params_.dtype, params_.op, dst, input_ + h.offset, n);
    if (h.step + 1U < num_steps()) {
      forward(h.step + 1U, h, dst);
    } else if (params_.op == ReduceOp::kAvg) {
      divide_into(params_.dtype, dst, n, static_cast<uint32_t>(world_));
    }
  }
};

}  // namespace

// The ring needs the whole buffer as working space, but the caller's output holds only this
// rank's segment: work in scratch, commit segment `rank` (a world of one: straight from input).
StagingPlan plan_reduce_scatter(const StagingShape& s) {
  const size_t all = s.count * s.elem_bytes;
  const Segment mine = segment_of(s.count, s.world, s.rank);
  StagingPlan p;
  p.send_bytes = all - all / s.world;
  p.commit_offset = mine.begin * s.elem_bytes;
  p.commit_bytes = mine.count * s.elem_bytes;
  if (s.world == 1) {
    p.commit_from = StagingPlan::From::kInput;
    return p;
  }
  p.work = StagingPlan::Work::kScratch;
  p.scratch_bytes = all;
  p.commit_from = StagingPlan::From::kWork;
  return p;
}

std::shared_ptr<RingOp> make_reduce_scatter_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                               const std::byte* input, std::byte* work) {
  return std::make_shared<ReduceScatterOp>(std::move(links), p, input, work);
}

}  // namespace loco::collectives
