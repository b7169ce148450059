// Integration: a coordinator and 4 peers as real processes on loopback (port 0) agree on the epoch
// and ring; a graceful leave makes a new epoch without the leaver.
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/stat.h>

#include <set>

#include "support/swarm_harness.h"

namespace loco::testing {
namespace {

TEST(MembershipIntegration, FourPeersSeeTheSameEpochAndRing) {
  SwarmHarness swarm;
  ASSERT_NE(swarm.port(), 0) << swarm.coordinator_log();
  for (int i = 0; i < 4; ++i) swarm.add_peer("p" + std::to_string(i));
  auto agreed = swarm.wait_agreement({0, 1, 2, 3}, 4, Deadline::after(std::chrono::seconds(20)));
  ASSERT_FALSE(agreed.is_null()) << swarm.coordinator_log();
  EXPECT_GE(agreed["epoch"].get<uint64_t>(), 1u);
  // Every peer is in the ring exactly once, and each sees itself at a distinct rank.
  std::set<uint64_t> ids;
  for (auto& id : agreed["ring"]) ids.insert(id.get<uint64_t>());
  EXPECT_EQ(ids.size(), 4u);
  std::set<int> ranks;
  for (size_t i = 0; i < 4; ++i) {
    auto r = swarm.last_report(i);
    ASSERT_EQ(r["epoch"], agreed["epoch"]);
    int rank = r["rank"].get<int>();
    ASSERT_GE(rank, 0);
    EXPECT_EQ(agreed["ring"][static_cast<size_t>(rank)], r["peer_id"]);
    ranks.insert(rank);
  }
  EXPECT_EQ(ranks.size(), 4u);
}

TEST(MembershipIntegration, GracefulLeaveMakesANewEpoch) {
  SwarmHarness swarm;
  ASSERT_NE(swarm.port(), 0);
  for (int i = 0; i < 3; ++i) swarm.add_peer("p" + std::to_string(i));
  auto before = swarm.wait_agreement({0, 1, 2}, 3, Deadline::after(std::chrono::seconds(20)));
  ASSERT_FALSE(before.is_null()) << swarm.coordinator_log();
  ASSERT_TRUE(swarm.peer(2).proc.signal(SIGTERM).ok());
  auto exit = swarm.peer(2).proc.wait(Deadline::after(std::chrono::seconds(10)));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->code, 0);
  auto after = swarm.wait_agreement({0, 1}, 2, Deadline::after(std::chrono::seconds(10)));
  ASSERT_FALSE(after.is_null()) << swarm.coordinator_log();
  EXPECT_GT(after["epoch"].get<uint64_t>(), before["epoch"].get<uint64_t>());
  auto leaver = swarm.last_report(2)["peer_id"];
  for (auto& id : after["ring"]) EXPECT_NE(id, leaver);
}

// `loco secret new` writes a private generated secret that a coordinator and peers then use; it
// does not overwrite an existing file; a peer whose secret file others may read is refused.
TEST(MembershipIntegration, GeneratedSecretFileAdmitsPeers) {
  TempDir dir;
  const std::string secret = dir.file("swarm.secret");
  auto run = [&](std::vector<std::string> argv, const std::string& log) {
    auto p = ChildProcess::spawn(argv, dir.file(log));
    EXPECT_TRUE(p.ok());
    if (!p.ok()) return -1;
    auto e = p->wait(Deadline::after(std::chrono::seconds(20)));
    return e.ok() && e->exited ? e->code : -1;
  };
  ASSERT_EQ(run({loco_bin(), "secret", "new", secret}, "new.log"), 0) << slurp(dir.file("new.log"));
  struct stat st {};
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string first = slurp(secret);
  EXPECT_EQ(run({loco_bin(), "secret", "new", secret}, "again.log"), 1);
  EXPECT_NE(slurp(dir.file("again.log")).find("--force"), std::string::npos);
  EXPECT_EQ(slurp(secret), first) << "an existing secret must not be overwritten";

  SwarmHarness swarm(100, 1000, secret);
  ASSERT_NE(swarm.port(), 0) << swarm.coordinator_log();
  for (int i = 0; i < 2; ++i) swarm.add_peer("p" + std::to_string(i), {"--secret-file", secret});
  auto agreed = swarm.wait_agreement({0, 1}, 2, Deadline::after(std::chrono::seconds(20)));
  ASSERT_FALSE(agreed.is_null()) << swarm.coordinator_log();

  const std::string copy = dir.file("world.secret");
  { std::ofstream(copy) << first; }
  ASSERT_EQ(::chmod(copy.c_str(), 0644), 0);
  EXPECT_NE(run({loco_bin(), "peer", "--coordinator", "127.0.0.1:" + std::to_string(swarm.port()),
                 "--secret-file", copy, "--report", dir.file("x.jsonl")},
                "refused.log"),
            0);
  EXPECT_NE(slurp(dir.file("refused.log")).find("chmod 600"), std::string::npos)
      << slurp(dir.file("refused.log"));
}

}  // namespace
}  // namespace loco::testing
