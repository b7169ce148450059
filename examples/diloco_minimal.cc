// diloco_minimal.cc: DiLoCo end to end in one file, in the spirit of llm.c: a tiny two-layer
// network written by hand on one flat float vector (no LibTorch, no autograd), trained by several
// processes with loco's DiLoCo strategy (src/optim/diloco.h) over real collectives (the
// SwarmReducer on a SwarmPeer). The whole loop is in main and reads top to bottom:
//   join the swarm -> same initial parameters everywhere -> H local SGD steps on this peer's own
//   data -> DiLoCo's outer round (average the pseudo-gradient, Nesterov step on the global copy)
//   -> ... -> every peer ends with bit-identical parameters and prints their hash and the loss.
// The problem: regress the output of a fixed random "teacher" network of the same shape.
//
//   loco coordinator --listen 127.0.0.1:7000 &
//   ./diloco_minimal 127.0.0.1 7000 2 &  ./diloco_minimal 127.0.0.1 7000 2
//
// Not here: LibTorch models and data (src/train, loco-train), checkpoints, joining a running
// swarm (shared state), metrics. The retry idiom is written out by hand so that it can be seen.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "collectives/swarm_peer.h"
#include "membership/auth.h"
#include "optim/diloco.h"
#include "optim/swarm_reducer.h"

