// coordinator_state.cc: the coordinator's rules (see coordinator_state.h). Pure and deterministic:
// the same events at the same times give the same actions. No I/O, no clock, no logging here; the
// shell (coordinator.h) carries out the actions and logs the history.
#include "membership/coordinator_state.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "common/check.h"

namespace loco::membership {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// Constructs the action in place: pushing a temporary variant trips GCC 12's -Wmaybe-uninitialized
// (a false positive on the unused storage of the larger alternatives).
template <class A>
void emit(std::vector<Action>& out, A action) {
  out.emplace_back(std::in_place_type<A>, std::move(action));
}

// One member entry of an EPOCH payload: peer id, two length-prefixed strings, port.
size_t entry_bytes(const std::string& name, const std::string& host) {
  return 8 + 4 + name.size() + 4 + host.size() + 2;
}
constexpr size_t kEpochHeaderBytes = 8 + 4;  // epoch number, member count

void erase_conn(std::vector<ConnId>& v, ConnId conn) {
  v.erase(std::remove(v.begin(), v.end(), conn), v.end());
}

}  // namespace

CoordinatorState::CoordinatorState(CoordinatorConfig config) : config_(config) {}

std::vector<Action> CoordinatorState::handle(const Event& event, TimePoint now) {
  std::vector<Action> out;
  std::visit(Overloaded{
                 [&](const PeerAuthenticated& e) { on_join(e, now, out); },
                 [&](const HeartbeatReceived& e) { on_heartbeat(e, now, out); },
                 [&](const LeaveRequested& e) { on_leave(e, out); },
                 [&](const Disconnected& e) { on_disconnect(e, out); },
                 [&](const OpDoneReceived& e) { on_op_done(e, out); },
                 [&](const LinkFailedReceived& e) { on_link_failed(e, now); },
                 [&](const Tick&) { on_tick(now, out); },
             },
             event);
  return out;
}

void CoordinatorState::on_join(const PeerAuthenticated& e, TimePoint now,
                               std::vector<Action>& out) {
  if (peers_.count(e.conn) != 0) {
    // The shell reports each handshake once; a second one on the same connection means the two
    // disagree about that connection, so it is dropped rather than trusted.
    MembershipChange change;
    if (remove(e.conn, /*graceful=*/false,
               FailedPrecondition("peer authenticated twice on one connection"), change, out)) {
      new_epoch(std::move(change), out);
    }
    return;
  }
  if (peers_.size() >= wire::kMaxMembers) {
    emit(out, CloseConnection{e.conn, ResourceExhausted("the swarm is full")});
    return;
  }
  const size_t bytes = entry_bytes(e.name, e.data_host);
  if (kEpochHeaderBytes + peer_entry_bytes_ + bytes > wire::kMaxControlPayload) {
    emit(out, CloseConnection{e.conn, ResourceExhausted(
                                          "the swarm is full: its EPOCH message would exceed " +
                                          std::to_string(wire::kMaxControlPayload) + " bytes")});
    return;
  }
  peer_entry_bytes_ += bytes;
  PeerInfo info;
  info.member = wire::Member{next_peer_id_++, e.name, e.data_host, e.data_port};
  info.last_seen = now;
  info.joined_at = now;
  const uint64_t peer_id = info.member.peer_id;
  peers_.emplace(e.conn, std::move(info));
  pending_.push_back(e.conn);
  emit(out, SendWelcome{e.conn, peer_id});
}

void CoordinatorState::on_heartbeat(const HeartbeatReceived& e, TimePoint now,
                                    std::vector<Action>& out) {
  auto it = peers_.find(e.conn);
  if (it == peers_.end()) return;  // late frame from a connection already closed
  it->second.last_seen = std::max(it->second.last_seen, now);
  emit(out, SendHeartbeatAck{e.conn, e.seq, epoch_});
}

void CoordinatorState::on_leave(const LeaveRequested& e, std::vector<Action>& out) {
  if (peers_.count(e.conn) == 0) return;
  MembershipChange change;
  if (remove(e.conn, /*graceful=*/true, OkStatus(), change, out)) {
    new_epoch(std::move(change), out);
  }
}

