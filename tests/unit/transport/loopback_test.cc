// loopback_test.cc: the in-process transport without faults: round trips, gathered sends, names,
// deadlines, close semantics (drain then UNAVAILABLE), and close waking blocked calls.
// Fault rules: fault_injector_test.cc.
#include "transport/loopback.h"

#include <gtest/gtest.h>

#include <thread>

#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using testing::seconds_since;

struct LoopPair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Connection> client;
  std::unique_ptr<Connection> server;
};

LoopPair loop_pair(LoopbackNetwork& net, const std::string& name = "srv") {
  LoopPair p;
  auto l = net.listen(name);
  EXPECT_TRUE(l.ok()) << l.status().to_string();
  if (!l.ok()) return p;
  p.listener = std::move(*l);
  auto c = net.dial(name, in_ms(1000));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  if (!c.ok()) return p;
  p.client = std::move(*c);
  auto s = p.listener->accept(in_ms(1000));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (s.ok()) p.server = std::move(*s);
  return p;
}

TEST(Loopback, RoundTripsSmallEmptyAndLarge) {
  LoopbackNetwork net(nullptr, wire::kMaxDataPayload);
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(p.client->send(wire::MsgType::kHello, pattern(50, 1), in_ms(1000)).ok());
  ASSERT_TRUE(p.client->send(wire::MsgType::kAuth, {}, in_ms(1000)).ok());
  Bytes big = pattern(16 << 20, 2);
  ASSERT_TRUE(p.server->send(wire::MsgType::kData, big, in_ms(1000)).ok());

  auto f = p.server->receive(in_ms(1000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->type, wire::MsgType::kHello);
  EXPECT_EQ(f->payload, pattern(50, 1));
  auto g = p.server->receive(in_ms(1000));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->type, wire::MsgType::kAuth);
  EXPECT_TRUE(g->payload.empty());
  auto h = p.client->receive_header(in_ms(1000));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  ASSERT_EQ(h->length, big.size());
  Bytes out(big.size());
  ASSERT_TRUE(p.client->receive_payload(out, in_ms(1000)).ok());
  EXPECT_TRUE(out == big);

  EXPECT_EQ(p.client->stats().frames_sent, 2u);
  EXPECT_EQ(p.client->stats().bytes_received, wire::kFrameHeaderSize + big.size());
  EXPECT_EQ(p.server->stats().frames_received, 2u);
  EXPECT_TRUE(p.client->remote_is_loopback());
  EXPECT_EQ(p.client->remote_address(), "loopback:srv");
  EXPECT_EQ(p.listener->address(), "loopback:srv");
  EXPECT_EQ(p.listener->port(), 0);
}

