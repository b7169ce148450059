// data_messages_test.cc: PEER_HELLO / PEER_ACCEPT / DATA header codecs (round trips, every
// truncation, bad fields) and the link proofs (bound to every field, keyed).
#include "collectives/data_messages.h"

#include <gtest/gtest.h>

namespace loco::collectives {
namespace {

PeerHello sample_hello() {
  PeerHello h;
  h.epoch = 7;
  h.from_peer = 3;
  h.to_peer = 4;
  h.stripe = 1;
  h.stripes = 4;
  h.nonce.fill(std::byte{0x11});
  return h;
}

LinkKey key_of(uint8_t b) {
  LinkKey k;
  k.fill(std::byte{b});
  return k;
}

TEST(DataMessages, HelloRoundTripAndEveryTruncation) {
  PeerHello h = sample_hello();
  h.proof = hello_proof(key_of(1), h);
  const Bytes enc = h.encode();
  auto d = decode_peer_hello(enc);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->epoch, 7u);
  EXPECT_EQ(d->from_peer, 3u);
  EXPECT_EQ(d->to_peer, 4u);
  EXPECT_EQ(d->stripe, 1u);
  EXPECT_EQ(d->stripes, 4u);
  EXPECT_EQ(d->nonce, h.nonce);
  EXPECT_EQ(d->proof, h.proof);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_EQ(decode_peer_hello(ByteSpan(enc.data(), n)).status().code(), StatusCode::kDataLoss);
  }
  Bytes longer = enc;
  longer.push_back(std::byte{0});
  EXPECT_EQ(decode_peer_hello(longer).status().code(), StatusCode::kDataLoss);
}

TEST(DataMessages, HelloStripeMustBeInRange) {
  PeerHello h = sample_hello();
  h.stripe = 4;
  EXPECT_EQ(decode_peer_hello(h.encode()).status().code(), StatusCode::kDataLoss);
  h.stripe = 0;
  h.stripes = 0;
  EXPECT_EQ(decode_peer_hello(h.encode()).status().code(), StatusCode::kDataLoss);
}

TEST(DataMessages, AcceptRoundTripAndBadCode) {
  PeerAccept a;
  a.code = StatusCode::kAborted;
  a.epoch = 9;
  a.reason = "stale epoch";
  const Bytes enc = a.encode();
  auto d = decode_peer_accept(enc);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->code, StatusCode::kAborted);
  EXPECT_EQ(d->epoch, 9u);
  EXPECT_EQ(d->reason, "stale epoch");
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(decode_peer_accept(ByteSpan(enc.data(), n)).ok());
  }
  Bytes bad = enc;
  bad[0] = std::byte{99};  // status code 99
  EXPECT_EQ(decode_peer_accept(bad).status().code(), StatusCode::kDataLoss);
}

TEST(DataMessages, ProofsBindEveryFieldAndTheKey) {
  const PeerHello h = sample_hello();
  const wire::Proof p = hello_proof(key_of(1), h);
  EXPECT_TRUE(proofs_equal(p, hello_proof(key_of(1), h)));
  EXPECT_FALSE(proofs_equal(p, hello_proof(key_of(2), h)));
  for (int field = 0; field < 6; ++field) {
    PeerHello m = h;
    switch (field) {
      case 0:
        m.epoch++;
        break;
      case 1:
        m.from_peer++;
        break;
      case 2:
        m.to_peer++;
        break;
      case 3:
        m.stripe++;
        break;
      case 4:
        m.stripes++;
        break;
      case 5:
        m.nonce[5] = std::byte{0x12};
        break;
    }
    EXPECT_FALSE(proofs_equal(p, hello_proof(key_of(1), m))) << field;
  }
  EXPECT_EQ(hello_proof(std::nullopt, h), wire::Proof{});
  PeerAccept a;
  a.epoch = 7;
  const wire::Proof ap = accept_proof(key_of(1), h, a);
  PeerHello other = h;
  other.nonce[0] = std::byte{0x22};  // the dialer's fresh nonce makes every accept unique
  EXPECT_FALSE(proofs_equal(ap, accept_proof(key_of(1), other, a)));
  a.code = StatusCode::kAborted;
  EXPECT_FALSE(proofs_equal(ap, accept_proof(key_of(1), h, a)));
}

TEST(DataMessages, DataHeaderRoundTripAndValidation) {
  DataHeader h;
  h.epoch = 1;
  h.tag = 2;
  h.seq = 3;
  h.fingerprint = 0xDEADBEEFCAFEF00Dull;
  h.offset = 1ull << 40;
  h.length = 123456;
  h.step = 65535;
  h.kind = OpKind::kBroadcast;
  std::byte enc[kDataHeaderSize];
  encode_data_header(h, enc);
  auto d = decode_data_header(enc);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->epoch, 1u);
  EXPECT_EQ(d->tag, 2u);
  EXPECT_EQ(d->seq, 3u);
  EXPECT_EQ(d->fingerprint, h.fingerprint);
  EXPECT_EQ(d->offset, h.offset);
  EXPECT_EQ(d->length, h.length);
  EXPECT_EQ(d->step, 65535);
  EXPECT_EQ(d->kind, OpKind::kBroadcast);
  EXPECT_FALSE(decode_data_header(ByteSpan(enc, kDataHeaderSize - 1)).ok());
  std::byte bad[kDataHeaderSize];
  std::copy(enc, enc + kDataHeaderSize, bad);
  bad[46] = std::byte{0};  // kind 0
  EXPECT_EQ(decode_data_header(bad).status().code(), StatusCode::kDataLoss);
  bad[46] = std::byte{5};
  EXPECT_EQ(decode_data_header(bad).status().code(), StatusCode::kDataLoss);
  std::copy(enc, enc + kDataHeaderSize, bad);
  bad[47] = std::byte{1};  // reserved
  EXPECT_EQ(decode_data_header(bad).status().code(), StatusCode::kDataLoss);
}

// The one wire/ change the collectives made: DATA frames may carry a header-only checksum.
TEST(FrameFlags, HeaderChecksumOnlyIsValidOnDataFramesAlone) {
  const Bytes payload(1000, std::byte{0x33});
  Bytes f = wire::encode_frame(wire::MsgType::kData, payload, wire::kFlagHeaderChecksumOnly);
  auto d = wire::decode_frame(f, wire::kMaxDataPayload);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->flags, wire::kFlagHeaderChecksumOnly);
  f[wire::kFrameHeaderSize + 10] = std::byte{0x34};  // payload bytes are not covered...
  EXPECT_TRUE(wire::decode_frame(f, wire::kMaxDataPayload).ok());
  f[16] ^= std::byte{1};  // ...the header and its checksum are
  EXPECT_EQ(wire::decode_frame(f, wire::kMaxDataPayload).status().code(), StatusCode::kDataLoss);
  const Bytes hello =
      wire::encode_frame(wire::MsgType::kPeerHello, payload, wire::kFlagHeaderChecksumOnly);
  EXPECT_EQ(wire::decode_header(hello, wire::kMaxDataPayload).status().code(),
            StatusCode::kDataLoss);
  const Bytes other_bit = wire::encode_frame(wire::MsgType::kData, payload, 2);
  EXPECT_EQ(wire::decode_header(other_bit, wire::kMaxDataPayload).status().code(),
            StatusCode::kDataLoss);
  // Without the flag the payload is covered as before.
  Bytes full = wire::encode_frame(wire::MsgType::kData, payload);
  full[wire::kFrameHeaderSize] = std::byte{0};
  EXPECT_EQ(wire::decode_frame(full, wire::kMaxDataPayload).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace loco::collectives