void CoordinatorState::on_disconnect(const Disconnected& e, std::vector<Action>& out) {
  if (peers_.count(e.conn) == 0) return;
  // A broken connection is never graceful, even if the shell passed OK.
  Status why = e.why.ok() ? Unavailable("connection closed") : e.why;
  MembershipChange change;
  if (remove(e.conn, /*graceful=*/false, std::move(why), change, out)) {
    new_epoch(std::move(change), out);
  }
}

void CoordinatorState::on_op_done(const OpDoneReceived& e, std::vector<Action>& out) {
  if (e.op.epoch != epoch_) return;  // that operation aborts on the peers
  auto peer = peers_.find(e.conn);
  if (peer == peers_.end() || !peer->second.admitted) return;

  auto it = votes_.find(e.op);
  if (it == votes_.end()) {
    auto& mine = opened_by_[e.conn];
    if (mine.size() >= kMaxOpenVotesPerPeer) drop_a_vote_for(e.conn);
    if (votes_.size() >= kMaxOpenVotes) {
      ConnId most = e.conn;
      for (const auto& [conn, opened] : opened_by_) {
        if (opened.size() > opened_by_[most].size()) most = conn;
      }
      drop_a_vote_for(most);
    }
    const uint64_t opened = next_vote_++;
    it = votes_.emplace(e.op, OpenVote{opened, e.conn, {}}).first;
    opened_by_[e.conn].emplace(opened, e.op);
  }
  std::vector<ConnId>& voters = it->second.voters;
  if (std::find(voters.begin(), voters.end(), e.conn) == voters.end()) voters.push_back(e.conn);
  // Voters are unique members of the current epoch and a new epoch clears all votes, so the count
  // alone says that every member has voted.
  if (voters.size() < ring_.size()) return;
  for (ConnId conn : ring_) emit(out, SendOpCommit{conn, e.op});
  close_vote(it);
  suspect_reforms_.clear();  // the ring made progress
}

void CoordinatorState::close_vote(std::map<wire::OpId, OpenVote>::iterator it) {
  auto mine = opened_by_.find(it->second.opener);
  if (mine != opened_by_.end()) {
    mine->second.erase(it->second.opened);
    if (mine->second.empty()) opened_by_.erase(mine);
  }
  votes_.erase(it);
}

void CoordinatorState::drop_a_vote_for(ConnId opener) {
  auto mine = opened_by_.find(opener);
  if (mine == opened_by_.end() || mine->second.empty()) return;
  auto vote = votes_.find(mine->second.begin()->second);
  if (vote != votes_.end()) {
    close_vote(vote);
  } else {
    mine->second.erase(mine->second.begin());
  }
}

void CoordinatorState::on_link_failed(const LinkFailedReceived& e, TimePoint now) {
  auto it = peers_.find(e.conn);
  if (it == peers_.end() || !it->second.admitted || e.epoch != epoch_) return;
  if (!link_failed_at_) link_failed_at_ = now;
  link_reporters_.insert(e.conn);
}

bool CoordinatorState::evict_stalled(MembershipChange& change, std::vector<Action>& out) {
  if (config_.max_suspect_reforms <= 0 || link_reporters_.empty()) return false;
  std::vector<ConnId> stalled;
  for (ConnId conn : ring_) {
    if (link_reporters_.count(conn) != 0) {
      suspect_reforms_.erase(conn);
    } else if (++suspect_reforms_[conn] >= config_.max_suspect_reforms) {
      stalled.push_back(conn);
    }
  }
  // Never evict the whole ring: with no member left that saw the failure there is no one to trust.
  if (stalled.empty() || stalled.size() >= ring_.size()) return false;
  for (ConnId conn : stalled) {
    const int n = suspect_reforms_[conn];
    remove(conn, /*graceful=*/false,
           DeadlineExceeded("evicted: its ring neighbours' operations kept failing through " +
                            std::to_string(n) +
                            " re-formed epochs in a row while it reported no failure and its "
                            "heartbeats went on (a hung data plane or work thread)"),
           change, out);
  }
  return true;
}

