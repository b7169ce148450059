// plan_test.cc: the coordinator's majority and fetch plan (membership/state_sync_plan.h) and the
// round bookkeeping (membership/state_rounds.h), pure logic, plus the state sync codecs.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "membership/state_rounds.h"
#include "membership/state_sync_plan.h"
#include "wire/state_messages.h"

namespace loco::membership {
namespace {

using wire::SyncStrategy;

SyncParticipant peer(uint64_t id, uint64_t revision, std::vector<uint64_t> hashes,
                     SyncStrategy s = SyncStrategy::kEnforceMajority, uint64_t layout = 7) {
  SyncParticipant p;
  p.peer_id = id;
  p.host = "10.0.0." + std::to_string(id);
  p.report.report_id = 100 + id;
  p.report.strategy = s;
  p.report.revision = revision;
  p.report.layout_digest = layout;
  p.report.serve_port = static_cast<uint16_t>(5000 + id);
  p.report.chunk_hashes = std::move(hashes);
  return p;
}

std::vector<uint32_t> fetched(const wire::StatePlan& p) {
  std::vector<uint32_t> out;
  for (const auto& f : p.fetches) out.push_back(f.chunk);
  return out;
}

uint64_t primary(const wire::StatePlan& p, size_t i) {
  return p.donors.at(p.fetches.at(i).donors.at(0)).peer_id;
}

TEST(StatePlan, AllEqualIsInSync) {
  auto plans = plan_state_sync({peer(1, 5, {1, 2, 3}), peer(2, 5, {1, 2, 3})}, 4, 9);
  ASSERT_EQ(plans.size(), 2u);
  for (const auto& p : plans) {
    EXPECT_EQ(p.code, StatusCode::kOk);
    EXPECT_EQ(p.round, 9u);
    EXPECT_EQ(p.revision, 5u);
    EXPECT_TRUE(p.fetches.empty());
  }
  EXPECT_EQ(plans[0].report_id, 101u);
  EXPECT_EQ(plans[1].report_id, 102u);
}

TEST(StatePlan, MinorityChunkIsFetchedFromHolders) {
  auto plans = plan_state_sync(
      {peer(1, 5, {1, 2, 3}), peer(2, 5, {1, 9, 3}), peer(3, 5, {1, 2, 3})}, std::nullopt, 1);
  EXPECT_TRUE(plans[0].fetches.empty());
  EXPECT_TRUE(plans[2].fetches.empty());
  ASSERT_EQ(fetched(plans[1]), (std::vector<uint32_t>{1}));
  EXPECT_EQ(plans[1].fetches[0].hash, 2u);
  ASSERT_EQ(plans[1].fetches[0].donors.size(), 2u);
  std::set<uint64_t> donors;
  for (uint16_t d : plans[1].fetches[0].donors) donors.insert(plans[1].donors[d].peer_id);
  EXPECT_EQ(donors, (std::set<uint64_t>{1, 3}));
  EXPECT_EQ(plans[1].donors[0].host.substr(0, 7), "10.0.0.");
}

TEST(StatePlan, TieGoesToEarliestPeerInRingOrder) {
  auto plans = plan_state_sync({peer(4, 1, {10}), peer(2, 1, {20})}, std::nullopt, 1);
  EXPECT_TRUE(plans[0].fetches.empty());
  ASSERT_EQ(plans[1].fetches.size(), 1u);
  EXPECT_EQ(plans[1].fetches[0].hash, 10u);
}

TEST(StatePlan, RevisionTieGoesToHigherAndBehindPeerFetches) {
  auto plans = plan_state_sync({peer(1, 5, {1, 1}), peer(2, 6, {2, 1})}, 5, 1);
  EXPECT_EQ(plans[0].code, StatusCode::kOk);
  EXPECT_EQ(plans[0].revision, 6u);
  EXPECT_EQ(fetched(plans[0]), (std::vector<uint32_t>{0}));
  EXPECT_TRUE(plans[1].fetches.empty());
}

TEST(StatePlan, PeerAheadOfMajorityIsRefused) {
  auto plans = plan_state_sync(
      {peer(1, 5, {1}), peer(2, 5, {1}), peer(3, 7, {9})}, std::nullopt, 1);
  EXPECT_EQ(plans[0].code, StatusCode::kOk);
  EXPECT_EQ(plans[2].code, StatusCode::kFailedPrecondition);
  EXPECT_NE(plans[2].message.find("ahead"), std::string::npos) << plans[2].message;
  EXPECT_TRUE(plans[2].fetches.empty());
}

TEST(StatePlan, BehindPeerFetchesAndAheadPeerIsNotADonor) {
  auto plans = plan_state_sync(
      {peer(1, 4, {0, 0}), peer(2, 5, {1, 2}), peer(3, 5, {1, 2}), peer(4, 6, {1, 2})}, 4, 1);
  ASSERT_EQ(plans[0].code, StatusCode::kOk);
  EXPECT_EQ(plans[0].revision, 5u);
  EXPECT_EQ(fetched(plans[0]), (std::vector<uint32_t>{0, 1}));
  for (const auto& d : plans[0].donors) EXPECT_NE(d.peer_id, 4u);
  EXPECT_EQ(plans[3].code, StatusCode::kFailedPrecondition);
}

TEST(StatePlan, RevisionMustAdvanceByAtMostOne) {
  auto plans = plan_state_sync({peer(1, 7, {1}), peer(2, 7, {1})}, 5, 1);
  for (const auto& p : plans) {
    EXPECT_EQ(p.code, StatusCode::kFailedPrecondition);
    EXPECT_NE(p.message.find("advance by one"), std::string::npos);
  }
  auto back = plan_state_sync({peer(1, 4, {1}), peer(2, 4, {1})}, 5, 1);
  for (const auto& p : back) EXPECT_EQ(p.code, StatusCode::kFailedPrecondition);
  auto same = plan_state_sync({peer(1, 5, {1}), peer(2, 5, {1})}, 5, 1);
  for (const auto& p : same) EXPECT_EQ(p.code, StatusCode::kOk);
}

TEST(StatePlan, ReceiveOnlyPeerDoesNotVoteAndFetchesEverythingThatDiffers) {
  // Two receive-only peers agreeing on garbage must not outvote the one real holder.
  auto plans = plan_state_sync({peer(1, 3, {1, 2, 3}),
                                peer(2, 0, {0, 2, 0}, SyncStrategy::kReceiveOnly),
                                peer(3, 0, {0, 2, 0}, SyncStrategy::kReceiveOnly)},
                               std::nullopt, 1);
  EXPECT_TRUE(plans[0].fetches.empty());
  for (size_t i : {1, 2}) {
    EXPECT_EQ(plans[i].code, StatusCode::kOk);
    EXPECT_EQ(plans[i].revision, 3u);
    EXPECT_EQ(fetched(plans[i]), (std::vector<uint32_t>{0, 2}));
    for (const auto& d : plans[i].donors) EXPECT_EQ(d.peer_id, 1u);  // never each other
  }
}

TEST(StatePlan, OnlyReceiveOnlyPeersIsRefused) {
  auto plans = plan_state_sync({peer(1, 0, {0}, SyncStrategy::kReceiveOnly)}, std::nullopt, 1);
  EXPECT_EQ(plans[0].code, StatusCode::kFailedPrecondition);
}

TEST(StatePlan, SendOnlyPeerThatDiffersIsRefusedButStillVotes) {
  auto plans = plan_state_sync({peer(1, 2, {5}), peer(2, 2, {5}),
                                peer(3, 2, {6}, SyncStrategy::kSendOnly)},
                               std::nullopt, 1);
  EXPECT_EQ(plans[2].code, StatusCode::kFailedPrecondition);
  EXPECT_NE(plans[2].message.find("send-only"), std::string::npos);
  // A send-only peer in the majority is a donor.
  auto ok = plan_state_sync({peer(1, 2, {5}, SyncStrategy::kSendOnly), peer(2, 2, {6}),
                             peer(3, 2, {5})},
                            std::nullopt, 1);
  EXPECT_EQ(ok[0].code, StatusCode::kOk);
  ASSERT_EQ(ok[1].fetches.size(), 1u);
  EXPECT_EQ(ok[1].fetches[0].donors.size(), 2u);
}

TEST(StatePlan, OtherLayoutIsRefused) {
  auto plans = plan_state_sync({peer(1, 1, {1}), peer(2, 1, {1}),
                                peer(3, 1, {1}, SyncStrategy::kEnforceMajority, 99),
                                peer(4, 1, {1, 1})},
                               std::nullopt, 1);
  EXPECT_EQ(plans[0].code, StatusCode::kOk);
  EXPECT_EQ(plans[2].code, StatusCode::kFailedPrecondition);
  EXPECT_EQ(plans[3].code, StatusCode::kFailedPrecondition);
  EXPECT_NE(plans[3].message.find("layout"), std::string::npos);
}

TEST(StatePlan, DonorsAreSpreadEvenly) {
  // A joiner needs 64 chunks held by 4 donors: each donor is the first choice for 16.
  std::vector<uint64_t> full(64), empty(64, 0);
  for (size_t i = 0; i < 64; ++i) full[i] = 1000 + i;
  std::vector<SyncParticipant> ps;
  for (uint64_t id = 1; id <= 4; ++id) ps.push_back(peer(id, 8, full));
  ps.push_back(peer(5, 0, empty, SyncStrategy::kReceiveOnly));
  auto plans = plan_state_sync(ps, 8, 3);
  ASSERT_EQ(plans[4].fetches.size(), 64u);
  std::map<uint64_t, int> firsts;
  for (size_t i = 0; i < 64; ++i) {
    ++firsts[primary(plans[4], i)];
    EXPECT_EQ(plans[4].fetches[i].donors.size(), 4u);  // fallbacks too
  }
  EXPECT_EQ(firsts, (std::map<uint64_t, int>{{1, 16}, {2, 16}, {3, 16}, {4, 16}}));
}

TEST(StatePlan, TwoReceiversShareTheDonorLoad) {
  std::vector<uint64_t> full(8), empty(8, 0);
  for (size_t i = 0; i < 8; ++i) full[i] = 50 + i;
  auto plans = plan_state_sync({peer(1, 1, full), peer(2, 1, full),
                                peer(3, 0, empty, SyncStrategy::kReceiveOnly),
                                peer(4, 0, empty, SyncStrategy::kReceiveOnly)},
                               std::nullopt, 1);
  std::map<uint64_t, int> load;
  for (size_t r : {2, 3}) {
    for (size_t i = 0; i < plans[r].fetches.size(); ++i) ++load[primary(plans[r], i)];
  }
  EXPECT_EQ(load, (std::map<uint64_t, int>{{1, 8}, {2, 8}}));
}

TEST(StatePlan, CandidatesAreCapped) {
  std::vector<SyncParticipant> ps;
  for (uint64_t id = 1; id <= 12; ++id) ps.push_back(peer(id, 1, {7}));
  ps.push_back(peer(13, 1, {8}));
  auto plans = plan_state_sync(ps, std::nullopt, 1);
  ASSERT_EQ(plans[12].fetches.size(), 1u);
  EXPECT_EQ(plans[12].fetches[0].donors.size(), wire::kMaxChunkCandidates);
}

// ---- rounds ----

std::vector<StateRounds::MemberConn> ring_of(std::vector<uint64_t> ids) {
  std::vector<StateRounds::MemberConn> ring;
  for (uint64_t id : ids) {
    ring.push_back({id * 10, wire::Member{id, "p" + std::to_string(id), "127.0.0.1", 1}});
  }
  return ring;
}

template <class A>
std::vector<A> only(const std::vector<StateAction>& v) {
  std::vector<A> out;
  for (const auto& a : v) {
    if (auto* x = std::get_if<A>(&a)) out.push_back(*x);
  }
  return out;
}

TEST(StateRounds, RoundStartsWhenEveryMemberReportedAndCompletesOnDone) {
  StateRounds r;
  EXPECT_TRUE(r.on_members(ring_of({1, 2})).empty());
  EXPECT_TRUE(r.on_report(10, peer(1, 1, {1}).report).empty());
  auto start = r.on_report(20, peer(2, 1, {2}).report);
  auto plans = only<SendStatePlan>(start);
  ASSERT_EQ(plans.size(), 2u);
  const uint64_t round = plans[0].plan.round;
  EXPECT_TRUE(r.round_active());
  EXPECT_TRUE(r.on_done(10, wire::StateDone{round, StatusCode::kOk, "", {}}).empty());
  EXPECT_TRUE(r.on_done(10, wire::StateDone{round, StatusCode::kOk, "", {}}).empty());  // dup
  auto end = only<SendStateComplete>(r.on_done(20, wire::StateDone{round, StatusCode::kOk, "", {}}));
  EXPECT_EQ(end.size(), 2u);
  EXPECT_FALSE(r.round_active());
  EXPECT_EQ(r.last_revision(), std::optional<uint64_t>(1));
  EXPECT_EQ(r.rounds_completed(), 1u);
}

TEST(StateRounds, DeadParticipantIsNotWaitedForAndJoinerWaitsForNextRound) {
  StateRounds r;
  r.on_members(ring_of({1, 2, 3}));
  r.on_report(10, peer(1, 1, {1}).report);
  r.on_report(20, peer(2, 1, {1}).report);
  auto plans = only<SendStatePlan>(r.on_report(30, peer(3, 1, {1}).report));
  ASSERT_EQ(plans.size(), 3u);
  const uint64_t round = plans[0].plan.round;
  r.on_done(10, wire::StateDone{round, StatusCode::kOk, "", {}});
  // Peer 3 dies, peer 4 joins and reports: the round completes without 3; 4 is not in it.
  EXPECT_TRUE(only<SendStateComplete>(r.on_members(ring_of({1, 2, 4}))).empty());
  EXPECT_TRUE(r.on_report(40, peer(4, 0, {0}, SyncStrategy::kReceiveOnly).report).empty());
  auto done = r.on_done(20, wire::StateDone{round, StatusCode::kOk, "", {}});
  EXPECT_EQ(only<SendStateComplete>(done).size(), 2u);
  EXPECT_TRUE(only<SendStatePlan>(done).empty());  // 1 and 2 have not reported again
  r.on_report(10, peer(1, 2, {5}).report);
  auto next = only<SendStatePlan>(r.on_report(20, peer(2, 2, {5}).report));
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[2].conn, 40u);
  EXPECT_EQ(next[2].plan.fetches.size(), 1u);
}

TEST(StateRounds, NonMemberIsRefusedAndBadDonorIsEvicted) {
  StateRounds r;
  r.on_members(ring_of({1, 2, 3}));
  auto refused = only<SendStatePlan>(r.on_report(99, peer(9, 1, {1}).report));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].plan.code, StatusCode::kFailedPrecondition);
  r.on_report(10, peer(1, 1, {1}).report);
  r.on_report(20, peer(2, 1, {1}).report);
  auto plans = only<SendStatePlan>(r.on_report(30, peer(3, 1, {2}).report));
  const uint64_t round = plans[0].plan.round;
  auto acts = r.on_done(30, wire::StateDone{round, StatusCode::kOk, "", {2}});
  auto ev = only<EvictPeer>(acts);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].conn, 20u);
  EXPECT_EQ(ev[0].why.code(), StatusCode::kDataLoss);
  ASSERT_EQ(r.bad_donor_reports().size(), 1u);
  EXPECT_EQ(r.bad_donor_reports()[0].donor, 2u);
  EXPECT_EQ(r.bad_donor_reports()[0].reporter, 3u);
}

