// coordinator_state.h: the coordinator's logic as a pure state machine. Events go in (a peer was
// authenticated, a heartbeat arrived, a peer left or disconnected, time passed); actions come out
// (send this, close that). No sockets, no clocks, no threads: time is an argument, so every rule
// (join batching, heartbeat timeout, epoch numbering) is unit tested without sleeping.
// The I/O shell that feeds it is coordinator.h.
//
// Rules:
//  - Epoch 0 is the empty swarm. Every membership change makes exactly one new epoch (epoch + 1),
//    and every member of the new epoch is sent it (SendEpoch). Several changes handled in one call
//    make one epoch.
//  - A joining peer gets a peer id and a Welcome at once, and waits as "pending" until the next
//    epoch boundary: the first tick at least `join_window` after the oldest pending join, or any
//    epoch change made for another reason (a death or leave), whichever comes first.
//  - Ring order is the order of admission; survivors keep their relative order.
//  - A member or pending peer whose last heartbeat (or join) is older than `heartbeat_timeout` is
//    declared dead on the next tick: removed, its connection closed with DEADLINE_EXCEEDED.
//  - A graceful leave or a disconnect removes the peer at once; a pending peer leaving makes no
//    epoch.
//  - A second PeerAuthenticated on a connection is a shell bug: that connection is closed with
//    FAILED_PRECONDITION (and the peer removed). Beyond wire::kMaxMembers peers a new connection is
//    closed with RESOURCE_EXHAUSTED. Events for unknown (or closed) connections are ignored.
//  - If the swarm becomes empty there is still a new epoch (with no SendEpoch), so numbering stays
//    monotonic.
//  - Collective completion (commit vote): a member reports OpDone for (epoch, tag, seq); when every
//    member of that epoch has reported it, every member is sent OpCommit. Reports for an epoch
//    other than the current one are ignored (those operations abort on the peers); a new epoch
//    forgets all open votes. Duplicate reports are harmless. Votes from non-members are ignored.
//    Open votes are bounded per member that opened them (its oldest is dropped first) and in
//    total (the oldest of the member with the most is dropped), so one member's flood of
//    made-up OpDones cannot push the others' real votes out.
//  - A join whose member entry would make the EPOCH message exceed wire::kMaxControlPayload is
//    closed with RESOURCE_EXHAUSTED; each EPOCH is encoded once and shared by every SendEpoch.
//  - Progress: when the ring is re-formed after LinkFailed reports, a member that reported no
//    failure while others did (a peer whose work thread hangs while its heartbeats go on) is a
//    suspect; a member that is a suspect in `max_suspect_reforms` re-forms in a row, with no
//    commit in between, is evicted (DEADLINE_EXCEEDED, with the reason) instead of re-forming the
//    same ring forever.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "wire/messages.h"

namespace loco::membership {

using ConnId = uint64_t;  // the shell's handle for one control connection

struct CoordinatorConfig {
  Duration heartbeat_period = std::chrono::milliseconds(500);
  Duration heartbeat_timeout = std::chrono::milliseconds(3000);
  Duration join_window = std::chrono::milliseconds(200);
  // After a member reports that the current epoch's data-plane links failed (LinkFailed), the
  // ring is re-formed in a new epoch with the same members unless another change makes a new
  // epoch first. Zero means heartbeat_timeout: long enough for a hung peer (the usual cause) to
  // be declared dead instead, so a plain re-form happens only for a link that broke on its own.
  Duration link_failure_grace{};
  // See "Progress" above; 0 never evicts.
  int max_suspect_reforms = 3;
};

// ---- events ----
struct PeerAuthenticated {  // the handshake succeeded on `conn`
  ConnId conn = 0;
  std::string name;
  std::string data_host;
  uint16_t data_port = 0;
};
struct HeartbeatReceived {
  ConnId conn = 0;
  uint64_t seq = 0;
  uint64_t epoch = 0;
};
struct LeaveRequested {
  ConnId conn = 0;
  std::string reason;
};
struct Disconnected {  // the connection broke or sent garbage
  ConnId conn = 0;
  Status why;
};
struct OpDoneReceived {
  ConnId conn = 0;
  wire::OpId op;
};
struct LinkFailedReceived {  // a member's data-plane links of `epoch` failed
  ConnId conn = 0;
  uint64_t epoch = 0;
};
struct Tick {};
using Event = std::variant<PeerAuthenticated, HeartbeatReceived, LeaveRequested, Disconnected,
                           OpDoneReceived, LinkFailedReceived, Tick>;

// ---- actions ----
struct SendWelcome {
  ConnId conn = 0;
  uint64_t peer_id = 0;
};
struct SendHeartbeatAck {
  ConnId conn = 0;
  uint64_t seq = 0;
  uint64_t epoch = 0;
};
struct SendEpoch {
  ConnId conn = 0;
  std::shared_ptr<const wire::Epoch> epoch;  // the same object for every member of one epoch
  std::shared_ptr<const Bytes> encoded;      // epoch->encode(), computed once
};
struct CloseConnection {  // OK status: graceful (after a leave)
  ConnId conn = 0;
  Status reason;
};
struct SendOpCommit {
  ConnId conn = 0;
  wire::OpId op;
};
using Action =
    std::variant<SendWelcome, SendHeartbeatAck, SendEpoch, CloseConnection, SendOpCommit>;

// What one removal or admission was, for logs and reports.
struct MembershipChange {
  uint64_t epoch = 0;
  std::vector<uint64_t> joined;
  std::vector<uint64_t> left;  // graceful
  std::vector<uint64_t> died;  // timed out or disconnected
  bool reformed = false;       // same members, new links after a data-plane failure
};

class CoordinatorState {
 public:
  explicit CoordinatorState(CoordinatorConfig config);

