// session.h: one training peer from start to end, as `loco-train train` runs it: load and check
// the data, build the model and the strategy (failing fast, before joining, on bad options or
// data), join the swarm and wait for --world members (a --join peer does not wait), take this
// peer's rank for its data shard, then run the Trainer with the swarm's Reducer, retry waiter and
// shared-state sync (state_rendezvous.h: a joiner receives the running swarm's state), and leave.
// Not here: command-line parsing (tools/loco-train), the loop itself (trainer.h).
#pragma once

#include <cstdint>
#include <string>

#include "collectives/swarm_peer.h"
#include "optim/factory.h"
#include "train/batches.h"
#include "train/models.h"
#include "train/trainer.h"

namespace loco::train {

struct SessionConfig {
  collectives::SwarmPeerOptions swarm;  // coordinator address, key, name
  int world = 1;                        // members to wait for before step 0
  int join_timeout_s = 120;             // for that wait
  int retry_timeout_s = 60;             // for each wait for a new membership after a failure
  int sync_timeout_s = 120;             // for each shared-state sync (peers may drift apart)
  bool join = false;                    // join a running swarm: receive its state, no --world wait
  optim::StrategyOptions strategy;
  ModelConfig model;
  DataConfig data;                      // data.seed is the data-order seed base (+ rank)
  TrainerOptions trainer;
  uint64_t seed = 1;                    // model initialisation seed (identical on every peer)
  std::string metrics_path;
  bool resume = false;                  // from trainer.checkpoint_dir
  int threads = 1;
  // Check every option and the data, then exit 0 without joining (`loco-train train --check`;
  // `loco swarm` checks each strategy's options this way before starting anything).
  bool check_only = false;
};

// The process exit code: 0 success; 2 bad options or data (message names the option or file);
// 1 a fatal runtime error. Messages go to stderr, prefixed with "loco-train: ".
int run_session(const SessionConfig& config);

}  // namespace loco::train
