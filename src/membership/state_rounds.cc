// state_rounds.cc: shared-state sync rounds at the coordinator (see state_rounds.h). Pure: no I/O,
// no clock, no logging (the shell logs the actions).
#include "membership/state_rounds.h"

#include <algorithm>

#include "membership/state_sync_plan.h"

namespace loco::membership {
namespace {

template <class A>
void emit(std::vector<StateAction>& out, A action) {
  out.emplace_back(std::in_place_type<A>, std::move(action));
}

}  // namespace

const StateRounds::MemberConn* StateRounds::find(ConnId conn) const {
  for (const MemberConn& m : ring_) {
    if (m.conn == conn) return &m;
  }
  return nullptr;
}

std::vector<StateAction> StateRounds::on_report(ConnId conn, const wire::StateReport& report) {
  std::vector<StateAction> out;
  if (find(conn) == nullptr) {
    wire::StatePlan plan;
    plan.report_id = report.report_id;
    plan.code = StatusCode::kFailedPrecondition;
    plan.message = "not a member of the current epoch yet: wait for an epoch that includes you";
    emit(out, SendStatePlan{conn, std::move(plan)});
    return out;
  }
  collected_[conn] = report;
  try_start(out);
  return out;
}

std::vector<StateAction> StateRounds::on_done(ConnId conn, const wire::StateDone& done) {
  std::vector<StateAction> out;
  if (!active_ || done.round != active_->round || active_->waiting.erase(conn) == 0) return out;
  const uint64_t reporter = active_->participants.at(conn);
  const std::set<uint64_t>& mine = active_->donors_of[conn];
  for (uint64_t donor : done.bad_donors) {
    // An accusation counts only against a donor this round's plan gave the reporter: a member
    // cannot accuse peers it never fetched from.
    if (donor == reporter || mine.count(donor) == 0) continue;
    if (bad_reports_.size() < kMaxBadReports) {
      bad_reports_.push_back(BadDonorReport{done.round, reporter, donor});
    }
    for (const MemberConn& m : ring_) {
      if (m.member.peer_id == donor) {
        emit(out, EvictPeer{m.conn, DataLoss("peer " + std::to_string(reporter) +
                                             " reports that this peer served state chunks that "
                                             "do not match their hash")});
      }
    }
  }
  try_complete(out);
  return out;
}

std::vector<StateAction> StateRounds::on_members(std::vector<MemberConn> ring) {
  std::vector<StateAction> out;
  ring_ = std::move(ring);
  std::erase_if(collected_, [&](const auto& kv) { return find(kv.first) == nullptr; });
  if (active_) {
    std::erase_if(active_->participants, [&](const auto& kv) { return find(kv.first) == nullptr; });
    std::erase_if(active_->waiting, [&](ConnId c) { return find(c) == nullptr; });
    try_complete(out);
  }
  if (ring_.empty()) last_revision_.reset();
  try_start(out);
  return out;
}

void StateRounds::try_complete(std::vector<StateAction>& out) {
  if (!active_ || !active_->waiting.empty()) return;
  for (const auto& [conn, peer] : active_->participants) {
    emit(out, SendStateComplete{conn, active_->round});
  }
  if (active_->revision) last_revision_ = active_->revision;
  ++completed_;
  active_.reset();
  try_start(out);
}

void StateRounds::try_start(std::vector<StateAction>& out) {
  if (active_ || ring_.empty()) return;
  for (const MemberConn& m : ring_) {
    if (collected_.count(m.conn) == 0) return;
  }
  std::vector<SyncParticipant> peers;
  peers.reserve(ring_.size());
  for (const MemberConn& m : ring_) {
    peers.push_back(SyncParticipant{m.member.peer_id, m.member.data_host, collected_.at(m.conn)});
  }
  Active a;
  a.round = next_round_++;
  std::vector<wire::StatePlan> plans = plan_state_sync(peers, last_revision_, a.round);
  for (size_t i = 0; i < ring_.size(); ++i) {
    a.participants[ring_[i].conn] = ring_[i].member.peer_id;
    a.waiting.insert(ring_[i].conn);
    // Refused peers answer with STATE_DONE too; a round where every plan is refused leaves the
    // last revision as it was.
    if (plans[i].code == StatusCode::kOk) a.revision = plans[i].revision;
    for (const wire::StateDonor& d : plans[i].donors) a.donors_of[ring_[i].conn].insert(d.peer_id);
  }
  collected_.clear();
  for (size_t i = 0; i < ring_.size(); ++i) {
    emit(out, SendStatePlan{ring_[i].conn, std::move(plans[i])});
  }
  active_ = std::move(a);
}

}  // namespace loco::membership
