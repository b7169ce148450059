// coordinator_state_sync.cc: the coordinator shell's part of shared-state sync: decoding
// STATE_REPORT / STATE_DONE, feeding StateRounds (state_rounds.h) under the state lock, queueing
// plans and completions, and evicting donors reported for serving bad chunks (as a disconnect of
// that peer, so CoordinatorState forms the new epoch). It carries no chunk bytes.
#include "common/log.h"
#include "membership/coordinator.h"
#include "wire/state_messages.h"

namespace loco::membership {

std::vector<StateRounds::MemberConn> Coordinator::ring_locked() const {
  std::vector<StateRounds::MemberConn> ring;
  const auto& conns = state_.ring_conns();
  const auto& members = state_.members();
  for (size_t i = 0; i < conns.size() && i < members.size(); ++i) {
    ring.push_back(StateRounds::MemberConn{conns[i], members[i]});
  }
  return ring;
}

uint64_t Coordinator::state_rounds_completed() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return rounds_.rounds_completed();
}

std::vector<BadDonorReport> Coordinator::bad_donor_reports() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return rounds_.bad_donor_reports();
}

void Coordinator::dispatch_state(ConnId conn, const wire::Frame& frame, Status& why) {
  std::vector<EvictPeer> evict;
  if (frame.type == wire::MsgType::kStateReport) {
    auto report = wire::decode_state_report(frame.payload);
    if (!report.ok()) {
      why = report.status();
      return;
    }
    std::lock_guard<std::mutex> lock(state_mu_);
    evict = execute_state(rounds_.on_report(conn, *report));
  } else {
    auto done = wire::decode_state_done(frame.payload);
    if (!done.ok()) {
      why = done.status();
      return;
    }
    if (!done->bad_donors.empty()) {
      for (uint64_t d : done->bad_donors) {
        LOCO_LOG_WARN("state round {}: conn {} reports that peer {} served chunks not matching "
                      "their hash; evicting it",
                      done->round, conn, d);
      }
    }
    std::lock_guard<std::mutex> lock(state_mu_);
    evict = execute_state(rounds_.on_done(conn, *done));
  }
  for (EvictPeer& e : evict) dispatch(Disconnected{e.conn, e.why});
}

std::vector<EvictPeer> Coordinator::execute_state(std::vector<StateAction> actions) {
  std::vector<EvictPeer> evict;
  for (StateAction& a : actions) {
    if (auto* p = std::get_if<SendStatePlan>(&a)) {
      if (p->plan.code == StatusCode::kOk) {
        LOCO_LOG_INFO("state round {}: conn {} fetches {} chunks (revision {})", p->plan.round,
                      p->conn, p->plan.fetches.size(), p->plan.revision);
      } else {
        LOCO_LOG_INFO("state round {}: conn {} refused: {}", p->plan.round, p->conn,
                      p->plan.message);
      }
      send_to(p->conn, wire::MsgType::kStatePlan, p->plan.encode());
    } else if (auto* c = std::get_if<SendStateComplete>(&a)) {
      send_to(c->conn, wire::MsgType::kStateComplete, wire::StateComplete{c->round}.encode());
    } else if (auto* e = std::get_if<EvictPeer>(&a)) {
      evict.push_back(std::move(*e));
    }
  }
  return evict;
}

}  // namespace loco::membership
