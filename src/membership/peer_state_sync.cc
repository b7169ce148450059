// peer_state_sync.cc: the peer client's part of shared-state sync: send STATE_REPORT and wait for
// the plan, send STATE_DONE and wait for STATE_COMPLETE (see peer.h, wire/state_messages.h). The
// chunk transfer itself is state/'s business; this file only relays control messages.
#include "common/log.h"
#include "membership/peer.h"

namespace loco::membership {

namespace {
constexpr auto kSendTimeout = std::chrono::seconds(2);
constexpr size_t kKeepCompletes = 16;
}  // namespace

Result<wire::StatePlan> PeerClient::state_report(const wire::StateReport& report,
                                                 Deadline deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!health_.ok()) return health_;
    state_waiting_report_ = report.report_id;
    state_plan_.clear();
  }
  Status sent = conn_->send(wire::MsgType::kStateReport, report.encode(),
                            deadline.earliest(Deadline::after(kSendTimeout)));
  std::unique_lock<std::mutex> lock(mu_);
  if (!sent.ok()) {
    state_waiting_report_ = 0;
    return sent;
  }
  for (;;) {
    auto it = state_plan_.find(report.report_id);
    if (it != state_plan_.end()) {
      wire::StatePlan plan = std::move(it->second);
      state_plan_.clear();
      state_waiting_report_ = 0;
      return plan;
    }
    if (!health_.ok()) {
      state_waiting_report_ = 0;
      return health_;
    }
    if (deadline.is_never()) {
      cv_.wait(lock);
    } else if (cv_.wait_until(lock, deadline.when()) == std::cv_status::timeout &&
               state_plan_.count(report.report_id) == 0) {
      state_waiting_report_ = 0;
      return DeadlineExceeded("no state sync plan before the deadline (is every member syncing?)");
    }
  }
}

Status PeerClient::state_done(const wire::StateDone& done, bool wait_complete, Deadline deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!health_.ok()) return health_;
  }
  LOCO_RETURN_IF_ERROR(conn_->send(wire::MsgType::kStateDone, done.encode(),
                                   deadline.earliest(Deadline::after(kSendTimeout))));
  if (!wait_complete) return OkStatus();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (state_completes_.erase(done.round) > 0) return OkStatus();
    if (!health_.ok()) return health_;
    if (deadline.is_never()) {
      cv_.wait(lock);
    } else if (cv_.wait_until(lock, deadline.when()) == std::cv_status::timeout) {
      if (state_completes_.erase(done.round) > 0) return OkStatus();
      return DeadlineExceeded("state sync round " + std::to_string(done.round) +
                              " did not complete before the deadline");
    }
  }
}

Status PeerClient::on_state_frame(const wire::Frame& frame) {
  if (frame.type == wire::MsgType::kStateComplete) {
    LOCO_ASSIGN_OR_RETURN(wire::StateComplete c, wire::decode_state_complete(frame.payload));
    std::lock_guard<std::mutex> lock(mu_);
    state_completes_.insert(c.round);
    while (state_completes_.size() > kKeepCompletes) state_completes_.erase(state_completes_.begin());
    cv_.notify_all();
    return OkStatus();
  }
  LOCO_ASSIGN_OR_RETURN(wire::StatePlan plan, wire::decode_state_plan(frame.payload));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (plan.report_id == state_waiting_report_ && state_waiting_report_ != 0) {
      state_plan_[plan.report_id] = std::move(plan);
      cv_.notify_all();
      return OkStatus();
    }
  }
  // Nobody waits for this plan any more (the sync gave up): take no part, so the round completes.
  if (plan.round != 0) {
    wire::StateDone done{plan.round, StatusCode::kCancelled, "the sync call gave up", {}};
    Status s = conn_->send(wire::MsgType::kStateDone, done.encode(), Deadline::after(kSendTimeout));
    if (!s.ok()) LOCO_LOG_DEBUG("state done for a stale plan: {}", s.to_string());
  }
  return OkStatus();
}

}  // namespace loco::membership
