// Fault: SIGKILL one of 3 `loco-train` peers mid-training. The survivors' failed sync is retried
// with the new membership ("retry" metrics lines), they finish every step and exit 0, and they end
// with bit-identical parameters; every sync after the kill is identical across the survivors too.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "integration/train_support.h"

namespace loco::testing {
namespace {

// Waits until peer i has written a "sync" line for a step >= `step`.
bool wait_for_sync(const TrainSwarm& t, size_t i, int64_t step, Deadline deadline) {
  while (!deadline.expired()) {
    for (auto& s : t.events(i, "sync")) {
      if (s["step"].get<int64_t>() >= step) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void kill_one_and_check_survivors(const std::string& strategy, const std::vector<std::string>& extra,
                                  int64_t kill_after_step, bool expect_retry) {
  constexpr int kSteps = 120;
  TrainSwarm t(/*heartbeat_ms=*/100, /*timeout_ms=*/1000);
  ASSERT_NE(t.swarm().port(), 0) << t.swarm().coordinator_log();
  for (size_t i = 0; i < 3; ++i) {
    std::vector<std::string> args = {"--strategy", strategy, "--steps", std::to_string(kSteps),
                                     "--eval-every", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    t.start(i, 3, args);
  }
  ASSERT_TRUE(wait_for_sync(t, 2, kill_after_step, Deadline::after(std::chrono::seconds(120))))
      << t.log(2);
  ASSERT_TRUE(t.proc(2).signal(SIGKILL).ok());
  auto killed = t.proc(2).wait(Deadline::after(std::chrono::seconds(10)));
  ASSERT_TRUE(killed.ok());
  EXPECT_FALSE(killed->exited);

  int retries = 0;
  for (size_t i = 0; i < 2; ++i) {
    auto exit = t.proc(i).wait(Deadline::after(std::chrono::seconds(240)));
    ASSERT_TRUE(exit.ok()) << "survivor " << i << " still running\n" << t.log(i);
    ASSERT_TRUE(exit->exited && exit->code == 0) << exit->to_string() << "\n" << t.log(i);
    auto retry_lines = t.events(i, "retry");
    for (auto& r : retry_lines) {
      EXPECT_TRUE(r.contains("status"));
      EXPECT_EQ(r["world"], 2);  // retried with the new membership
    }
    retries += static_cast<int>(retry_lines.size());
    auto done = t.events(i, "done");
    ASSERT_EQ(done.size(), 1u) << t.log(i);
    EXPECT_EQ(done[0]["step"], kSteps);
    EXPECT_LE(done[0]["world"].get<int>(), 2);  // 1 if the other survivor already left
  }
  if (expect_retry) {
    EXPECT_GE(retries, 1) << "no survivor retried a sync\n" << t.log(0) << t.log(1);
  }
  EXPECT_EQ(t.events(0, "done")[0]["params_hash"], t.events(1, "done")[0]["params_hash"]);
  // Syncs in the 2-peer world leave identical parameters on both survivors.
  std::map<int64_t, std::string> h0, h1;
  for (auto& s : t.events(0, "sync")) {
    if (s["world"] == 2) h0[s["step"].get<int64_t>()] = s["params_hash"];
  }
  for (auto& s : t.events(1, "sync")) {
    if (s["world"] == 2) h1[s["step"].get<int64_t>()] = s["params_hash"];
  }
  EXPECT_FALSE(h0.empty());
  EXPECT_EQ(h0, h1);
}

TEST(TrainFault, DdpSurvivorsRetryAndFinishIdentical) {
  // DDP syncs every step, so the survivors are inside (or waiting in) an all-reduce with the dead
  // peer when it dies: at least one of them must retry.
  kill_one_and_check_survivors("ddp", {}, 15, /*expect_retry=*/true);
}

TEST(TrainFault, DilocoSurvivorsRetryAndFinishIdentical) {
  // H=2: a sync every other step. The kill may land between syncs, when the survivors simply
  // see the new membership before their next sync, so a retry is possible but not certain.
  kill_one_and_check_survivors("diloco", {"--H", "2"}, 16, /*expect_retry=*/false);
}

}  // namespace
}  // namespace loco::testing
