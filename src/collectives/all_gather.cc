// all_gather.cc: pipelined ring all-gather: rank r sends its segment (from `input`, which holds
// only that segment), and forwards every received piece until it has visited every rank. The
// caller places its own segment in the output itself (the communicator does, at commit).
#include "collectives/algorithms.h"

namespace loco::collectives {
namespace {

class AllGatherOp final : public RingOp {
 public:
  using RingOp::RingOp;

 protected:
  size_t num_steps() const override { return world_ - 1; }

  Segment recv_segment(size_t step) const override {
    return segment(ag_recv_segment(rank_, step, world_));
  }

  void send_initial() override {
    const Segment s = segment(rank_);
    const size_t e = elem_bytes();
    send_range(0, s.begin * e, s.count * e, input_);
  }

  void process(const DataHeader& h, std::byte* dst) override {
    if (h.step + 1U < num_steps()) forward(h.step + 1U, h, dst);
  }
};

}  // namespace

// Gathered straight into `out` (working space, unspecified after a failure), unless this rank's
// input overlaps it: then in scratch, copied at commit. Either way this rank's own segment is
// copied into place before the ring starts.
StagingPlan plan_all_gather(const StagingShape& s) {
  const size_t all = s.count * s.elem_bytes;
  const Segment mine = segment_of(s.count, s.world, s.rank);
  StagingPlan p;
  p.send_bytes = all - all / s.world;
  p.seed_offset = mine.begin * s.elem_bytes;
  p.seed_bytes = mine.count * s.elem_bytes;
  if (s.input_overlaps) {
    p.work = StagingPlan::Work::kScratch;
    p.scratch_bytes = all;
    p.commit_from = StagingPlan::From::kWork;
    p.commit_bytes = all;
  } else {
    p.work = StagingPlan::Work::kOut;
  }
  return p;
}

std::shared_ptr<RingOp> make_all_gather_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                           const std::byte* input, std::byte* work) {
  return std::make_shared<AllGatherOp>(std::move(links), p, input, work);
}

}  // namespace loco::collectives
