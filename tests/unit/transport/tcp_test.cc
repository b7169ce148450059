// tcp_test.cc: TCP transport basics: round trips (small, empty, gathered, 64 MiB), listening on
// port 0, dial errors, deadlines that leave the connection usable, close() waking blocked calls,
// peer close, and a printed (not asserted) one-way throughput.
// Malformed frames: tcp_bad_frame_test.cc. Threads at both ends: tcp_concurrency_test.cc.
#include "transport/tcp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>
#include <vector>

#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using testing::seconds_since;
using testing::tcp_pair;

TEST(Tcp, SmallRoundTripBothWays) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  Bytes hello = pattern(100, 1);
  ASSERT_TRUE(p.client->send(wire::MsgType::kHello, hello, in_ms(5000)).ok());
  auto f = p.server->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->type, wire::MsgType::kHello);
  EXPECT_EQ(f->payload, hello);

  ASSERT_TRUE(p.server->send(wire::MsgType::kWelcome, {}, in_ms(5000)).ok());  // empty payload
  auto g = p.client->receive(in_ms(5000));
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(g->type, wire::MsgType::kWelcome);
  EXPECT_TRUE(g->payload.empty());

  ConnectionStats cs = p.client->stats();
  EXPECT_EQ(cs.frames_sent, 1u);
  EXPECT_EQ(cs.bytes_sent, wire::kFrameHeaderSize + 100);
  EXPECT_EQ(cs.frames_received, 1u);
  EXPECT_EQ(cs.bytes_received, wire::kFrameHeaderSize);
  EXPECT_EQ(p.server->stats().frames_received, 1u);
}

TEST(Tcp, ManySmallFramesBackToBackKeepTheirBoundaries) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  // Sent before any receive, so they reach the read-ahead buffer together.
  for (int i = 0; i < 200; ++i) {
    Bytes b = pattern(static_cast<size_t>(i * 37 % 3000), static_cast<uint64_t>(i));
    ASSERT_TRUE(p.client->send(wire::MsgType::kData, b, in_ms(5000)).ok());
  }
  for (int i = 0; i < 200; ++i) {
    auto f = p.server->receive(in_ms(5000));
    ASSERT_TRUE(f.ok()) << i << ": " << f.status().to_string();
    EXPECT_EQ(f->payload, pattern(static_cast<size_t>(i * 37 % 3000), static_cast<uint64_t>(i)));
  }
}

TEST(Tcp, LargeFrame64MiBRoundTrip) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  p.server->set_max_payload(wire::kMaxDataPayload);
  const size_t n = size_t{64} << 20;
  Bytes data = pattern(n, 7);
  Status sent;
  std::thread sender([&] { sent = p.client->send(wire::MsgType::kData, data, in_ms(60000)); });
  auto h = p.server->receive_header(in_ms(60000));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->length, n);
  Bytes out(n);
  Status got = p.server->receive_payload(out, in_ms(60000));
  sender.join();
  ASSERT_TRUE(sent.ok()) << sent.to_string();
  ASSERT_TRUE(got.ok()) << got.to_string();
  EXPECT_TRUE(out == data);
}

TEST(Tcp, SendPartsGathersIntoOnePayload) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  Bytes a = pattern(10, 1), c = pattern(70000, 3);
  ByteSpan parts[] = {a, ByteSpan{}, c};
  ASSERT_TRUE(p.client->send_parts(wire::MsgType::kData, parts, in_ms(5000)).ok());
  Bytes want = a;
  want.insert(want.end(), c.begin(), c.end());
  auto f = p.server->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->payload, want);

  // More parts than one sendmsg iovec batch.
  Bytes small = pattern(33, 4);
  std::vector<ByteSpan> many(300, ByteSpan(small));
  ASSERT_TRUE(p.client->send_parts(wire::MsgType::kData, many, in_ms(5000)).ok());
  auto g = p.server->receive(in_ms(5000));
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  ASSERT_EQ(g->payload.size(), 300u * 33u);
  for (size_t i = 0; i < 300; ++i) {
    ASSERT_TRUE(std::equal(small.begin(), small.end(), g->payload.begin() + i * 33)) << i;
  }
}

TEST(Tcp, OversizeSendIsRejectedByTheSender) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  Bytes mib(1 << 20);
  std::vector<ByteSpan> parts((wire::kMaxDataPayload >> 20) + 1, ByteSpan(mib));
  Status s = p.client->send_parts(wire::MsgType::kData, parts, in_ms(5000));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(p.client->is_closed());
}

TEST(Tcp, ListenerOnPortZeroReportsTheBoundPort) {
  auto l = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  EXPECT_NE((*l)->port(), 0);
  EXPECT_EQ((*l)->address(), "127.0.0.1:" + std::to_string((*l)->port()));
}

