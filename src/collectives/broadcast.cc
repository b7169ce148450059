// broadcast.cc: pipelined ring broadcast. The root cuts its buffer into pieces and sends them to
// the next rank; every other rank receives each piece into `work` and forwards it at once, except
// the last rank before the root. A piece's step is the hop it is on (0 leaves the root), so rank
// root+d receives at step d-1 only. Time is about (P-1) piece times plus one buffer time.
#include "collectives/algorithms.h"

namespace loco::collectives {
namespace {

class BroadcastOp final : public RingOp {
 public:
  using RingOp::RingOp;

 protected:
  size_t num_steps() const override { return world_ - 1; }

  size_t hops_from_root() const { return ring_sub(rank_, params_.root, world_); }

  Segment recv_segment(size_t step) const override {
    const size_t d = hops_from_root();
    if (d == 0 || step != d - 1) return {};
    return {0, params_.count};
  }

  void send_initial() override {
    if (hops_from_root() != 0) return;
    send_range(0, 0, params_.count * elem_bytes(), input_);
  }

  void process(const DataHeader& h, std::byte* dst) override {
    const size_t d = hops_from_root();
    if (d + 1 < world_) forward(d, h, dst);
  }
};

}  // namespace

// The root only sends from its buffer; every other rank receives into scratch and copies at
// commit, so a failed broadcast leaves its buffer untouched.
StagingPlan plan_broadcast(const StagingShape& s) {
  const size_t all = s.count * s.elem_bytes;
  StagingPlan p;
  p.send_bytes = all;
  if (s.rank != s.root) {
    p.work = StagingPlan::Work::kScratch;
    p.scratch_bytes = all;
    p.commit_from = StagingPlan::From::kWork;
    p.commit_bytes = all;
  }
  return p;
}

std::shared_ptr<RingOp> make_broadcast_op(std::shared_ptr<EpochLinks> links, const OpParams& p,
                                          const std::byte* input, std::byte* work) {
  return std::make_shared<BroadcastOp>(std::move(links), p, input, work);
}

}  // namespace loco::collectives
