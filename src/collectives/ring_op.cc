// ring_op.cc: the shared life cycle of a ring operation (see ring_op.h).
#include "collectives/ring_op.h"

#include <algorithm>
#include <string>

#include "common/check.h"

namespace loco::collectives {
namespace {

constexpr size_t kPieceOverhead = 2 * wire::kFrameHeaderSize + kDataHeaderSize;

std::string op_name(const wire::OpId& id) {
  return "operation (epoch " + std::to_string(id.epoch) + ", tag " + std::to_string(id.tag) +
         ", seq " + std::to_string(id.seq) + ")";
}

}  // namespace

RingOp::RingOp(std::shared_ptr<EpochLinks> links, const OpParams& params, const std::byte* input,
               std::byte* work)
    : links_(std::move(links)),
      params_(params),
      input_(input),
      work_(work),
      rank_(links_->rank()),
      world_(links_->world()) {
  LOCO_CHECK(world_ > 1);
  LOCO_CHECK(params_.piece_bytes >= 8 && params_.piece_bytes % 8 == 0);
}

Status RingOp::start() {
  fingerprint_ =
      op_fingerprint(static_cast<uint8_t>(params_.kind), static_cast<uint8_t>(params_.dtype),
                     static_cast<uint8_t>(params_.op), params_.count, params_.root, world_);
  if (params_.fingerprint_extra != 0) {
    fingerprint_ = fingerprint_mix(fingerprint_, params_.fingerprint_extra);
  }
  claimed_.assign(num_steps(), 0);
  expected_bytes_ = 0;
  for (size_t s = 0; s < num_steps(); ++s) expected_bytes_ += recv_bytes(s).count;
  LOCO_ASSIGN_OR_RETURN(uint64_t seq, links_->register_op(shared_from_this(), params_.tag));
  (void)seq;  // assign_seq() already stored it under the links' lock
  send_initial();
  std::lock_guard<std::mutex> lock(mu_);
  initial_sent_ = true;
  maybe_done_locked();
  return OkStatus();
}

Status RingOp::wait_local(OpDeadline& deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto finished = [&] { return done_ || !status_.ok(); };
  while (!finished()) {
    lock.unlock();
    const EpochLinks::Progress p = links_->progress();
    const TimePoint t = now();
    const Status late = deadline.check(t, p.sent, p.received);
    lock.lock();
    if (finished()) break;
    if (!late.ok()) {
      status_ = DeadlineExceeded(op_name(id()) + " " + late.message());
      break;
    }
    cv_.wait_until(lock, deadline.next_check(t), finished);
  }
  const Status result = done_ ? OkStatus() : status_;
  closing_ = true;
  lock.unlock();
  // A failed op takes the epoch down with it: that wakes every blocked send and receive here and,
  // through the closed sockets, tells the neighbours at once instead of at their own deadlines.
  if (!result.ok()) links_->fail(result);
  lock.lock();
  cv_.wait(lock, [&] { return pins_ == 0 && pending_sends_ == 0; });
  lock.unlock();
  links_->unregister_op(params_.tag, seq_);
  return result;
}

bool RingOp::try_pin() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_) return false;
  ++pins_;
  return true;
}

void RingOp::unpin() {
  std::lock_guard<std::mutex> lock(mu_);
  LOCO_CHECK(pins_ > 0);
  if (--pins_ == 0) cv_.notify_all();
}

Result<MutableByteSpan> RingOp::destination(const DataHeader& h) {
  if (h.kind != params_.kind || h.fingerprint != fingerprint_) {
    return InvalidArgument("the previous peer called a different operation on tag " +
                           std::to_string(h.tag) + " seq " + std::to_string(h.seq) +
                           " (kind, type, op, count, root, world size or wire codec differ)");
  }
  if (h.step >= num_steps()) return DataLoss("DATA step out of range");
  const Segment range = recv_bytes(h.step);
  const size_t e = recv_unit();
  const size_t begin = range.begin;
  const size_t end = begin + range.count;
  if (h.offset < begin || h.offset > end || h.length > end - h.offset ||
      (h.offset - begin) % e != 0 || h.length % e != 0) {
    return DataLoss("DATA piece outside the range of its step");
  }
  LOCO_RETURN_IF_ERROR(claim_piece(h));
  std::lock_guard<std::mutex> lock(mu_);
  if (claimed_[h.step] + h.length > range.count) return DataLoss("DATA piece received twice");
  claimed_[h.step] += h.length;
  return MutableByteSpan(work_ + h.offset, h.length);
}

void RingOp::on_received(const DataHeader& h, std::byte* dst) {
  bytes_received_.fetch_add(kPieceOverhead + h.length, std::memory_order_relaxed);
  if (params_.on_piece) {
    params_.on_piece(
        {id(), params_.kind, rank_, world_, h.step, num_steps(), MutableByteSpan(dst, h.length)});
  }
  process(h, dst);
  std::lock_guard<std::mutex> lock(mu_);
  arrived_bytes_ += h.length;
  maybe_done_locked();
}

void RingOp::on_sent(const Status& s, size_t wire_bytes) {
  bytes_sent_.fetch_add(wire_bytes, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  LOCO_CHECK(pending_sends_ > 0);
  --pending_sends_;
  if (!s.ok() && !done_ && status_.ok()) status_ = s;
  maybe_done_locked();
  cv_.notify_all();
}

void RingOp::fail(const Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!done_ && status_.ok()) status_ = s;
  cv_.notify_all();
}

Segment RingOp::recv_bytes(size_t step) const {
  const Segment seg = recv_segment(step);
  return {seg.begin * elem_bytes(), seg.count * elem_bytes()};
}

void RingOp::maybe_done_locked() {
  if (initial_sent_ && !done_ && status_.ok() && arrived_bytes_ == expected_bytes_ &&
      pending_sends_ == 0) {
    done_ = true;
    cv_.notify_all();
  }
}

void RingOp::send_piece(size_t step, size_t byte_offset, size_t bytes, const std::byte* src) {
  DataHeader h;
  h.epoch = links_->epoch();
  h.tag = params_.tag;
  h.seq = seq_;
  h.fingerprint = fingerprint_;
  h.offset = byte_offset;
  h.length = static_cast<uint32_t>(bytes);
  h.step = static_cast<uint16_t>(step);
  h.kind = params_.kind;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_sends_;
  }
  const size_t stripe = next_stripe_.fetch_add(1, std::memory_order_relaxed) % links_->stripes();
  links_->enqueue(stripe, SendJob{shared_from_this(), h, src});
}

void RingOp::send_range(size_t step, size_t byte_offset, size_t bytes, const std::byte* src) {
  for (size_t done = 0; done < bytes; done += params_.piece_bytes) {
    send_piece(step, byte_offset + done, std::min(params_.piece_bytes, bytes - done), src + done);
  }
}

void RingOp::forward(size_t step, const DataHeader& h, const std::byte* src) {
  send_piece(step, h.offset, h.length, src);
}

}  // namespace loco::collectives
