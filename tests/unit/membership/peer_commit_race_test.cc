// Regression test for the commit-vote race in PeerClient: an OP_COMMIT that has arrived must count
// even when the next EPOCH arrives before the voting thread looks for it. The coordinator sends
// OP_COMMIT to every member in the same step, so if another member then leaves, the new EPOCH can
// reach this peer right behind the OP_COMMIT; had the peer dropped the commit on the epoch change,
// it would report ABORTED for an operation every other member committed (mixed results across
// survivors). Deterministic: PeerOptions::test_after_op_done holds the voter between its OP_DONE
// and its look at the commits until both frames have been processed.
// In-process: a real Coordinator and two PeerClients over TCP loopback.
#include <gtest/gtest.h>

#include <memory>

#include "membership/coordinator.h"
#include "membership/peer.h"

namespace loco::membership {
namespace {

constexpr auto kWait = std::chrono::seconds(10);

struct Swarm {
  std::unique_ptr<Coordinator> coord;
  std::unique_ptr<PeerClient> a, b;
};

// Starts a coordinator and peers a and b (a with `hook`); waits until both see the 2-peer epoch.
void start_swarm(Swarm& s, std::function<void(const wire::OpId&)> hook) {
  CoordinatorOptions co;
  co.config.heartbeat_period = std::chrono::milliseconds(100);
  co.config.heartbeat_timeout = std::chrono::milliseconds(3000);
  co.config.join_window = std::chrono::milliseconds(20);
  auto coord = Coordinator::start(co);
  ASSERT_TRUE(coord.ok()) << coord.status().to_string();
  s.coord = std::move(coord).value();
  PeerOptions po;
  po.coordinator_port = s.coord->port();
  po.name = "b";
  auto b = PeerClient::join(po);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  s.b = std::move(b).value();
  po.name = "a";
  po.test_after_op_done = std::move(hook);
  auto a = PeerClient::join(po);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  s.a = std::move(a).value();
  auto both = [](const MembershipView& v) { return v.world_size() == 2; };
  ASSERT_TRUE(s.a->wait_for(both, Deadline::after(kWait)).ok());
  ASSERT_TRUE(s.b->wait_for(both, Deadline::after(kWait)).ok());
  ASSERT_EQ(s.a->view().epoch, s.b->view().epoch);
}

TEST(PeerCommitRace, CommitKeptWhenTheNextEpochArrivesBeforeTheVoterLooks) {
  Swarm s;
  bool hook_ran = false;
  Status b_vote = Internal("not run");
  uint64_t epoch_in_hook = 0;
  start_swarm(s, [&](const wire::OpId& op) {
    hook_ran = true;
    // a's OP_DONE is out. b completes the vote: the coordinator now sends OP_COMMIT to both.
    b_vote = s.b->vote(op, Deadline::after(kWait));
    // b leaves: the coordinator's next frame to a is EPOCH op.epoch + 1, behind the OP_COMMIT.
    s.b->leave("test: leave right after the commit");
    auto next = s.a->wait_for_epoch_after(op.epoch, Deadline::after(kWait));
    if (next.ok()) epoch_in_hook = next->epoch;
  });
  ASSERT_TRUE(s.a && s.b);
  const wire::OpId op{s.a->view().epoch, /*tag=*/7, /*seq=*/0};
  const Status a_vote = s.a->vote(op, Deadline::after(kWait));
  ASSERT_TRUE(hook_ran);
  ASSERT_TRUE(b_vote.ok()) << b_vote.to_string();
  ASSERT_GT(epoch_in_hook, op.epoch) << "the next epoch did not arrive while the voter was held";
  // Both members voted and b committed: a must commit too, although its epoch has moved on.
  EXPECT_TRUE(a_vote.ok()) << a_vote.to_string();
  EXPECT_GT(s.a->view().epoch, op.epoch);
  s.a->leave("done");
  s.coord->stop();
}

TEST(PeerCommitRace, VoteAbortsWhenTheEpochChangesWithoutACommit) {
  // The counterpart: b leaves without voting, so no OP_COMMIT exists and a's vote must be ABORTED
  // (not OK, not a deadline): keeping commits across an epoch change must not invent one.
  Swarm s;
  uint64_t epoch_in_hook = 0;
  start_swarm(s, [&](const wire::OpId& op) {
    s.b->leave("test: leave before voting");
    auto next = s.a->wait_for_epoch_after(op.epoch, Deadline::after(kWait));
    if (next.ok()) epoch_in_hook = next->epoch;
  });
  ASSERT_TRUE(s.a && s.b);
  const wire::OpId op{s.a->view().epoch, /*tag=*/7, /*seq=*/0};
  const Status a_vote = s.a->vote(op, Deadline::after(kWait));
  ASSERT_GT(epoch_in_hook, op.epoch);
  EXPECT_EQ(a_vote.code(), StatusCode::kAborted) << a_vote.to_string();
  s.a->leave("done");
  s.coord->stop();
}

}  // namespace
}  // namespace loco::membership
