// Fault tests of collectives with real processes: `loco worker`s run verified all-reduces while a
// peer is SIGKILLed mid-operation (at a random point, and deterministically during the
// reduce-scatter and during the all-gather phase), SIGSTOPped mid-operation, killed between
// operations, or a new peer joins mid-operation. Survivors must fail the interrupted operation with a retryable status
// within a time bound, with their buffer untouched, then succeed (verified) with the new world.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <set>

#include "support/swarm_harness.h"

namespace loco::testing {
namespace {

constexpr size_t kCount = 4 << 20;  // 16 MiB of fp32: long enough to be interrupted
constexpr int kHeartbeatMs = 100;
constexpr int kTimeoutMs = 1000;

// Waits until peer i has logged a "start" of iteration `iter`.
bool wait_started(const SwarmHarness& s, size_t i, int iter, Deadline d) {
  while (!d.expired()) {
    for (auto& j : s.reports(i)) {
      if (j["event"] == "start" && j["iter"] == iter) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

struct Outcome {
  int failures = 0;             // failed attempts
  double max_fail_ms = 0;       // slowest failure
  bool all_untouched = true;
  bool all_verified = true;
  std::set<int> worlds;         // world sizes of successful ops
  bool finished = false;
  std::set<std::string> statuses;
};

Outcome summarize(const SwarmHarness& s, size_t i) {
  Outcome o;
  for (auto& j : s.reports(i)) {
    if (j["event"] == "finished") o.finished = true;
    if (j["event"] != "done") continue;
    std::string st = j["status"];
    if (st == "OK") {
      o.worlds.insert(j["world"].get<int>());
      o.all_verified &= j["verified"].get<bool>();
    } else {
      ++o.failures;
      o.statuses.insert(st);
      o.max_fail_ms = std::max(o.max_fail_ms, j["ms"].get<double>());
      o.all_untouched &= j["untouched"].get<bool>();
    }
  }
  return o;
}

void wait_finished(SwarmHarness& s, const std::vector<size_t>& who) {
  for (size_t i : who) {
    auto exit = s.peer(i).proc.wait(Deadline::after(std::chrono::seconds(60)));
    ASSERT_TRUE(exit.ok()) << s.peer(i).name << " did not finish; log:\n"
                           << slurp(s.dir().file(s.peer(i).name + ".log"));
    EXPECT_TRUE(exit->exited && exit->code == 0)
        << s.peer(i).name << ": " << exit->to_string() << "\n"
        << slurp(s.dir().file(s.peer(i).name + ".log"));
  }
}

void expect_survivor(const SwarmHarness& s, size_t i, int final_world) {
  Outcome o = summarize(s, i);
  SCOPED_TRACE(s.peer(i).name);
  EXPECT_TRUE(o.finished);
  EXPECT_TRUE(o.all_verified);
  EXPECT_TRUE(o.all_untouched) << "a failed operation modified the caller's buffer";
  EXPECT_TRUE(o.worlds.count(final_world)) << "no verified operation with the new world size";
  for (const auto& st : o.statuses) {
    EXPECT_TRUE(st == "ABORTED" || st == "UNAVAILABLE" || st == "DEADLINE_EXCEEDED") << st;
  }
  // Failing fast: bounded by detection (2x heartbeat timeout) plus slack for a loaded machine.
  EXPECT_LE(o.max_fail_ms, 2 * kTimeoutMs + 2000);
  std::cout << "[ measure ] " << s.peer(i).name << ": " << o.failures
            << " failed attempt(s), slowest failure " << o.max_fail_ms << " ms\n";
}

TEST(CollectiveFault, SigkillMidOperation) {
  SwarmHarness s(kHeartbeatMs, kTimeoutMs);
  ASSERT_NE(s.port(), 0);
  for (int i = 0; i < 4; ++i) s.add_worker("w" + std::to_string(i), 4, kCount, 6, 20);
  ASSERT_TRUE(wait_started(s, 1, 2, Deadline::after(std::chrono::seconds(60))));
  std::this_thread::sleep_for(std::chrono::milliseconds(15));  // into the operation
  ASSERT_TRUE(s.peer(1).proc.signal(SIGKILL).ok());
  wait_finished(s, {0, 2, 3});
  for (size_t i : {0, 2, 3}) expect_survivor(s, i, 3);
  EXPECT_GE(summarize(s, 0).failures + summarize(s, 2).failures + summarize(s, 3).failures, 1)
      << "the kill did not interrupt any operation";
}

// Sets an environment variable for the processes spawned while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// Four workers; the one with ring rank 1 SIGKILLs itself in `phase` of operation 2 (the worker's
// LOCO_TEST_KILL_AT hook, at the middle step of that phase). Every survivor must fail operation 2
// with a retryable status within the bound, its buffer untouched, then succeed with 3 peers.
void kill_in_phase(const std::string& phase) {
  constexpr int kVictimRank = 1, kOp = 2, kOps = 5;
  ScopedEnv env("LOCO_TEST_KILL_AT", std::to_string(kVictimRank) + ":" + std::to_string(kOp) + ":" + phase);
  SwarmHarness s(kHeartbeatMs, kTimeoutMs);
  ASSERT_NE(s.port(), 0);
  for (int i = 0; i < 4; ++i) s.add_worker("w" + std::to_string(i), 4, kCount, kOps, 20);
  std::vector<size_t> victims, survivors;
  for (size_t i = 0; i < 4; ++i) {
    auto exit = s.peer(i).proc.wait(Deadline::after(std::chrono::seconds(90)));
    ASSERT_TRUE(exit.ok()) << s.peer(i).name << " did not finish; log:\n"
                           << slurp(s.dir().file(s.peer(i).name + ".log"));
    if (!exit->exited) {
      EXPECT_EQ(exit->signal, SIGKILL) << s.peer(i).name << ": " << exit->to_string();
      victims.push_back(i);
    } else {
      EXPECT_EQ(exit->code, 0) << s.peer(i).name << ": " << exit->to_string() << "\n"
                               << slurp(s.dir().file(s.peer(i).name + ".log"));
      survivors.push_back(i);
    }
  }
  ASSERT_EQ(victims.size(), 1u) << "exactly one worker should have killed itself";
  // The victim says where it died: operation kOp, rank kVictimRank, a step of the chosen phase.
  nlohmann::json kill;
  for (auto& j : s.reports(victims[0])) {
    if (j["event"] == "self_kill") kill = j;
  }
  ASSERT_FALSE(kill.is_null()) << "the victim logged no self_kill line";
  EXPECT_EQ(kill["iter"], kOp);
  EXPECT_EQ(kill["rank"], kVictimRank);
  EXPECT_EQ(kill["phase"], phase);
  const int rs_steps = 4 - 1;
  const int step = kill["step"].get<int>();
  if (phase == "reduce-scatter") {
    EXPECT_LT(step, rs_steps);
  } else {
    EXPECT_GE(step, rs_steps);
  }
  std::cout << "[ measure ] victim " << s.peer(victims[0]).name << " died in " << phase << " step "
            << step << " of " << kill["steps"] << "\n";
  for (size_t i : survivors) {
    expect_survivor(s, i, 3);
    // Operation kOp's first attempt, in the victim's epoch, failed on every survivor.
    bool failed_first = false, succeeded_first = false;
    for (auto& j : s.reports(i)) {
      if (j["event"] != "done" || j["iter"] != kOp || j["attempt"] != 1) continue;
      failed_first |= j["status"] != "OK" && j["epoch"] == kill["epoch"];
      succeeded_first |= j["status"] == "OK";
    }
    EXPECT_TRUE(failed_first) << s.peer(i).name << ": operation " << kOp << " did not fail";
    EXPECT_FALSE(succeeded_first) << s.peer(i).name << " committed the interrupted operation";
  }
}

TEST(CollectiveFault, SigkillDuringReduceScatter) { kill_in_phase("reduce-scatter"); }

TEST(CollectiveFault, SigkillDuringAllGather) { kill_in_phase("all-gather"); }

TEST(CollectiveFault, SigstopMidOperation) {
  SwarmHarness s(kHeartbeatMs, kTimeoutMs);
  ASSERT_NE(s.port(), 0);
  for (int i = 0; i < 4; ++i) s.add_worker("w" + std::to_string(i), 4, kCount, 6, 20);
  ASSERT_TRUE(wait_started(s, 2, 2, Deadline::after(std::chrono::seconds(60))));
  std::this_thread::sleep_for(std::chrono::milliseconds(15));
  ASSERT_TRUE(s.peer(2).proc.signal(SIGSTOP).ok());
  wait_finished(s, {0, 1, 3});
  for (size_t i : {0, 1, 3}) expect_survivor(s, i, 3);
  s.peer(2).proc.signal(SIGCONT).ignore();
}

TEST(CollectiveFault, SigkillBetweenOperations) {
  SwarmHarness s(kHeartbeatMs, kTimeoutMs);
  ASSERT_NE(s.port(), 0);
  for (int i = 0; i < 3; ++i) s.add_worker("w" + std::to_string(i), 3, 1 << 16, 8, 300);
  // Kill right after w0 logs the end of op 2, while everyone pauses 300 ms between ops.
  Deadline d = Deadline::after(std::chrono::seconds(60));
  bool done2 = false;
  while (!done2 && !d.expired()) {
    for (auto& j : s.reports(0)) done2 |= j["event"] == "done" && j["iter"] == 2 && j["status"] == "OK";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(done2);
  ASSERT_TRUE(s.peer(2).proc.signal(SIGKILL).ok());
  wait_finished(s, {0, 1});
  for (size_t i : {0, 1}) expect_survivor(s, i, 2);
}

TEST(CollectiveFault, PeerJoinsWhileOperationsRun) {
  SwarmHarness s(kHeartbeatMs, kTimeoutMs);
  ASSERT_NE(s.port(), 0);
  for (int i = 0; i < 3; ++i) s.add_worker("w" + std::to_string(i), 3, kCount, 10, 20);
  ASSERT_TRUE(wait_started(s, 0, 3, Deadline::after(std::chrono::seconds(60))));
  s.add_worker("late", 1, kCount, 4, 20);
  wait_finished(s, {0, 1, 2, 3});
  for (size_t i : {0, 1, 2}) expect_survivor(s, i, 4);
  Outcome late = summarize(s, 3);
  EXPECT_TRUE(late.finished);
  EXPECT_TRUE(late.all_verified);
  EXPECT_TRUE(late.worlds.count(4));
}

}  // namespace
}  // namespace loco::testing