TEST(Tcp, RemoteIsLoopbackAndAddress) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  EXPECT_TRUE(p.client->remote_is_loopback());
  EXPECT_TRUE(p.server->remote_is_loopback());
  EXPECT_EQ(p.client->remote_address(), "127.0.0.1:" + std::to_string(p.listener->port()));
  EXPECT_EQ(p.server->remote_address().rfind("127.0.0.1:", 0), 0u);
}

TEST(Tcp, DialRefusedIsUnavailable) {
  uint16_t port = 0;
  {
    auto l = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(l.ok());
    port = (*l)->port();
  }  // closed: nothing listens there now
  auto c = dial_tcp("127.0.0.1", port, in_ms(5000));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable) << c.status().to_string();
}

TEST(Tcp, DialBadHostOrPort) {
  auto c = dial_tcp("no-such-host.invalid", 1234, in_ms(5000));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().code() == StatusCode::kInvalidArgument ||
              c.status().code() == StatusCode::kUnavailable)
      << c.status().to_string();
  EXPECT_EQ(dial_tcp("127.0.0.1", 0, in_ms(1000)).status().code(), StatusCode::kInvalidArgument);
  StatusCode lc = listen_tcp("no-such-host.invalid", 0).status().code();
  EXPECT_TRUE(lc == StatusCode::kInvalidArgument || lc == StatusCode::kUnavailable);
}

TEST(Tcp, DialByHostName) {
  auto l = listen_tcp("localhost", 0);
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  auto c = dial_tcp("localhost", (*l)->port(), in_ms(5000));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE((*c)->remote_is_loopback());
}

TEST(Tcp, ReceiveDeadlineLeavesTheConnectionUsable) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  TimePoint start = now();
  auto h = p.server->receive_header(in_ms(150));
  EXPECT_EQ(h.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(seconds_since(start), 0.14);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_FALSE(p.server->is_closed());
  ASSERT_TRUE(p.client->send(wire::MsgType::kHeartbeat, pattern(8, 2), in_ms(5000)).ok());
  auto f = p.server->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->payload, pattern(8, 2));
}

TEST(Tcp, SendDeadlineBeforeAnyByteLeavesTheConnectionUsable) {
  TcpOptions small;
  small.send_buffer_bytes = 64 << 10;
  small.recv_buffer_bytes = 64 << 10;
  small.max_payload = wire::kMaxDataPayload;
  auto p = tcp_pair(small);
  ASSERT_TRUE(p.server);
  // A 16 MiB frame cannot fit the socket buffers: its sender stays mid-frame until we read.
  Bytes big = pattern(16 << 20, 5);
  Status big_sent;
  std::thread sender([&] { big_sent = p.client->send(wire::MsgType::kData, big, in_ms(60000)); });
  auto h = p.server->receive_header(in_ms(30000));  // the big frame has started
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  ASSERT_EQ(h->length, big.size());
  // This frame waits behind it and gives up before any of its bytes moved.
  Status s = p.client->send(wire::MsgType::kHeartbeat, pattern(8, 1), in_ms(200));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.to_string();
  EXPECT_FALSE(p.client->is_closed());
  Bytes out(big.size());
  ASSERT_TRUE(p.server->receive_payload(out, in_ms(60000)).ok());
  sender.join();
  ASSERT_TRUE(big_sent.ok()) << big_sent.to_string();
  EXPECT_TRUE(out == big);
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, pattern(10, 9), in_ms(5000)).ok());
  auto f = p.server->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->type, wire::MsgType::kData);  // the timed-out heartbeat was never sent
  EXPECT_EQ(f->payload, pattern(10, 9));
}

TEST(Tcp, SendDeadlineMidFrameClosesTheConnection) {
  TcpOptions small;
  small.send_buffer_bytes = 64 << 10;
  small.recv_buffer_bytes = 64 << 10;
  auto p = tcp_pair(small);
  ASSERT_TRUE(p.server);
  Bytes big = pattern(16 << 20, 5);  // far more than both socket buffers hold
  Status s = p.client->send(wire::MsgType::kData, big, in_ms(300));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.to_string();
  EXPECT_TRUE(p.client->is_closed());
  EXPECT_EQ(p.client->send(wire::MsgType::kData, {}, in_ms(100)).code(), StatusCode::kUnavailable);
}

TEST(Tcp, CloseFromAnotherThreadWakesABlockedReceive) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  Status got;
  TimePoint start = now();
  std::thread receiver([&] { got = p.server->receive(Deadline::never()).status(); });
  // Whether close() lands before or during the poll, the receive must end with UNAVAILABLE.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  p.server->close();
  receiver.join();
  EXPECT_EQ(got.code(), StatusCode::kUnavailable) << got.to_string();
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_TRUE(p.server->is_closed());
  p.server->close();  // idempotent
  // The peer notices too.
  EXPECT_EQ(p.client->receive(in_ms(5000)).status().code(), StatusCode::kUnavailable);
}

