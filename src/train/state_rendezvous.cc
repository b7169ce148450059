// state_rendezvous.cc: the shared-state layout, the epoch guard and the sync loop (see
// state_rendezvous.h).
#include "train/state_rendezvous.h"

#include <algorithm>

#include "common/clock.h"
#include "common/log.h"

namespace loco::train {

const char* sync_point_name(SyncPoint p) {
  switch (p) {
    case SyncPoint::kOnGradients:
      return "on_gradients";
    case SyncPoint::kAfterInnerStep:
      return "after_inner_step";
    case SyncPoint::kFinish:
      return "finish";
  }
  return "unknown";
}

StateLayoutPlan plan_state_layout(const optim::Strategy& strategy) {
  StateLayoutPlan plan;
  plan.params = true;
  for (int64_t s = 0; s < 3; ++s) {
    if (!strategy.params_synced_after(s) || strategy.syncs_after(s)) plan.params = false;
  }
  plan.strategy_buffers = strategy.state_buffers_shared();
  return plan;
}

state::SyncStrategy sync_role(bool joiner, uint64_t syncs_done) {
  return joiner && syncs_done == 0 ? state::SyncStrategy::kReceiveOnly
                                   : state::SyncStrategy::kEnforceMajority;
}

Status GuardedReducer::check() {
  if (port_ == nullptr || synced_epoch_ == nullptr) return OkStatus();
  // Both: the view changes before the links (the epoch listener installs them), so a view still
  // at the synced epoch means the links were not replaced before this check either. The links may
  // still move on between here and the operation's start: see docs/fault-model.md, known limits.
  const uint64_t data_epoch = port_->data_epoch();
  const uint64_t view_epoch = port_->epoch();
  if (data_epoch == *synced_epoch_ && view_epoch == *synced_epoch_) return OkStatus();
  tripped_ = true;
  return Aborted("membership epoch " + std::to_string(std::max(data_epoch, view_epoch)) +
                 " has not been state-synced (last sync: epoch " + std::to_string(*synced_epoch_) + ")");
}

Status GuardedReducer::all_reduce_avg(std::span<float> data) {
  LOCO_RETURN_IF_ERROR(check());
  return inner_.all_reduce_avg(data);
}

Status GuardedReducer::all_reduce_avg_quantized(std::span<float> data, const optim::WireCodec& codec) {
  LOCO_RETURN_IF_ERROR(check());
  return inner_.all_reduce_avg_quantized(data, codec);
}

Status GuardedReducer::all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) {
  LOCO_RETURN_IF_ERROR(check());
  return inner_.all_gather_bytes(mine, all);
}

Result<std::unique_ptr<StateRendezvous>> StateRendezvous::make(SwarmPort& port,
                                                               optim::Strategy& strategy,
                                                               std::span<float> params,
                                                               InnerOptimizer& inner, bool joiner) {
  std::unique_ptr<StateRendezvous> r(new StateRendezvous(port, strategy, params, inner, joiner));
  r->plan_ = plan_state_layout(strategy);
  state::SharedState& st = r->state_;
  using collectives::DataType;
  LOCO_RETURN_IF_ERROR(st.add_buffer("train.position", DataType::kI64, 2, r->position_.data()));
  if (r->plan_.params) {
    LOCO_RETURN_IF_ERROR(st.add_buffer("params", DataType::kF32, params.size(), params.data()));
    for (auto& b : inner.state_buffers()) {
      LOCO_RETURN_IF_ERROR(st.add_buffer(b.name, DataType::kF32, b.data.size(), b.data.data()));
    }
    LOCO_RETURN_IF_ERROR(st.add_buffer("train.inner_steps", DataType::kI64, 1, r->inner_steps_.data()));
  }
  for (auto& b : strategy.state_buffers()) {
    LOCO_RETURN_IF_ERROR(st.add_buffer("strategy." + b.name, DataType::kF32, b.data.size(),
                                       b.data.data(), /*per_peer=*/!r->plan_.strategy_buffers));
  }
  return r;
}

Result<SyncPosition> StateRendezvous::sync(SyncPosition here,
                                           const std::function<void(const SyncRecord&)>& on_sync) {
  while (needed()) {
    const uint64_t epoch = port_.epoch();
    const state::SyncStrategy role = sync_role(joiner_, syncs_);
    const bool receive = role == state::SyncStrategy::kReceiveOnly;
    if (!receive) {
      position_[0] = here.step;
      position_[1] = static_cast<int64_t>(here.point);
      inner_steps_[0] = inner_.steps_taken();
    }
    state_.set_revision(receive ? 0 : agreed_revision_ + 1);
    const TimePoint t0 = now();
    LOCO_ASSIGN_OR_RETURN(state::SyncResult result, port_.sync(state_, role));
    SyncRecord rec;
    rec.ms = std::chrono::duration<double, std::milli>(now() - t0).count();
    // Bytes from the network: validate before use.
    const int64_t point = position_[1];
    if (position_[0] < 0 || point < static_cast<int64_t>(SyncPoint::kOnGradients) ||
        point > static_cast<int64_t>(SyncPoint::kFinish) || inner_steps_[0] < 0) {
      return DataLoss("the swarm's shared position is invalid (step " + std::to_string(position_[0]) +
                      ", call " + std::to_string(point) + ")");
    }
    const SyncPosition swarm{position_[0], static_cast<SyncPoint>(point)};
    ++syncs_;
    agreed_revision_ = result.revision;
    synced_epoch_ = epoch;
    if (receive) {
      inner_.set_steps_taken(plan_.params ? inner_steps_[0] : 0);
      strategy_.adopt_shared_state(params_, swarm.step);
    } else if (swarm.step != here.step || swarm.point != here.point) {
      return FailedPrecondition(std::string("after a state sync the swarm is at ") +
                                sync_point_name(swarm.point) + " of step " + std::to_string(swarm.step) +
                                ", this peer at " + sync_point_name(here.point) + " of step " +
                                std::to_string(here.step) +
                                (syncs_ == 1 ? " (to join a swarm that is already training, use --join)" : ""));
    }
    rec.position = swarm;
    rec.role = role;
    rec.result = std::move(result);
    rec.epoch = epoch;
    LOCO_LOG_INFO("state sync ({}) in epoch {} at {} of step {}: {} bytes fetched in {:.1f} ms",
                  wire::sync_strategy_name(role), epoch, sync_point_name(swarm.point), swarm.step,
                  rec.result.bytes_fetched, rec.ms);
    here = swarm;
    LOCO_RETURN_IF_ERROR(port_.wait_links());
    if (on_sync) on_sync(rec);
  }
  if (port_.data_epoch() != synced_epoch_) LOCO_RETURN_IF_ERROR(port_.wait_links());
  return here;
}

}  // namespace loco::train
