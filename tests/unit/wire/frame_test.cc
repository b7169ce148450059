// frame_test.cc: unit tests of the frame codec (wire/frame.h): byte layout, round trips, and every
// rejection path of decode_header / verify_payload / decode_frame with its exact status code and
// the validation order docs/protocol.md promises. Message payloads are messages_test.cc's business.
#include "wire/frame.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <vector>

namespace loco::wire {
namespace {

constexpr MsgType kAllTypes[] = {
    MsgType::kHello,     MsgType::kChallenge,  MsgType::kAuth,      MsgType::kWelcome,
    MsgType::kReject,    MsgType::kHeartbeat,  MsgType::kHeartbeatAck, MsgType::kEpoch,
    MsgType::kLeave,     MsgType::kOpDone,     MsgType::kOpCommit,  MsgType::kLinkFailed, MsgType::kPeerHello,
    MsgType::kPeerAccept, MsgType::kData,
    // shared-state sync
    MsgType::kStateReport, MsgType::kStatePlan, MsgType::kStateDone, MsgType::kStateComplete,
    MsgType::kPeerUnreachable,
    MsgType::kStateHello, MsgType::kStateAccept, MsgType::kChunkRequest, MsgType::kChunkHeader,
    MsgType::kChunkBytes,
};

Bytes pattern(size_t n, uint32_t seed = 1) {
  Bytes b(n);
  uint32_t x = seed;
  for (auto& v : b) {
    x = x * 1664525u + 1013904223u;
    v = static_cast<std::byte>(x >> 24);
  }
  return b;
}

// Independent reference for the checksum: XXH3-64 (seed 0) of header[0,16) || payload, computed
// one-shot over a copy (the codec streams it).
uint64_t reference_checksum(ByteSpan header16, ByteSpan payload) {
  Bytes all(header16.begin(), header16.begin() + 16);
  all.insert(all.end(), payload.begin(), payload.end());
  return XXH3_64bits(all.data(), all.size());
}

// Rewrites bytes [0,16) of a frame's header and recomputes its checksum, so a test can present a
// header that is wrong in exactly one field yet correctly checksummed.
void reseal(Bytes& frame) {
  ByteSpan payload(frame.data() + kFrameHeaderSize, frame.size() - kFrameHeaderSize);
  store_le<uint64_t>(frame.data() + 16, reference_checksum(frame, payload));
}

StatusCode header_code(const Bytes& b, uint32_t max_payload = kMaxControlPayload) {
  return decode_header(b, max_payload).status().code();
}
StatusCode frame_code(const Bytes& b, uint32_t max_payload = kMaxControlPayload) {
  return decode_frame(b, max_payload).status().code();
}

TEST(Frame, HeaderLayoutIsAsDocumented) {
  Bytes payload = pattern(5);
  Bytes f = encode_frame(MsgType::kEpoch, payload);
  ASSERT_EQ(f.size(), kFrameHeaderSize + 5);
  const uint8_t magic[4] = {'L', 'O', 'C', 'O'};
  EXPECT_EQ(std::memcmp(f.data(), magic, 4), 0);
  EXPECT_EQ(load_le<uint16_t>(f.data() + 4), kProtocolVersion);
  EXPECT_EQ(f[4], std::byte{1});  // little-endian version 1
  EXPECT_EQ(load_le<uint16_t>(f.data() + 6), 8);
  EXPECT_EQ(load_le<uint32_t>(f.data() + 8), 0u);
  EXPECT_EQ(load_le<uint32_t>(f.data() + 12), 5u);
  EXPECT_EQ(load_le<uint64_t>(f.data() + 16), reference_checksum(f, payload));
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.begin() + kFrameHeaderSize));
}

TEST(Frame, EncodeHeaderMatchesEncodeFrame) {
  Bytes payload = pattern(100, 7);
  std::byte header[kFrameHeaderSize];
  encode_header(MsgType::kData, payload, header);
  Bytes f = encode_frame(MsgType::kData, payload);
  EXPECT_EQ(std::memcmp(header, f.data(), kFrameHeaderSize), 0);
}

TEST(Frame, RoundTripEmptySmallAndOneMiB) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{17}, size_t{1} << 20}) {
    SCOPED_TRACE(n);
    Bytes payload = pattern(n, static_cast<uint32_t>(n));
    Bytes f = encode_frame(MsgType::kData, payload);
    Result<Frame> d = decode_frame(f, kMaxControlPayload);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->type, MsgType::kData);
    EXPECT_EQ(d->flags, 0u);
    EXPECT_EQ(d->payload, payload);
  }
}

TEST(Frame, RoundTripEveryType) {
  Bytes payload = pattern(33, 3);
  for (MsgType t : kAllTypes) {
    SCOPED_TRACE(msg_type_name(t));
    Result<Frame> d = decode_frame(encode_frame(t, payload), kMaxControlPayload);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->type, t);
    EXPECT_EQ(d->payload, payload);
  }
}

