// tcp_concurrency_test.cc: threads on both ends of a TCP connection: a ping-pong, a 16 MiB transfer
// in both directions at once (send and receive concurrently on each end), and several threads
// sending on one connection (frames must never interleave).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "transport/tcp.h"
#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using testing::tcp_pair;

TEST(TcpConcurrency, PingPongBetweenTwoThreads) {
  auto p = tcp_pair();
  ASSERT_TRUE(p.server);
  constexpr int kRounds = 2000;
  Status echo_status;
  std::thread echo([&] {
    for (int i = 0; i < kRounds; ++i) {
      auto f = p.server->receive(in_ms(30000));
      if (!f.ok()) {
        echo_status = f.status();
        return;
      }
      echo_status = p.server->send(wire::MsgType::kHeartbeatAck, f->payload, in_ms(30000));
      if (!echo_status.ok()) return;
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    Bytes ping(8);
    store_le<uint64_t>(ping.data(), static_cast<uint64_t>(i));
    ASSERT_TRUE(p.client->send(wire::MsgType::kHeartbeat, ping, in_ms(30000)).ok());
    auto f = p.client->receive(in_ms(30000));
    ASSERT_TRUE(f.ok()) << i << ": " << f.status().to_string();
    ASSERT_EQ(f->type, wire::MsgType::kHeartbeatAck);
    ASSERT_EQ(load_le<uint64_t>(f->payload.data()), static_cast<uint64_t>(i));
  }
  echo.join();
  EXPECT_TRUE(echo_status.ok()) << echo_status.to_string();
  EXPECT_EQ(p.client->stats().frames_sent, static_cast<uint64_t>(kRounds));
  EXPECT_EQ(p.server->stats().frames_received, static_cast<uint64_t>(kRounds));
}

// Sends `data` in `chunk`-byte frames on one thread while another receives the peer's data.
void exchange(Connection& c, const Bytes& mine, const Bytes& theirs, size_t chunk,
              Status& send_status, Status& recv_status) {
  std::thread sender([&] {
    for (size_t off = 0; off < mine.size() && send_status.ok(); off += chunk) {
      size_t n = std::min(chunk, mine.size() - off);
      send_status = c.send(wire::MsgType::kData, ByteSpan(mine).subspan(off, n), in_ms(60000));
    }
  });
  Bytes got(theirs.size());
  for (size_t off = 0; off < got.size() && recv_status.ok(); off += chunk) {
    auto h = c.receive_header(in_ms(60000));
    recv_status = h.status();
    if (!recv_status.ok()) break;
    if (off + h->length > got.size()) {
      recv_status = Internal("more data than expected");
      break;
    }
    recv_status = c.receive_payload(MutableByteSpan(got).subspan(off, h->length), in_ms(60000));
  }
  sender.join();
  if (recv_status.ok() && got != theirs) recv_status = DataLoss("content differs");
}

TEST(TcpConcurrency, BidirectionalSixteenMiBAtOnce) {
  TcpOptions o;
  o.max_payload = wire::kMaxDataPayload;
  auto p = tcp_pair(o);
  ASSERT_TRUE(p.server);
  const size_t n = 16 << 20;
  Bytes a = pattern(n, 21), b = pattern(n, 22);
  // Whole 16 MiB frames, so both senders are mid-frame together and only concurrent receiving
  // on each end lets either finish.
  Status as, ar, bs, br;
  std::thread server([&] { exchange(*p.server, b, a, n, bs, br); });
  exchange(*p.client, a, b, n, as, ar);
  server.join();
  EXPECT_TRUE(as.ok()) << as.to_string();
  EXPECT_TRUE(ar.ok()) << ar.to_string();
  EXPECT_TRUE(bs.ok()) << bs.to_string();
  EXPECT_TRUE(br.ok()) << br.to_string();
  // Then the same amount in 256 KiB frames.
  std::thread server2([&] { exchange(*p.server, b, a, 256 << 10, bs, br); });
  exchange(*p.client, a, b, 256 << 10, as, ar);
  server2.join();
  EXPECT_TRUE(ar.ok() && br.ok() && as.ok() && bs.ok());
}

TEST(TcpConcurrency, ConcurrentSendersNeverInterleaveFrames) {
  TcpOptions o;
  o.max_payload = wire::kMaxDataPayload;
  auto p = tcp_pair(o);
  ASSERT_TRUE(p.server);
  constexpr int kThreads = 4, kFrames = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kFrames; ++i) {
        // Payload: the sender id, then a pattern derived from (sender, frame).
        Bytes b = pattern(static_cast<size_t>(1000 + 9000 * ((t + i) % 20)),
                          static_cast<uint64_t>(t * 1000 + i));
        store_le<uint32_t>(b.data(), static_cast<uint32_t>(t * 1000 + i));
        if (!p.client->send(wire::MsgType::kData, b, in_ms(60000)).ok()) ++failures;
      }
    });
  }
  std::vector<int> next(kThreads, 0);
  for (int k = 0; k < kThreads * kFrames; ++k) {
    auto f = p.server->receive(in_ms(60000));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    uint32_t id = load_le<uint32_t>(f->payload.data());
    int t = static_cast<int>(id / 1000), i = static_cast<int>(id % 1000);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(i, next[t]++) << "frames of one sender arrive in order";
    Bytes want = pattern(f->payload.size(), id);
    store_le<uint32_t>(want.data(), id);
    ASSERT_EQ(f->payload, want);
  }
  for (auto& s : senders) s.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace loco::transport