  // Applies one event at time `now` and returns the actions to carry out, in order.
  std::vector<Action> handle(const Event& event, TimePoint now);

  uint64_t epoch() const { return epoch_; }
  // Ring order of the current epoch.
  const std::vector<wire::Member>& members() const { return members_; }
  // The connections of members(), in the same order (for the shared-state rounds, state_rounds.h).
  const std::vector<ConnId>& ring_conns() const { return ring_; }
  size_t pending_count() const { return pending_.size(); }
  // The changes made so far, oldest first (bounded: the last 1024).
  const std::vector<MembershipChange>& history() const { return history_; }
  const CoordinatorConfig& config() const { return config_; }
  // Commit votes still waiting for some member (bounded by kMaxOpenVotes).
  size_t open_vote_count() const { return votes_.size(); }
  // Bytes the current members and pending peers take in an EPOCH payload.
  size_t epoch_payload_bytes() const;

  static constexpr size_t kMaxHistory = 1024;
  // Beyond this many open votes in all the oldest of the member with the most is dropped, and
  // beyond kMaxOpenVotesPerPeer opened by one member its oldest is, so no peer can grow memory
  // or push out the votes of others.
  static constexpr size_t kMaxOpenVotes = 4096;
  static constexpr size_t kMaxOpenVotesPerPeer = 1024;

 private:
  struct PeerInfo {
    wire::Member member;
    TimePoint last_seen;
    TimePoint joined_at;
    bool admitted = false;
  };

  struct OpenVote {
    uint64_t opened = 0;         // key into opened_by_[opener]
    ConnId opener = 0;           // the member whose report opened it
    std::vector<ConnId> voters;  // unique members of the current epoch
  };

  void on_join(const PeerAuthenticated& e, TimePoint now, std::vector<Action>& out);
  void on_heartbeat(const HeartbeatReceived& e, TimePoint now, std::vector<Action>& out);
  void on_leave(const LeaveRequested& e, std::vector<Action>& out);
  void on_disconnect(const Disconnected& e, std::vector<Action>& out);
  void on_op_done(const OpDoneReceived& e, std::vector<Action>& out);
  void on_link_failed(const LinkFailedReceived& e, TimePoint now);
  void on_tick(TimePoint now, std::vector<Action>& out);
  void close_vote(std::map<wire::OpId, OpenVote>::iterator it);
  void drop_a_vote_for(ConnId opener);
  // At a re-form: counts suspects; true when some were removed (into `change`).
  bool evict_stalled(MembershipChange& change, std::vector<Action>& out);

  // Forms a new epoch from the admitted survivors plus every pending peer.
  void new_epoch(MembershipChange change, std::vector<Action>& out);
  // Forgets `conn` and closes it with `why`. Returns true when it was an admitted member (then
  // `change` records it and the caller must form a new epoch).
  bool remove(ConnId conn, bool graceful, Status why, MembershipChange& change,
              std::vector<Action>& out);

  CoordinatorConfig config_;
  uint64_t epoch_ = 0;
  uint64_t next_peer_id_ = 1;
  std::map<ConnId, PeerInfo> peers_;   // every authenticated peer, admitted or pending
  std::vector<ConnId> ring_;           // admitted peers, ring order
  std::vector<ConnId> pending_;        // admission order
  std::vector<wire::Member> members_;  // cached view of ring_
  std::vector<MembershipChange> history_;
  std::map<wire::OpId, OpenVote> votes_;  // open commit votes of the current epoch
  std::map<ConnId, std::map<uint64_t, wire::OpId>> opened_by_;  // the same, per opener, oldest first
  uint64_t next_vote_ = 0;
  std::optional<TimePoint> link_failed_at_;  // first LinkFailed report of the current epoch
  std::set<ConnId> link_reporters_;          // members that reported it this epoch
  std::map<ConnId, int> suspect_reforms_;    // consecutive re-forms as a suspect
  size_t peer_entry_bytes_ = 0;              // EPOCH bytes of every entry in peers_
};

}  // namespace loco::membership
