// communicator.cc: validation, staging, deadlines, commit and the async wrapper around the ring
// algorithms (see communicator.h).
#include "collectives/communicator.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "collectives/algorithms.h"
#include "collectives/quantized_layout.h"
#include "collectives/scratch_pool.h"
#include "common/check.h"

namespace loco::collectives {

struct RunningOp {
  std::shared_ptr<EpochLinks> links;
  std::shared_ptr<RingOp> op;  // null in a world of one
  ScratchPool::Lease scratch;
  wire::OpId id;
  size_t world = 1;
  TimePoint start;
  std::optional<OpDeadline> deadline;  // the stall and overall bounds (throughput.h)
  // The commit: memmove(commit_dst, commit_src, commit_bytes) once the vote said OK.
  const std::byte* commit_src = nullptr;
  std::byte* commit_dst = nullptr;
  size_t commit_bytes = 0;
};

struct OpHandle::State {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<OpStats>> result;
  std::thread thread;
};

namespace {

bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  if (an == 0 || bn == 0) return false;
  const auto pa = reinterpret_cast<uintptr_t>(a);
  const auto pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + bn && pb < pa + an;
}

size_t normalized_piece(size_t piece, uint32_t mesh_max) {
  piece = std::min<size_t>(piece, mesh_max);
  piece -= piece % 8;
  return std::max<size_t>(piece, 8);
}

}  // namespace

// ---- OpHandle ----

OpHandle::OpHandle(OpHandle&&) noexcept = default;
OpHandle& OpHandle::operator=(OpHandle&& o) noexcept {
  if (this != &o) {
    if (state_ && state_->thread.joinable()) state_->thread.join();
    state_ = std::move(o.state_);
  }
  return *this;
}
OpHandle::~OpHandle() {
  if (state_ && state_->thread.joinable()) state_->thread.join();
}

Result<OpStats> OpHandle::wait() {
  if (!state_) return FailedPrecondition("wait() on an empty or already waited OpHandle");
  std::shared_ptr<State> s = std::move(state_);
  {
    std::unique_lock<std::mutex> lock(s->mu);
    s->cv.wait(lock, [&] { return s->result.has_value(); });
  }
  if (s->thread.joinable()) s->thread.join();
  return std::move(*s->result);
}

// ---- Communicator ----

Communicator::Communicator(Mesh& mesh, CommitVoter& voter, CommunicatorOptions options)
    : mesh_(mesh),
      voter_(voter),
      options_([&] {
        options.piece_bytes = normalized_piece(options.piece_bytes, mesh.options().max_piece_bytes);
        return options;
      }()),
      pool_(std::make_unique<ScratchPool>(options_.scratch_buffers_kept)) {}

Communicator::~Communicator() {
  std::unique_lock<std::mutex> lock(inflight_mu_);
  inflight_cv_.wait(lock, [&] { return inflight_ == 0; });
}

size_t Communicator::rank() const {
  auto links = mesh_.current();
  return links ? links->rank() : 0;
}
size_t Communicator::world_size() const {
  auto links = mesh_.current();
  return links ? links->world() : 0;
}
uint64_t Communicator::epoch() const { return mesh_.epoch(); }
void Communicator::abort(uint64_t epoch) { mesh_.abort_epoch(epoch, "aborted by the caller"); }

Status Communicator::validate(const OpRequest& r, size_t world, size_t rank) const {
  if (!is_valid(r.dtype)) return InvalidArgument("unknown data type");
  if (!is_valid(r.op)) return InvalidArgument("unknown reduction operator");
  const size_t e = dtype_size(r.dtype);
  if (r.count > std::numeric_limits<size_t>::max() / e) return InvalidArgument("count overflows");
  const size_t all = r.count * e;
  const size_t mine = segment_of(r.count, world, rank).count * e;
  size_t in_bytes = all;
  size_t out_bytes = all;
  switch (r.kind) {
    case OpKind::kAllReduce:
      if (r.in != r.out && overlaps(r.in, all, r.out, all)) {
        return InvalidArgument("all_reduce: in and out overlap without being equal");
      }
      break;
    case OpKind::kReduceScatter:
      out_bytes = mine;
      break;
    case OpKind::kAllGather:
      in_bytes = mine;
      break;
    case OpKind::kBroadcast:
      if (r.root >= world) {
        return InvalidArgument("broadcast root " + std::to_string(r.root) + " is not a rank of " +
                               std::to_string(world));
      }
      break;
  }
  if ((in_bytes > 0 && r.in == nullptr) || (out_bytes > 0 && r.out == nullptr)) {
    return InvalidArgument("null buffer");
  }
  return OkStatus();
}

