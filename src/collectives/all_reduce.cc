// all_reduce.cc: pipelined ring all-reduce = reduce-scatter (P-1 steps) then all-gather (P-1
// steps).
//
// Rank r first sends its own input of segment r-1. Every piece that arrives at a reduce-scatter
// step is combined in place with this rank's input (work = received op input) and forwarded at the
// next step; at the last reduce-scatter step the piece is final (segment r), is divided by P for
// kAvg, and starts the all-gather; all-gather pieces are forwarded until each has visited every
// rank. Segment X is thus reduced in ring order starting after X: in(X+1) op in(X+2) op ... op
// in(X), by one rank per element, so every peer ends with the same bytes.
#include "collectives/algorithms.h"
#include "collectives/reduce_kernels.h"

namespace loco::collectives {
namespace {

class AllReduceOp final : public RingOp {
 public:
  using RingOp::RingOp;

 protected:
  size_t num_steps() const override { return 2 * (world_ - 1); }

  Segment recv_segment(size_t step) const override {
    if (step < world_ - 1) return segment(rs_recv_segment(rank_, step, world_));
    return segment(ag_recv_segment(rank_, step - (world_ - 1), world_));
  }

  void send_initial() override {
    const Segment s = segment(rs_send_segment(rank_, 0, world_));
    const size_t e = elem_bytes();
    send_range(0, s.begin * e, s.count * e, input_ + s.begin * e);
  }

  void process(const DataHeader& h, std::byte* dst) override {
    const size_t last_rs = world_ - 2;
    const size_t n = h.length / elem_bytes();
    if (h.step <= last_rs) {
      reduce_into(params_.dtype, params_.op, dst, input_ + h.offset, n);
      if (h.step < last_rs) {
        forward(h.step + 1U, h, dst);
        return;
      }
      if (params_.op == ReduceOp::kAvg) {
        divide_into(params_.dtype, dst, n, static_cast<uint32_t>(world_));
      }
      forward(world_ - 1, h, dst);  // all-gather step 0: this rank's own, final segment
      return;
    }
    if (h.step + 1U < num_steps()) forward(h.step + 1U, h, dst);
  }
};

}  // namespace

// In place, the result is built in scratch and copied at commit, so a failed operation leaves
// the caller's buffer untouched; out of place it is built in `out` (working space). A world of
// one copies its input.
StagingPlan plan_all_reduce(const StagingShape& s) {
  const size_t all = s.count * s.elem_bytes;
  StagingPlan p;
  p.send_bytes = 2 * (all - all / s.world);
  if (s.world == 1) {
    p.commit_from = StagingPlan::From::kInput;
    p.commit_bytes = s.in_place ? 0 : all;
    return p;
  }
  if (s.in_place) {
    p.work = StagingPlan::Work::kScratch;
    p.scratch_bytes = all;
    p.commit_from = StagingPlan::From::kWork;
    p.commit_bytes = all;
  } else {
    p.work = StagingPlan::Work::kOut;
  }
  return p;
}

std::shared_ptr<RingOp> make_all_reduce_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                           const std::byte* input, std::byte* work) {
  return std::make_shared<AllReduceOp>(std::move(links), p, input, work);
}

}  // namespace loco::collectives
