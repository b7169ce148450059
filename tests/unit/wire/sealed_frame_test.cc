// sealed_frame_test.cc: sealed frames (wire/sealed_frame.h): round trips for every cipher, and
// DATA_LOSS for a flipped byte anywhere, a replayed, reordered or dropped frame, the wrong key,
// a truncated frame, and a frame with its seal stripped or its cipher relabelled.
#include "wire/sealed_frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace loco::wire {
namespace {

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(i * 7 + 3);
  return b;
}

void append(Bytes& out, ByteSpan b) {
  const size_t at = out.size();
  out.resize(at + b.size());
  if (!b.empty()) std::memcpy(out.data() + at, b.data(), b.size());
}

SealKey key_of(int fill) {
  SealKey k;
  k.fill(static_cast<std::byte>(fill));
  return k;
}

std::vector<SealCipher> ciphers() {
  std::vector<SealCipher> out = {SealCipher::kAuthOnly, SealCipher::kXChaCha20Poly1305};
  if (seal_cipher_available(SealCipher::kAes256Gcm)) out.push_back(SealCipher::kAes256Gcm);
  return out;
}

class SealedFrame : public ::testing::TestWithParam<SealCipher> {};

TEST_P(SealedFrame, RoundTripsInOrderAndHidesPayloadWhenEncrypting) {
  Sealer sealer(key_of(1), GetParam());
  Opener opener(key_of(1));
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{70000}}) {
    const Bytes payload = pattern(n);
    Result<Bytes> sealed = seal_frame(sealer, MsgType::kData, payload);
    ASSERT_TRUE(sealed.ok()) << sealed.status().to_string();
    ASSERT_EQ(sealed->size(), kFrameHeaderSize + n + kSealTagSize);
    const bool clear = std::equal(payload.begin(), payload.end(), sealed->begin() + kFrameHeaderSize);
    EXPECT_EQ(clear, n == 0 || GetParam() == SealCipher::kAuthOnly);
    Result<Frame> f = open_frame(opener, *sealed, kMaxDataPayload);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->type, MsgType::kData);
    EXPECT_EQ(f->payload, payload);
  }
  EXPECT_EQ(opener.next_sequence(), 4u);
}

TEST_P(SealedFrame, GatheredPartsSealLikeOneBuffer) {
  Sealer a(key_of(2), GetParam());
  Opener opener(key_of(2));
  const Bytes p1 = pattern(10), p2 = pattern(33);
  const ByteSpan parts[2] = {p1, p2};
  std::byte header[kFrameHeaderSize];
  std::byte tag[kSealTagSize];
  Bytes scratch;
  ASSERT_TRUE(a.seal(MsgType::kEpoch, parts, scratch, header, tag).ok());
  Bytes frame;
  append(frame, ByteSpan(header));
  if (a.encrypts()) {
    append(frame, scratch);
  } else {
    append(frame, p1);
    append(frame, p2);
  }
  append(frame, ByteSpan(tag));
  Result<Frame> f = open_frame(opener, frame, kMaxControlPayload);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  Bytes both = p1;
  both.insert(both.end(), p2.begin(), p2.end());
  EXPECT_EQ(f->payload, both);
}

TEST_P(SealedFrame, AnyFlippedByteIsDataLoss) {
  Sealer sealer(key_of(3), GetParam());
  Result<Bytes> sealed = seal_frame(sealer, MsgType::kOpDone, pattern(40));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes bad = *sealed;
    bad[i] ^= std::byte{0x01};
    Opener opener(key_of(3));
    Result<Frame> f = open_frame(opener, bad, kMaxControlPayload);
    ASSERT_FALSE(f.ok()) << "byte " << i;
    // A flipped magic/version/type is caught by the header decoder; everything else by the tag.
    if (i >= 8) {
      EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << "byte " << i;
    }
    EXPECT_EQ(opener.next_sequence(), 0u);
  }
}

