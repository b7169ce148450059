// session.cc: one training peer from start to end (see session.h).
#include "train/session.h"

#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "common/log.h"
#include "optim/swarm_reducer.h"
#include "state/state_sync.h"
#include "train/checkpoint.h"

namespace loco::train {

namespace {

int fail(int code, const Status& s) {
  std::cerr << "loco-train: " << s.to_string() << "\n";
  return code;
}

// The trainer's SwarmPort over the swarm's membership (the retry idiom's waits are
// collectives::SwarmPeer's) and a StateSync with the coordinator.
class PeerPort final : public SwarmPort {
 public:
  PeerPort(collectives::SwarmPeer& peer, state::StateSync& sync, int timeout_s, int sync_timeout_s)
      : peer_(peer), sync_(sync), timeout_s_(timeout_s), sync_timeout_s_(sync_timeout_s) {}
  uint64_t epoch() const override { return peer_.view().epoch; }
  Status wait_after(uint64_t epoch) override {
    return peer_.wait_next_epoch(epoch, Deadline::after(std::chrono::seconds(timeout_s_)));
  }
  uint64_t data_epoch() const override { return peer_.comm().epoch(); }
  int world() const override { return peer_.view().world_size(); }
  Result<state::SyncResult> sync(state::SharedState& state, state::SyncStrategy role) override {
    return sync_.sync(state, role, std::chrono::seconds(sync_timeout_s_));
  }
  Status wait_links() override {
    return peer_.wait_for_world(1, Deadline::after(std::chrono::seconds(timeout_s_)));
  }

 private:
  collectives::SwarmPeer& peer_;
  state::StateSync& sync_;
  int timeout_s_;
  int sync_timeout_s_;
};

}  // namespace

int run_session(const SessionConfig& config) {
  if (config.threads < 1) return fail(2, InvalidArgument("--threads must be at least 1"));
  if (config.world < 1) return fail(2, InvalidArgument("--world must be at least 1"));
  torch::set_num_threads(config.threads);

  // Everything that can be wrong with the options or the data fails here, before joining.
  auto source = load_data(config.data, config.model);
  if (!source.ok()) return fail(2, source.status());
  auto model = make_model(config.model, config.seed);
  if (!model.ok()) return fail(2, model.status());
  optim::StrategyOptions strategy_options = config.strategy;
  strategy_options.powersgd.shapes = (*model)->tensor_shapes();
  if (Status s = optim::validate(strategy_options); !s.ok()) return fail(2, s);
  auto strategy = optim::make_strategy(strategy_options);
  if (!strategy.ok()) return fail(2, strategy.status());
  if (config.join && !plan_state_layout(**strategy).joinable()) {
    return fail(2, InvalidArgument("--join: strategy '" + config.strategy.name +
                                   "' averages parameters that a joining peer does not have; "
                                   "join works with strategies that keep parameters identical "
                                   "(ddp and its compressed variants) or share a global copy (diloco)"));
  }
  const std::string ckpt = checkpoint_path(config.trainer.checkpoint_dir);
  if (config.resume) {
    std::error_code ec;
    if (config.trainer.checkpoint_dir.empty()) {
      return fail(2, InvalidArgument("--resume needs --checkpoint-dir"));
    }
    if (!std::filesystem::exists(ckpt, ec)) {
      return fail(2, InvalidArgument("--resume: checkpoint " + ckpt + " does not exist"));
    }
  }
  if (config.check_only) {
    std::cout << "loco-train: options ok\n";
    return 0;
  }
  auto metrics = MetricsWriter::open(config.metrics_path);
  if (!metrics.ok()) return fail(2, metrics.status());

  auto peer = collectives::SwarmPeer::join(config.swarm);
  if (!peer.ok()) return fail(1, peer.status().with_context("joining the swarm"));
  collectives::SwarmPeer& p = **peer;
  // A joiner does not wait for --world: the swarm is already training; it receives the state
  // through a state sync before its first step (Trainer::enable_state_sync).
  const int min_world = config.join ? 1 : config.world;
  Status ready = p.wait_for_world(min_world, Deadline::after(std::chrono::seconds(config.join_timeout_s)));
  if (!ready.ok()) return fail(1, ready.with_context("waiting for " + std::to_string(min_world) + " peers"));
  const membership::MembershipView view = p.view();
  const int rank = view.rank;
  const int world = view.world_size();

  auto data = (*source)->shard(rank, world);
  if (!data.ok()) return fail(2, data.status());
  LOCO_LOG_INFO("rank {} of {}: {}", rank, world, (*data)->describe());
  (*metrics)->set_rank(rank, world);
  (*metrics)->set_strategy(config.strategy.name);

  optim::SwarmReducer reducer(p.comm());
  state::StateSyncOptions so = state::state_sync_options_for(config.swarm, p.data_port());
  auto state_sync = state::StateSync::create(p.client(), so);
  if (!state_sync.ok()) return fail(1, state_sync.status());
  PeerPort port(p, **state_sync, config.retry_timeout_s, config.sync_timeout_s);
  auto trainer = Trainer::make(**model, **data, **strategy, reducer, &port, metrics->get(),
                               config.trainer);
  if (!trainer.ok()) return fail(2, trainer.status());
  if (Status s = (*trainer)->init(); !s.ok()) return fail(1, s);
  if (config.resume) {
    if (Status s = (*trainer)->resume(ckpt); !s.ok()) return fail(2, s);
  }
  // Every peer state-syncs at its first communication in each new epoch; a joiner first receives
  // the swarm's state (state_rendezvous.h).
  if (Status s = (*trainer)->enable_state_sync(config.join); !s.ok()) return fail(1, s);
  Status s = (*trainer)->run();
  if (!s.ok()) {
    p.leave("failed");
    return fail(1, s);
  }
  p.leave("finished");
  return 0;
}

}  // namespace loco::train
