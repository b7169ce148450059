// epoch_links.cc: sender and receiver threads, routing and failure of one epoch's links
// (see epoch_links.h).
#include "collectives/epoch_links.h"

#include <string>

#include "common/check.h"
#include "common/log.h"

namespace loco::collectives {

EpochLinks::EpochLinks(uint64_t epoch, size_t my_rank, std::vector<wire::Member> ring,
                       size_t stripes)
    : epoch_(epoch), rank_(my_rank), ring_(std::move(ring)), stripes_(stripes) {
  LOCO_CHECK(!ring_.empty() && rank_ < ring_.size() && stripes_ > 0);
  out_.resize(ring_.size() > 1 ? stripes_ : 0);
  in_.resize(ring_.size() > 1 ? stripes_ : 0);
}

EpochLinks::~EpochLinks() {
  fail(Cancelled("epoch links destroyed"));
  std::lock_guard<std::mutex> lock(threads_mu_);
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // the last reference died on our own thread: it is about to return
    } else {
      t.join();
    }
  }
}

void EpochLinks::start_thread(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(threads_mu_);
  running_threads_.fetch_add(1, std::memory_order_acq_rel);
  threads_.emplace_back([this, fn = std::move(fn)] {
    fn();
    running_threads_.fetch_sub(1, std::memory_order_acq_rel);
  });
}

void EpochLinks::spawn(std::function<void()> fn) { start_thread(std::move(fn)); }

bool EpochLinks::install_outgoing(size_t stripe, std::unique_ptr<transport::Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stripe < out_.size() && !failed() && !stopping_ && !out_[stripe].conn) {
      out_[stripe].conn = std::move(conn);
      out_[stripe].has_thread = true;
    }
  }
  if (conn) {  // not taken
    conn->close();
    return false;
  }
  start_thread([this, stripe] { sender_loop(stripe); });
  cv_.notify_all();
  return true;
}

bool EpochLinks::install_incoming(size_t stripe, std::unique_ptr<transport::Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stripe < in_.size() && !failed() && !stopping_ && !in_[stripe].conn) {
      in_[stripe].conn = std::move(conn);
    }
    if (stripe < in_.size()) in_[stripe].claimed = false;
  }
  if (conn) {
    conn->close();
    return false;
  }
  start_thread([this, stripe] { receiver_loop(stripe); });
  cv_.notify_all();
  return true;
}

bool EpochLinks::claim_incoming(size_t stripe) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stripe >= in_.size() || in_[stripe].conn || in_[stripe].claimed || failed()) return false;
  in_[stripe].claimed = true;
  return true;
}

void EpochLinks::release_incoming(size_t stripe) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stripe < in_.size()) in_[stripe].claimed = false;
}

Status EpochLinks::wait_ready(Deadline deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto done = [&] { return failed() || ready_locked(); };
  if (deadline.is_never()) {
    cv_.wait(lock, done);
  } else if (!cv_.wait_until(lock, deadline.when(), done)) {
    return DeadlineExceeded("data links of epoch " + std::to_string(epoch_) + " not up in time");
  }
  return failed() ? status_ : OkStatus();
}

bool EpochLinks::ready_locked() const {
  for (const auto& s : out_) {
    if (!s.conn) return false;
  }
  for (const auto& s : in_) {
    if (!s.conn) return false;
  }
  return true;
}

EpochLinks::Progress EpochLinks::progress() const {
  Progress p;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : out_) {
    if (s.conn) p.sent += s.conn->stats().progress_sent;
  }
  for (const auto& s : in_) {
    if (s.conn) p.received += s.conn->stats().progress_received;
  }
  return p;
}

Status EpochLinks::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void EpochLinks::fail(const Status& why) {
  LOCO_CHECK(!why.ok());
  std::vector<std::shared_ptr<LinkedOp>> ops;
  std::vector<std::deque<SendJob>> orphaned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed()) return;
    status_ = why;
    failed_.store(true, std::memory_order_release);
    for (auto& [key, op] : active_) ops.push_back(op);
    for (auto& s : out_) {
      if (s.conn) s.conn->close();
      if (!s.has_thread) orphaned.push_back(std::move(s.queue));
    }
    for (auto& s : in_) {
      if (s.conn) s.conn->close();
    }
  }
  cv_.notify_all();
  if (why.code() != StatusCode::kAborted && why.code() != StatusCode::kCancelled) {
    LOCO_LOG_DEBUG("data links of epoch {} failed: {}", epoch_, why.to_string());
    if (failure_listener_) failure_listener_(epoch_, why);
  }
  for (auto& op : ops) op->fail(why);
  for (auto& q : orphaned) drain_failed(q);
}

void EpochLinks::drain_failed(std::deque<SendJob>& jobs) {
  const Status s = status();
  for (auto& job : jobs) job.op->on_sent(s, 0);
  jobs.clear();
}

