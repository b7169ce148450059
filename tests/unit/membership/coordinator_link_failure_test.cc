// Data-plane failure reports (LinkFailedReceived): the ring is re-formed in a new epoch with the
// same members after the grace period, unless another change makes a new epoch first.
#include <gtest/gtest.h>

#include "membership/coordinator_state.h"
#include "coordinator_test_util.h"

namespace loco::membership::testing {
namespace {

TEST(CoordinatorLinkFailure, ReformsTheSameRingAfterTheGrace) {
  CoordinatorState s(test_config());  // grace defaults to the heartbeat timeout (3000 ms)
  admit(s, {1, 2, 3}, 0);
  ASSERT_EQ(s.epoch(), 1u);
  const auto ring = peer_ids(s.members());
  for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 1, 1}, t(1000));
  EXPECT_TRUE(s.handle(LinkFailedReceived{2, 1}, t(1000)).empty());
  s.handle(LinkFailedReceived{3, 1}, t(1500));  // a second report does not restart the grace
  for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 2, 1}, t(3500));
  EXPECT_TRUE(s.handle(Tick{}, t(3999)).empty());
  EXPECT_EQ(s.epoch(), 1u);
  auto actions = s.handle(Tick{}, t(4000));
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(peer_ids(s.members()), ring);
  ASSERT_EQ(actions.size(), 3u);  // one SendEpoch per member, nothing closed
  for (const auto& a : actions) EXPECT_TRUE(std::holds_alternative<SendEpoch>(a));
  EXPECT_TRUE(s.history().back().reformed);
  // The request is consumed: no further epochs.
  for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 3, 2}, t(6000));
  EXPECT_TRUE(s.handle(Tick{}, t(6500)).empty());
  EXPECT_EQ(s.epoch(), 2u);
}

TEST(CoordinatorLinkFailure, ReportsForAnOldEpochOrFromNonMembersAreIgnored) {
  CoordinatorState s(test_config());
  admit(s, {1, 2}, 0);
  s.handle(join_event(9), t(100));                // pending, not a member
  s.handle(LinkFailedReceived{9, 1}, t(100));
  s.handle(LinkFailedReceived{1, 0}, t(100));     // an old epoch
  s.handle(LinkFailedReceived{42, 1}, t(100));    // an unknown connection
  auto joined = s.handle(Tick{}, t(400));         // the join window makes epoch 2
  ASSERT_EQ(s.epoch(), 2u);
  EXPECT_FALSE(s.history().back().reformed);
  for (ConnId c : {1, 2, 9}) s.handle(HeartbeatReceived{c, 1, 2}, t(3000));
  EXPECT_TRUE(s.handle(Tick{}, t(3200)).empty());
  EXPECT_EQ(s.epoch(), 2u);
}

TEST(CoordinatorLinkFailure, ADeathWithinTheGraceMakesTheOnlyNewEpoch) {
  CoordinatorState s(test_config());
  admit(s, {1, 2, 3}, 0);
  s.handle(LinkFailedReceived{1, 1}, t(500));
  s.handle(Disconnected{3, Unavailable("gone")}, t(600));  // the actual cause
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_FALSE(s.history().back().reformed);
  for (ConnId c : {1, 2}) s.handle(HeartbeatReceived{c, 1, 2}, t(3000));
  EXPECT_TRUE(s.handle(Tick{}, t(3600)).empty()) << "the old report must not re-form epoch 2";
  EXPECT_EQ(s.epoch(), 2u);
}

TEST(CoordinatorLinkFailure, ConfiguredGraceIsHonoured) {
  CoordinatorConfig config = test_config();
  config.link_failure_grace = std::chrono::milliseconds(250);
  CoordinatorState s(config);
  admit(s, {1, 2}, 0);
  s.handle(LinkFailedReceived{2, 1}, t(1000));
  EXPECT_TRUE(s.handle(Tick{}, t(1249)).empty());
  s.handle(Tick{}, t(1250));
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_TRUE(s.history().back().reformed);
}

