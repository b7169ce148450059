// The failure contract of strategy.h, for every strategy: when the reducer fails (ABORTED) on its
// k-th call, the strategy call returns that status and leaves the parameters, the gradients and
// its state buffers bit for bit as before; calling again with the same arguments then completes,
// and the run ends exactly where a run without the failure ends. Checked for every k, so the
// failure lands on every bucket of every sync (first, middle and last buckets included).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "optim/factory.h"
#include "unit/optim/driver.h"

namespace loco::optim {
namespace {

using testing::ScriptedReducer;
using V = std::vector<float>;

bool same_bits(const V& a, const V& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
bool same_state(const std::vector<V>& a, const std::vector<V>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_bits(a[i], b[i])) return false;
  }
  return true;
}

struct Outcome {
  V params;
  std::vector<V> state;
  int calls = 0;
  int failures = 0;
};

// The trainer's loop against a ScriptedReducer failing on call `fail_on` (0: never), with the
// retry idiom; every failed call is checked against the contract.
Outcome run(const StrategyOptions& so, int fail_on, int64_t steps) {
  const size_t n = 11;  // with 16-byte buckets: 3 collectives per sync (4 + 4 + 3 floats)
  auto made = make_strategy(so);
  EXPECT_TRUE(made.ok()) << made.status().to_string();
  Strategy& s = **made;
  ScriptedReducer reducer(3, fail_on);
  V params(n);
  for (size_t i = 0; i < n; ++i) params[i] = 0.5f * static_cast<float>(i) - 2.0f;
  V grads(n);
  EXPECT_TRUE(s.init(params).ok());

  auto guarded = [&](const char* what, int64_t step, const std::function<Status()>& call) {
    const V p0 = params, g0 = grads;
    const auto st0 = testing::copy_state(s);
    const int failures0 = reducer.failures();
    Status st = call();
    if (st.ok()) return;
    EXPECT_EQ(st.code(), StatusCode::kAborted) << what << " step " << step << ": " << st.to_string();
    EXPECT_EQ(reducer.failures(), failures0 + 1) << "a failure not from the reducer";
    EXPECT_TRUE(same_bits(params, p0)) << what << " step " << step << ": parameters changed";
    EXPECT_TRUE(same_bits(grads, g0)) << what << " step " << step << ": gradients changed";
    EXPECT_TRUE(same_state(testing::copy_state(s), st0)) << what << " step " << step << ": state changed";
    Status again = call();  // the retry, with the same arguments
    EXPECT_TRUE(again.ok()) << what << " retry: " << again.to_string();
  };

  for (int64_t step = 0; step < steps; ++step) {
    for (size_t i = 0; i < n; ++i) {
      grads[i] = (params[i] - 0.25f * static_cast<float>(i % 3)) + 0.125f * static_cast<float>(step);
    }
    guarded("on_gradients", step, [&] { return s.on_gradients(grads, step, reducer); });
    testing::inner_sgd(params, grads, 0.25f);
    guarded("after_inner_step", step, [&] { return s.after_inner_step(params, step, reducer); });
  }
  guarded("finish", steps, [&] { return s.finish(params, reducer); });
  return {params, testing::copy_state(s), reducer.calls(), reducer.failures()};
}

class FailureContract : public ::testing::TestWithParam<std::string> {};

TEST_P(FailureContract, FailedCallChangesNothingAndTheRetryCompletesTheRun) {
  StrategyOptions so;
  so.name = GetParam();
  so.h = 2;
  so.bucket_bytes = 16;
  so.outer_lr = 0.7f;
  so.outer_momentum = 0.9f;
  so.extra_outer_momenta = {0.5f};  // DiLoCo: two momentum buffers in the state
  so.demo.chunk = 4;                // DeMo: chunks 4 + 4 + 3, two coefficients each
  so.demo.topk = 2;
  so.demo.decay = 0.5f;
  so.topk.fraction = 0.25;          // ddp-topk: 3 of 11 elements, with momentum correction
  so.topk.momentum = 0.5f;
  so.powersgd.shapes = {{3, 3}, {2, 1}};  // ddp-powersgd: a 3x3 matrix (rank 1) and a vector
  so.powersgd.rank = 1;
  const int64_t steps = 5;          // H = 2: syncs after steps 1 and 3, and a pending one at finish
  const Outcome ref = run(so, 0, steps);
  ASSERT_GT(ref.calls, 0);
  ASSERT_EQ(ref.failures, 0);
  for (int k = 1; k <= ref.calls; ++k) {
    SCOPED_TRACE("failure on reducer call " + std::to_string(k));
    const Outcome got = run(so, k, steps);
    EXPECT_EQ(got.failures, 1);
    // The failed call plus the re-done buckets of that sync (at most 3 per sync here).
    EXPECT_GT(got.calls, ref.calls);
    EXPECT_LE(got.calls, ref.calls + 3);
    EXPECT_TRUE(same_bits(got.params, ref.params));
    EXPECT_TRUE(same_state(got.state, ref.state));
  }
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, FailureContract,
                         ::testing::Values("ddp", "diloco", "local-sgd", "lofi", "demo", "ddp-topk", "ddp-powersgd"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) c = (c == '-') ? '_' : c;
                           return s;
                         });

TEST(FailureContractCounts, EveryStrategyCommunicatesWhereExpected) {
  StrategyOptions so;
  so.h = 2;
  so.bucket_bytes = 16;
  // 11 floats in 16-byte buckets: 3 calls per sync.
  so.name = "ddp";
  EXPECT_EQ(run(so, 0, 5).calls, 15);  // every step
  so.name = "diloco";
  EXPECT_EQ(run(so, 0, 5).calls, 9);   // steps 1, 3 and finish
  so.name = "local-sgd";
  EXPECT_EQ(run(so, 0, 5).calls, 9);
  so.name = "lofi";
  EXPECT_EQ(run(so, 0, 5).calls, 3);   // finish only
  so.name = "demo";
  so.demo.chunk = 4;
  so.demo.topk = 2;
  EXPECT_EQ(run(so, 0, 5).calls, 5);   // one all-gather per step, no buckets
  so.name = "ddp-topk";
  EXPECT_EQ(run(so, 0, 5).calls, 5);
  so.name = "ddp-powersgd";
  so.powersgd.shapes = {{3, 3}, {2, 1}};
  so.powersgd.rank = 1;
  EXPECT_EQ(run(so, 0, 5).calls, 10);  // P and Q every step
}

}  // namespace
}  // namespace loco::optim
