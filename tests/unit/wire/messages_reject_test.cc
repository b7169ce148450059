// messages_reject_test.cc: every control-plane decoder treats its payload as untrusted. Each one is
// fed every truncation of a valid encoding, a trailing byte, oversize and forged lengths and counts,
// and out-of-range enum values; each must answer DATA_LOSS without crashing and without allocating
// for a size it was merely told about. Round trips and layouts are messages_test.cc.
#include <gtest/gtest.h>

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "unit/wire/alloc_tracker.h"
#include "unit/wire/message_samples.h"
#include "wire/messages.h"

namespace loco::wire {
namespace {

using test_support::LargestAllocation;

struct Codec {
  const char* name;
  Bytes valid;  // a valid, non-trivial encoding
  std::function<Status(ByteSpan)> decode;
};

template <typename F>
std::function<Status(ByteSpan)> status_of(F decode) {
  return [decode](ByteSpan b) { return decode(b).status(); };
}

std::vector<Codec> all_codecs() {
  return {
      {"HELLO", samples::hello().encode(), status_of(decode_hello)},
      {"CHALLENGE", samples::challenge().encode(), status_of(decode_challenge)},
      {"AUTH", samples::auth().encode(), status_of(decode_auth)},
      {"WELCOME", samples::welcome().encode(), status_of(decode_welcome)},
      {"REJECT", samples::reject().encode(), status_of(decode_reject)},
      {"HEARTBEAT", samples::heartbeat().encode(), status_of(decode_heartbeat)},
      {"HEARTBEAT_ACK", samples::heartbeat_ack().encode(), status_of(decode_heartbeat_ack)},
      {"EPOCH", samples::epoch().encode(), status_of(decode_epoch)},
      {"LEAVE", samples::leave().encode(), status_of(decode_leave)},
      {"OP_DONE", samples::op_done().encode(), status_of(decode_op_done)},
      {"OP_COMMIT", samples::op_commit().encode(), status_of(decode_op_commit)},
  };
}

Bytes cat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(MessageReject, ValidSamplesDecode) {
  for (const Codec& c : all_codecs()) EXPECT_TRUE(c.decode(c.valid).ok()) << c.name;
}

TEST(MessageReject, EveryTruncationIsDataLoss) {
  for (const Codec& c : all_codecs()) {
    for (size_t n = 0; n < c.valid.size(); ++n) {
      Bytes prefix(c.valid.begin(), c.valid.begin() + static_cast<ptrdiff_t>(n));
      ASSERT_EQ(c.decode(prefix).code(), StatusCode::kDataLoss) << c.name << " prefix " << n;
    }
  }
}

TEST(MessageReject, TrailingBytesAreDataLoss) {
  for (const Codec& c : all_codecs()) {
    for (std::byte extra : {std::byte{0}, std::byte{0xFF}}) {
      Bytes b = c.valid;
      b.push_back(extra);
      EXPECT_EQ(c.decode(b).code(), StatusCode::kDataLoss) << c.name;
    }
    EXPECT_EQ(c.decode(cat(c.valid, c.valid)).code(), StatusCode::kDataLoss) << c.name;
  }
}

TEST(MessageReject, OversizeStringsAreDataLoss) {
  Hello h = samples::hello();
  h.name = std::string(kMaxNameLen + 1, 'n');
  EXPECT_EQ(decode_hello(h.encode()).status().code(), StatusCode::kDataLoss);
  h = samples::hello();
  h.data_host = std::string(kMaxNameLen + 1, 'h');
  EXPECT_EQ(decode_hello(h.encode()).status().code(), StatusCode::kDataLoss);

  Epoch e = samples::epoch();
  e.members[1].name = std::string(kMaxNameLen + 1, 'n');
  EXPECT_EQ(decode_epoch(e.encode()).status().code(), StatusCode::kDataLoss);
  e = samples::epoch();
  e.members[2].data_host = std::string(kMaxNameLen + 1, 'h');
  EXPECT_EQ(decode_epoch(e.encode()).status().code(), StatusCode::kDataLoss);

  // Reject::encode truncates long reasons (so a REJECT always arrives as itself) ...
  Reject r = samples::reject();
  r.reason = std::string(kMaxReasonLen + 1, 'r');
  auto truncated = decode_reject(r.encode());
  ASSERT_TRUE(truncated.ok()) << truncated.status().to_string();
  EXPECT_EQ(truncated->reason.size(), kMaxReasonLen);
  // ... but a forged oversize reason on the wire is still DATA_LOSS.
  Bytes forged;
  ByteWriter fw(forged);
  fw.put<int32_t>(static_cast<int32_t>(StatusCode::kAborted));
  fw.put_string(std::string(kMaxReasonLen + 1, 'r'));
  EXPECT_EQ(decode_reject(forged).status().code(), StatusCode::kDataLoss);
  Leave l;
  l.reason = std::string(kMaxReasonLen + 1, 'r');
  EXPECT_EQ(decode_leave(l.encode()).status().code(), StatusCode::kDataLoss);
}

TEST(MessageReject, ForgedStringLengthDoesNotAllocate) {
  // LEAVE whose reason claims 4 GiB - 1 and 1 MiB, followed by a few bytes.
  for (uint32_t claimed : {0xFFFFFFFFu, 1u << 20, static_cast<uint32_t>(kMaxReasonLen)}) {
    Bytes b;
    ByteWriter w(b);
    w.put<uint32_t>(claimed);
    w.put_bytes(as_bytes("abc"));
    LargestAllocation alloc;
    EXPECT_EQ(decode_leave(b).status().code(), StatusCode::kDataLoss) << claimed;
    EXPECT_LT(alloc.largest(), 1024u) << claimed;
  }
}

// EPOCH header: epoch number and a member count, then `tail`.
Bytes epoch_with_count(uint32_t count, const Bytes& tail = {}) {
  Bytes b;
  ByteWriter w(b);
  w.put<uint64_t>(3);
  w.put<uint32_t>(count);
  w.put_bytes(tail);
  return b;
}

// `n` members of the smallest encoding (18 bytes: id, two empty strings, port).
Bytes minimal_members(size_t n) { return Bytes(n * 18, std::byte{0}); }

TEST(MessageReject, AllocationTrackerSeesTheMemberReservation) {
  // Self-check of the instrument the two tests around this one rely on.
  Bytes b = epoch_with_count(1000, minimal_members(1000));
  LargestAllocation alloc;
  ASSERT_TRUE(decode_epoch(b).ok());
  EXPECT_GE(alloc.largest(), 1000 * sizeof(Member));
}

TEST(MessageReject, ForgedEpochMemberCountsDoNotAllocate) {
  struct Case {
    uint32_t count;
    size_t members_present;
  };
  for (Case c : {Case{0xFFFFFFFFu, 0}, Case{0xFFFFFFFFu, 100}, Case{kMaxMembers, 1},
                 Case{kMaxMembers + 1, 0}, Case{1000, 999}, Case{2, 1}, Case{1, 0}}) {
    Bytes b = epoch_with_count(c.count, minimal_members(c.members_present));
    LargestAllocation alloc;
    EXPECT_EQ(decode_epoch(b).status().code(), StatusCode::kDataLoss) << c.count;
    // At most a reservation for the members the bytes can actually hold.
    EXPECT_LE(alloc.largest(), 1024 + (b.size() / 18) * sizeof(Member)) << c.count;
  }
}

TEST(MessageReject, EpochMemberCountAboveTheLimitIsDataLoss) {
  // Enough bytes for kMaxMembers + 1 members: the count limit itself must reject it.
  Bytes b = epoch_with_count(kMaxMembers + 1, minimal_members(kMaxMembers + 1));
  EXPECT_EQ(decode_epoch(b).status().code(), StatusCode::kDataLoss);
  Bytes ok = epoch_with_count(kMaxMembers, minimal_members(kMaxMembers));
  Result<Epoch> e = decode_epoch(ok);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->members.size(), kMaxMembers);
}

TEST(MessageReject, EpochCountDisagreeingWithMembersIsDataLoss) {
  Bytes members = minimal_members(3);
  EXPECT_TRUE(decode_epoch(epoch_with_count(3, members)).ok());
  EXPECT_EQ(decode_epoch(epoch_with_count(2, members)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_epoch(epoch_with_count(4, members)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_epoch(epoch_with_count(0, members)).status().code(), StatusCode::kDataLoss);
}

TEST(MessageReject, RejectCodeOutOfRangeIsDataLoss) {
  for (int32_t code : {0, 13, 100, -1, INT32_MIN, INT32_MAX}) {
    Bytes b;
    ByteWriter w(b);
    w.put<int32_t>(code);
    w.put_string("why");
    EXPECT_EQ(decode_reject(b).status().code(), StatusCode::kDataLoss) << code;
  }
  Reject ok_code;
  ok_code.code = StatusCode::kOk;  // a REJECT never carries OK
  EXPECT_EQ(decode_reject(ok_code.encode()).status().code(), StatusCode::kDataLoss);
}

TEST(MessageReject, HelloWithUnknownRoleIsDataLoss) {
  for (uint8_t role : {uint8_t{0}, uint8_t{2}, uint8_t{0xFF}}) {
    Bytes b = samples::hello().encode();
    b[0] = static_cast<std::byte>(role);
    EXPECT_EQ(decode_hello(b).status().code(), StatusCode::kDataLoss) << int{role};
  }
}

TEST(MessageReject, ChallengeAuthByteAboveOneIsDataLoss) {
  for (uint8_t v : {uint8_t{2}, uint8_t{0x80}, uint8_t{0xFF}}) {
    Bytes b = samples::challenge().encode();
    b.back() = static_cast<std::byte>(v);
    EXPECT_EQ(decode_challenge(b).status().code(), StatusCode::kDataLoss) << int{v};
  }
}

TEST(MessageReject, FixedSizeMessagesRejectEveryOtherSize) {
  struct Fixed {
    const char* name;
    size_t size;
    std::function<Status(ByteSpan)> decode;
  };
  const Fixed fixed[] = {
      {"CHALLENGE", 33, status_of(decode_challenge)},
      {"AUTH", 32, status_of(decode_auth)},
      {"WELCOME", 48, status_of(decode_welcome)},
      {"HEARTBEAT", 16, status_of(decode_heartbeat)},
      {"HEARTBEAT_ACK", 16, status_of(decode_heartbeat_ack)},
      {"OP_DONE", 24, status_of(decode_op_done)},
      {"OP_COMMIT", 24, status_of(decode_op_commit)},
  };
  for (const Fixed& f : fixed) {
    for (size_t n = 0; n <= 64; ++n) {
      Bytes zeros(n, std::byte{0});
      StatusCode want = n == f.size ? StatusCode::kOk : StatusCode::kDataLoss;
      EXPECT_EQ(f.decode(zeros).code(), want) << f.name << " size " << n;
    }
  }
}

}  // namespace
}  // namespace loco::wire
