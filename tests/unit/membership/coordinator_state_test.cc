// coordinator_state_test.cc: scripted scenarios for CoordinatorState's membership rules: join
// batching, heartbeats and timeouts, leave and disconnect, ring order and epoch numbering. No
// sockets and no sleeping: time is passed explicitly. Commit votes are in
// coordinator_votes_test.cc, the randomized invariant check in coordinator_property_test.cc.
#include "membership/coordinator_state.h"

#include <gtest/gtest.h>

#include "unit/membership/coordinator_test_util.h"

namespace loco::membership {
namespace {

using testing::admit;
using testing::conns_of;
using testing::join_event;
using testing::only;
using testing::peer_ids;
using testing::t;
using testing::test_config;

TEST(CoordinatorState, SingleJoinGetsWelcomeThenEpochAfterWindow) {
  CoordinatorState s(test_config());
  auto actions = s.handle(join_event(7), t(1000));
  ASSERT_EQ(actions.size(), 1u);
  auto welcome = std::get<SendWelcome>(actions[0]);
  EXPECT_EQ(welcome.conn, 7u);
  EXPECT_EQ(welcome.peer_id, 1u);
  EXPECT_EQ(s.pending_count(), 1u);

  EXPECT_TRUE(s.handle(Tick{}, t(1100)).empty());
  EXPECT_TRUE(s.handle(Tick{}, t(1199)).empty());
  EXPECT_EQ(s.epoch(), 0u);
  EXPECT_TRUE(s.members().empty());

  actions = s.handle(Tick{}, t(1200));
  ASSERT_EQ(actions.size(), 1u);
  auto epoch = std::get<SendEpoch>(actions[0]);
  EXPECT_EQ(epoch.conn, 7u);
  EXPECT_EQ(epoch.epoch->epoch, 1u);
  ASSERT_EQ(epoch.epoch->members.size(), 1u);
  const wire::Member expected{1, "peer-7", "10.0.0.7", 4007};
  EXPECT_EQ(epoch.epoch->members[0], expected);
  EXPECT_EQ(s.epoch(), 1u);
  EXPECT_EQ(s.members(), epoch.epoch->members);
  EXPECT_EQ(s.pending_count(), 0u);
  ASSERT_EQ(s.history().size(), 1u);
  EXPECT_EQ(s.history()[0].epoch, 1u);
  EXPECT_EQ(s.history()[0].joined, std::vector<uint64_t>{1});

  // Nothing more happens while the member stays alive.
  s.handle(HeartbeatReceived{7, 1, 1}, t(1500));
  EXPECT_TRUE(s.handle(Tick{}, t(1600)).empty());
}

TEST(CoordinatorState, JoinsInsideOneWindowMakeOneEpochInAdmissionOrder) {
  CoordinatorState s(test_config());
  // Connection ids deliberately not in admission order.
  s.handle(join_event(30), t(0));
  s.handle(join_event(10), t(50));
  EXPECT_TRUE(s.handle(Tick{}, t(100)).empty());
  s.handle(join_event(20), t(150));
  EXPECT_TRUE(s.handle(Tick{}, t(199)).empty());

  // The window counts from the oldest pending join.
  auto sends = only<SendEpoch>(s.handle(Tick{}, t(200)));
  EXPECT_EQ(conns_of(sends), (std::vector<ConnId>{30, 10, 20}));
  for (const SendEpoch& e : sends) {
    EXPECT_EQ(e.epoch->epoch, 1u);
    EXPECT_EQ(peer_ids(e.epoch->members), (std::vector<uint64_t>{1, 2, 3}));
  }
  EXPECT_EQ(s.epoch(), 1u);
  EXPECT_EQ(s.history().size(), 1u);
}

TEST(CoordinatorState, JoinsOutsideOneWindowMakeSeparateEpochs) {
  CoordinatorState s(test_config());
  auto first = only<SendEpoch>(admit(s, {1}, 0));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].epoch->epoch, 1u);

  s.handle(HeartbeatReceived{1, 1, 1}, t(300));
  s.handle(join_event(2), t(300));
  EXPECT_TRUE(s.handle(Tick{}, t(499)).empty());
  auto second = only<SendEpoch>(s.handle(Tick{}, t(500)));
  EXPECT_EQ(conns_of(second), (std::vector<ConnId>{1, 2}));
  for (const SendEpoch& e : second) {
    EXPECT_EQ(e.epoch->epoch, 2u);
    EXPECT_EQ(peer_ids(e.epoch->members), (std::vector<uint64_t>{1, 2}));
  }
  ASSERT_EQ(s.history().size(), 2u);
  EXPECT_EQ(s.history()[1].joined, std::vector<uint64_t>{2});
}