Result<std::unique_ptr<RunningOp>> Communicator::begin(const OpRequest& r) {
  std::shared_ptr<EpochLinks> links = mesh_.current();
  if (!links) return FailedPrecondition("no membership epoch yet: the mesh has no ring");
  const size_t world = links->world();
  const size_t rank = links->rank();
  LOCO_RETURN_IF_ERROR(validate(r, world, rank));
  std::shared_ptr<const codecs::Codec> codec = r.codec;
  if (codec) {
    LOCO_RETURN_IF_ERROR(check_wire_codec(*codec));
  } else {
    LOCO_ASSIGN_OR_RETURN(codec, parse_wire_codec(r.wire_codec));
  }
  if (codec) return begin_quantized(r, std::move(links), std::move(codec));

  auto run = std::make_unique<RunningOp>();
  run->links = links;
  run->world = world;
  run->start = now();
  const size_t e = dtype_size(r.dtype);
  const Segment mine = segment_of(r.count, world, rank);
  const auto* in = static_cast<const std::byte*>(r.in);
  auto* out = static_cast<std::byte*>(r.out);
  const StagingShape shape{.count = r.count,
                           .elem_bytes = e,
                           .world = world,
                           .rank = rank,
                           .root = r.root,
                           .in_place = in == out,
                           .input_overlaps = overlaps(in, mine.count * e, out, r.count * e)};
  StagingPlan plan;
  switch (r.kind) {
    case OpKind::kAllReduce: plan = plan_all_reduce(shape); break;
    case OpKind::kReduceScatter: plan = plan_reduce_scatter(shape); break;
    case OpKind::kAllGather: plan = plan_all_gather(shape); break;
    case OpKind::kBroadcast: plan = plan_broadcast(shape); break;
  }
  std::byte* work = nullptr;
  if (plan.work == StagingPlan::Work::kScratch) {
    run->scratch = pool_->take(plan.scratch_bytes);
    work = run->scratch.data();
  } else if (plan.work == StagingPlan::Work::kOut) {
    work = out;
  }
  if (plan.seed_bytes > 0) std::memcpy(work + plan.seed_offset, in, plan.seed_bytes);
  if (plan.commit_from != StagingPlan::From::kNothing) {
    const std::byte* from = plan.commit_from == StagingPlan::From::kWork ? work : in;
    run->commit_src = from + plan.commit_offset;
    run->commit_dst = out;
    run->commit_bytes = plan.commit_bytes;
  }
  const size_t send_bytes = plan.send_bytes;
  run->deadline.emplace(run->start, send_bytes, options_.deadline,
                        estimator_.bytes_per_sec(links->epoch()));

  if (world == 1) {
    LOCO_ASSIGN_OR_RETURN(uint64_t seq, links->take_seq(r.tag));
    run->id = {links->epoch(), r.tag, seq};
    return run;
  }
  OpParams p;
  p.kind = r.kind;
  p.dtype = r.dtype;
  p.op = r.op;
  p.count = r.count;
  p.root = r.root;
  p.tag = r.tag;
  p.piece_bytes = options_.piece_bytes;
  p.on_piece = options_.test_on_piece;
  switch (r.kind) {
    case OpKind::kAllReduce:
      run->op = make_all_reduce_op(links, p, in, work);
      break;
    case OpKind::kReduceScatter:
      run->op = make_reduce_scatter_op(links, p, in, work);
      break;
    case OpKind::kAllGather:
      run->op = make_all_gather_op(links, p, in, work);
      break;
    case OpKind::kBroadcast:
      run->op = make_broadcast_op(links, p, in, work);
      break;
  }
  LOCO_RETURN_IF_ERROR(run->op->start());
  run->id = run->op->id();
  return run;
}

