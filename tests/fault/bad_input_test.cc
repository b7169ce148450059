// Bad input: clients that send random bytes, a wrong protocol version, an oversize length or a
// wrong secret are rejected with the right status, and the coordinator keeps serving good peers.
#include <gtest/gtest.h>

#include "common/rng.h"
#include "membership/auth.h"
#include "membership/coordinator.h"
#include "membership/peer.h"
#include "support/swarm_harness.h"
#include "transport/tcp.h"
#include "wire/messages.h"

#include <asio.hpp>

namespace loco::testing {
namespace {

double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Sends raw bytes on a plain socket, then reads the coordinator's answer: the REJECT it sends
// before closing. Returns the rejected status code, or kOk if the connection closed without one.
StatusCode send_raw_and_read_reject(uint16_t port, const Bytes& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock, asio::buffer(bytes.data(), bytes.size()));
  sock.shutdown(asio::ip::tcp::socket::shutdown_send);
  Bytes reply;
  std::byte buf[4096];
  asio::error_code ec;
  for (;;) {
    size_t n = sock.read_some(asio::buffer(buf, sizeof(buf)), ec);
    if (ec) break;
    reply.insert(reply.end(), buf, buf + n);
  }
  if (reply.size() < wire::kFrameHeaderSize) return StatusCode::kOk;
  auto header = wire::decode_header(reply, wire::kMaxControlPayload);
  if (!header.ok() || header->type != wire::MsgType::kReject) return StatusCode::kInternal;
  auto frame = wire::decode_frame(
      ByteSpan(reply).subspan(0, wire::kFrameHeaderSize + header->length), wire::kMaxControlPayload);
  if (!frame.ok()) return StatusCode::kInternal;
  auto rej = wire::decode_reject(frame->payload);
  return rej.ok() ? rej->code : StatusCode::kInternal;
}

Bytes hello_frame() {
  wire::Hello h;
  h.name = "raw";
  return wire::encode_frame(wire::MsgType::kHello, h.encode());
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    membership::CoordinatorOptions opts;
    auto key = membership::derive_key("right secret");
    ASSERT_TRUE(key.ok());
    opts.key = *key;
    opts.config.heartbeat_period = std::chrono::milliseconds(100);
    opts.config.heartbeat_timeout = std::chrono::milliseconds(1000);
    opts.config.join_window = std::chrono::milliseconds(20);
    opts.handshake_timeout = std::chrono::seconds(3);
    auto c = membership::Coordinator::start(opts);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    coord_ = std::move(c).value();
  }

  // After each bad client, a good peer must still be admitted.
  void expect_still_serving() {
    membership::PeerOptions po;
    po.coordinator_port = coord_->port();
    po.key = *membership::derive_key("right secret");
    po.name = "good";
    auto peer = membership::PeerClient::join(po);
    ASSERT_TRUE(peer.ok()) << peer.status().to_string();
    Status s = (*peer)->wait_for([&](const membership::MembershipView& v) { return v.rank >= 0; },
                                 Deadline::after(std::chrono::seconds(10)));
    EXPECT_TRUE(s.ok()) << s.to_string();
  }

  std::unique_ptr<membership::Coordinator> coord_;
};

TEST_F(BadInput, RandomBytesGetDataLoss) {
  SplitMix64 rng(42);
  for (int trial = 0; trial < 5; ++trial) {
    Bytes junk(200 + static_cast<size_t>(trial) * 37);
    for (auto& b : junk) b = static_cast<std::byte>(rng.next());
    EXPECT_EQ(send_raw_and_read_reject(coord_->port(), junk), StatusCode::kDataLoss);
  }
  expect_still_serving();
}

TEST_F(BadInput, WrongVersionGetsProtocolMismatch) {
  Bytes frame = hello_frame();
  store_le<uint16_t>(frame.data() + 4, 7);
  EXPECT_EQ(send_raw_and_read_reject(coord_->port(), frame), StatusCode::kProtocolMismatch);
  expect_still_serving();
}