TEST(CoordinatorState, HeartbeatAckEchoesSeqAndCarriesCurrentEpoch) {
  CoordinatorState s(test_config());
  s.handle(join_event(4), t(0));
  auto acks = only<SendHeartbeatAck>(s.handle(HeartbeatReceived{4, 11, 0}, t(50)));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].conn, 4u);
  EXPECT_EQ(acks[0].seq, 11u);
  EXPECT_EQ(acks[0].epoch, 0u);  // still pending

  admit(s, {5}, 100);
  // The ack carries the coordinator's epoch, not the one the peer claims to have seen.
  acks = only<SendHeartbeatAck>(s.handle(HeartbeatReceived{4, 12, 0}, t(400)));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 12u);
  EXPECT_EQ(acks[0].epoch, 1u);

  EXPECT_TRUE(s.handle(HeartbeatReceived{99, 1, 1}, t(400)).empty());
}

TEST(CoordinatorState, HeartbeatsKeepAPeerAlivePastTheTimeout) {
  CoordinatorState s(test_config());
  admit(s, {1}, 0);
  for (int64_t ms = 300; ms <= 20000; ms += 100) {
    if (ms % 500 == 0) s.handle(HeartbeatReceived{1, static_cast<uint64_t>(ms), 1}, t(ms));
    ASSERT_TRUE(s.handle(Tick{}, t(ms)).empty()) << "at " << ms << " ms";
  }
  EXPECT_EQ(s.epoch(), 1u);
  EXPECT_EQ(s.members().size(), 1u);
}

TEST(CoordinatorState, MissingHeartbeatsMeanDeadAtFirstTickPastTimeout) {
  CoordinatorState s(test_config());
  admit(s, {1, 2}, 0);  // both last seen at t=0
  s.handle(HeartbeatReceived{2, 1, 1}, t(2500));

  // now - last_seen == timeout is not yet past it.
  EXPECT_TRUE(s.handle(Tick{}, t(2999)).empty());
  EXPECT_TRUE(s.handle(Tick{}, t(3000)).empty());
  EXPECT_EQ(s.epoch(), 1u);

  auto actions = s.handle(Tick{}, t(3001));
  auto closes = only<CloseConnection>(actions);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].conn, 1u);
  EXPECT_EQ(closes[0].reason.code(), StatusCode::kDeadlineExceeded);
  auto sends = only<SendEpoch>(actions);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].conn, 2u);
  EXPECT_EQ(sends[0].epoch->epoch, 2u);
  EXPECT_EQ(peer_ids(sends[0].epoch->members), std::vector<uint64_t>{2});
  EXPECT_EQ(s.history().back().died, std::vector<uint64_t>{1});
  EXPECT_TRUE(s.history().back().left.empty());

  // The dead peer's late heartbeat is ignored.
  EXPECT_TRUE(s.handle(HeartbeatReceived{1, 2, 1}, t(3002)).empty());
}

TEST(CoordinatorState, PendingPeerAlsoTimesOutWithoutAnEpoch) {
  CoordinatorConfig config = test_config();
  config.join_window = std::chrono::milliseconds(10000);  // longer than the timeout
  CoordinatorState s(config);
  s.handle(join_event(1), t(0));
  auto actions = s.handle(Tick{}, t(3001));
  ASSERT_EQ(actions.size(), 1u);
  auto close = std::get<CloseConnection>(actions[0]);
  EXPECT_EQ(close.conn, 1u);
  EXPECT_EQ(close.reason.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.epoch(), 0u);
  EXPECT_EQ(s.pending_count(), 0u);
}

TEST(CoordinatorState, TwoDeathsInOneTickMakeOneEpoch) {
  CoordinatorState s(test_config());
  admit(s, {1, 2, 3}, 0);
  s.handle(HeartbeatReceived{3, 1, 1}, t(2000));
  auto actions = s.handle(Tick{}, t(3500));
  auto closes = only<CloseConnection>(actions);
  ASSERT_EQ(closes.size(), 2u);
  EXPECT_EQ(closes[0].conn, 1u);
  EXPECT_EQ(closes[1].conn, 2u);
  auto sends = only<SendEpoch>(actions);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].conn, 3u);
  EXPECT_EQ(sends[0].epoch->epoch, 2u);
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(s.history().back().died, (std::vector<uint64_t>{1, 2}));
}

