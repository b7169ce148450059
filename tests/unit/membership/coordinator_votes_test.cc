// coordinator_votes_test.cc: CoordinatorState's commit votes (OpDone -> OpCommit): commit only when
// every member of the current epoch voted, duplicates harmless, stale epochs and non-members
// ignored, a new epoch drops open votes, and the number of open votes is bounded.
#include <gtest/gtest.h>

#include "membership/coordinator_state.h"
#include "unit/membership/coordinator_test_util.h"

namespace loco::membership {
namespace {

using testing::admit;
using testing::join_event;
using testing::only;
using testing::t;
using testing::test_config;

std::vector<ConnId> commit_targets(const std::vector<Action>& actions, const wire::OpId& op) {
  std::vector<ConnId> out;
  for (const SendOpCommit& c : only<SendOpCommit>(actions)) {
    EXPECT_EQ(c.op, op);
    out.push_back(c.conn);
  }
  return out;
}

class CoordinatorVotes : public ::testing::Test {
 protected:
  CoordinatorVotes() : s_(test_config()) { admit(s_, {3, 1, 2}, 0); }
  std::vector<Action> vote(ConnId conn, const wire::OpId& op) {
    return s_.handle(OpDoneReceived{conn, op}, t(300));
  }
  CoordinatorState s_;
};

TEST_F(CoordinatorVotes, CommitOnlyAfterEveryMemberVoted) {
  const wire::OpId op{1, 7, 0};
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(3, op).empty());
  EXPECT_EQ(s_.open_vote_count(), 1u);
  auto actions = vote(2, op);
  ASSERT_EQ(actions.size(), 3u);
  // Sent to every member, in ring order.
  EXPECT_EQ(commit_targets(actions, op), (std::vector<ConnId>{3, 1, 2}));
  EXPECT_EQ(s_.open_vote_count(), 0u);
}

TEST_F(CoordinatorVotes, DuplicateVotesAreHarmless) {
  const wire::OpId op{1, 0, 5};
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(2, op).empty());
  EXPECT_TRUE(vote(2, op).empty());
  EXPECT_EQ(s_.open_vote_count(), 1u);
  EXPECT_EQ(commit_targets(vote(3, op), op).size(), 3u);
}

TEST_F(CoordinatorVotes, OperationsAreVotedIndependently) {
  const wire::OpId a{1, 0, 0};
  const wire::OpId b{1, 0, 1};
  const wire::OpId c{1, 1, 0};
  for (ConnId conn : {1, 2}) {
    EXPECT_TRUE(vote(conn, a).empty());
    EXPECT_TRUE(vote(conn, b).empty());
  }
  EXPECT_TRUE(vote(3, c).empty());
  EXPECT_EQ(s_.open_vote_count(), 3u);
  EXPECT_EQ(commit_targets(vote(3, b), b).size(), 3u);
  EXPECT_EQ(s_.open_vote_count(), 2u);
  EXPECT_EQ(commit_targets(vote(3, a), a).size(), 3u);
  EXPECT_EQ(s_.open_vote_count(), 1u);
}

TEST_F(CoordinatorVotes, VotesForAnotherEpochAreIgnored) {
  admit(s_, {4}, 300);  // epoch 2: 3, 1, 2, 4
  ASSERT_EQ(s_.epoch(), 2u);
  for (ConnId conn : {3, 1, 2, 4}) {
    EXPECT_TRUE(vote(conn, wire::OpId{1, 0, 0}).empty());  // old epoch
    EXPECT_TRUE(vote(conn, wire::OpId{3, 0, 0}).empty());  // future epoch
  }
  EXPECT_EQ(s_.open_vote_count(), 0u);
}

TEST_F(CoordinatorVotes, VotesFromNonMembersAreIgnored) {
  s_.handle(join_event(9), t(300));  // pending: not a member of epoch 1
  const wire::OpId op{1, 0, 0};
  EXPECT_TRUE(vote(9, op).empty());
  EXPECT_TRUE(vote(42, op).empty());  // unknown connection
  EXPECT_EQ(s_.open_vote_count(), 0u);
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(2, op).empty());
  // The pending peer neither counts as a voter nor receives the commit.
  EXPECT_EQ(commit_targets(vote(3, op), op), (std::vector<ConnId>{3, 1, 2}));
}