TEST(Frame, TwoStepDecodeHeaderThenVerifyPayload) {
  Bytes payload = pattern(64, 9);
  Bytes f = encode_frame(MsgType::kHeartbeat, payload);
  ByteSpan header(f.data(), kFrameHeaderSize);
  Result<FrameHeader> h = decode_header(header, kMaxControlPayload);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->version, kProtocolVersion);
  EXPECT_EQ(h->type, MsgType::kHeartbeat);
  EXPECT_EQ(h->length, 64u);
  EXPECT_EQ(h->checksum, reference_checksum(f, payload));
  EXPECT_TRUE(verify_payload(*h, header, payload).ok());

  Bytes bad = payload;
  bad[10] ^= std::byte{0x01};
  EXPECT_EQ(verify_payload(*h, header, bad).code(), StatusCode::kDataLoss);
  EXPECT_EQ(verify_payload(*h, header, ByteSpan(payload).first(63)).code(), StatusCode::kDataLoss);
  EXPECT_EQ(verify_payload(*h, header.first(16), payload).code(), StatusCode::kDataLoss);
}

TEST(Frame, KnownTypesAreExactlyTheEnumerators) {
  int known = 0;
  for (uint32_t t = 0; t <= 0xFFFF; ++t) {
    if (is_known_type(static_cast<uint16_t>(t))) {
      ++known;
      EXPECT_STRNE(msg_type_name(static_cast<MsgType>(t)), "UNKNOWN") << t;
    }
  }
  EXPECT_EQ(known, static_cast<int>(std::size(kAllTypes)));
  for (MsgType t : kAllTypes) EXPECT_TRUE(is_known_type(static_cast<uint16_t>(t)));
}

