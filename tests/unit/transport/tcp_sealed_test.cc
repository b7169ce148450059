// tcp_sealed_test.cc: a sealed TcpConnection (seal_receive / seal_send, docs/protocol.md 2.2)
// against a raw socket that holds the key and writes sealed frames itself, then tampers with them:
// one flipped bit, a replay, a reorder, a frame cut short (stream going on, or ending), an unsealed
// frame. Each must be DATA_LOSS (a cut and closed stream: UNAVAILABLE) with nothing delivered,
// receiving must stay over for good, and the raw side must see the connection end once it is
// closed. And what a sealed sender writes must open with the peer's key, in order.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/tcp.h"
#include "unit/transport/test_util.h"
#include "wire/sealed_frame.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using wire::SealCipher;

wire::SealKey key_of(uint8_t b) {
  wire::SealKey k;
  k.fill(std::byte{b});
  return k;
}

class SealedTcp : public ::testing::TestWithParam<SealCipher> {
 protected:
  void SetUp() override {
    if (!wire::seal_cipher_available(GetParam())) GTEST_SKIP() << "no AES-NI";
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
    ASSERT_TRUE(conn_->seal_receive(key_of(1)).ok());
  }
  void TearDown() override {
    if (raw_ >= 0) ::close(raw_);
  }

  bool write_raw(ByteSpan b) {
    while (!b.empty()) {
      ssize_t n = ::send(raw_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      b = b.subspan(static_cast<size_t>(n));
    }
    return true;
  }
  Bytes sealed(size_t n, uint64_t seed) {
    return *wire::seal_frame(sealer_, wire::MsgType::kData, pattern(n, seed));
  }
  StatusCode receive_code() { return conn_->receive(in_ms(5000)).status().code(); }

  // Receiving is over for good; once closed, the raw side sees the end.
  void expect_dropped() {
    EXPECT_EQ(receive_code(), StatusCode::kUnavailable);
    conn_->close();
    char b[64];
    ssize_t n = 0;
    while ((n = ::recv(raw_, b, sizeof(b), 0)) > 0) {
    }
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << n;
  }

  wire::Sealer sealer_{key_of(1), GetParam()};
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<Connection> conn_;
  int raw_ = -1;
};

TEST_P(SealedTcp, FramesOpenInOrder) {
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(write_raw(sealed(1000 + i, i)));
    auto f = conn_->receive(in_ms(5000));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->payload, pattern(1000 + i, i));
  }
}

TEST_P(SealedTcp, OneFlippedBitIsDataLossAndTheConnectionIsDropped) {
  Bytes f = sealed(5000, 1);
  f[wire::kFrameHeaderSize + 2500] ^= std::byte{0x10};
  ASSERT_TRUE(write_raw(f));
  EXPECT_EQ(receive_code(), StatusCode::kDataLoss);
  expect_dropped();
}

TEST_P(SealedTcp, AReplayedFrameIsDataLoss) {
  const Bytes f = sealed(300, 2);
  ASSERT_TRUE(write_raw(f));
  ASSERT_TRUE(conn_->receive(in_ms(5000)).ok());
  ASSERT_TRUE(write_raw(f));
  EXPECT_EQ(receive_code(), StatusCode::kDataLoss);
  expect_dropped();
}

TEST_P(SealedTcp, ReorderedFramesAreDataLoss) {
  const Bytes first = sealed(300, 3);
  const Bytes second = sealed(300, 4);
  ASSERT_TRUE(write_raw(second));
  ASSERT_TRUE(write_raw(first));
  EXPECT_EQ(receive_code(), StatusCode::kDataLoss);
  expect_dropped();
}

TEST_P(SealedTcp, AFrameCutShortInAGoingStreamIsDataLoss) {
  Bytes f = sealed(4000, 5);
  f.erase(f.begin() + 1000, f.begin() + 1100);
  ASSERT_TRUE(write_raw(f));
  ASSERT_TRUE(write_raw(sealed(4000, 6)));
  EXPECT_EQ(receive_code(), StatusCode::kDataLoss);
  expect_dropped();
}

TEST_P(SealedTcp, AStreamCutMidFrameAndClosedDeliversNothing) {
  const Bytes f = sealed(4000, 7);
  ASSERT_TRUE(write_raw(ByteSpan(f).first(f.size() - 1)));  // all but the tag's last byte
  ::shutdown(raw_, SHUT_WR);
  EXPECT_EQ(receive_code(), StatusCode::kUnavailable);
  EXPECT_EQ(receive_code(), StatusCode::kUnavailable);
}

TEST_P(SealedTcp, AnUnsealedFrameIsDataLoss) {
  ASSERT_TRUE(write_raw(wire::encode_frame(wire::MsgType::kData, pattern(100, 8))));
  EXPECT_EQ(receive_code(), StatusCode::kDataLoss);
  expect_dropped();
}

TEST_P(SealedTcp, WhatASealedSenderWritesOpensWithThePeersKey) {
  ASSERT_TRUE(conn_->seal_send(key_of(2), GetParam()).ok());
  EXPECT_TRUE(conn_->sealed());
  const Bytes a = pattern(777, 9), h = pattern(48, 10), b = pattern(20000, 11);
  ASSERT_TRUE(conn_->send(wire::MsgType::kChunkBytes, a, in_ms(5000)).ok());
  ASSERT_TRUE(conn_->send_piece(h, b, in_ms(5000)).ok());
  const size_t total = 3 * (wire::kFrameHeaderSize + wire::kSealTagSize) + a.size() + h.size() +
                       b.size();
  Bytes got(total);
  for (size_t at = 0; at < total;) {
    ssize_t n = ::recv(raw_, got.data() + at, total - at, 0);
    ASSERT_GT(n, 0);
    at += static_cast<size_t>(n);
  }
  wire::Opener opener(key_of(2));
  ByteSpan rest(got);
  for (const Bytes* want : {&a, &h, &b}) {
    const size_t n = wire::kFrameHeaderSize + want->size() + wire::kSealTagSize;
    auto f = wire::open_frame(opener, rest.first(n), wire::kMaxDataPayload);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->payload, *want);
    if (GetParam() != SealCipher::kAuthOnly) {  // encrypted: the payload is not on the wire
      EXPECT_NE(Bytes(rest.begin() + wire::kFrameHeaderSize,
                      rest.begin() + wire::kFrameHeaderSize + static_cast<std::ptrdiff_t>(want->size())),
                *want);
    }
    rest = rest.subspan(n);
  }
}

INSTANTIATE_TEST_SUITE_P(Ciphers, SealedTcp,
                         ::testing::Values(SealCipher::kAuthOnly, SealCipher::kXChaCha20Poly1305,
                                           SealCipher::kAes256Gcm));

}  // namespace
}  // namespace loco::transport