TEST(Loopback, SendPartsGathers) {
  LoopbackNetwork net;
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  Bytes a = pattern(3, 1), b = pattern(1000, 2);
  ByteSpan parts[] = {a, ByteSpan{}, b};
  ASSERT_TRUE(p.client->send_parts(wire::MsgType::kData, parts, in_ms(1000)).ok());
  auto f = p.server->receive(in_ms(1000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  Bytes want = a;
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(f->payload, want);
}

TEST(Loopback, DefaultMaxPayloadIsTheControlLimit) {
  LoopbackNetwork net;
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  EXPECT_EQ(p.server->max_payload(), wire::kMaxControlPayload);
  ASSERT_TRUE(
      p.client->send(wire::MsgType::kData, Bytes(wire::kMaxControlPayload + 1), in_ms(1000)).ok());
  EXPECT_EQ(p.server->receive(in_ms(1000)).status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(p.server->is_closed());
}

TEST(Loopback, NamesUnknownAndTaken) {
  LoopbackNetwork net;
  EXPECT_EQ(net.dial("nobody", in_ms(100)).status().code(), StatusCode::kUnavailable);
  auto l = net.listen("a");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(net.listen("a").status().code(), StatusCode::kFailedPrecondition);
  (*l)->close();
  EXPECT_EQ(net.dial("a", in_ms(100)).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(net.listen("a").ok());  // the name is free again
}

TEST(Loopback, ReceiveDeadlineLeavesTheConnectionUsable) {
  LoopbackNetwork net;
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  TimePoint start = now();
  EXPECT_EQ(p.server->receive(in_ms(100)).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(seconds_since(start), 0.09);
  EXPECT_FALSE(p.server->is_closed());
  ASSERT_TRUE(p.client->send(wire::MsgType::kHeartbeat, pattern(4, 4), in_ms(1000)).ok());
  auto f = p.server->receive(in_ms(1000));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->payload, pattern(4, 4));
}

TEST(Loopback, CloseLetsThePeerDrainThenUnavailable) {
  LoopbackNetwork net;
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(p.client->send(wire::MsgType::kLeave, pattern(4, 1), in_ms(1000)).ok());
  p.client->close();
  EXPECT_TRUE(p.client->is_closed());
  EXPECT_EQ(p.client->send(wire::MsgType::kData, {}, in_ms(100)).code(), StatusCode::kUnavailable);
  auto f = p.server->receive(in_ms(1000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->type, wire::MsgType::kLeave);
  EXPECT_EQ(p.server->receive(in_ms(1000)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(p.server->send(wire::MsgType::kData, {}, in_ms(100)).code(), StatusCode::kUnavailable);
}

TEST(Loopback, CloseWakesBlockedReceiveAndAccept) {
  LoopbackNetwork net;
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  Status got, accepted;
  TimePoint start = now();
  std::thread receiver([&] { got = p.server->receive(Deadline::never()).status(); });
  std::thread acceptor([&] { accepted = p.listener->accept(Deadline::never()).status(); });
  // Whether close() lands before or during the wait, both calls must end with UNAVAILABLE.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  p.server->close();
  p.listener->close();
  receiver.join();
  acceptor.join();
  EXPECT_EQ(got.code(), StatusCode::kUnavailable) << got.to_string();
  EXPECT_EQ(accepted.code(), StatusCode::kUnavailable) << accepted.to_string();
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(Loopback, AcceptDeadlineAndUnacceptedDialsFailWhenTheListenerCloses) {
  LoopbackNetwork net;
  auto l = net.listen("x");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ((*l)->accept(in_ms(50)).status().code(), StatusCode::kDeadlineExceeded);
  auto c = net.dial("x", in_ms(100));
  ASSERT_TRUE(c.ok());
  l->reset();  // never accepted
  EXPECT_EQ((*c)->receive(in_ms(1000)).status().code(), StatusCode::kUnavailable);
}

TEST(Loopback, ConnectionsOutliveTheirNetworkAndListener) {
  std::unique_ptr<Connection> client, server;
  {
    LoopbackNetwork net;
    auto p = loop_pair(net);
    ASSERT_TRUE(p.server);
    client = std::move(p.client);
    server = std::move(p.server);
  }
  ASSERT_TRUE(client->send(wire::MsgType::kData, pattern(9, 9), in_ms(100)).ok());
  auto f = server->receive(in_ms(1000));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->payload, pattern(9, 9));
}

TEST(Loopback, PingPongBetweenThreads) {
  LoopbackNetwork net;
  auto p = loop_pair(net);
  ASSERT_TRUE(p.server);
  std::thread echo([&] {
    for (int i = 0; i < 500; ++i) {
      auto f = p.server->receive(in_ms(10000));
      if (!f.ok() || !p.server->send(wire::MsgType::kHeartbeatAck, f->payload, in_ms(1000)).ok()) {
        return;
      }
    }
  });
  for (int i = 0; i < 500; ++i) {
    Bytes b = pattern(16, static_cast<uint64_t>(i));
    ASSERT_TRUE(p.client->send(wire::MsgType::kHeartbeat, b, in_ms(1000)).ok());
    auto f = p.client->receive(in_ms(10000));
    ASSERT_TRUE(f.ok()) << i << ": " << f.status().to_string();
    ASSERT_EQ(f->payload, b);
  }
  echo.join();
}

}  // namespace
}  // namespace loco::transport