Result<std::unique_ptr<RunningOp>> Communicator::begin_quantized(
    const OpRequest& r, std::shared_ptr<EpochLinks> links,
    std::shared_ptr<const codecs::Codec> codec) {
  if (r.kind != OpKind::kAllReduce) {
    return InvalidArgument("a wire codec is only for all-reduce");
  }
  if (r.dtype != DataType::kF32) {
    return InvalidArgument("the quantized all-reduce reduces f32 only, not " +
                           std::string(dtype_name(r.dtype)));
  }
  if (r.op != ReduceOp::kSum && r.op != ReduceOp::kAvg) {
    return InvalidArgument("the quantized all-reduce supports sum and avg, not " +
                           std::string(reduce_op_name(r.op)));
  }
  const size_t world = links->world();
  const size_t piece_elems =
      quantized_piece_elems(options_.piece_bytes, codec_block_size(*codec));
  if (codec->encoded_size_bound(piece_elems) > mesh_.options().max_piece_bytes) {
    return InvalidArgument("quantized pieces of " + std::to_string(piece_elems) +
                           " elements exceed the mesh's largest DATA piece");
  }
  const QuantizedLayout layout(r.count, world, piece_elems, *codec);

  auto run = std::make_unique<RunningOp>();
  run->links = links;
  run->world = world;
  run->start = now();
  const size_t all = r.count * sizeof(float);
  const auto* in = static_cast<const float*>(r.in);
  auto* out = static_cast<float*>(r.out);
  float* work = out;
  if (in == out) {  // in place: build the result in scratch, copy at commit
    run->scratch = pool_->take(all);
    work = reinterpret_cast<float*>(run->scratch.data());
    run->commit_src = run->scratch.data();
    run->commit_dst = static_cast<std::byte*>(r.out);
    run->commit_bytes = all;
  }
  const size_t wire = layout.wire_bytes();
  run->deadline.emplace(run->start, 2 * (wire - wire / world), options_.deadline,
                        estimator_.bytes_per_sec(links->epoch()));

  if (world == 1) {
    // No peer to send to, but the same rule: the result is the decoded value of one encoding.
    std::vector<std::byte> buf(codec->encoded_size_bound(piece_elems));
    for (size_t k = 0; k < layout.num_pieces(0); ++k) {
      const PieceSlot slot = layout.slot(0, k);
      const MutableByteSpan bytes(buf.data(), slot.wire_bytes);
      LOCO_ASSIGN_OR_RETURN(size_t n, codec->encode({in + slot.elem_begin, slot.elems}, bytes));
      (void)n;
      LOCO_RETURN_IF_ERROR(codec->decode(bytes, {work + slot.elem_begin, slot.elems}));
    }
    LOCO_ASSIGN_OR_RETURN(uint64_t seq, links->take_seq(r.tag));
    run->id = {links->epoch(), r.tag, seq};
    return run;
  }
  OpParams p;
  p.kind = OpKind::kAllReduce;
  p.dtype = DataType::kF32;
  p.op = r.op;
  p.count = r.count;
  p.tag = r.tag;
  p.piece_bytes = options_.piece_bytes;
  p.on_piece = options_.test_on_piece;
  run->op = make_quantized_all_reduce_op(links, p, std::move(codec), layout, in, work);
  LOCO_RETURN_IF_ERROR(run->op->start());
  run->id = run->op->id();
  return run;
}

Result<OpStats> Communicator::finish(RunningOp& run) {
  if (run.op) {
    LOCO_RETURN_IF_ERROR(run.op->wait_local(*run.deadline));
    estimator_.observe(run.op->bytes_sent(), now() - run.start, run.id.epoch);
  }
  const TimePoint vote_start = now();
  // The vote gets at least the base allowance even if the data took most of the budget.
  const TimePoint overall = run.deadline->overall();
  const Deadline vote_deadline = overall > vote_start + options_.deadline.base
                                     ? Deadline::at(overall)
                                     : Deadline::at(vote_start + options_.deadline.base);
  LOCO_RETURN_IF_ERROR(voter_.vote(run.id, vote_deadline));
  if (run.commit_bytes > 0 && run.commit_src != run.commit_dst) {
    std::memmove(run.commit_dst, run.commit_src, run.commit_bytes);
  }
  OpStats st;
  st.op = run.id;
  st.world_size = run.world;
  if (run.op) {
    st.bytes_sent = run.op->bytes_sent();
    st.bytes_received = run.op->bytes_received();
  }
  const TimePoint end = now();
  st.duration = end - run.start;
  st.vote_time = end - vote_start;
  return st;
}

