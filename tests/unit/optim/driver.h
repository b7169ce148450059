// driver.h: a tiny stand-in for the trainer's loop, for the strategy tests: per step, gradients
// from a function, strategy.on_gradients, inner SGD (params -= lr * grads), after_inner_step;
// then finish. Runs N peers on threads over a SimulatedSwarm. Records the parameters after every
// step whose params_synced_after() is true, so tests can check bit parity across peers.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "optim/strategy.h"
#include "unit/optim/fake_reducers.h"

namespace loco::optim::testing {

// Fills `grads` for peer `rank` at `step` given the current parameters.
using GradFn =
    std::function<void(int rank, int64_t step, std::span<const float> params, std::span<float> grads)>;

struct PeerRun {
  Status status;
  std::vector<float> params;                       // after finish()
  std::vector<std::vector<float>> synced;          // params after each synced step
  std::vector<std::vector<float>> before_finish;   // (one entry) params before finish()
};

inline void inner_sgd(std::span<float> params, std::span<const float> grads, float lr) {
  for (size_t i = 0; i < params.size(); ++i) params[i] -= lr * grads[i];
}

inline PeerRun run_peer(Strategy& s, Reducer& r, int rank, std::vector<float> params,
                        int64_t steps, float lr, const GradFn& grad_fn) {
  PeerRun out;
  std::vector<float> grads(params.size());
  out.status = s.init(params);
  for (int64_t step = 0; step < steps && out.status.ok(); ++step) {
    grad_fn(rank, step, params, grads);
    out.status = s.on_gradients(grads, step, r);
    if (!out.status.ok()) break;
    inner_sgd(params, grads, lr);
    out.status = s.after_inner_step(params, step, r);
    if (out.status.ok() && s.params_synced_after(step)) out.synced.push_back(params);
  }
  out.before_finish.push_back(params);
  if (out.status.ok()) out.status = s.finish(params, r);
  out.params = std::move(params);
  return out;
}

// Runs `n` peers, each with its own strategy from `make`, on a SimulatedSwarm.
inline std::vector<PeerRun> run_swarm(int n, const std::function<std::unique_ptr<Strategy>()>& make,
                                      const std::vector<float>& x0, int64_t steps, float lr,
                                      const GradFn& grad_fn, std::vector<int>* calls = nullptr) {
  SimulatedSwarm swarm(n);
  std::vector<PeerRun> runs(static_cast<size_t>(n));
  std::vector<std::unique_ptr<Strategy>> strategies;
  for (int i = 0; i < n; ++i) strategies.push_back(make());
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      runs[static_cast<size_t>(i)] =
          run_peer(*strategies[static_cast<size_t>(i)], swarm.peer(i), i, x0, steps, lr, grad_fn);
    });
  }
  for (auto& t : threads) t.join();
  if (calls != nullptr) {
    calls->clear();
    for (int i = 0; i < n; ++i) calls->push_back(swarm.peer(i).calls());
  }
  return runs;
}

// A gradient table: table[rank][step] is that peer's gradient at that step.
inline GradFn table_grads(std::vector<std::vector<std::vector<float>>> table) {
  return [table = std::move(table)](int rank, int64_t step, std::span<const float>,
                                    std::span<float> grads) {
    const auto& g = table.at(static_cast<size_t>(rank)).at(static_cast<size_t>(step));
    std::copy(g.begin(), g.end(), grads.begin());
  };
}

}  // namespace loco::optim::testing
