// tcp_checksum_test.cc: data-plane pieces (Connection::send_piece: a header frame and a body frame
// in one write) and the per-connection choice of body checksums (set_data_payload_checksum). By
// default every payload is hashed; with the option off, piece bodies go out with
// wire::kFlagHeaderChecksumOnly and arrive intact, while piece headers, plain DATA frames and
// control frames on the same connection keep their full checksum.
#include <gtest/gtest.h>

#include <thread>

#include "transport/tcp.h"
#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using testing::tcp_pair;

// Receives one frame and returns its payload; records its flags and type.
Bytes receive_frame(Connection& c, uint32_t& flags, wire::MsgType& type) {
  auto h = c.receive_header(in_ms(20000));
  EXPECT_TRUE(h.ok()) << h.status().to_string();
  if (!h.ok()) return {};
  flags = h->flags;
  type = h->type;
  Bytes out(h->length);
  Status s = c.receive_payload(out, in_ms(20000));
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

TEST(TcpChecksum, PiecesAreFullyHashedByDefault) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(p.client->send_piece(pattern(48, 1), pattern(5000, 3), in_ms(5000)).ok());
  uint32_t flags = 99;
  wire::MsgType type{};
  EXPECT_EQ(receive_frame(*p.server, flags, type), pattern(48, 1));
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(type, wire::MsgType::kData);
  EXPECT_EQ(receive_frame(*p.server, flags, type), pattern(5000, 3));
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(p.client->stats().frames_sent, 2u);
  EXPECT_EQ(p.server->stats().frames_received, 2u);
}

TEST(TcpChecksum, HeaderOnlyBodiesInterleaveWithFullyHashedFrames) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  p.server->set_max_payload(wire::kMaxDataPayload);
  p.client->set_data_payload_checksum(false);
  // Small and large bodies (large ones are read straight into the caller's buffer) between
  // control frames and plain DATA frames, all sent before the first receive.
  const std::vector<size_t> sizes = {100, 3u << 20, 40000, 7};
  Status sent;
  std::thread sender([&] {
    for (size_t i = 0; i < sizes.size() && sent.ok(); ++i) {
      sent = p.client->send_piece(pattern(48, 50 + i), pattern(sizes[i], i), in_ms(20000));
      if (sent.ok()) sent = p.client->send(wire::MsgType::kHeartbeat, pattern(12, 100 + i), in_ms(20000));
      if (sent.ok()) sent = p.client->send(wire::MsgType::kData, pattern(30, 200 + i), in_ms(20000));
    }
  });
  for (size_t i = 0; i < sizes.size(); ++i) {
    SCOPED_TRACE(i);
    uint32_t flags = 99;
    wire::MsgType type{};
    EXPECT_EQ(receive_frame(*p.server, flags, type), pattern(48, 50 + i));
    EXPECT_EQ(flags, 0u) << "piece headers keep their payload checksum";
    EXPECT_TRUE(receive_frame(*p.server, flags, type) == pattern(sizes[i], i));
    EXPECT_EQ(type, wire::MsgType::kData);
    EXPECT_EQ(flags, wire::kFlagHeaderChecksumOnly);
    EXPECT_EQ(receive_frame(*p.server, flags, type), pattern(12, 100 + i));
    EXPECT_EQ(type, wire::MsgType::kHeartbeat);
    EXPECT_EQ(flags, 0u) << "control frames keep their payload checksum";
    EXPECT_EQ(receive_frame(*p.server, flags, type), pattern(30, 200 + i));
    EXPECT_EQ(flags, 0u) << "plain DATA frames keep their payload checksum";
  }
  sender.join();
  EXPECT_TRUE(sent.ok()) << sent.to_string();
  // Back on: the next body is fully checksummed again.
  p.client->set_data_payload_checksum(true);
  ASSERT_TRUE(p.client->send_piece(pattern(48, 9), pattern(64, 9), in_ms(5000)).ok());
  uint32_t flags = 99;
  wire::MsgType type{};
  receive_frame(*p.server, flags, type);
  EXPECT_EQ(receive_frame(*p.server, flags, type), pattern(64, 9));
  EXPECT_EQ(flags, 0u);
}

}  // namespace
}  // namespace loco::transport