Result<OpStats> Communicator::run(const OpRequest& request) {
  LOCO_ASSIGN_OR_RETURN(std::unique_ptr<RunningOp> running, begin(request));
  return finish(*running);
}

OpHandle Communicator::run_async(const OpRequest& request) {
  auto state = std::make_shared<OpHandle::State>();
  Result<std::unique_ptr<RunningOp>> running = begin(request);
  if (!running.ok()) {
    state->result.emplace(running.status());
    return OpHandle(state);
  }
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    ++inflight_;
  }
  // The vote must not wait for the caller's wait(): peers may wait on their handles in any order.
  state->thread = std::thread([this, state, run = std::move(*running)]() mutable {
    Result<OpStats> r = finish(*run);
    run.reset();  // release the scratch lease and links before reporting
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->result.emplace(std::move(r));
      state->cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(inflight_mu_);
    if (--inflight_ == 0) inflight_cv_.notify_all();
  });
  return OpHandle(state);
}

// ---- the public forms ----

Result<OpStats> Communicator::all_reduce(void* buf, size_t count, DataType t, ReduceOp op,
                                         uint64_t tag) {
  return run({.kind = OpKind::kAllReduce, .in = buf, .out = buf, .count = count, .dtype = t,
              .op = op, .tag = tag});
}
Result<OpStats> Communicator::all_reduce(const void* in, void* out, size_t count, DataType t,
                                         ReduceOp op, uint64_t tag) {
  return run({.kind = OpKind::kAllReduce, .in = in, .out = out, .count = count, .dtype = t,
              .op = op, .tag = tag});
}
Result<OpStats> Communicator::reduce_scatter(const void* in, void* out, size_t count, DataType t,
                                             ReduceOp op, uint64_t tag) {
  return run({.kind = OpKind::kReduceScatter, .in = in, .out = out, .count = count, .dtype = t,
              .op = op, .tag = tag});
}
Result<OpStats> Communicator::all_gather(const void* in, void* out, size_t count, DataType t,
                                         uint64_t tag) {
  return run({.kind = OpKind::kAllGather, .in = in, .out = out, .count = count, .dtype = t,
              .tag = tag});
}
Result<OpStats> Communicator::broadcast(void* buf, size_t count, DataType t, size_t root,
                                        uint64_t tag) {
  return run({.kind = OpKind::kBroadcast, .in = buf, .out = buf, .count = count, .dtype = t,
              .root = root, .tag = tag});
}

Result<OpStats> Communicator::all_reduce_quantized(float* buf, size_t count, ReduceOp op,
                                                   std::string_view wire_codec, uint64_t tag) {
  return all_reduce_quantized(buf, buf, count, op, wire_codec, tag);
}
Result<OpStats> Communicator::all_reduce_quantized(const float* in, float* out, size_t count,
                                                   ReduceOp op, std::string_view wire_codec,
                                                   uint64_t tag) {
  return run({.kind = OpKind::kAllReduce, .in = in, .out = out, .count = count,
              .dtype = DataType::kF32, .op = op, .tag = tag, .wire_codec = wire_codec});
}

OpHandle Communicator::all_reduce_async(void* buf, size_t count, DataType t, ReduceOp op,
                                        uint64_t tag) {
  return all_reduce_async(buf, buf, count, t, op, tag);
}
OpHandle Communicator::all_reduce_async(const void* in, void* out, size_t count, DataType t,
                                        ReduceOp op, uint64_t tag) {
  return run_async({.kind = OpKind::kAllReduce, .in = in, .out = out, .count = count, .dtype = t,
                    .op = op, .tag = tag});
}

}  // namespace loco::collectives