// Accountable accusations: a member in sync (its plan names no donors) cannot get another evicted
// by claiming it served bad chunks; the reporter's own donors can be.
TEST(StateRounds, AnAccusationCountsOnlyAgainstTheReportersOwnDonors) {
  StateRounds r;
  r.on_members(ring_of({1, 2, 3}));
  r.on_report(10, peer(1, 1, {1}).report);
  r.on_report(20, peer(2, 1, {1}).report);
  auto plans = only<SendStatePlan>(r.on_report(30, peer(3, 1, {2}).report));
  ASSERT_EQ(plans.size(), 3u);
  ASSERT_TRUE(plans[0].plan.donors.empty()) << "peer 1 is in sync: nothing to fetch";
  const uint64_t round = plans[0].plan.round;
  auto forged = r.on_done(10, wire::StateDone{round, StatusCode::kOk, "", {2, 3}});
  EXPECT_TRUE(only<EvictPeer>(forged).empty());
  EXPECT_TRUE(r.bad_donor_reports().empty());
  auto real = r.on_done(30, wire::StateDone{round, StatusCode::kOk, "", {2}});
  EXPECT_EQ(only<EvictPeer>(real).size(), 1u);
}

// ---- codecs ----

TEST(StateMessages, RoundTripAndRejectTruncation) {
  wire::StatePlan p;
  p.report_id = 3;
  p.round = 4;
  p.revision = 5;
  p.donors = {{1, "a", 10}, {2, "b", 20}};
  p.fetches = {{7, 77, {1, 0}}};
  Bytes b = p.encode();
  auto d = wire::decode_state_plan(b);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->donors, p.donors);
  EXPECT_EQ(d->fetches, p.fetches);
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(wire::decode_state_plan(ByteSpan(b).first(n)).ok()) << n;
  }
  wire::StateReport rep;
  rep.chunk_hashes = {1, 2, 3};
  rep.strategy = SyncStrategy::kSendOnly;
  Bytes rb = rep.encode();
  auto rd = wire::decode_state_report(rb);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(rd->chunk_hashes, rep.chunk_hashes);
  EXPECT_EQ(rd->strategy, SyncStrategy::kSendOnly);
  rb.push_back(std::byte{0});
  EXPECT_EQ(wire::decode_state_report(rb).status().code(), StatusCode::kDataLoss);
  // A donor index out of range is DATA_LOSS.
  p.fetches[0].donors = {5};
  EXPECT_EQ(wire::decode_state_plan(p.encode()).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace loco::membership
