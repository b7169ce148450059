// connection_test.cc: the helpers in connection.h/.cc: encode_header_parts must produce exactly
// wire::encode_header's bytes for the concatenated payload, however it is split, and
// Connection::receive must hand back whole frames.
#include "transport/connection.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::pattern;

TEST(EncodeHeaderParts, MatchesTheWireEncoderForAnySplit) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{240}, size_t{4097}, size_t{300000}}) {
    Bytes payload = pattern(n, n + 1);
    std::byte want[wire::kFrameHeaderSize];
    wire::encode_header(wire::MsgType::kData, payload, want);
    ByteSpan all(payload);
    std::vector<std::vector<ByteSpan>> splits = {
        {all},
        {},
        {all.first(n / 3), all.subspan(n / 3, n / 3), ByteSpan{}, all.subspan(2 * (n / 3))},
    };
    if (n == 0)
      splits[1] = {ByteSpan{}, ByteSpan{}};
    else
      splits[1] = {all.first(n - 1), all.last(1)};
    for (const auto& parts : splits) {
      std::byte got[wire::kFrameHeaderSize];
      encode_header_parts(wire::MsgType::kData, parts, got);
      EXPECT_EQ(0, std::memcmp(got, want, sizeof(want))) << "n=" << n << " parts=" << parts.size();
    }
    auto h = wire::decode_header(ByteSpan(want), wire::kMaxDataPayload);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(wire::verify_payload(*h, ByteSpan(want), payload).ok());
  }
}

TEST(EncodeHeaderParts, KeepsTheMessageType) {
  std::byte h[wire::kFrameHeaderSize];
  Bytes p = pattern(5, 5);
  ByteSpan parts[] = {p};
  encode_header_parts(wire::MsgType::kEpoch, parts, h);
  auto d = wire::decode_header(ByteSpan(h), 100);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, wire::MsgType::kEpoch);
  EXPECT_EQ(d->length, 5u);
}

}  // namespace
}  // namespace loco::transport
