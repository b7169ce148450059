// state_fault_test.cc: shared-state sync under faults, with real processes: a donor SIGKILLed
// mid-transfer (the receiver finishes from the others), a receiver SIGKILLed mid-transfer (the
// round completes for the rest), a donor serving chunks that do not match their hash (detected,
// discarded, reported, evicted), and a peer joining while a transfer is running. Donors' sending
// rate is capped (--serve-rate-mbps) so that a transfer lasts long enough to be interrupted.
#include <gtest/gtest.h>

#include <csignal>

#include "integration/state_harness.h"

namespace loco::testing {
namespace {

// 16 MiB in 32 chunks; each donor sends at most 4 MB/s: a joiner takes a few seconds.
std::vector<std::string> donor_args(int world, std::vector<std::string> extra = {}) {
  std::vector<std::string> v = {"--mib", "16", "--chunk-kib", "512", "--steps", "3",
                                "--world", std::to_string(world), "--serve-rate-mbps", "4",
                                "--step-delay-ms", "200"};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

std::vector<std::string> joiner_args() {
  return {"--mib", "16", "--chunk-kib", "512", "--steps", "3", "--join", "--step-delay-ms", "200"};
}

TEST(StateFault, DonorKilledMidTransferReceiverFinishesFromTheOthers) {
  StateSwarm s;
  ASSERT_NE(s.swarm().port(), 0);
  const size_t d0 = s.add("d0", donor_args(4));
  const size_t d1 = s.add("d1", donor_args(4));
  const size_t d2 = s.add("d2", donor_args(4));
  const size_t j = s.add("joiner", joiner_args());
  ASSERT_TRUE(s.wait_coordinator_log("fetches 32 chunks", 60)) << s.swarm().coordinator_log();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(s.proc(d0).signal(SIGKILL).ok());
  EXPECT_EQ(s.wait_exit(j, 120), 0) << s.log(j);
  EXPECT_EQ(s.wait_exit(d1, 60), 0) << s.log(d1);
  EXPECT_EQ(s.wait_exit(d2, 60), 0) << s.log(d2);
  auto js = s.syncs(j);
  ASSERT_FALSE(js.empty()) << s.log(j);
  EXPECT_EQ(js.front()["chunks_fetched"], 32);
  EXPECT_EQ(js.front()["failed_donors"].size(), 1u) << js.front().dump();
  EXPECT_GE(s.expect_parity({d1, d2, j}), 9u);
}

TEST(StateFault, ReceiverKilledMidTransferOthersCompleteTheRound) {
  StateSwarm s;
  ASSERT_NE(s.swarm().port(), 0);
  const size_t d0 = s.add("d0", donor_args(3));
  const size_t d1 = s.add("d1", donor_args(3));
  const size_t j = s.add("joiner", joiner_args());
  ASSERT_TRUE(s.wait_coordinator_log("fetches 32 chunks", 60)) << s.swarm().coordinator_log();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const TimePoint killed = now();
  ASSERT_TRUE(s.proc(j).signal(SIGKILL).ok());
  EXPECT_EQ(s.wait_exit(d0, 60), 0) << s.log(d0);
  EXPECT_EQ(s.wait_exit(d1, 60), 0) << s.log(d1);
  // The donors' first sync ended once the dead receiver was no longer waited for.
  EXPECT_LT(std::chrono::duration<double>(now() - killed).count(), 30.0);
  auto r0 = s.syncs(d0);
  ASSERT_EQ(r0.size(), 3u);
  EXPECT_EQ(s.expect_parity({d0, d1}), 6u);
}

TEST(StateFault, CorruptDonorIsDetectedDiscardedReportedAndEvicted) {
  StateSwarm s;
  ASSERT_NE(s.swarm().port(), 0);
  const size_t d0 = s.add("d0", donor_args(4));
  const size_t bad = s.add("bad", donor_args(4, {"--serve-corrupt"}));
  const size_t d2 = s.add("d2", donor_args(4));
  const size_t j = s.add("joiner", joiner_args());
  EXPECT_EQ(s.wait_exit(j, 120), 0) << s.log(j);
  EXPECT_EQ(s.wait_exit(d0, 60), 0) << s.log(d0);
  EXPECT_EQ(s.wait_exit(d2, 60), 0) << s.log(d2);
  // The bad donor is evicted: its sync fails and it exits with an error.
  EXPECT_NE(s.wait_exit(bad, 60), 0) << s.log(bad);
  auto js = s.syncs(j);
  ASSERT_FALSE(js.empty());
  EXPECT_EQ(js.front()["bad_donors"].size(), 1u) << js.front().dump();
  EXPECT_NE(s.swarm().coordinator_log().find("served chunks not matching their hash"),
            std::string::npos);
  EXPECT_NE(s.log(j).find("not matching its hash"), std::string::npos);
  EXPECT_GE(s.expect_parity({d0, d2, j}), 9u);
}

TEST(StateFault, JoinDuringATransferGetsTheNextRound) {
  StateSwarm s;
  ASSERT_NE(s.swarm().port(), 0);
  const size_t d0 = s.add("d0", donor_args(3));
  const size_t d1 = s.add("d1", donor_args(3));
  const size_t j1 = s.add("j1", joiner_args());
  ASSERT_TRUE(s.wait_coordinator_log("fetches 32 chunks", 60)) << s.swarm().coordinator_log();
  const size_t j2 = s.add("j2", joiner_args());  // joins while j1 is fetching
  for (size_t i : {d0, d1, j1, j2}) EXPECT_EQ(s.wait_exit(i, 180), 0) << s.log(i);
  auto first1 = s.syncs(j1).front();
  auto first2 = s.syncs(j2).front();
  EXPECT_EQ(first1["chunks_fetched"], 32);
  EXPECT_EQ(first2["chunks_fetched"], 32);
  EXPECT_GT(first2["round"].get<uint64_t>(), first1["round"].get<uint64_t>());
  EXPECT_GE(s.expect_parity({d0, d1, j1, j2}), 3u + 3 + 3 + 1);
}

}  // namespace
}  // namespace loco::testing
