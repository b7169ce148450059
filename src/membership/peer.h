// peer.h: the client side of membership. A PeerClient joins a swarm through the coordinator (the
// HELLO/CHALLENGE/AUTH/WELCOME handshake), then keeps a heartbeat going on its own thread, learns
// every new epoch (the ring order), relays commit votes of collective operations, and notices a
// coordinator that died or stopped answering (UNAVAILABLE). It moves no tensor data: the data plane
// (collectives/) connects peers directly, using the epochs this class reports.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "membership/auth.h"
#include "transport/connection.h"
#include "wire/messages.h"
#include "wire/state_messages.h"

namespace loco::membership {

// One epoch as this peer sees it.
struct MembershipView {
  uint64_t epoch = 0;
  std::vector<wire::Member> members;  // ring order
  int rank = -1;                      // this peer's index in members, -1 if not a member
  int world_size() const { return static_cast<int>(members.size()); }
};

struct PeerOptions {
  std::string coordinator_host = "127.0.0.1";
  uint16_t coordinator_port = 0;
  std::optional<SwarmKey> key;   // required when the coordinator has a secret
  bool encrypt = true;           // with a key: false seals for integrity only (--no-encrypt)
  std::string name;              // a label for logs
  std::string data_host;         // where other peers reach this peer's data plane ("" = as seen)
  uint16_t data_port = 0;
  Duration connect_timeout = std::chrono::seconds(10);
  // Called on the client's reader thread for every new epoch, from the first one on (keep it
  // short; no calls back into the client that wait).
  std::function<void(const MembershipView&)> on_epoch;
  // Test hook, empty in production: vote() calls it after sending OP_DONE and before it looks for
  // the OP_COMMIT, so a test can let OP_COMMIT and the next EPOCH arrive first.
  std::function<void(const wire::OpId&)> test_after_op_done;
};

class PeerClient {
 public:
  // Connects and authenticates. Statuses: UNAVAILABLE (coordinator unreachable or closed),
  // UNAUTHENTICATED (wrong or missing secret, or the coordinator failed to prove it knows it),
  // PROTOCOL_MISMATCH (other version), DEADLINE_EXCEEDED (connect_timeout), DATA_LOSS (garbage).
  static Result<std::unique_ptr<PeerClient>> join(PeerOptions options);
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  uint64_t peer_id() const { return peer_id_; }
  MembershipView view() const;
  // OK while connected; the reason once the connection to the coordinator is gone.
  Status health() const;

  // Waits until pred(view) holds. DEADLINE_EXCEEDED on timeout; the health() status if the
  // coordinator connection is lost first.
  Status wait_for(const std::function<bool(const MembershipView&)>& pred, Deadline deadline) const;
  // Waits for an epoch newer than `epoch`.
  Result<MembershipView> wait_for_epoch_after(uint64_t epoch, Deadline deadline) const;

  // The commit vote of a collective operation: reports OpDone and waits for OpCommit. ABORTED if
  // the epoch moves past op.epoch first, UNAVAILABLE if the coordinator is lost,
  // DEADLINE_EXCEEDED at the deadline.
  Status vote(const wire::OpId& op, Deadline deadline);

  // Tells the coordinator that this epoch's data-plane links failed (best effort; see
  // wire::LinkFailed). Safe from any thread.
  void report_link_failure(uint64_t epoch, const std::string& reason);
  // The same, for the case where the next peer `peer_id` could not be reached at all at `address`
  // (LINK_FAILED with its unreachable fields): the coordinator tells that peer.
  void report_unreachable(uint64_t epoch, uint64_t peer_id, const std::string& address,
                          const std::string& cause);
  // The newest PEER_UNREACHABLE notice about this peer, in words ("" if none): a neighbour could
  // not reach this peer's data plane at its advertised address.
  std::string unreachable_notice() const;

  // Shared-state sync (driven by state/state_sync.h; peer_state_sync.cc). state_report sends a
  // STATE_REPORT and waits for its STATE_PLAN (UNAVAILABLE if the coordinator is lost,
  // DEADLINE_EXCEEDED at the deadline; a plan that arrives after that is answered with a
  // CANCELLED STATE_DONE). state_done sends STATE_DONE and, with wait_complete, waits for the
  // round's STATE_COMPLETE.
  Result<wire::StatePlan> state_report(const wire::StateReport& report, Deadline deadline);
  Status state_done(const wire::StateDone& done, bool wait_complete, Deadline deadline);

  // Graceful leave: tells the coordinator and closes. Idempotent.
  void leave(const std::string& reason);

 private:
  explicit PeerClient(PeerOptions options);
  Status handshake(Deadline deadline);
  void reader_loop();
  void heartbeat_loop();
  void fail(Status why);
  // STATE_PLAN / STATE_COMPLETE from the reader thread (peer_state_sync.cc).
  Status on_state_frame(const wire::Frame& frame);

  PeerOptions options_;
  std::unique_ptr<transport::Connection> conn_;
  uint64_t peer_id_ = 0;
  Duration heartbeat_period_{};
  Duration heartbeat_timeout_{};

  mutable std::mutex mu_;
  std::string unreachable_notice_;  // guarded by mu_
  mutable std::condition_variable cv_;
  MembershipView view_;
  Status health_;
  TimePoint last_ack_;
  std::set<wire::OpId> commits_;  // OpCommits received for the current epoch
  std::function<void(const MembershipView&)> listener_;
  uint64_t state_waiting_report_ = 0;               // report id whose plan state_report awaits
  std::map<uint64_t, wire::StatePlan> state_plan_;  // at most the awaited one
  std::set<uint64_t> state_completes_;              // rounds completed, newest kept
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> heartbeat_seq_{0};

  std::thread reader_;
  std::thread heartbeat_;
};

}  // namespace loco::membership