TEST(CoordinatorState, JoinerRidesAlongWithADeath) {
  CoordinatorState s(test_config());
  admit(s, {1, 2}, 0);
  s.handle(HeartbeatReceived{2, 1, 1}, t(2900));
  s.handle(join_event(9), t(2990));
  // t=3010: peer 1 is dead; the join window of conn 9 (20 ms old) has not passed.
  auto actions = s.handle(Tick{}, t(3010));
  auto sends = only<SendEpoch>(actions);
  EXPECT_EQ(conns_of(sends), (std::vector<ConnId>{2, 9}));
  for (const SendEpoch& e : sends) {
    EXPECT_EQ(e.epoch->epoch, 2u);
    EXPECT_EQ(peer_ids(e.epoch->members), (std::vector<uint64_t>{2, 3}));
  }
  EXPECT_EQ(s.pending_count(), 0u);
  EXPECT_EQ(s.history().back().joined, std::vector<uint64_t>{3});
  EXPECT_EQ(s.history().back().died, std::vector<uint64_t>{1});
  // No second epoch when the joiner's window would have passed.
  s.handle(HeartbeatReceived{2, 2, 2}, t(3100));
  EXPECT_TRUE(s.handle(Tick{}, t(3300)).empty());
}

TEST(CoordinatorState, LeaveMakesAnImmediateEpochAndClosesWithOk) {
  CoordinatorState s(test_config());
  admit(s, {1, 2, 3}, 0);
  auto actions = s.handle(LeaveRequested{2, "done"}, t(300));
  ASSERT_FALSE(actions.empty());
  auto close = std::get<CloseConnection>(actions[0]);
  EXPECT_EQ(close.conn, 2u);
  EXPECT_TRUE(close.reason.ok());
  auto sends = only<SendEpoch>(actions);
  EXPECT_EQ(conns_of(sends), (std::vector<ConnId>{1, 3}));
  for (const SendEpoch& e : sends) {
    EXPECT_EQ(e.epoch->epoch, 2u);
    EXPECT_EQ(peer_ids(e.epoch->members), (std::vector<uint64_t>{1, 3}));
  }
  EXPECT_EQ(s.history().back().left, std::vector<uint64_t>{2});
  EXPECT_TRUE(s.history().back().died.empty());
  // A second leave from the closed connection is ignored.
  EXPECT_TRUE(s.handle(LeaveRequested{2, "again"}, t(301)).empty());
}

TEST(CoordinatorState, DisconnectOfAMemberCountsAsDeath) {
  CoordinatorState s(test_config());
  admit(s, {1, 2}, 0);
  auto actions = s.handle(Disconnected{1, DataLoss("bad checksum")}, t(300));
  auto closes = only<CloseConnection>(actions);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].reason.code(), StatusCode::kDataLoss);
  EXPECT_EQ(only<SendEpoch>(actions).size(), 1u);
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(s.history().back().died, std::vector<uint64_t>{1});
}

TEST(CoordinatorState, DisconnectWithOkStatusIsStillNotGraceful) {
  CoordinatorState s(test_config());
  admit(s, {1, 2}, 0);
  auto closes = only<CloseConnection>(s.handle(Disconnected{1, OkStatus()}, t(300)));
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_FALSE(closes[0].reason.ok());
  EXPECT_EQ(s.history().back().died, std::vector<uint64_t>{1});
}

TEST(CoordinatorState, PendingPeerLeavingOrDisconnectingMakesNoEpoch) {
  CoordinatorState s(test_config());
  admit(s, {1}, 0);
  s.handle(join_event(2), t(300));
  s.handle(join_event(3), t(300));
  auto actions = s.handle(Disconnected{2, Unavailable("reset")}, t(350));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(std::get<CloseConnection>(actions[0]).reason.code(), StatusCode::kUnavailable);
  actions = s.handle(LeaveRequested{3, "changed my mind"}, t(360));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_TRUE(std::get<CloseConnection>(actions[0]).reason.ok());
  EXPECT_EQ(s.epoch(), 1u);
  EXPECT_EQ(s.pending_count(), 0u);
  EXPECT_TRUE(s.handle(Tick{}, t(1000)).empty());
  EXPECT_EQ(s.history().size(), 1u);
}