TEST_F(CoordinatorVotes, ANewEpochDropsOpenVotes) {
  const wire::OpId op{1, 0, 0};
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(2, op).empty());
  // Member 3 leaves before voting: the operation of epoch 1 aborts on the peers.
  s_.handle(LeaveRequested{3, ""}, t(300));
  EXPECT_EQ(s_.epoch(), 2u);
  EXPECT_EQ(s_.open_vote_count(), 0u);
  EXPECT_TRUE(vote(1, op).empty());
  // The retry in epoch 2 needs both survivors again.
  const wire::OpId retry{2, 0, 0};
  EXPECT_TRUE(vote(2, retry).empty());
  EXPECT_EQ(commit_targets(vote(1, retry), retry), (std::vector<ConnId>{1, 2}));
}

TEST_F(CoordinatorVotes, DeadVoterStopsTheCommit) {
  const wire::OpId op{1, 0, 0};
  EXPECT_TRUE(vote(1, op).empty());
  EXPECT_TRUE(vote(2, op).empty());
  s_.handle(HeartbeatReceived{1, 1, 1}, t(2900));
  s_.handle(HeartbeatReceived{2, 1, 1}, t(2900));
  auto actions = s_.handle(Tick{}, t(3100));  // conn 3 dies
  EXPECT_TRUE(only<SendOpCommit>(actions).empty());
  EXPECT_TRUE(s_.handle(OpDoneReceived{3, op}, t(3100)).empty());
  EXPECT_EQ(s_.open_vote_count(), 0u);
}

TEST(CoordinatorVotesSingle, ALoneMemberCommitsAtOnce) {
  CoordinatorState s(test_config());
  admit(s, {5}, 0);
  const wire::OpId op{1, 2, 3};
  auto actions = s.handle(OpDoneReceived{5, op}, t(300));
  EXPECT_EQ(commit_targets(actions, op), std::vector<ConnId>{5});
}

// One member opens every vote (it reports first): its own bound drops its oldest first.
TEST_F(CoordinatorVotes, OpenVotesAreBoundedOldestDroppedFirst) {
  constexpr size_t kCap = CoordinatorState::kMaxOpenVotesPerPeer;
  const size_t extra = 10;
  const size_t total = kCap + extra;
  for (size_t i = 0; i < total; ++i) {
    ASSERT_TRUE(vote(1, wire::OpId{1, 0, i}).empty());
    ASSERT_TRUE(vote(2, wire::OpId{1, 0, i}).empty());
  }
  EXPECT_EQ(s_.open_vote_count(), kCap);

  // The newest vote survived: member 3 completes it.
  const wire::OpId newest{1, 0, total - 1};
  EXPECT_EQ(commit_targets(vote(3, newest), newest).size(), 3u);
  // The oldest kept one is still complete but for member 3.
  const wire::OpId kept{1, 0, extra};
  EXPECT_EQ(commit_targets(vote(3, kept), kept).size(), 3u);
  EXPECT_EQ(s_.open_vote_count(), kCap - 2);
  // The oldest were dropped: member 3's vote only opens a fresh one.
  EXPECT_TRUE(vote(3, wire::OpId{1, 0, 0}).empty());
  EXPECT_TRUE(vote(3, wire::OpId{1, 0, extra - 1}).empty());
  EXPECT_EQ(s_.open_vote_count(), kCap);
  // Member 1 is back at its bound after two more; beyond, its own oldest make room. Member 3's
  // two stay.
  for (uint64_t i = 0; i < 10; ++i) EXPECT_TRUE(vote(1, wire::OpId{1, 1, i}).empty());
  EXPECT_EQ(s_.open_vote_count(), kCap + 2);
}

// A member that floods made-up OpDones only pushes out its own: the real votes others opened
// survive and complete.
TEST_F(CoordinatorVotes, OneMembersFloodOfVotesCannotPushOutTheOthers) {
  std::vector<wire::OpId> real;
  for (uint64_t i = 0; i < 100; ++i) {
    real.push_back(wire::OpId{1, 7, i});
    ASSERT_TRUE(vote(1, real.back()).empty());
    ASSERT_TRUE(vote(2, real.back()).empty());
  }
  for (uint64_t i = 0; i < 20000; ++i) ASSERT_TRUE(vote(3, wire::OpId{1, 9, i}).empty());
  EXPECT_LE(s_.open_vote_count(), CoordinatorState::kMaxOpenVotes);
  for (const wire::OpId& op : real) {
    EXPECT_EQ(commit_targets(vote(3, op), op).size(), 3u) << "a real vote was pushed out";
  }
}

}  // namespace
}  // namespace loco::membership
