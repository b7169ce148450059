// messages_test.cc: round trips of every control-plane message with non-trivial field values, and
// the exact byte layout of each payload (the field tables of docs/protocol.md are checked here).
// Rejection of malformed payloads is messages_reject_test.cc.
#include <gtest/gtest.h>

#include "unit/wire/message_samples.h"
#include "wire/messages.h"

namespace loco::wire {
namespace {

using samples::expect_same;

// Decodes m.encode() with `decode`, compares every field, and checks that encoding the decoded
// value gives the same bytes (the encoding is canonical).
template <typename M, typename Decode>
void round_trip(const M& m, Decode decode) {
  Bytes bytes = m.encode();
  auto d = decode(ByteSpan(bytes));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  expect_same(m, *d);
  EXPECT_EQ(d->encode(), bytes);
}

TEST(Messages, RoundTripHello) { round_trip(samples::hello(), decode_hello); }
TEST(Messages, RoundTripChallenge) {
  round_trip(samples::challenge(true), decode_challenge);
  round_trip(samples::challenge(false), decode_challenge);
}
TEST(Messages, RoundTripAuth) { round_trip(samples::auth(), decode_auth); }
TEST(Messages, RoundTripWelcome) { round_trip(samples::welcome(), decode_welcome); }
TEST(Messages, RoundTripReject) {
  round_trip(samples::reject(), decode_reject);
  // Every non-OK status code is a valid REJECT code.
  for (int32_t c = 1; c <= static_cast<int32_t>(StatusCode::kInternal); ++c) {
    Reject m;
    m.code = static_cast<StatusCode>(c);
    m.reason = std::string(kMaxReasonLen, 'r');
    round_trip(m, decode_reject);
  }
}
TEST(Messages, RoundTripHeartbeats) {
  round_trip(samples::heartbeat(), decode_heartbeat);
  round_trip(samples::heartbeat_ack(), decode_heartbeat_ack);
}
TEST(Messages, RoundTripEpoch) {
  round_trip(samples::epoch(), decode_epoch);
  round_trip(Epoch{}, decode_epoch);  // epoch 0: the empty swarm
}
TEST(Messages, RoundTripLeave) {
  round_trip(samples::leave(), decode_leave);
  round_trip(Leave{}, decode_leave);
}
TEST(Messages, RoundTripOpVotes) {
  round_trip(samples::op_done(), decode_op_done);
  round_trip(samples::op_commit(), decode_op_commit);
}
TEST(Messages, RoundTripLinkFailed) {
  round_trip(samples::link_failed(), decode_link_failed);
  round_trip(LinkFailed{}, decode_link_failed);
  Bytes b = samples::link_failed().encode();
  b.push_back(std::byte{0});
  EXPECT_EQ(decode_link_failed(b).status().code(), StatusCode::kDataLoss);
  b.resize(b.size() - 2);
  EXPECT_EQ(decode_link_failed(b).status().code(), StatusCode::kDataLoss);
}
TEST(Messages, RoundTripLinkFailedUnreachable) {
  round_trip(samples::link_unreachable(), decode_link_failed);
  // The trailing fields are all or nothing, and the peer id is never 0.
  Bytes b = samples::link_unreachable().encode();
  b.pop_back();
  EXPECT_EQ(decode_link_failed(b).status().code(), StatusCode::kDataLoss);
  LinkFailed zero = samples::link_unreachable();
  Bytes z = zero.encode();
  const size_t at = 8 + 4 + zero.reason.size();  // after epoch and the reason's length + bytes
  for (size_t i = 0; i < 8; ++i) z[at + i] = std::byte{0};
  EXPECT_EQ(decode_link_failed(z).status().code(), StatusCode::kDataLoss);
}
TEST(Messages, RoundTripPeerUnreachable) {
  round_trip(samples::peer_unreachable(), decode_peer_unreachable);
  round_trip(PeerUnreachable{}, decode_peer_unreachable);
  Bytes b = samples::peer_unreachable().encode();
  b.push_back(std::byte{0});
  EXPECT_EQ(decode_peer_unreachable(b).status().code(), StatusCode::kDataLoss);
}

TEST(Messages, StringsAtTheirLimitsAreAccepted) {
  Hello h = samples::hello();
  h.name = std::string(kMaxNameLen, 'n');
  h.data_host = std::string(kMaxNameLen, 'h');
  round_trip(h, decode_hello);
  Leave l;
  l.reason = std::string(kMaxReasonLen, 'x');
  round_trip(l, decode_leave);
}

TEST(Messages, EpochWithTheMaximumMemberCount) {
  Epoch e;
  e.epoch = 9;
  e.members.resize(kMaxMembers);
  for (uint32_t i = 0; i < kMaxMembers; ++i) e.members[i].peer_id = i + 1;
  e.members.back().name = "last";
  round_trip(e, decode_epoch);
}

// ---- byte layouts: little-endian fixed-width integers, u32-length-prefixed strings ----

TEST(MessageLayout, Hello) {
  Hello m = samples::hello();
  Bytes want;
  ByteWriter w(want);
  w.put<uint8_t>(1);  // role: peer
  w.put_bytes(m.client_nonce);
  w.put<uint32_t>(13);
  w.put_bytes(as_bytes(m.name));
  w.put<uint32_t>(8);
  w.put_bytes(as_bytes("10.1.2.3"));
  w.put<uint16_t>(65535);
  EXPECT_EQ(m.encode(), want);
  EXPECT_EQ(Hello{}.encode().size(), 1u + 32 + 4 + 4 + 2);
}

TEST(MessageLayout, ChallengeAndAuth) {
  Challenge c = samples::challenge(false);
  Bytes want(c.server_nonce.begin(), c.server_nonce.end());
  want.push_back(std::byte{0});
  EXPECT_EQ(c.encode(), want);
  want.back() = std::byte{1};
  c.auth_required = true;
  EXPECT_EQ(c.encode(), want);

  Auth a = samples::auth();
  EXPECT_EQ(a.encode(), Bytes(a.proof.begin(), a.proof.end()));
}

TEST(MessageLayout, Welcome) {
  Welcome m = samples::welcome();
  Bytes want;
  ByteWriter w(want);
  w.put<uint64_t>(0x0123456789ABCDEFull);
  w.put_bytes(m.server_proof);
  w.put<uint32_t>(500);
  w.put<uint32_t>(0xFFFFFFFEu);
  EXPECT_EQ(m.encode(), want);
  ASSERT_EQ(want.size(), 48u);
  EXPECT_EQ(want[0], std::byte{0xEF});  // little-endian
}

TEST(MessageLayout, Reject) {
  Reject m = samples::reject();
  Bytes want;
  ByteWriter w(want);
  w.put<int32_t>(9);  // UNAUTHENTICATED
  w.put_string(m.reason);
  EXPECT_EQ(m.encode(), want);
}

TEST(MessageLayout, HeartbeatAndAck) {
  Bytes want;
  ByteWriter w(want);
  w.put<uint64_t>(42);
  w.put<uint64_t>(0x00000001FFFFFFFFull);
  EXPECT_EQ(samples::heartbeat_ack().encode(), want);
  Heartbeat h;
  h.seq = 42;
  h.epoch = 0x00000001FFFFFFFFull;
  EXPECT_EQ(h.encode(), want);  // same layout, distinguished by the frame type
}

TEST(MessageLayout, Epoch) {
  Epoch m;
  m.epoch = 5;
  m.members.push_back({7, "a", "h", 9});
  m.members.push_back({8, "", "", 0});
  Bytes want;
  ByteWriter w(want);
  w.put<uint64_t>(5);
  w.put<uint32_t>(2);
  w.put<uint64_t>(7);
  w.put_string("a");
  w.put_string("h");
  w.put<uint16_t>(9);
  w.put<uint64_t>(8);
  w.put<uint32_t>(0);
  w.put<uint32_t>(0);
  w.put<uint16_t>(0);
  EXPECT_EQ(m.encode(), want);
  EXPECT_EQ(want.size(), 12u + 20 + 18);
}

TEST(MessageLayout, LeaveAndOpVotes) {
  Bytes want;
  ByteWriter(want).put_string("bye");
  Leave l;
  l.reason = "bye";
  EXPECT_EQ(l.encode(), want);

  Bytes op;
  ByteWriter w(op);
  w.put<uint64_t>(samples::op().epoch);
  w.put<uint64_t>(samples::op().tag);
  w.put<uint64_t>(samples::op().seq);
  EXPECT_EQ(samples::op_done().encode(), op);
  EXPECT_EQ(OpCommit{samples::op()}.encode(), op);
}

TEST(Messages, FramedMessageSurvivesTheFrameCodec) {
  Epoch e = samples::epoch();
  Bytes frame = encode_frame(MsgType::kEpoch, e.encode());
  Result<Frame> f = decode_frame(frame, kMaxControlPayload);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_EQ(f->type, MsgType::kEpoch);
  Result<Epoch> d = decode_epoch(f->payload);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  expect_same(e, *d);
}

}  // namespace
}  // namespace loco::wire
