// epoch_links.h: the data-plane links of one membership epoch, and the routing of DATA pieces to
// the operations running on them.
//
// For an epoch with ring order m[0..P-1], this peer (rank r) has `stripes` TCP connections to
// m[r+1] (outgoing: it only sends DATA on them) and `stripes` from m[r-1] (incoming: it only
// receives). Each outgoing stripe has a sender thread draining a queue of SendJobs; each incoming
// stripe has a receiver thread that reads a DataHeader, finds the operation (tag, seq) it belongs
// to, receives the bytes straight into that operation's buffer and lets the operation reduce and
// forward them (LinkedOp::on_received, implemented by RingOp) while the next piece is already
// arriving on other stripes.
//
// Failure is all-or-nothing per epoch: the first error (a broken or corrupt link, an operation's
// deadline, the epoch being replaced) closes every connection, fails every registered operation
// with that status and wakes every blocked thread. A failed EpochLinks never recovers; the
// membership layer forms a new epoch. Ordering rule for callers: operations on one tag must be
// started in the same order on every peer (the sequence number is assigned here, per tag).
// Not here: dialing and accepting (mesh.h), the algorithms (ring_op.h and one file per algorithm).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "collectives/data_messages.h"
#include "common/status.h"
#include "transport/connection.h"
#include "wire/messages.h"

namespace loco::collectives {

// What the links need of an operation running on them, and nothing more: RingOp (ring_op.h)
// implements it, so the links never see an algorithm and ring_op.h depends on this file, not the
// other way round. Every method is called by the links' threads.
class LinkedOp {
 public:
  virtual ~LinkedOp() = default;
  // Under the links' lock, before any receiver can see the op.
  virtual void assign_seq(uint64_t seq) = 0;
  // A receiver holds the op while it receives into it; false once the op is finishing.
  virtual bool try_pin() = 0;
  virtual void unpin() = 0;
  // Validates a piece against the op and reserves its bytes: where to receive it.
  virtual Result<MutableByteSpan> destination(const DataHeader& h) = 0;
  // The piece is in place at `dst`.
  virtual void on_received(const DataHeader& h, std::byte* dst) = 0;
  // A queued piece left (s OK, `wire_bytes` on the socket) or could not be sent.
  virtual void on_sent(const Status& s, size_t wire_bytes) = 0;
  // The links failed: the op fails with `why`.
  virtual void fail(const Status& why) = 0;
};

// One piece to send: a DataHeader frame then `header.length` bytes from `data`.
struct SendJob {
  std::shared_ptr<LinkedOp> op;
  DataHeader header;
  const std::byte* data = nullptr;
};

class EpochLinks {
 public:
  // `ring` is the epoch's ring order and must contain `my_peer_id` exactly once.
  EpochLinks(uint64_t epoch, size_t my_rank, std::vector<wire::Member> ring, size_t stripes);
  ~EpochLinks();
  EpochLinks(const EpochLinks&) = delete;
  EpochLinks& operator=(const EpochLinks&) = delete;

  uint64_t epoch() const { return epoch_; }
  size_t rank() const { return rank_; }
  size_t world() const { return ring_.size(); }
  size_t stripes() const { return stripes_; }
  const std::vector<wire::Member>& ring() const { return ring_; }
  const wire::Member& next() const { return ring_[(rank_ + 1) % ring_.size()]; }
  const wire::Member& prev() const { return ring_[(rank_ + ring_.size() - 1) % ring_.size()]; }

  // Installs a handshaken connection and starts its thread. False (the connection is then closed)
  // when the slot is taken or the links have failed.
  bool install_outgoing(size_t stripe, std::unique_ptr<transport::Connection> conn);
  bool install_incoming(size_t stripe, std::unique_ptr<transport::Connection> conn);
  // Claims an empty incoming slot before its dialer is told OK, so that of two hellos for one
  // stripe (a duplicate, or a replay racing the real one) only one is ever accepted. False when
  // the slot is taken or claimed, or the links failed. install_incoming fills a claimed slot;
  // release_incoming gives one back whose handshake did not finish.
  bool claim_incoming(size_t stripe);
  void release_incoming(size_t stripe);
  // Waits until every stripe in both directions is installed (at once for a world of one): OK,
  // the links' failure, or DEADLINE_EXCEEDED.
  Status wait_ready(Deadline deadline) const;

  // First failure wins; see the header comment. Idempotent.
  void fail(const Status& why);
  // Called once, outside the lock, when the links fail for a reason other than ABORTED/CANCELLED
  // (a broken link or a deadline): the membership layer reports it so the swarm re-forms. Set it
  // before the links are published.
  void set_failure_listener(std::function<void(uint64_t epoch, const Status&)> listener) {
    failure_listener_ = std::move(listener);
  }
  // OK while healthy, else the first failure.
  Status status() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  // Registers a new operation for incoming pieces and assigns its sequence number on `tag`.
  Result<uint64_t> register_op(const std::shared_ptr<LinkedOp>& op, uint64_t tag);
  void unregister_op(uint64_t tag, uint64_t seq);
  // Assigns the next sequence number on `tag` without registering (operations of a world of one).
  Result<uint64_t> take_seq(uint64_t tag);
  // Queues a piece (never blocks). After a failure the job completes at once with that failure.
  void enqueue(size_t stripe, SendJob job);

  // Bytes moved so far on this epoch's links (every stripe, partial frames included; see
  // transport::ConnectionStats): what an operation's progress deadline watches (throughput.h).
  struct Progress {
    uint64_t sent = 0;
    uint64_t received = 0;
  };
  Progress progress() const;

  // Runs `fn` on a thread that join() waits for (the mesh's dialer for this epoch).
  void spawn(std::function<void()> fn);
  // Fails the links (if not yet failed) and joins every thread. Not from one of those threads.
  void shutdown();
  // True when every thread started here has returned (shutdown() would not block).
  bool quiescent() const { return running_threads_.load(std::memory_order_acquire) == 0; }

 private:
  struct OutStripe {
    std::unique_ptr<transport::Connection> conn;
    std::deque<SendJob> queue;
    bool has_thread = false;
  };
  struct InStripe {
    std::unique_ptr<transport::Connection> conn;
    bool claimed = false;  // a hello for it was accepted; its connection is on the way
  };

  void sender_loop(size_t stripe);
  void receiver_loop(size_t stripe);
  Status receive_piece(transport::Connection& conn, Bytes& discard);
  // Finds the running operation for a piece: the op (pinned), nullptr to discard (it finished),
  // or the links' failure.
  Result<std::shared_ptr<LinkedOp>> route(const DataHeader& h);
  void start_thread(std::function<void()> fn);
  void drain_failed(std::deque<SendJob>& jobs);
  bool ready_locked() const;

  const uint64_t epoch_;
  const size_t rank_;
  const std::vector<wire::Member> ring_;
  const size_t stripes_;

  std::function<void(uint64_t, const Status&)> failure_listener_;
  mutable std::mutex mu_;               // guards everything below except the atomics
  mutable std::condition_variable cv_;  // queues, routing, installs
  Status status_;
  std::atomic<bool> failed_{false};
  bool stopping_ = false;
  std::vector<OutStripe> out_;
  std::vector<InStripe> in_;
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<LinkedOp>> active_;  // (tag, seq)
  std::map<uint64_t, uint64_t> next_seq_;  // per tag: seqs below were registered at some point

  std::mutex threads_mu_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_threads_{0};
};

}  // namespace loco::collectives
