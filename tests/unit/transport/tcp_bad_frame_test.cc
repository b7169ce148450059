// tcp_bad_frame_test.cc: untrusted bytes written on a raw socket to a TcpConnection: garbage,
// wrong version, unknown type, oversize length, bad checksum, and frames cut short by a deadline.
// Each must give the documented status and close the connection, never crash or over-allocate.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "transport/tcp.h"
#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using testing::seconds_since;

// A plain blocking socket on one end, a TcpConnection on the other.
class RawPeer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    listener_ = std::move(*l);
    raw_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(raw_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(listener_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(raw_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    auto c = listener_->accept(in_ms(10000));
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    conn_ = std::move(*c);
  }
  void TearDown() override {
    if (raw_ >= 0) ::close(raw_);
  }

  // Writes all of `b`; false once the connection is gone (never SIGPIPE).
  bool write_raw(ByteSpan b) {
    while (!b.empty()) {
      ssize_t n = ::send(raw_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      b = b.subspan(static_cast<size_t>(n));
    }
    return true;
  }

  static Bytes header(wire::MsgType type, ByteSpan payload) {
    std::byte h[wire::kFrameHeaderSize];
    wire::encode_header(type, payload, h);
    return Bytes(h, h + wire::kFrameHeaderSize);
  }

  // The raw side sees the connection end (EOF or reset) once loco dropped it.
  void expect_raw_side_dropped() {
    char b[16];
    ssize_t n = ::recv(raw_, b, sizeof(b), 0);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << n;
  }

  // After a bad frame: receiving is over for good, but the connection can still answer (a REJECT
  // saying why) before it is closed; the raw side then reads that frame and sees the end.
  void expect_answer_then_drop() {
    EXPECT_FALSE(conn_->is_closed());
    EXPECT_EQ(conn_->receive_header(in_ms(100)).status().code(), StatusCode::kUnavailable);
    Bytes answer = pattern(40, 9);
    ASSERT_TRUE(conn_->send(wire::MsgType::kReject, answer, in_ms(5000)).ok());
    conn_->close();
    Bytes got;
    char b[256];
    for (;;) {
      ssize_t n = ::recv(raw_, b, sizeof(b), 0);
      if (n <= 0) break;
      got.insert(got.end(), reinterpret_cast<std::byte*>(b), reinterpret_cast<std::byte*>(b) + n);
    }
    ASSERT_EQ(got.size(), wire::kFrameHeaderSize + answer.size());
    auto f = wire::decode_frame(got, wire::kMaxControlPayload);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->type, wire::MsgType::kReject);
    EXPECT_EQ(f->payload, answer);
  }

  int raw_ = -1;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(RawPeer, GarbageIsDataLoss) {
  ASSERT_TRUE(write_raw(as_bytes("GET / HTTP/1.1\r\nHost: example\r\n\r\n")));
  auto h = conn_->receive_header(in_ms(5000));
  EXPECT_EQ(h.status().code(), StatusCode::kDataLoss) << h.status().to_string();
  expect_answer_then_drop();
}

TEST_F(RawPeer, WrongVersionIsProtocolMismatch) {
  Bytes h = header(wire::MsgType::kHello, {});
  store_le<uint16_t>(h.data() + 4, wire::kProtocolVersion + 1);
  ASSERT_TRUE(write_raw(h));
  auto r = conn_->receive_header(in_ms(5000));
  EXPECT_EQ(r.status().code(), StatusCode::kProtocolMismatch) << r.status().to_string();
  expect_answer_then_drop();
}

TEST_F(RawPeer, UnknownTypeIsDataLoss) {
  Bytes h = header(wire::MsgType::kHello, {});
  store_le<uint16_t>(h.data() + 6, 999);
  ASSERT_TRUE(write_raw(h));
  EXPECT_EQ(conn_->receive_header(in_ms(5000)).status().code(), StatusCode::kDataLoss);
  expect_answer_then_drop();
}

TEST_F(RawPeer, OversizeLengthIsRejectedFromTheHeaderAlone) {
  Bytes h = header(wire::MsgType::kData, {});
  store_le<uint32_t>(h.data() + 12, 0xFFFFFFF0u);  // ~4 GiB announced, nothing follows
  ASSERT_TRUE(write_raw(h));
  TimePoint start = now();
  auto r = conn_->receive_header(in_ms(10000));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().to_string();
  EXPECT_LT(seconds_since(start), 5.0);  // did not wait for a payload
  expect_answer_then_drop();
}

TEST_F(RawPeer, LengthAboveTheConnectionsLimitIsResourceExhausted) {
  conn_->set_max_payload(1000);
  EXPECT_EQ(conn_->max_payload(), 1000u);
  Bytes payload = pattern(1001, 1);
  Bytes h = header(wire::MsgType::kData, payload);
  ASSERT_TRUE(write_raw(h));
  ASSERT_TRUE(write_raw(payload));
  EXPECT_EQ(conn_->receive_header(in_ms(5000)).status().code(), StatusCode::kResourceExhausted);
}

TEST_F(RawPeer, BadChecksumIsDataLoss) {
  Bytes payload = pattern(300, 2);
  Bytes frame = header(wire::MsgType::kData, payload);
  payload[150] ^= std::byte{0x40};
  frame.insert(frame.end(), payload.begin(), payload.end());
  ASSERT_TRUE(write_raw(frame));
  auto h = conn_->receive_header(in_ms(5000));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  Bytes out(h->length);
  Status s = conn_->receive_payload(out, in_ms(5000));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
  expect_answer_then_drop();
}

TEST_F(RawPeer, BadChecksumInALargeDirectReadIsDataLoss) {
  conn_->set_max_payload(wire::kMaxDataPayload);
  Bytes payload = pattern(8 << 20, 3);
  Bytes h = header(wire::MsgType::kData, payload);
  payload[payload.size() - 1] ^= std::byte{0x01};  // the very last byte
  std::thread writer([&] {
    if (write_raw(h)) write_raw(payload);
  });
  auto r = conn_->receive_header(in_ms(30000));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Bytes out(r->length);
  EXPECT_EQ(conn_->receive_payload(out, in_ms(30000)).code(), StatusCode::kDataLoss);
  writer.join();
}

TEST_F(RawPeer, TruncatedHeaderThenEofIsUnavailable) {
  Bytes h = header(wire::MsgType::kHello, {});
  ASSERT_TRUE(write_raw(ByteSpan(h).first(10)));
  ::shutdown(raw_, SHUT_WR);
  EXPECT_EQ(conn_->receive_header(in_ms(5000)).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(conn_->is_closed());
}

TEST_F(RawPeer, DeadlineMidHeaderClosesTheConnection) {
  Bytes h = header(wire::MsgType::kHello, {});
  ASSERT_TRUE(write_raw(ByteSpan(h).first(10)));
  auto r = conn_->receive_header(in_ms(200));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().to_string();
  EXPECT_TRUE(conn_->is_closed());
  expect_raw_side_dropped();
}

TEST_F(RawPeer, DeadlineMidPayloadClosesTheConnection) {
  conn_->set_max_payload(wire::kMaxDataPayload);
  Bytes payload = pattern(100000, 4);
  Bytes h = header(wire::MsgType::kData, payload);
  ASSERT_TRUE(write_raw(h));
  ASSERT_TRUE(write_raw(ByteSpan(payload).first(50000)));
  auto r = conn_->receive_header(in_ms(5000));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Bytes out(r->length);
  Status s = conn_->receive_payload(out, in_ms(200));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.to_string();
  EXPECT_TRUE(conn_->is_closed());
}

TEST_F(RawPeer, ValidRawFrameIsAccepted) {
  // The control case: the same helpers produce frames the connection accepts.
  Bytes payload = pattern(64, 5);
  ASSERT_TRUE(write_raw(header(wire::MsgType::kHeartbeat, payload)));
  ASSERT_TRUE(write_raw(payload));
  auto f = conn_->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->payload, payload);
  EXPECT_FALSE(conn_->is_closed());
}

}  // namespace
}  // namespace loco::transport
