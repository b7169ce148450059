// trainer.h: the training loop of one peer, per the contract in src/optim/strategy.h:
//     forward, backward -> strategy.on_gradients -> clip -> inner step -> strategy.after_inner_step
//     -> metrics (step, sync with params_hash, eval) -> checkpoint
// and at the end strategy.finish, a final evaluation and the "done" line.
// Retry: a strategy call that returns a retryable status (is_retryable) has left
// everything as before the call, so the trainer waits for the next membership (SwarmPort::wait_after) and
// calls it again with the same arguments, writing a "retry" metrics line.
// Shared state (enable_state_sync, state_rendezvous.h): the strategy's collectives go through a
// guard that refuses them while the membership epoch has not been state-synced; before the retry
// that follows, every member of the new epoch runs a state sync at the same communication point
// ("state_sync" metrics line). A joiner (--join) receives the state before its first step and
// goes on from the swarm's step. Under DiLoCo a joiner takes part in the outer round it joins at
// with a zero pseudo-gradient (it took no inner steps), so that one outer step is scaled by
// P/(P+1) for P old members; its inner optimizer starts fresh. Its data shard is shard(rank,
// world) of the membership it joined; the others' shards are not rebalanced.
// Checkpoints hold the flat parameters, the inner optimizer, the strategy's state buffers, the
// data position (batch index) and the step; a resumed run continues bit-identically.
// Not here: building the parts (session.h), communication (the Strategy and its Reducer).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "optim/strategy.h"
#include "train/batches.h"
#include "train/flat_params.h"
#include "train/inner_optimizer.h"
#include "train/metrics.h"
#include "train/models.h"
#include "train/state_rendezvous.h"

namespace loco::train {

struct TrainerOptions {
  int64_t steps = 3000;
  int64_t eval_every = 100;        // 0: only the final evaluation
  InnerOptions inner;              // inner.total_steps is set to `steps` by the trainer
  std::string checkpoint_dir;      // "" = no checkpoints
  int64_t checkpoint_every = 0;    // steps; 0 = none
  int max_retries = 50;            // attempts per strategy call
  double step_line_interval_s = 0.1;  // "step" lines at most this often (plus first and last)
};

struct EvalResult {
  double loss = 0.0;      // mean cross-entropy (nats per byte / per sample)
  double accuracy = -1;   // classifiers only
  int64_t units = 0;
};

class Trainer {
 public:
  // The parts must outlive the trainer. `swarm` null: retryable failures are fatal and there is
  // no state sync. `metrics` may be null. Binds the model's parameters to flat buffers and makes the inner optimizer.
  static Result<std::unique_ptr<Trainer>> make(Model& model, TrainData& data,
                                               optim::Strategy& strategy, optim::Reducer& reducer,
                                               SwarmPort* swarm, MetricsWriter* metrics,
                                               TrainerOptions options);

  // strategy.init with the current parameters (call once, before resume() or run()).
  [[nodiscard]] Status init();
  // Restores a checkpoint written by save(); INVALID_ARGUMENT when it does not fit this model.
  [[nodiscard]] Status resume(const std::string& path);
  [[nodiscard]] Status save(const std::string& path);

  // Runs steps from step() up to (not including) `until` (clamped to options.steps).
  [[nodiscard]] Status run_steps(int64_t until);
  // strategy.finish, final evaluation, "done" line.
  [[nodiscard]] Status finish();
  // init() (unless done), run_steps(steps), finish(); writes "start" first.
  [[nodiscard]] Status run();

  EvalResult evaluate();
  std::span<float> params() { return flat_.params(); }
  std::span<float> grads() { return flat_.grads(); }
  int64_t step() const { return step_; }
  int64_t data_position() const { return data_position_; }
  int64_t tokens() const { return tokens_; }
  int64_t retries() const { return retries_; }
  double last_loss() const { return last_loss_; }
  const EvalResult& last_eval() const { return last_eval_; }

  // Shared-state sync over the swarm given to make() (none by default; FAILED_PRECONDITION without
  // one): init(), then lay out the state and guard the strategy's collectives
  // (state_rendezvous.h). `joiner`: run() first receives the swarm's state (RECEIVE_ONLY) and
  // starts at the swarm's step. Call before run().
  [[nodiscard]] Status enable_state_sync(bool joiner);
  const StateRendezvous* rendezvous() const { return rendezvous_.get(); }

 private:
  Trainer(Model& model, TrainData& data, optim::Strategy& strategy, optim::Reducer& reducer,
          SwarmPort* swarm, MetricsWriter* metrics, TrainerOptions options,
          InnerOptimizer inner);
  template <typename Call>
  Status with_retry(const char* what, SyncPoint point, int64_t step, Call&& call);
  // A state sync at `here` if this peer has not synced in the current epoch.
  Result<SyncPosition> sync_state(SyncPosition here);
  // A joiner's start: receive the state, then catch up with the swarm's communication point.
  Status join_swarm();
  void write(const std::string& event, int64_t step, nlohmann::json fields);

  Model& model_;
  TrainData& data_;
  optim::Strategy& strategy_;
  optim::Reducer& reducer_;
  SwarmPort* swarm_;
  MetricsWriter* metrics_;
  TrainerOptions options_;
  FlatParams flat_;
  InnerOptimizer inner_;
  GuardedReducer guard_;  // what the strategy calls: reducer_ behind the epoch guard
  std::unique_ptr<StateRendezvous> rendezvous_;
  bool joiner_ = false;
  bool initialized_ = false;
  int64_t step_ = 0;
  int64_t data_position_ = 0;
  int64_t tokens_ = 0;
  int64_t retries_ = 0;
  double compute_s_ = 0.0;
  double comm_s_ = 0.0;
  double last_loss_ = 0.0;
  double last_step_line_t_ = -1.0;
  EvalResult last_eval_;
};

}  // namespace loco::train
