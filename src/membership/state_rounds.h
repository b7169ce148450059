// state_rounds.h: the coordinator's bookkeeping of shared-state sync rounds, as a pure state
// machine beside CoordinatorState (the shell feeds both; neither knows the other). Events: a
// report, a done, the membership after each epoch change. Actions: send a plan, send a completion,
// evict a peer. The decision inside a round is plan_state_sync (state_sync_plan.h).
//
// Rules:
//  - Reports are collected for the next round; a peer's newer report replaces its older one.
//    Reports from connections that are not members of the current epoch get a
//    FAILED_PRECONDITION plan at once.
//  - A round starts when no round is active and every member of the current epoch has a report
//    collected. Its participants are exactly those members; each gets its plan.
//  - The round completes when every participant still a member has sent STATE_DONE for it (a
//    participant that leaves or dies is no longer waited for); then every remaining participant
//    gets STATE_COMPLETE and the round's revision becomes the swarm's last revision. Donors serve
//    until then, so no receiver ever finds its donors gone because they finished early.
//  - A participant named in a STATE_DONE as having served bytes that did not match their hash is
//    recorded (bad_donor_reports()) and evicted: its connection is closed with DATA_LOSS, which
//    removes it from the swarm; it may rejoin and then receives the state like any joiner.
//  - When the swarm becomes empty the last revision is forgotten.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"
#include "membership/coordinator_state.h"
#include "wire/state_messages.h"

namespace loco::membership {

struct SendStatePlan {
  ConnId conn = 0;
  wire::StatePlan plan;
};
struct SendStateComplete {
  ConnId conn = 0;
  uint64_t round = 0;
};
struct EvictPeer {  // the shell closes the connection and tells CoordinatorState (Disconnected)
  ConnId conn = 0;
  Status why;
};
using StateAction = std::variant<SendStatePlan, SendStateComplete, EvictPeer>;

struct BadDonorReport {
  uint64_t round = 0;
  uint64_t reporter = 0;  // peer ids
  uint64_t donor = 0;
};

class StateRounds {
 public:
  struct MemberConn {
    ConnId conn = 0;
    wire::Member member;
  };

  std::vector<StateAction> on_report(ConnId conn, const wire::StateReport& report);
  std::vector<StateAction> on_done(ConnId conn, const wire::StateDone& done);
  // The ring of the current epoch, after every membership change (also with no change).
  std::vector<StateAction> on_members(std::vector<MemberConn> ring);

  std::optional<uint64_t> last_revision() const { return last_revision_; }
  bool round_active() const { return active_.has_value(); }
  uint64_t rounds_completed() const { return completed_; }
  const std::vector<BadDonorReport>& bad_donor_reports() const { return bad_reports_; }
  static constexpr size_t kMaxBadReports = 1024;

 private:
  struct Active {
    uint64_t round = 0;
    std::optional<uint64_t> revision;  // unset when every plan was refused
    std::map<ConnId, uint64_t> participants;  // conn -> peer id
    std::set<ConnId> waiting;                 // participants that have not reported done
    std::map<ConnId, std::set<uint64_t>> donors_of;  // the donors each participant's plan named
  };
  void try_start(std::vector<StateAction>& out);
  void try_complete(std::vector<StateAction>& out);
  const MemberConn* find(ConnId conn) const;

  std::vector<MemberConn> ring_;
  std::map<ConnId, wire::StateReport> collected_;
  std::optional<Active> active_;
  std::optional<uint64_t> last_revision_;
  uint64_t next_round_ = 1;
  uint64_t completed_ = 0;
  std::vector<BadDonorReport> bad_reports_;
};

}  // namespace loco::membership