TEST_F(BadInput, OversizeLengthGetsResourceExhausted) {
  Bytes frame = hello_frame();
  frame.resize(wire::kFrameHeaderSize);
  store_le<uint32_t>(frame.data() + 12, 0x7FFFFFFFu);  // 2 GiB announced, nothing sent
  EXPECT_EQ(send_raw_and_read_reject(coord_->port(), frame), StatusCode::kResourceExhausted);
  expect_still_serving();
}

// Before authentication a frame may announce at most wire::kMaxHandshakePayload bytes: a bare
// header claiming 1 MiB (under the control-plane limit) is refused at once, with nothing allocated
// for it, instead of being waited on.
TEST_F(BadInput, LargeFrameBeforeAuthenticationGetsResourceExhausted) {
  Bytes frame = hello_frame();
  frame.resize(wire::kFrameHeaderSize);
  store_le<uint32_t>(frame.data() + 12, 1u << 20);
  const TimePoint t0 = now();
  EXPECT_EQ(send_raw_and_read_reject(coord_->port(), frame), StatusCode::kResourceExhausted);
  EXPECT_LT(to_ms(now() - t0), 2000);
  expect_still_serving();
}

TEST_F(BadInput, BadChecksumGetsDataLoss) {
  Bytes frame = hello_frame();
  frame.back() ^= std::byte{0x5A};
  EXPECT_EQ(send_raw_and_read_reject(coord_->port(), frame), StatusCode::kDataLoss);
  expect_still_serving();
}

TEST_F(BadInput, WrongSecretIsUnauthenticatedAndRevealsNothing) {
  membership::PeerOptions po;
  po.coordinator_port = coord_->port();
  po.key = *membership::derive_key("wrong secret");
  auto peer = membership::PeerClient::join(po);
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(peer.status().message().find("peer"), std::string::npos) << peer.status().message();
  EXPECT_EQ(coord_->epoch(), 0u) << "a rejected client must not change the membership";
  expect_still_serving();
}

TEST_F(BadInput, MissingSecretIsUnauthenticated) {
  membership::PeerOptions po;
  po.coordinator_port = coord_->port();
  auto peer = membership::PeerClient::join(po);
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kUnauthenticated);
  expect_still_serving();
}

TEST_F(BadInput, SilentClientIsDroppedAfterTheHandshakeTimeout) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), coord_->port()});
  const TimePoint t0 = now();
  std::byte buf[64];
  asio::error_code ec;
  Bytes reply;
  for (;;) {
    size_t n = sock.read_some(asio::buffer(buf, sizeof(buf)), ec);
    if (ec) break;
    reply.insert(reply.end(), buf, buf + n);
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now() - t0).count();
  EXPECT_GE(waited, 2500);
  EXPECT_LE(waited, 10000);
  ASSERT_GE(reply.size(), wire::kFrameHeaderSize);
  auto frame = wire::decode_frame(reply, wire::kMaxControlPayload);
  ASSERT_TRUE(frame.ok());
  auto rej = wire::decode_reject(frame->payload);
  ASSERT_TRUE(rej.ok());
  EXPECT_EQ(rej->code, StatusCode::kDeadlineExceeded);
  expect_still_serving();
}

TEST(NoSecret, CoordinatorWithoutSecretAdmitsLoopbackPeers) {
  membership::CoordinatorOptions opts;
  opts.config.join_window = std::chrono::milliseconds(10);
  auto c = membership::Coordinator::start(opts);
  ASSERT_TRUE(c.ok());
  membership::PeerOptions po;
  po.coordinator_port = (*c)->port();
  auto peer = membership::PeerClient::join(po);
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  auto peer2 = membership::PeerClient::join(po);
  ASSERT_TRUE(peer2.ok()) << peer2.status().to_string();
  // A peer that holds a secret refuses a coordinator that cannot prove it holds it too.
  po.key = *membership::derive_key("whatever");
  auto wary = membership::PeerClient::join(po);
  ASSERT_FALSE(wary.ok());
  EXPECT_EQ(wary.status().code(), StatusCode::kUnauthenticated);
  Status s = (*peer)->wait_for([](const membership::MembershipView& v) { return v.world_size() == 2; },
                              Deadline::after(std::chrono::seconds(10)));
  EXPECT_TRUE(s.ok()) << s.to_string();
}

}  // namespace
}  // namespace loco::testing