namespace {

// ---- the model: y = w2 . tanh(W1 x + b1) + b2, all in one flat vector ----
constexpr int kIn = 8, kHidden = 16;
constexpr size_t kW1 = 0, kB1 = kW1 + kIn * kHidden, kW2 = kB1 + kHidden, kB2 = kW2 + kHidden;
constexpr size_t kParams = kB2 + 1;

// A tiny deterministic generator (xorshift64*), so every peer draws the same initial weights.
struct Rng {
  uint64_t s;
  float uniform() {  // in [-1, 1)
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return static_cast<float>((s * 2685821657736338717ull) >> 40) / 8388608.0f - 1.0f;
  }
};

void init_params(std::span<float> p, uint64_t seed, float scale) {
  Rng rng{seed};
  for (float& v : p) v = scale * rng.uniform();
}

// Forward pass for one sample; `hidden` receives tanh(W1 x + b1) for the backward pass.
float forward(std::span<const float> p, const float* x, float* hidden) {
  float y = p[kB2];
  for (int j = 0; j < kHidden; ++j) {
    float a = p[kB1 + j];
    for (int i = 0; i < kIn; ++i) a += p[kW1 + j * kIn + i] * x[i];
    hidden[j] = std::tanh(a);
    y += p[kW2 + j] * hidden[j];
  }
  return y;
}

// Mean squared error of a batch, and its gradient (accumulated into `grad`, which is zeroed).
float loss_and_grad(std::span<const float> p, const std::vector<float>& xs,
                    const std::vector<float>& ys, std::span<float> grad) {
  std::fill(grad.begin(), grad.end(), 0.0f);
  const size_t count = ys.size();
  const float n = static_cast<float>(count);
  float hidden[kHidden], loss = 0.0f;
  for (size_t s = 0; s < count; ++s) {
    const float* x = &xs[s * kIn];
    const float err = forward(p, x, hidden) - ys[s];
    loss += err * err / n;
    const float dy = 2.0f * err / n;  // d loss / d y
    grad[kB2] += dy;
    for (int j = 0; j < kHidden; ++j) {
      grad[kW2 + j] += dy * hidden[j];
      const float da = dy * p[kW2 + j] * (1.0f - hidden[j] * hidden[j]);  // through tanh
      grad[kB1 + j] += da;
      for (int i = 0; i < kIn; ++i) grad[kW1 + j * kIn + i] += da * x[i];
    }
  }
  return loss;
}

// A batch of inputs and the teacher's outputs for them.
void make_batch(Rng& rng, std::span<const float> teacher, size_t n, std::vector<float>& xs,
                std::vector<float>& ys) {
  xs.resize(n * kIn);
  ys.resize(n);
  float hidden[kHidden];
  for (float& v : xs) v = rng.uniform();
  for (size_t s = 0; s < n; ++s) ys[s] = forward(teacher, &xs[s * kIn], hidden);
}

uint64_t fnv1a(std::span<const float> p) {
  uint64_t h = 1469598103934665603ull;
  const auto* b = reinterpret_cast<const unsigned char*>(p.data());
  for (size_t i = 0; i < p.size_bytes(); ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

int fail(const char* what, const loco::Status& s) {
  std::fprintf(stderr, "diloco_minimal: %s: %s\n", what, s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST PORT WORLD [OUTER_ROUNDS]\n", argv[0]);
    return 2;
  }
  const int world = std::atoi(argv[3]);
  const int outer_rounds = argc > 4 ? std::atoi(argv[4]) : 30;
  constexpr int kH = 20;            // inner steps per outer round
  constexpr float kInnerLr = 0.05f;  // plain SGD inside a round
  constexpr size_t kBatch = 32;

  // 1. Join the swarm: the membership client, the data-plane mesh and the Communicator.
  loco::collectives::SwarmPeerOptions options;
  options.peer.coordinator_host = argv[1];
  options.peer.coordinator_port = static_cast<uint16_t>(std::atoi(argv[2]));
  auto key = loco::membership::load_swarm_key("");  // LOCO_SECRET, if set
  if (!key.ok()) return fail("secret", key.status());
  options.peer.key = *key;
  auto joined = loco::collectives::SwarmPeer::join(options);
  if (!joined.ok()) return fail("join", joined.status());
  loco::collectives::SwarmPeer& peer = **joined;
  const auto minute = [] { return loco::Deadline::after(std::chrono::seconds(60)); };
  if (loco::Status s = peer.wait_for_world(world, minute()); !s.ok()) return fail("world", s);
  const int rank = peer.view().rank;
  std::printf("rank %d of %zu\n", rank, peer.view().members.size());

  // 2. The same initial parameters on every peer (same seed); DiLoCo keeps its global copy.
  std::vector<float> params(kParams), grad(kParams), teacher(kParams);
  init_params(params, /*seed=*/1, 0.3f);
  init_params(teacher, /*seed=*/2, 1.0f);
  loco::optim::DilocoOptions diloco_options;
  diloco_options.h = kH;  // outer: SGD lr 0.7, Nesterov momentum 0.9 (the DiLoCo paper's)
  loco::optim::Diloco diloco(diloco_options);
  loco::optim::SwarmReducer reducer(peer.comm());
  if (loco::Status s = diloco.init(params); !s.ok()) return fail("init", s);

  // The retry idiom: a strategy call that fails with ABORTED / UNAVAILABLE / DEADLINE_EXCEEDED
  // left params and its own state untouched; wait for the next epoch and call it again.
  auto with_retry = [&](auto call) -> loco::Status {
    for (int attempt = 1;; ++attempt) {
      const uint64_t epoch = peer.view().epoch;
      loco::Status s = call();
      if (s.ok() || !loco::is_retryable(s.code()) || attempt == 10) return s;
      std::fprintf(stderr, "rank %d: %s; retrying in the next epoch\n", rank, s.to_string().c_str());
      if (loco::Status next = peer.wait_next_epoch(epoch, minute()); !next.ok()) return next;
    }
  };

  // 3. Train: each peer draws its own data (seed depends on the rank), steps alone for H steps,
  //    then DiLoCo's outer round runs inside after_inner_step.
  Rng data_rng{1000 + static_cast<uint64_t>(rank)};
  std::vector<float> xs, ys;
  const int64_t steps = static_cast<int64_t>(outer_rounds) * kH;
  for (int64_t step = 0; step < steps; ++step) {
    make_batch(data_rng, teacher, kBatch, xs, ys);
    const float loss = loss_and_grad(params, xs, ys, grad);
    // DiLoCo leaves gradients alone (DDP would average them here).
    if (loco::Status s = with_retry([&] { return diloco.on_gradients(grad, step, reducer); });
        !s.ok()) {
      return fail("on_gradients", s);
    }
    for (size_t i = 0; i < kParams; ++i) params[i] -= kInnerLr * grad[i];  // inner SGD
    if (loco::Status s = with_retry([&] { return diloco.after_inner_step(params, step, reducer); });
        !s.ok()) {
      return fail("outer round", s);
    }
    if ((step + 1) % (5 * kH) == 0) {
      std::printf("rank %d step %lld: train loss %.5f\n", rank, static_cast<long long>(step + 1),
                  loss);
    }
  }
  if (loco::Status s = with_retry([&] { return diloco.finish(params, reducer); }); !s.ok()) {
    return fail("finish", s);
  }

  // 4. Every peer holds the same parameters: evaluate them on data no peer trained on.
  Rng eval_rng{99};
  make_batch(eval_rng, teacher, 1024, xs, ys);
  const float eval_loss = loss_and_grad(params, xs, ys, grad);
  std::vector<float> initial(kParams);
  init_params(initial, 1, 0.3f);
  const float initial_loss = loss_and_grad(initial, xs, ys, grad);
  std::printf("final: eval loss %.6f (initial %.6f), sent %llu bytes, params hash %016llx\n",
              eval_loss, initial_loss, static_cast<unsigned long long>(reducer.bytes_sent()),
              static_cast<unsigned long long>(fnv1a(params)));
  peer.leave("done");
  return 0;
}
