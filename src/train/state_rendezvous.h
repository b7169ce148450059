// state_rendezvous.h: how a trainer keeps its shared state in step with the swarm across
// membership changes, and how a peer joins a swarm that is already training (docs/fault-model.md,
// "Joining a running swarm").
//
// Rule: every trainer remembers the membership epoch of its last state sync (none at start). A
// strategy collective issued while the data plane is in another epoch fails at once with ABORTED
// (GuardedReducer: nothing is sent, and by the strategy contract nothing changed); the trainer's
// retry then runs a state sync (src/state StateSync) with every member of the current epoch and
// calls the strategy again. Collectives are lock-step and an epoch change fails the old epoch's
// operation on every member, so all members of an epoch meet in that sync at the same
// communication point (step, call). A peer started with --join runs its first sync before its
// first step, RECEIVE_ONLY, and goes on from where the swarm is. A sync happens only after an
// epoch change (and once at the first communication), so steady-state training pays nothing.
//
// What is shared (plan_state_layout), a layout that depends on the strategy only:
//   "train.position"   int64 {step, call} of the communication point (checked on members,
//                      adopted by a joiner)
//   "params", "inner.*", "train.inner_steps"   when the strategy keeps the parameters identical
//                      every step (DDP and its compressed variants): parameters, the inner
//                      optimizer's moments and its step count
//   "strategy.*"       shared when Strategy::state_buffers_shared() (DiLoCo), else per-peer
// Revisions: the coordinator requires revisions to advance by one per sync, so a voter reports
// (last agreed revision + 1) and the step travels in "train.position", not as the revision.
// Not here: the loop and its retries (trainer.cc), the swarm wiring (session.cc), the protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "optim/strategy.h"
#include "state/shared_state.h"
#include "state/state_sync.h"
#include "train/inner_optimizer.h"
#include "train/swarm_port.h"

namespace loco::train {

// The strategy calls that may communicate; the value travels in "train.position".
enum class SyncPoint : int64_t { kOnGradients = 1, kAfterInnerStep = 2, kFinish = 3 };
const char* sync_point_name(SyncPoint p);

struct StateLayoutPlan {
  bool params = false;            // parameters + inner optimizer state + its step count
  bool strategy_buffers = false;  // the strategy's state_buffers() (else per-peer)
  // A joiner gets parameters worth contributing: shared ones, or the strategy's shared state
  // (DiLoCo's global copy, which adopt_shared_state writes into them). Not so for local SGD and
  // lo-fi, which average parameters: a joiner would average its initial ones in.
  bool joinable() const { return params || strategy_buffers; }
};
// Pure: params are shared iff the strategy keeps them identical after every step while
// communicating in on_gradients (params_synced_after and never syncs_after, at steps 0..2).
StateLayoutPlan plan_state_layout(const optim::Strategy& strategy);
// Pure: RECEIVE_ONLY for a joiner's first sync, else ENFORCE_MAJORITY.
state::SyncStrategy sync_role(bool joiner, uint64_t syncs_done);

// The Reducer the strategy gets: forwards to `inner`, but fails every operation with ABORTED
// (before anything is sent) while the data plane's epoch is not the one of the last state sync.
class GuardedReducer final : public optim::Reducer {
 public:
  explicit GuardedReducer(optim::Reducer& inner) : inner_(inner) {}
  // `port` null: pass-through. `synced_epoch` must outlive this object.
  void arm(const SwarmPort* port, const uint64_t* synced_epoch) {
    port_ = port;
    synced_epoch_ = synced_epoch;
  }
  // Whether an operation was refused since the last clear (the failure was the guard's own).
  bool tripped() const { return tripped_; }
  void clear_tripped() { tripped_ = false; }

  Status all_reduce_avg(std::span<float> data) override;
  Status all_reduce_avg_quantized(std::span<float> data, const optim::WireCodec& codec) override;
  Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override;
  int world_size() const override { return inner_.world_size(); }
  uint64_t bytes_sent() const override { return inner_.bytes_sent(); }
  uint64_t bytes_received() const override { return inner_.bytes_received(); }

 private:
  Status check();
  optim::Reducer& inner_;
  const SwarmPort* port_ = nullptr;
  const uint64_t* synced_epoch_ = nullptr;
  bool tripped_ = false;
};

struct SyncPosition {
  int64_t step = 0;
  SyncPoint point = SyncPoint::kOnGradients;
};

// One state sync as the metrics report it.
struct SyncRecord {
  SyncPosition position;  // the swarm's
  state::SyncStrategy role = state::SyncStrategy::kEnforceMajority;
  state::SyncResult result;
  uint64_t epoch = 0;
  double ms = 0;
};

class StateRendezvous {
 public:
  // Registers the layout over the trainer's buffers (which must outlive this object; call after
  // strategy.init). INVALID_ARGUMENT if the state cannot be laid out.
  static Result<std::unique_ptr<StateRendezvous>> make(SwarmPort& port, optim::Strategy& strategy,
                                                       std::span<float> params,
                                                       InnerOptimizer& inner, bool joiner);

  // True while this peer has not synced in the current membership epoch.
  bool needed() const { return port_.epoch() != synced_epoch_; }
  const uint64_t* synced_epoch() const { return &synced_epoch_; }
  const StateLayoutPlan& plan() const { return plan_; }
  const state::SharedState& state() const { return state_; }

  // Syncs until this peer has synced in the current epoch (more than once if the epoch moves on
  // meanwhile), then waits for the data-plane links. `here`: where this peer is; a member checks
  // that the swarm is there too (FAILED_PRECONDITION if not), a joiner adopts the swarm's
  // position (and its inner step count; the strategy's adopt_shared_state is called). Returns
  // the swarm's position. Statuses of the sync are passed on (retryable ones may be retried).
  Result<SyncPosition> sync(SyncPosition here, const std::function<void(const SyncRecord&)>& on_sync);

 private:
  StateRendezvous(SwarmPort& port, optim::Strategy& strategy, std::span<float> params,
                  InnerOptimizer& inner, bool joiner)
      : port_(port), strategy_(strategy), params_(params), inner_(inner), joiner_(joiner) {}

  SwarmPort& port_;
  optim::Strategy& strategy_;
  std::span<float> params_;
  InnerOptimizer& inner_;
  const bool joiner_;
  StateLayoutPlan plan_;
  state::SharedState state_;
  std::vector<int64_t> position_ = std::vector<int64_t>(2, 0);
  std::vector<int64_t> inner_steps_ = std::vector<int64_t>(1, 0);
  uint64_t synced_epoch_ = 0;  // 0: never (epoch 0 is the empty swarm)
  uint64_t agreed_revision_ = 0;
  uint64_t syncs_ = 0;
};

}  // namespace loco::train