TEST(FrameReject, TruncatedHeaderIsDataLoss) {
  Bytes f = encode_frame(MsgType::kHello, pattern(4));
  for (size_t n = 0; n < kFrameHeaderSize; ++n) {
    Bytes prefix(f.begin(), f.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_EQ(header_code(prefix), StatusCode::kDataLoss) << n;
    EXPECT_EQ(frame_code(prefix), StatusCode::kDataLoss) << n;
  }
}

TEST(FrameReject, BadMagicIsDataLoss) {
  for (size_t i = 0; i < 4; ++i) {
    Bytes f = encode_frame(MsgType::kHello, pattern(4));
    f[i] ^= std::byte{0x20};  // "loco", "LoCO", ... : still wrong
    reseal(f);
    EXPECT_EQ(header_code(f), StatusCode::kDataLoss) << i;
    EXPECT_EQ(frame_code(f), StatusCode::kDataLoss) << i;
  }
}

TEST(FrameReject, OtherVersionIsProtocolMismatch) {
  for (uint16_t v : {uint16_t{0}, uint16_t{2}, uint16_t{0x0100}, uint16_t{0xFFFF}}) {
    Bytes f = encode_frame(MsgType::kHello, pattern(4));
    store_le<uint16_t>(f.data() + 4, v);
    reseal(f);
    EXPECT_EQ(header_code(f), StatusCode::kProtocolMismatch) << v;
    EXPECT_EQ(frame_code(f), StatusCode::kProtocolMismatch) << v;
    // A peer of another version may use another checksum or layout: the version alone decides.
    Bytes unsealed = encode_frame(MsgType::kHello, pattern(4));
    store_le<uint16_t>(unsealed.data() + 4, v);
    EXPECT_EQ(frame_code(unsealed), StatusCode::kProtocolMismatch) << v;
  }
}

TEST(FrameReject, UnknownTypeIsDataLoss) {
  for (uint16_t t : {uint16_t{0}, uint16_t{18}, uint16_t{31}, uint16_t{35}, uint16_t{45}, uint16_t{0xFFFF}}) {
    Bytes f = encode_frame(MsgType::kHello, pattern(4));
    store_le<uint16_t>(f.data() + 6, t);
    reseal(f);
    EXPECT_EQ(header_code(f), StatusCode::kDataLoss) << t;
    EXPECT_EQ(frame_code(f), StatusCode::kDataLoss) << t;
  }
}

TEST(FrameReject, ReservedFlagsAreDataLoss) {
  for (int bit = 0; bit < 32; ++bit) {
    Bytes f = encode_frame(MsgType::kHello, pattern(4), 1u << bit);  // sealed by the encoder
    EXPECT_EQ(header_code(f), StatusCode::kDataLoss) << bit;
    EXPECT_EQ(frame_code(f), StatusCode::kDataLoss) << bit;
  }
}

TEST(FrameReject, OversizeLengthIsResourceExhaustedFromHeaderAlone) {
  Bytes f = encode_frame(MsgType::kData, {});
  for (uint32_t len : {kMaxControlPayload + 1, kMaxDataPayload, 0xFFFFFFFFu}) {
    store_le<uint32_t>(f.data() + 12, len);
    reseal(f);
    Bytes header_only(f.begin(), f.begin() + kFrameHeaderSize);
    EXPECT_EQ(header_code(header_only), StatusCode::kResourceExhausted) << len;
    EXPECT_EQ(frame_code(header_only), StatusCode::kResourceExhausted) << len;
  }
  // The limit is inclusive, and max_payload is the caller's.
  store_le<uint32_t>(f.data() + 12, kMaxControlPayload);
  EXPECT_EQ(header_code(f), StatusCode::kOk);
  EXPECT_EQ(header_code(f, kMaxControlPayload - 1), StatusCode::kResourceExhausted);
  EXPECT_EQ(frame_code(encode_frame(MsgType::kData, {}), 0), StatusCode::kOk);
  EXPECT_EQ(frame_code(encode_frame(MsgType::kData, pattern(1)), 0),
            StatusCode::kResourceExhausted);
}

TEST(FrameReject, ValidationOrder) {
  // magic before version, version before type, type before flags, flags before length.
  Bytes f = encode_frame(MsgType::kHello, pattern(4));
  store_le<uint32_t>(f.data() + 12, 0xFFFFFFFFu);
  EXPECT_EQ(header_code(f), StatusCode::kResourceExhausted);
  store_le<uint32_t>(f.data() + 8, 1);
  EXPECT_EQ(header_code(f), StatusCode::kDataLoss);  // flags
  store_le<uint32_t>(f.data() + 8, 0);
  store_le<uint16_t>(f.data() + 6, 99);
  EXPECT_EQ(header_code(f), StatusCode::kDataLoss);  // type
  store_le<uint16_t>(f.data() + 4, 2);
  EXPECT_EQ(header_code(f), StatusCode::kProtocolMismatch);
  f[0] = std::byte{'X'};
  EXPECT_EQ(header_code(f), StatusCode::kDataLoss);  // magic
}

TEST(FrameReject, TruncatedPayloadIsDataLoss) {
  Bytes f = encode_frame(MsgType::kEpoch, pattern(40));
  for (size_t n = kFrameHeaderSize; n < f.size(); ++n) {
    Bytes prefix(f.begin(), f.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_EQ(header_code(prefix), StatusCode::kOk) << n;  // the header alone is fine
    EXPECT_EQ(frame_code(prefix), StatusCode::kDataLoss) << n;
  }
}

TEST(FrameReject, TrailingBytesAreDataLoss) {
  for (size_t n : {size_t{0}, size_t{8}}) {
    Bytes f = encode_frame(MsgType::kAuth, pattern(n));
    f.push_back(std::byte{0});
    EXPECT_EQ(frame_code(f), StatusCode::kDataLoss) << n;
    // Two frames back to back are not one frame either.
    Bytes two = encode_frame(MsgType::kAuth, pattern(n));
    Bytes second = encode_frame(MsgType::kAuth, pattern(n));
    two.insert(two.end(), second.begin(), second.end());
    EXPECT_EQ(frame_code(two), StatusCode::kDataLoss) << n;
  }
}

TEST(FrameReject, EveryCorruptedPayloadBitIsDataLoss) {
  const Bytes f = encode_frame(MsgType::kWelcome, pattern(48));
  for (size_t i = kFrameHeaderSize; i < f.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes c = f;
      c[i] ^= static_cast<std::byte>(1 << bit);
      ASSERT_EQ(frame_code(c), StatusCode::kDataLoss) << i << ":" << bit;
    }
  }
}

TEST(FrameReject, EveryCorruptedHeaderBitIsRejected) {
  const Bytes f = encode_frame(MsgType::kEpoch, pattern(48));
  for (size_t i = 0; i < kFrameHeaderSize; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes c = f;
      c[i] ^= static_cast<std::byte>(1 << bit);
      StatusCode expected = StatusCode::kDataLoss;
      if (i == 4 || i == 5) expected = StatusCode::kProtocolMismatch;
      if (i >= 12 && i < 16 && load_le<uint32_t>(c.data() + 12) > kMaxControlPayload) {
        expected = StatusCode::kResourceExhausted;
      }
      ASSERT_EQ(frame_code(c), expected) << i << ":" << bit;
    }
  }
}

TEST(FrameReject, TypeSwappedForAnotherKnownTypeFailsTheChecksum) {
  // The checksum covers the header, so a frame cannot be relabelled as another valid type.
  Bytes f = encode_frame(MsgType::kOpDone, pattern(24));
  store_le<uint16_t>(f.data() + 6, static_cast<uint16_t>(MsgType::kOpCommit));
  EXPECT_EQ(header_code(f), StatusCode::kOk);
  EXPECT_EQ(frame_code(f), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace loco::wire