TEST(Tcp, PeerCloseIsUnavailable) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(p.client->send(wire::MsgType::kLeave, pattern(5, 1), in_ms(5000)).ok());
  p.client.reset();
  // What was sent before the close still arrives, then UNAVAILABLE.
  auto f = p.server->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->type, wire::MsgType::kLeave);
  auto g = p.server->receive(in_ms(5000));
  EXPECT_EQ(g.status().code(), StatusCode::kUnavailable) << g.status().to_string();
  EXPECT_TRUE(p.server->is_closed());
  // Sending to a closed connection never raises SIGPIPE; it reports UNAVAILABLE.
  EXPECT_EQ(p.server->send(wire::MsgType::kData, pattern(100, 1), in_ms(1000)).code(),
            StatusCode::kUnavailable);
}

TEST(Tcp, SendToAVanishedPeerFailsWithoutSigpipe) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  p.server.reset();
  Bytes b = pattern(64 << 10, 1);
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) s = p.client->send(wire::MsgType::kData, b, in_ms(2000));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.to_string();
}

TEST(Tcp, AcceptDeadlineAndCloseWakesAccept) {
  auto l = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(l.ok());
  TimePoint start = now();
  EXPECT_EQ((*l)->accept(in_ms(100)).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(seconds_since(start), 0.09);

  Status got;
  start = now();
  std::thread acceptor([&] { got = (*l)->accept(Deadline::never()).status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*l)->close();
  acceptor.join();
  EXPECT_EQ(got.code(), StatusCode::kUnavailable) << got.to_string();
  EXPECT_LT(seconds_since(start), 5.0);
  (*l)->close();  // idempotent
  EXPECT_EQ((*l)->accept(in_ms(100)).status().code(), StatusCode::kUnavailable);
}

TEST(Tcp, WrongPayloadBufferSizeIsACallerError) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, pattern(40, 3), in_ms(5000)).ok());
  auto h = p.server->receive_header(in_ms(5000));
  ASSERT_TRUE(h.ok());
  Bytes wrong(39);
  EXPECT_EQ(p.server->receive_payload(wrong, in_ms(5000)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.server->receive_header(in_ms(5000)).status().code(), StatusCode::kFailedPrecondition);
  Bytes right(40);
  ASSERT_TRUE(p.server->receive_payload(right, in_ms(5000)).ok());
  EXPECT_EQ(right, pattern(40, 3));
}

// Prints one-way throughput for the lead's benchmarks; asserts only that the bytes arrived intact.
TEST(Tcp, OneWayThroughput256MiB) {
  TcpOptions o;
  o.max_payload = wire::kMaxDataPayload;
  auto p = tcp_pair(o);
  ASSERT_TRUE(p.server);
  const size_t chunk = 4 << 20, total = size_t{256} << 20;
  Bytes src = pattern(chunk, 11);
  Bytes dst(chunk);
  Status sent;
  TimePoint start = now();
  std::thread sender([&] {
    for (size_t off = 0; off < total && sent.ok(); off += chunk) {
      sent = p.client->send(wire::MsgType::kData, src, in_ms(60000));
    }
  });
  Status got;
  for (size_t off = 0; off < total && got.ok(); off += chunk) {
    auto h = p.server->receive_header(in_ms(60000));
    got = h.status();
    if (got.ok()) got = p.server->receive_payload(dst, in_ms(60000));
  }
  sender.join();
  double secs = seconds_since(start);
  ASSERT_TRUE(sent.ok()) << sent.to_string();
  ASSERT_TRUE(got.ok()) << got.to_string();
  EXPECT_TRUE(dst == src);
  std::printf("[ throughput ] TCP loopback one-way: %zu MiB in %.3f s = %.0f MB/s (4 MiB frames)\n",
              total >> 20, secs, static_cast<double>(total) / secs / 1e6);
}

}  // namespace
}  // namespace loco::transport

namespace loco::transport {
namespace {

// --listen HOST:FIRST-LAST: the first free port of the range; a single busy port stays an error.
TEST(TcpListenRange, SkipsAPortInUseAndStaysInTheRange) {
  auto first = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  const uint16_t busy = (*first)->port();
  if (busy > 65530) GTEST_SKIP() << "ephemeral port too close to 65535";
  auto alone = listen_tcp_range("127.0.0.1", busy, busy);
  EXPECT_EQ(alone.status().code(), StatusCode::kFailedPrecondition);
  auto next = listen_tcp_range("127.0.0.1", busy, static_cast<uint16_t>(busy + 4));
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_GT((*next)->port(), busy);
  EXPECT_LE((*next)->port(), busy + 4);
  auto ephemeral = listen_tcp_range("127.0.0.1", 0, 0);
  ASSERT_TRUE(ephemeral.ok());
  EXPECT_NE((*ephemeral)->port(), 0);
}

}  // namespace
}  // namespace loco::transport