TEST(CoordinatorState, SurvivorsKeepTheirRingOrder) {
  CoordinatorState s(test_config());
  admit(s, {50, 40}, 0);
  admit(s, {30, 20, 10}, 300);
  EXPECT_EQ(peer_ids(s.members()), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  s.handle(LeaveRequested{30, ""}, t(600));
  EXPECT_EQ(peer_ids(s.members()), (std::vector<uint64_t>{1, 2, 4, 5}));
  s.handle(Disconnected{50, Unavailable("gone")}, t(700));
  EXPECT_EQ(peer_ids(s.members()), (std::vector<uint64_t>{2, 4, 5}));
  admit(s, {60}, 800);
  EXPECT_EQ(peer_ids(s.members()), (std::vector<uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(s.epoch(), 5u);
}

TEST(CoordinatorState, EveryMemberGetsExactlyOneSendEpochAndRemovedPeersNone) {
  CoordinatorState s(test_config());
  admit(s, {1, 2, 3, 4}, 0);
  s.handle(join_event(5), t(300));
  auto actions = s.handle(LeaveRequested{3, ""}, t(310));
  auto sends = only<SendEpoch>(actions);
  EXPECT_EQ(conns_of(sends), (std::vector<ConnId>{1, 2, 4, 5}));
  for (const SendEpoch& e : sends) EXPECT_EQ(e.epoch->members, s.members());
  for (const Action& a : actions) {
    if (!std::holds_alternative<CloseConnection>(a)) {
      EXPECT_NE(testing::target(a), 3u);
    }
  }
}

TEST(CoordinatorState, EpochNumbersGoUpByOneAndAnEmptySwarmStillCounts) {
  CoordinatorState s(test_config());
  uint64_t expected = 0;
  auto expect_next = [&](const std::vector<Action>& actions) {
    ++expected;
    EXPECT_EQ(s.epoch(), expected);
    for (const SendEpoch& e : only<SendEpoch>(actions)) EXPECT_EQ(e.epoch->epoch, expected);
  };
  expect_next(admit(s, {1}, 0));
  expect_next(admit(s, {2}, 300));
  expect_next(s.handle(LeaveRequested{1, ""}, t(600)));
  auto actions = s.handle(LeaveRequested{2, ""}, t(700));
  // The last member left: a new (empty) epoch with nobody to tell.
  EXPECT_TRUE(only<SendEpoch>(actions).empty());
  expect_next(actions);
  EXPECT_TRUE(s.members().empty());
  EXPECT_TRUE(s.history().back().joined.empty());
  expect_next(admit(s, {3}, 800));
  EXPECT_EQ(peer_ids(s.members()), std::vector<uint64_t>{3});
}

TEST(CoordinatorState, SecondAuthenticationOnAConnectionClosesIt) {
  CoordinatorState s(test_config());
  admit(s, {1, 2}, 0);
  auto actions = s.handle(join_event(1), t(300));
  auto closes = only<CloseConnection>(actions);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].conn, 1u);
  EXPECT_EQ(closes[0].reason.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(only<SendWelcome>(actions).empty());
  // It was a member, so the rest get a new epoch.
  EXPECT_EQ(conns_of(only<SendEpoch>(actions)), std::vector<ConnId>{2});
  EXPECT_EQ(s.epoch(), 2u);

  // The same on a pending connection: closed, no epoch.
  s.handle(join_event(3), t(400));
  actions = s.handle(join_event(3), t(401));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(std::get<CloseConnection>(actions[0]).reason.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(s.pending_count(), 0u);
}

TEST(CoordinatorState, EventsForUnknownConnectionsAreIgnored) {
  CoordinatorState s(test_config());
  admit(s, {1}, 0);
  EXPECT_TRUE(s.handle(HeartbeatReceived{8, 1, 1}, t(300)).empty());
  EXPECT_TRUE(s.handle(LeaveRequested{8, ""}, t(300)).empty());
  EXPECT_TRUE(s.handle(Disconnected{8, Unavailable("x")}, t(300)).empty());
  EXPECT_TRUE(s.handle(OpDoneReceived{8, wire::OpId{1, 0, 0}}, t(300)).empty());
  EXPECT_EQ(s.epoch(), 1u);
}

TEST(CoordinatorState, PeerIdsAreNeverReused) {
  CoordinatorState s(test_config());
  EXPECT_EQ(std::get<SendWelcome>(s.handle(join_event(1), t(0))[0]).peer_id, 1u);
  s.handle(LeaveRequested{1, ""}, t(10));
  // A reconnect (new connection) is a new peer.
  EXPECT_EQ(std::get<SendWelcome>(s.handle(join_event(2), t(20))[0]).peer_id, 2u);
}

// The EPOCH message binds before wire::kMaxMembers: with empty names each member takes 18 bytes,
// so one control frame holds 58,253 of them.
TEST(CoordinatorState, TooManyPeersAreRefused) {
  CoordinatorState s(test_config());
  const size_t fit = (wire::kMaxControlPayload - 12) / 18;
  ASSERT_LT(fit, wire::kMaxMembers);
  for (ConnId c = 1; c <= fit; ++c) {
    ASSERT_EQ(s.handle(PeerAuthenticated{c, "", "", 1}, t(0)).size(), 1u);
  }
  auto actions = s.handle(PeerAuthenticated{fit + 1, "", "", 1}, t(0));
  ASSERT_EQ(actions.size(), 1u);
  auto close = std::get<CloseConnection>(actions[0]);
  EXPECT_EQ(close.conn, fit + 1);
  EXPECT_EQ(close.reason.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.pending_count(), fit);
}

TEST(CoordinatorState, HistoryIsBounded) {
  CoordinatorState s(test_config());
  const size_t rounds = CoordinatorState::kMaxHistory + 10;
  for (size_t i = 0; i < rounds; ++i) {
    s.handle(join_event(i + 1), t(0));
    s.handle(LeaveRequested{i + 1, ""}, t(0));  // pending: no epoch
  }
  EXPECT_TRUE(s.history().empty());
  admit(s, {100000}, 0);
  for (size_t i = 0; i < rounds; ++i) {
    // Each round: a join admitted by its window, then a leave: two epochs.
    const int64_t ms = 1000 + static_cast<int64_t>(i) * 1000;
    s.handle(HeartbeatReceived{100000, i, s.epoch()}, t(ms));
    admit(s, {200000 + i}, ms);
    s.handle(LeaveRequested{200000 + i, ""}, t(ms + 300));
  }
  EXPECT_EQ(s.epoch(), 1 + 2 * rounds);
  ASSERT_EQ(s.history().size(), CoordinatorState::kMaxHistory);
  EXPECT_EQ(s.history().back().epoch, s.epoch());
  EXPECT_EQ(s.history().front().epoch, s.epoch() - CoordinatorState::kMaxHistory + 1);
}

// Members are bounded by the size of the EPOCH message they make, not only by their count: a join
// that would push it past one control frame is refused, and every SendEpoch shares one encoding.
TEST(CoordinatorState, JoinsThatWouldOverflowTheEpochMessageAreRefused) {
  CoordinatorState s(test_config());
  const std::string name(wire::kMaxNameLen, 'n');
  const std::string host(wire::kMaxNameLen, 'h');
  const size_t entry = 8 + 4 + name.size() + 4 + host.size() + 2;
  const size_t fit = (wire::kMaxControlPayload - 12) / entry;
  ConnId conn = 1;
  for (; conn <= fit; ++conn) {
    auto a = s.handle(PeerAuthenticated{conn, name, host, 1}, t(0));
    ASSERT_EQ(only<SendWelcome>(a).size(), 1u) << "conn " << conn;
  }
  auto refused = s.handle(PeerAuthenticated{conn, name, host, 1}, t(0));
  auto closes = only<CloseConnection>(refused);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].reason.code(), StatusCode::kResourceExhausted);
  EXPECT_LE(s.epoch_payload_bytes(), wire::kMaxControlPayload);
  auto sends = only<SendEpoch>(s.handle(Tick{}, t(300)));
  ASSERT_EQ(sends.size(), fit);
  EXPECT_LE(sends[0].encoded->size(), wire::kMaxControlPayload);
  EXPECT_EQ(*sends[0].encoded, sends[0].epoch->encode());
  EXPECT_EQ(sends.front().encoded.get(), sends.back().encoded.get()) << "encoded once";
  // A leave makes room again.
  s.handle(LeaveRequested{1, "bye"}, t(400));
  EXPECT_EQ(only<SendWelcome>(s.handle(PeerAuthenticated{conn + 1, name, host, 1}, t(400))).size(),
            1u);
}

}  // namespace
}  // namespace loco::membership