// A member whose data plane hangs while its heartbeats go on: its neighbours report LinkFailed,
// it never does. It is re-formed with at most max_suspect_reforms - 1 times, then evicted with the
// reason, and the survivors form an epoch without it.
TEST(CoordinatorLinkFailure, AMemberThatStallsEveryReformIsEvicted) {
  CoordinatorConfig config = test_config();
  config.max_suspect_reforms = 3;
  CoordinatorState s(config);
  admit(s, {1, 2, 3}, 0);
  int64_t now = 0;
  for (int reform = 1; reform <= 3; ++reform) {
    const uint64_t epoch = s.epoch();
    now += 1000;
    for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 1, epoch}, t(now));
    s.handle(LinkFailedReceived{1, epoch}, t(now));
    s.handle(LinkFailedReceived{3, epoch}, t(now));  // conn 2 reports nothing
    now += 3000;
    for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 2, epoch}, t(now));
    auto actions = s.handle(Tick{}, t(now));
    ASSERT_EQ(s.epoch(), epoch + 1);
    if (reform < 3) {
      EXPECT_TRUE(s.history().back().reformed);
      EXPECT_TRUE(only<CloseConnection>(actions).empty());
      EXPECT_EQ(s.members().size(), 3u);
    } else {
      EXPECT_FALSE(s.history().back().reformed);
      auto closes = only<CloseConnection>(actions);
      ASSERT_EQ(closes.size(), 1u);
      EXPECT_EQ(closes[0].conn, 2u);
      EXPECT_EQ(closes[0].reason.code(), StatusCode::kDeadlineExceeded);
      EXPECT_NE(closes[0].reason.message().find("re-formed epochs"), std::string::npos)
          << closes[0].reason.message();
      EXPECT_EQ(s.members().size(), 2u);
    }
  }
}

// A commit in between is progress: the count starts again.
TEST(CoordinatorLinkFailure, ACommitResetsTheStallCount) {
  CoordinatorConfig config = test_config();
  config.max_suspect_reforms = 2;
  CoordinatorState s(config);
  admit(s, {1, 2, 3}, 0);
  int64_t now = 0;
  auto reform = [&] {
    const uint64_t epoch = s.epoch();
    now += 1000;
    for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 1, epoch}, t(now));
    s.handle(LinkFailedReceived{1, epoch}, t(now));
    now += 3000;
    for (ConnId c : {1, 2, 3}) s.handle(HeartbeatReceived{c, 2, epoch}, t(now));
    return s.handle(Tick{}, t(now));
  };
  EXPECT_TRUE(only<CloseConnection>(reform()).empty());
  const wire::OpId op{s.epoch(), 0, 0};
  for (ConnId c : {1, 2, 3}) s.handle(OpDoneReceived{c, op}, t(now));  // committed
  EXPECT_TRUE(only<CloseConnection>(reform()).empty()) << "the commit reset the count";
  EXPECT_EQ(only<CloseConnection>(reform()).size(), 2u) << "then two stalled re-forms evict";
}

// When every member reports, nobody is a suspect: a link that breaks on its own is re-formed.
TEST(CoordinatorLinkFailure, NobodyIsEvictedWhenEveryoneReports) {
  CoordinatorConfig config = test_config();
  config.max_suspect_reforms = 1;
  CoordinatorState s(config);
  admit(s, {1, 2}, 0);
  const uint64_t epoch = s.epoch();
  for (ConnId c : {1, 2}) s.handle(LinkFailedReceived{c, epoch}, t(1000));
  for (ConnId c : {1, 2}) s.handle(HeartbeatReceived{c, 1, epoch}, t(4000));
  auto actions = s.handle(Tick{}, t(4000));
  EXPECT_TRUE(only<CloseConnection>(actions).empty());
  EXPECT_TRUE(s.history().back().reformed);
  EXPECT_EQ(s.members().size(), 2u);
}

}  // namespace
}  // namespace loco::membership::testing