void EpochLinks::shutdown() {
  fail(Cancelled("epoch links shut down"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

Result<uint64_t> EpochLinks::register_op(const std::shared_ptr<LinkedOp>& op, uint64_t tag) {
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed()) return status_;
    seq = next_seq_[tag]++;
    op->assign_seq(seq);
    active_[{tag, seq}] = op;
  }
  cv_.notify_all();  // receivers may be waiting for exactly this operation
  return seq;
}

Result<uint64_t> EpochLinks::take_seq(uint64_t tag) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed()) return status_;
  return next_seq_[tag]++;
}

void EpochLinks::unregister_op(uint64_t tag, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  active_.erase({tag, seq});
}

void EpochLinks::enqueue(size_t stripe, SendJob job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    LOCO_CHECK(stripe < out_.size());
    if (!failed()) {
      out_[stripe].queue.push_back(std::move(job));
    }
  }
  if (job.op) {  // not queued: the links have failed
    job.op->on_sent(status(), 0);
    return;
  }
  cv_.notify_all();
}

void EpochLinks::sender_loop(size_t stripe) {
  transport::Connection* conn = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn = out_[stripe].conn.get();
  }
  for (;;) {
    SendJob job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return failed() || stopping_ || !out_[stripe].queue.empty(); });
      if (failed() || stopping_) {
        std::deque<SendJob> rest = std::move(out_[stripe].queue);
        out_[stripe].queue.clear();
        lock.unlock();
        drain_failed(rest);
        return;
      }
      job = std::move(out_[stripe].queue.front());
      out_[stripe].queue.pop_front();
    }
    std::byte hb[kDataHeaderSize];
    encode_data_header(job.header, hb);
    Status s = conn->send_piece(hb, ByteSpan(job.data, job.header.length), Deadline::never());
    if (!s.ok()) {
      if (!failed()) {
        fail(Unavailable("data link to peer " + std::to_string(next().peer_id) + " (" +
                         next().name + ") broke: " + s.to_string()));
      }
      job.op->on_sent(status(), 0);
      continue;
    }
    job.op->on_sent(s, 2 * wire::kFrameHeaderSize + kDataHeaderSize + job.header.length);
  }
}

void EpochLinks::receiver_loop(size_t stripe) {
  transport::Connection* conn = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn = in_[stripe].conn.get();
  }
  Bytes discard;
  for (;;) {
    Status s = receive_piece(*conn, discard);
    if (s.ok()) continue;
    if (!failed()) {
      const StatusCode c = s.code();
      const bool broken = c == StatusCode::kUnavailable || c == StatusCode::kDeadlineExceeded;
      fail(broken ? Unavailable("data link from peer " + std::to_string(prev().peer_id) + " (" +
                                prev().name + ") broke: " + s.to_string())
                  : s.with_context("data link from peer " + std::to_string(prev().peer_id)));
    }
    return;
  }
}

Status EpochLinks::receive_piece(transport::Connection& conn, Bytes& discard) {
  LOCO_ASSIGN_OR_RETURN(wire::FrameHeader fh, conn.receive_header(Deadline::never()));
  if (fh.type != wire::MsgType::kData || fh.length != kDataHeaderSize) {
    return DataLoss(std::string("expected a DATA header frame, got ") +
                    wire::msg_type_name(fh.type));
  }
  std::byte hb[kDataHeaderSize];
  LOCO_RETURN_IF_ERROR(conn.receive_payload(hb, Deadline::never()));
  LOCO_ASSIGN_OR_RETURN(DataHeader h, decode_data_header(hb));
  if (h.epoch != epoch_) {
    return DataLoss("DATA for epoch " + std::to_string(h.epoch) + " on a link of epoch " +
                    std::to_string(epoch_));
  }
  LOCO_ASSIGN_OR_RETURN(wire::FrameHeader body, conn.receive_header(Deadline::never()));
  if (body.type != wire::MsgType::kData || body.length != h.length) {
    return DataLoss("DATA body does not match its header");
  }
  LOCO_ASSIGN_OR_RETURN(std::shared_ptr<LinkedOp> op, route(h));
  if (!op) {  // a finished operation's straggler: read and drop
    discard.resize(h.length);
    return conn.receive_payload(discard, Deadline::never());
  }
  Result<MutableByteSpan> dst = op->destination(h);
  if (!dst.ok()) {
    op->unpin();
    return dst.status();
  }
  Status s = conn.receive_payload(*dst, Deadline::never());
  if (s.ok()) op->on_received(h, dst->data());
  op->unpin();
  return s;
}

Result<std::shared_ptr<LinkedOp>> EpochLinks::route(const DataHeader& h) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (failed()) return status_;
    if (stopping_) return Cancelled("epoch links shut down");
    auto it = active_.find({h.tag, h.seq});
    if (it != active_.end()) {
      std::shared_ptr<LinkedOp> op = it->second;
      if (!op->try_pin()) return std::shared_ptr<LinkedOp>();  // finishing: drop the piece
      return op;
    }
    auto seq_it = next_seq_.find(h.tag);
    if (seq_it != next_seq_.end() && h.seq < seq_it->second) return std::shared_ptr<LinkedOp>();
    // The sender started this operation before we did: wait for our caller to start it.
    cv_.wait(lock);
  }
}

}  // namespace loco::collectives
