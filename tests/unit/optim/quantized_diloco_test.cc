// DiLoCo (and local SGD, DDP) with a quantized wire codec, over the in-process fakes: every
// collective goes through all_reduce_avg_quantized, peers stay bit-identical after every sync,
// the averaged pseudo-gradient is within the codec's error of the fp32 one (and not equal to it),
// the failure contract holds with the codec on, and the factory validates the option.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "optim/diloco.h"
#include "optim/factory.h"
#include "unit/optim/driver.h"

namespace loco::optim {
namespace {

using testing::ScriptedReducer;
using testing::SimulatedSwarm;
using V = std::vector<float>;

constexpr size_t kN = 1000;

V start_params() {
  V x(kN);
  for (size_t i = 0; i < kN; ++i) x[i] = std::cos(0.01f * static_cast<float>(i));
  return x;
}

// Gradient of 0.5 |x - t_rank|^2 with per-peer targets, so pseudo-gradients differ across peers.
void grads_of(int rank, int64_t step, std::span<const float> x, std::span<float> g) {
  for (size_t i = 0; i < x.size(); ++i) {
    const float t = std::sin(0.02f * static_cast<float>(i) + static_cast<float>(rank));
    g[i] = (x[i] - t) + 0.01f * static_cast<float>((step + static_cast<int64_t>(i)) % 3);
  }
}

bool same_bits(const V& a, const V& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs `peers` DiLoCo peers on a SimulatedSwarm; checks that every collective went through the
// quantized path when a codec is set (and none otherwise).
std::vector<testing::PeerRun> run_quantized(int peers, const DilocoOptions& o, int64_t steps,
                                            std::vector<int>* quantized_calls) {
  SimulatedSwarm swarm(peers);
  std::vector<testing::PeerRun> runs(static_cast<size_t>(peers));
  std::vector<std::unique_ptr<Diloco>> strategies;
  for (int i = 0; i < peers; ++i) strategies.push_back(std::make_unique<Diloco>(o));
  std::vector<std::thread> threads;
  for (int i = 0; i < peers; ++i) {
    threads.emplace_back([&, i] {
      runs[static_cast<size_t>(i)] = testing::run_peer(*strategies[static_cast<size_t>(i)],
                                                       swarm.peer(i), i, start_params(), steps,
                                                       0.1f, grads_of);
    });
  }
  for (auto& t : threads) t.join();
  quantized_calls->clear();
  for (int i = 0; i < peers; ++i) {
    EXPECT_EQ(swarm.peer(i).quantized_calls(), o.wire_codec.empty() ? 0 : swarm.peer(i).calls());
    quantized_calls->push_back(swarm.peer(i).quantized_calls());
  }
  return runs;
}

class QuantizedDiloco : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizedDiloco, PeersStayBitIdenticalAfterEverySync) {
  DilocoOptions o;
  o.h = 4;
  o.bucket_bytes = 1024;  // 256 floats: 4 collectives per round
  o.wire_codec = GetParam();
  std::vector<int> calls;
  const auto runs = run_quantized(4, o, 10, &calls);  // syncs after steps 3 and 7, then finish
  for (size_t p = 0; p < runs.size(); ++p) {
    ASSERT_TRUE(runs[p].status.ok()) << runs[p].status.to_string();
    ASSERT_EQ(runs[p].synced.size(), 2u);
    for (size_t s = 0; s < 2; ++s) EXPECT_TRUE(same_bits(runs[p].synced[s], runs[0].synced[s]));
    EXPECT_TRUE(same_bits(runs[p].params, runs[0].params));
    EXPECT_EQ(calls[p], 12);  // 3 rounds x 4 buckets
  }
  // The parameters moved (the outer steps happened).
  EXPECT_FALSE(same_bits(runs[0].params, start_params()));
}

INSTANTIATE_TEST_SUITE_P(Codecs, QuantizedDiloco,
                         ::testing::Values("int8", "int8:block=64", "int4", "bf16"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return s;
                         });

// One outer round with outer SGD lr 1, no momentum: params = global - avg(pseudo-gradient), so
// the quantized run differs from the fp32 run by exactly the averaged pseudo-gradient's
// quantization error. The fakes quantize the average once: per element at most half a step of
// its block, step = block range / L <= 2 max|delta| / L.
TEST(QuantizedDiloco, PseudoGradientErrorIsWithinOneQuantizationStep) {
  for (const auto& [codec, levels] : {std::pair<std::string, double>{"int8:block=128", 255.0},
                                      std::pair<std::string, double>{"int4:block=128", 15.0}}) {
    SCOPED_TRACE(codec);
    DilocoOptions o;
    o.h = 5;
    o.outer.lr = 1.0f;
    o.outer.momentum = 0.0f;
    o.outer.nesterov = false;
    o.bucket_bytes = 2048;
    std::vector<int> calls;
    const auto fp32 = run_quantized(3, o, 5, &calls);
    o.wire_codec = codec;
    const auto q = run_quantized(3, o, 5, &calls);
    ASSERT_TRUE(fp32[0].status.ok() && q[0].status.ok());
    ASSERT_EQ(q[0].synced.size(), 1u);
    const V x0 = start_params();
    const V& a = fp32[0].synced[0];
    const V& b = q[0].synced[0];
    // max |avg delta| = max |x0 - a| (fp32 run: a = x0 - avg delta).
    double max_delta = 0.0, worst = 0.0;
    for (size_t i = 0; i < kN; ++i) {
      max_delta = std::max(max_delta, std::abs(static_cast<double>(x0[i]) - a[i]));
      worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
    }
    ASSERT_GT(max_delta, 0.01);
    const double budget = 1.001 * max_delta / levels + 4 * std::ldexp(1.0, -24) * 2.0;
    EXPECT_LE(worst, budget);
    EXPECT_GT(worst, 0.0);  // it did quantize
  }
}

// The failure contract (strategy.h) with the codec on: a ScriptedReducer fails its k-th call; the
// failed call leaves params, grads and state as they were and the retry completes the run exactly
// as a run without failure.
struct Outcome {
  V params;
  std::vector<V> state;
  int calls = 0;
  int quantized = 0;
};

Outcome run_scripted(const StrategyOptions& so, int fail_on, int64_t steps) {
  auto made = make_strategy(so);
  EXPECT_TRUE(made.ok()) << made.status().to_string();
  Strategy& s = **made;
  ScriptedReducer reducer(3, fail_on);
  V params(11), grads(11);
  for (size_t i = 0; i < params.size(); ++i) params[i] = 0.5f * static_cast<float>(i) - 2.0f;
  EXPECT_TRUE(s.init(params).ok());
  auto guarded = [&](const std::function<Status()>& call) {
    const V p0 = params, g0 = grads;
    const auto st0 = testing::copy_state(s);
    Status st = call();
    if (st.ok()) return;
    EXPECT_EQ(st.code(), StatusCode::kAborted) << st.to_string();
    EXPECT_TRUE(same_bits(params, p0));
    EXPECT_TRUE(same_bits(grads, g0));
    const auto st1 = testing::copy_state(s);
    ASSERT_EQ(st1.size(), st0.size());
    for (size_t i = 0; i < st0.size(); ++i) EXPECT_TRUE(same_bits(st1[i], st0[i]));
    EXPECT_TRUE(call().ok());
  };
  for (int64_t step = 0; step < steps; ++step) {
    for (size_t i = 0; i < params.size(); ++i) {
      grads[i] = params[i] - 0.25f * static_cast<float>(i % 3) + 0.125f * static_cast<float>(step);
    }
    guarded([&] { return s.on_gradients(grads, step, reducer); });
    testing::inner_sgd(params, grads, 0.25f);
    guarded([&] { return s.after_inner_step(params, step, reducer); });
  }
  guarded([&] { return s.finish(params, reducer); });
  return {params, testing::copy_state(s), reducer.calls(), reducer.quantized_calls()};
}

TEST(QuantizedFailureContract, FailedCallChangesNothingAndTheRetryCompletesTheRun) {
  for (const char* name : {"diloco", "local-sgd", "ddp"}) {
    SCOPED_TRACE(name);
    StrategyOptions so;
    so.name = name;
    so.h = 2;
    so.bucket_bytes = 16;  // 11 floats: 3 collectives per sync
    so.wire_codec = "int8:block=8";
    const Outcome ref = run_scripted(so, 0, 5);
    ASSERT_GT(ref.calls, 0);
    EXPECT_EQ(ref.quantized, ref.calls);
    // Quantization changed the outcome compared with fp32.
    StrategyOptions raw = so;
    raw.wire_codec.clear();
    EXPECT_FALSE(same_bits(run_scripted(raw, 0, 5).params, ref.params));
    for (int k = 1; k <= ref.calls; ++k) {
      SCOPED_TRACE("failure on call " + std::to_string(k));
      const Outcome got = run_scripted(so, k, 5);
      EXPECT_GT(got.calls, ref.calls);
      EXPECT_TRUE(same_bits(got.params, ref.params));
      ASSERT_EQ(got.state.size(), ref.state.size());
      for (size_t i = 0; i < ref.state.size(); ++i) EXPECT_TRUE(same_bits(got.state[i], ref.state[i]));
    }
  }
}

TEST(QuantizedFactory, WireCodecIsValidatedAndPassedOn) {
  StrategyOptions so;
  so.name = "diloco";
  so.wire_codec = "int4:block=64";
  auto made = make_strategy(so);
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  auto* d = dynamic_cast<Diloco*>(made->get());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->options().wire_codec, "int4:block=64");
  for (const char* ok : {"", "fp32", "fp16", "bf16", "int8", "int8:block=128"}) {
    so.wire_codec = ok;
    EXPECT_TRUE(validate(so).ok()) << ok;
  }
  for (const char* bad : {"topk", "sign", "randomk:fraction=0.1", "int8:block=3", "nope"}) {
    so.wire_codec = bad;
    Status s = validate(so);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("wire codec"), std::string::npos) << s.to_string();
  }
  so.wire_codec = "int8";
  for (const char* name : {"local-sgd", "ddp"}) {
    so.name = name;
    EXPECT_TRUE(validate(so).ok()) << name;
  }
  for (const char* name : {"lofi", "demo", "ddp-topk"}) {
    so.name = name;
    Status s = validate(so);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(s.message().find("wire codec"), std::string::npos) << s.to_string();
  }
}

}  // namespace
}  // namespace loco::optim