TEST_P(SealedFrame, ReplayReorderDropAndWrongKeyAreDataLoss) {
  Sealer sealer(key_of(4), GetParam());
  const Bytes f0 = *seal_frame(sealer, MsgType::kHeartbeat, pattern(12));
  const Bytes f1 = *seal_frame(sealer, MsgType::kHeartbeat, pattern(12));
  const Bytes f2 = *seal_frame(sealer, MsgType::kHeartbeat, pattern(12));
  {
    Opener replay(key_of(4));
    ASSERT_TRUE(open_frame(replay, f0, kMaxControlPayload).ok());
    EXPECT_EQ(open_frame(replay, f0, kMaxControlPayload).status().code(), StatusCode::kDataLoss);
  }
  {
    Opener reorder(key_of(4));
    EXPECT_EQ(open_frame(reorder, f1, kMaxControlPayload).status().code(), StatusCode::kDataLoss);
  }
  {
    Opener drop(key_of(4));
    ASSERT_TRUE(open_frame(drop, f0, kMaxControlPayload).ok());
    EXPECT_EQ(open_frame(drop, f2, kMaxControlPayload).status().code(), StatusCode::kDataLoss);
  }
  {
    Opener wrong(key_of(5));
    EXPECT_EQ(open_frame(wrong, f0, kMaxControlPayload).status().code(), StatusCode::kDataLoss);
  }
}

TEST_P(SealedFrame, TruncatedOrStrippedFramesAreDataLoss) {
  Sealer sealer(key_of(6), GetParam());
  const Bytes f = *seal_frame(sealer, MsgType::kEpoch, pattern(50));
  for (size_t cut : {size_t{0}, size_t{10}, kFrameHeaderSize, f.size() - 1}) {
    Opener opener(key_of(6));
    EXPECT_EQ(open_frame(opener, ByteSpan(f).first(cut), kMaxControlPayload).status().code(),
              StatusCode::kDataLoss)
        << cut;
  }
  // The seal flag removed (a plain frame's flags) or swapped for another cipher's.
  for (uint32_t flags : {0u, kFlagSealedAuthOnly, kFlagSealedXChaCha, kFlagSealedAes,
                         kFlagSealedAuthOnly | kFlagSealedXChaCha}) {
    if (flags == seal_flag(GetParam())) continue;
    Bytes bad = f;
    store_le<uint32_t>(bad.data() + 8, flags);
    Opener opener(key_of(6));
    EXPECT_EQ(open_frame(opener, bad, kMaxControlPayload).status().code(), StatusCode::kDataLoss)
        << flags;
  }
}

INSTANTIATE_TEST_SUITE_P(Ciphers, SealedFrame, ::testing::ValuesIn(ciphers()));

TEST(SealKeys, DirectionsDifferAndBothEndsAgree) {
  std::array<std::byte, kSealKeySize> secret{};
  secret.fill(std::byte{9});
  const Bytes transcript = pattern(64);
  SealKeys a = derive_seal_keys(secret, "loco/test", transcript, SealRole::kInitiator, true);
  SealKeys b = derive_seal_keys(secret, "loco/test", transcript, SealRole::kResponder, true);
  EXPECT_EQ(a.send, b.receive);
  EXPECT_EQ(a.receive, b.send);
  EXPECT_NE(a.send, a.receive);
  SealKeys other = derive_seal_keys(secret, "loco/test", pattern(63), SealRole::kInitiator, true);
  EXPECT_NE(other.send, a.send);
  SealKeys label = derive_seal_keys(secret, "loco/other", transcript, SealRole::kInitiator, true);
  EXPECT_NE(label.send, a.send);
  EXPECT_EQ(derive_seal_keys(secret, "x", {}, SealRole::kInitiator, false).cipher,
            SealCipher::kAuthOnly);
  EXPECT_NE(a.cipher, SealCipher::kAuthOnly);
}

}  // namespace
}  // namespace loco::wire
