// Integration: a third `loco-train` peer joins (--join) a 2-peer swarm that is already training.
// It must receive the state through a shared-state sync (a "state_sync" line, RECEIVE_ONLY, that
// fetched bytes, at a step > 0), train from that step (its first "step" line is not step 0), and
// finish with parameters bit-identical to the two founders'; the founders must have synced with it
// (ENFORCE_MAJORITY, world 3). Under DDP and under DiLoCo (H=5). The joiner's start takes a few
// seconds (LibTorch, data): the step counts leave the founders training well after that.
// Also: a late peer without --join is refused and the others go on.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <thread>

#include "integration/train_support.h"

namespace loco::testing {
namespace {

// Waits until peer i has written a "step" line for a step >= `step`.
bool wait_for_step(const TrainSwarm& t, size_t i, int64_t step, Deadline deadline) {
  while (!deadline.expired()) {
    for (auto& s : t.events(i, "step")) {
      if (s["step"].get<int64_t>() >= step) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void join_and_check(const std::string& strategy, const std::vector<std::string>& extra,
                    int64_t steps, int64_t join_after_step, bool joins_after_inner_step) {
  TrainSwarm t(/*heartbeat_ms=*/100, /*timeout_ms=*/2000);
  ASSERT_NE(t.swarm().port(), 0) << t.swarm().coordinator_log();
  std::vector<std::string> args = {"--strategy", strategy, "--steps", std::to_string(steps),
                                   "--eval-every", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  t.start(0, 2, args);
  t.start(1, 2, args);
  ASSERT_TRUE(wait_for_step(t, 0, join_after_step, Deadline::after(std::chrono::seconds(120))))
      << t.log(0);
  std::vector<std::string> joiner_args = args;
  joiner_args.push_back("--join");
  t.start(2, 2, joiner_args);

  for (size_t i = 0; i < 3; ++i) {
    auto exit = t.proc(i).wait(Deadline::after(std::chrono::seconds(300)));
    ASSERT_TRUE(exit.ok()) << "peer " << i << " still running\n" << t.log(i);
    ASSERT_TRUE(exit->exited && exit->code == 0) << "peer " << i << ": " << exit->to_string() << "\n"
                                                 << t.log(i);
  }

  // The joiner received the state before its first step, at a step > 0.
  auto joiner_syncs = t.events(2, "state_sync");
  ASSERT_FALSE(joiner_syncs.empty()) << t.log(2);
  const auto& first = joiner_syncs[0];
  std::cout << strategy << " joiner's first state_sync: " << first.dump() << "\n";
  EXPECT_EQ(first["role"], "receive-only");
  EXPECT_GT(first["bytes_fetched"].get<int64_t>(), 0);
  EXPECT_GT(first["chunks_fetched"].get<int64_t>(), 0);
  EXPECT_EQ(first["world"], 3);
  const int64_t join_step = first["step"].get<int64_t>();
  EXPECT_GE(join_step, join_after_step);
  EXPECT_LT(join_step, steps);
  EXPECT_EQ(first["call"], joins_after_inner_step ? "after_inner_step" : "on_gradients");

  auto joiner_steps = t.events(2, "step");
  ASSERT_FALSE(joiner_steps.empty()) << t.log(2);
  const int64_t first_step = joiner_steps[0]["step"].get<int64_t>();
  EXPECT_GT(first_step, 0);
  EXPECT_EQ(first_step, joins_after_inner_step ? join_step + 1 : join_step);

  // Both founders synced with the joiner at that same point, as voters, and fetched nothing.
  for (size_t i = 0; i < 2; ++i) {
    bool met = false;
    for (auto& s : t.events(i, "state_sync")) {
      EXPECT_EQ(s["role"], "enforce-majority") << s.dump();
      EXPECT_EQ(s["bytes_fetched"].get<int64_t>(), 0) << s.dump();
      if (s["step"] == join_step && s["world"] == 3 && s["call"] == first["call"] &&
          s["revision"] == first["revision"]) {
        met = true;
      }
    }
    EXPECT_TRUE(met) << "founder " << i << " has no state_sync with the joiner\n" << t.log(i);
  }

  // Everyone finishes every step with bit-identical parameters.
  std::vector<std::string> hashes;
  for (size_t i = 0; i < 3; ++i) {
    auto done = t.events(i, "done");
    ASSERT_EQ(done.size(), 1u) << t.log(i);
    EXPECT_EQ(done[0]["step"], steps);
    hashes.push_back(done[0]["params_hash"]);
  }
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(hashes[0], hashes[2]);
  // After the join, every sync in the 3-peer world leaves identical parameters on all three.
  std::map<int64_t, std::string> h[3];
  for (size_t i = 0; i < 3; ++i) {
    for (auto& s : t.events(i, "sync")) {
      if (s["world"] == 3 && s["step"].get<int64_t>() > join_step) h[i][s["step"].get<int64_t>()] = s["params_hash"];
    }
  }
  EXPECT_FALSE(h[2].empty());
  EXPECT_EQ(h[0], h[2]);
  EXPECT_EQ(h[1], h[2]);
}

TEST(TrainJoin, DdpJoinerReceivesStateAndTrains) {
  join_and_check("ddp", {}, 1000, 10, /*joins_after_inner_step=*/false);
}

TEST(TrainJoin, DilocoJoinerReceivesStateAndTrains) {
  join_and_check("diloco", {"--H", "5"}, 2000, 10, /*joins_after_inner_step=*/true);
}

TEST(TrainJoin, JoinWithAParameterAveragingStrategyExitsTwo) {
  // Local SGD and lo-fi average parameters a joiner does not have: refused before joining (the
  // coordinator address is never contacted).
  TempDir dir;
  const std::string text = write_training_text(dir);
  for (const char* strategy : {"local-sgd", "lofi"}) {
    const std::string out = dir.file(std::string("out-") + strategy);
    auto child = ChildProcess::spawn({loco_train_bin(), "train", "--coordinator", "127.0.0.1:9",
                                      "--data", text, "--strategy", strategy, "--join"},
                                     out);
    ASSERT_TRUE(child.ok());
    auto exit = child->wait(Deadline::after(std::chrono::seconds(60)));
    ASSERT_TRUE(exit.ok());
    EXPECT_TRUE(exit->exited && exit->code == 2) << exit->to_string() << ": " << slurp(out);
    EXPECT_NE(slurp(out).find("--join"), std::string::npos) << slurp(out);
  }
}

TEST(TrainJoin, LatePeerWithoutJoinStopsAndTheSwarmGoesOn) {
  // A third peer started without --join after the others passed step 0 holds step-0 state: after
  // the state sync its position differs from the swarm's, so it stops with a clear message; the
  // two others sync again without it and finish identical.
  constexpr int64_t kSteps = 1000;
  TrainSwarm t(/*heartbeat_ms=*/100, /*timeout_ms=*/2000);
  ASSERT_NE(t.swarm().port(), 0) << t.swarm().coordinator_log();
  const std::vector<std::string> args = {"--strategy", "ddp", "--steps", std::to_string(kSteps),
                                         "--eval-every", "0"};
  t.start(0, 2, args);
  t.start(1, 2, args);
  ASSERT_TRUE(wait_for_step(t, 0, 10, Deadline::after(std::chrono::seconds(120)))) << t.log(0);
  t.start(2, 2, args);
  auto late = t.proc(2).wait(Deadline::after(std::chrono::seconds(300)));
  ASSERT_TRUE(late.ok()) << t.log(2);
  EXPECT_TRUE(late->exited && late->code == 1) << late->to_string() << "\n" << t.log(2);
  EXPECT_NE(t.log(2).find("use --join"), std::string::npos) << t.log(2);
  EXPECT_TRUE(t.events(2, "done").empty());
  for (size_t i = 0; i < 2; ++i) {
    auto exit = t.proc(i).wait(Deadline::after(std::chrono::seconds(300)));
    ASSERT_TRUE(exit.ok()) << t.log(i);
    ASSERT_TRUE(exit->exited && exit->code == 0) << exit->to_string() << "\n" << t.log(i);
    auto done = t.events(i, "done");
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0]["step"], kSteps);
  }
  EXPECT_EQ(t.events(0, "done")[0]["params_hash"], t.events(1, "done")[0]["params_hash"]);
}

}  // namespace
}  // namespace loco::testing