void CoordinatorState::on_tick(TimePoint now, std::vector<Action>& out) {
  // Collect first (admitted in ring order, then pending in admission order) so the order of the
  // closes does not depend on map order or on erasing while iterating.
  std::vector<ConnId> dead;
  auto timed_out = [&](ConnId conn) {
    return now - peers_.at(conn).last_seen > config_.heartbeat_timeout;
  };
  for (ConnId conn : ring_) {
    if (timed_out(conn)) dead.push_back(conn);
  }
  for (ConnId conn : pending_) {
    if (timed_out(conn)) dead.push_back(conn);
  }
  MembershipChange change;
  bool admitted_removed = false;
  for (ConnId conn : dead) {
    admitted_removed |=
        remove(conn, /*graceful=*/false,
               DeadlineExceeded("no heartbeat within the heartbeat timeout"), change, out);
  }
  bool window_passed = false;
  if (!pending_.empty()) {
    TimePoint oldest = peers_.at(pending_.front()).joined_at;
    for (ConnId conn : pending_) oldest = std::min(oldest, peers_.at(conn).joined_at);
    window_passed = now - oldest >= config_.join_window;
  }
  const Duration grace = config_.link_failure_grace > Duration::zero() ? config_.link_failure_grace
                                                                       : config_.heartbeat_timeout;
  if (!admitted_removed && !window_passed && link_failed_at_ && now - *link_failed_at_ >= grace &&
      !ring_.empty()) {
    change.reformed = !evict_stalled(change, out);
    new_epoch(std::move(change), out);
    return;
  }
  if (admitted_removed || window_passed) new_epoch(std::move(change), out);
}

bool CoordinatorState::remove(ConnId conn, bool graceful, Status why, MembershipChange& change,
                              std::vector<Action>& out) {
  auto it = peers_.find(conn);
  LOCO_CHECK(it != peers_.end());
  const bool admitted = it->second.admitted;
  peer_entry_bytes_ -= entry_bytes(it->second.member.name, it->second.member.data_host);
  suspect_reforms_.erase(conn);
  if (admitted) {
    (graceful ? change.left : change.died).push_back(it->second.member.peer_id);
    erase_conn(ring_, conn);
  } else {
    erase_conn(pending_, conn);
  }
  peers_.erase(it);
  emit(out, CloseConnection{conn, std::move(why)});
  return admitted;
}

void CoordinatorState::new_epoch(MembershipChange change, std::vector<Action>& out) {
  for (ConnId conn : pending_) {
    PeerInfo& info = peers_.at(conn);
    info.admitted = true;
    change.joined.push_back(info.member.peer_id);
    ring_.push_back(conn);
  }
  pending_.clear();
  link_failed_at_.reset();
  link_reporters_.clear();
  ++epoch_;
  change.epoch = epoch_;

  members_.clear();
  members_.reserve(ring_.size());
  for (ConnId conn : ring_) members_.push_back(peers_.at(conn).member);

  // Operations of the old epoch abort on the peers; their votes can never complete.
  votes_.clear();
  opened_by_.clear();

  // Encoded once for every member: sending an n-member EPOCH to n members is O(n) work and
  // memory, not O(n^2).
  auto epoch = std::make_shared<const wire::Epoch>(wire::Epoch{epoch_, members_});
  auto encoded = std::make_shared<const Bytes>(epoch->encode());
  for (ConnId conn : ring_) emit(out, SendEpoch{conn, epoch, encoded});

  history_.push_back(std::move(change));
  if (history_.size() > kMaxHistory) {
    history_.erase(history_.begin(),
                   history_.begin() + static_cast<std::ptrdiff_t>(history_.size() - kMaxHistory));
  }
}

size_t CoordinatorState::epoch_payload_bytes() const {
  return kEpochHeaderBytes + peer_entry_bytes_;
}

}  // namespace loco::membership
