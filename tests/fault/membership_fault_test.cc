// Fault: SIGKILL one peer and SIGSTOP another at the same moment; the survivors must see a new
// epoch without both within 2x the heartbeat timeout; then a fresh peer joins and appears in the
// next epoch on every live peer.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/swarm_harness.h"

namespace loco::testing {
namespace {

bool ring_contains(const nlohmann::json& report, const nlohmann::json& id) {
  for (auto& x : report["ring"]) {
    if (x == id) return true;
  }
  return false;
}

TEST(MembershipFault, KilledAndStoppedPeersAreRemovedWithinTwiceTheTimeout) {
  SwarmHarness swarm(/*heartbeat_ms=*/100, /*timeout_ms=*/1000);
  ASSERT_NE(swarm.port(), 0) << swarm.coordinator_log();
  for (int i = 0; i < 4; ++i) swarm.add_peer("p" + std::to_string(i));
  auto steady = swarm.wait_agreement({0, 1, 2, 3}, 4, Deadline::after(std::chrono::seconds(20)));
  ASSERT_FALSE(steady.is_null()) << swarm.coordinator_log();
  auto killed_id = swarm.last_report(1)["peer_id"];
  auto stopped_id = swarm.last_report(2)["peer_id"];

  const TimePoint fault_at = now();
  ASSERT_TRUE(swarm.peer(1).proc.signal(SIGKILL).ok());
  ASSERT_TRUE(swarm.peer(2).proc.signal(SIGSTOP).ok());
  auto survivors = swarm.wait_agreement({0, 3}, 2, Deadline::after(std::chrono::seconds(10)));
  const auto detect_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now() - fault_at).count();
  ASSERT_FALSE(survivors.is_null()) << swarm.coordinator_log();
  EXPECT_FALSE(ring_contains(survivors, killed_id));
  EXPECT_FALSE(ring_contains(survivors, stopped_id));
  EXPECT_GT(survivors["epoch"].get<uint64_t>(), steady["epoch"].get<uint64_t>());
  EXPECT_LE(detect_ms, 2 * swarm.timeout_ms()) << "detection took " << detect_ms << " ms";
  std::cout << "[ measure ] SIGKILL+SIGSTOP detected after " << detect_ms << " ms (timeout "
            << swarm.timeout_ms() << " ms)\n";

  // A fresh peer joins and appears in the next epoch, on every live peer.
  size_t fresh = swarm.add_peer("fresh");
  auto grown = swarm.wait_agreement({0, 3, fresh}, 3, Deadline::after(std::chrono::seconds(10)));
  ASSERT_FALSE(grown.is_null()) << swarm.coordinator_log();
  EXPECT_EQ(grown["epoch"].get<uint64_t>(), survivors["epoch"].get<uint64_t>() + 1);
  EXPECT_TRUE(ring_contains(grown, swarm.last_report(fresh)["peer_id"]));

  // The stopped peer, once resumed, finds itself expelled and exits with an error (it must not
  // carry on as if it were still a member).
  ASSERT_TRUE(swarm.peer(2).proc.signal(SIGCONT).ok());
  auto exit = swarm.peer(2).proc.wait(Deadline::after(std::chrono::seconds(10)));
  ASSERT_TRUE(exit.ok()) << "a resumed, expelled peer kept running";
  EXPECT_TRUE(exit->exited);
  EXPECT_NE(exit->code, 0);
}

TEST(MembershipFault, CoordinatorDeathIsReportedToPeers) {
  SwarmHarness swarm(/*heartbeat_ms=*/100, /*timeout_ms=*/800);
  ASSERT_NE(swarm.port(), 0);
  swarm.add_peer("a");
  swarm.add_peer("b");
  ASSERT_FALSE(swarm.wait_agreement({0, 1}, 2, Deadline::after(std::chrono::seconds(20))).is_null());
  ASSERT_TRUE(swarm.coordinator().signal(SIGSTOP).ok());  // hung, not closed: only heartbeats tell
  for (size_t i = 0; i < 2; ++i) {
    auto exit = swarm.peer(i).proc.wait(Deadline::after(std::chrono::seconds(5)));
    ASSERT_TRUE(exit.ok()) << "peer did not notice the hung coordinator";
    EXPECT_TRUE(exit->exited);
    EXPECT_EQ(exit->code, 3);
    EXPECT_NE(slurp(swarm.dir().file(swarm.peer(i).name + ".log")).find("UNAVAILABLE"),
              std::string::npos);
  }
  swarm.coordinator().signal(SIGCONT).ignore();
}

}  // namespace
}  // namespace loco::testing
