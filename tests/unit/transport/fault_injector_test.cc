// fault_injector_test.cc: every fault rule observed through loopback connections: drop (all, by
// type, next N, with a seeded probability), delay, corrupt, cut (after N frames, cut_all,
// cut_endpoint), the endpoint and direction filters, and per-connection injectors.
#include "transport/fault_injector.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "transport/loopback.h"
#include "unit/transport/test_util.h"

namespace loco::transport {
namespace {

using testing::in_ms;
using testing::pattern;
using testing::seconds_since;

struct Pair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Connection> client;
  std::unique_ptr<Connection> server;
};

Pair pair_on(LoopbackNetwork& net, const std::string& name,
             std::shared_ptr<FaultInjector> faults = nullptr) {
  Pair p;
  auto l = net.listen(name);
  EXPECT_TRUE(l.ok());
  p.listener = std::move(*l);
  auto c = net.dial(name, in_ms(1000), std::move(faults));
  EXPECT_TRUE(c.ok());
  p.client = std::move(*c);
  auto s = p.listener->accept(in_ms(1000));
  EXPECT_TRUE(s.ok());
  p.server = std::move(*s);
  return p;
}

Bytes numbered(uint32_t i) {
  Bytes b(4);
  store_le<uint32_t>(b.data(), i);
  return b;
}

// Receives frames until the deadline passes; returns their numbers.
std::vector<uint32_t> drain(Connection& c, int wait_ms = 50) {
  std::vector<uint32_t> out;
  for (;;) {
    auto f = c.receive(in_ms(wait_ms));
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), StatusCode::kDeadlineExceeded) << f.status().to_string();
      return out;
    }
    out.push_back(load_le<uint32_t>(f->payload.data()));
  }
}

TEST(Faults, DropAllThenRemoveTheRule) {
  LoopbackNetwork net;
  auto p = pair_on(net, "s");
  FaultRuleId id = net.faults().add_rule({.action = FaultAction::kDrop});
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(1), in_ms(100)).ok());
  ASSERT_TRUE(p.server->send(wire::MsgType::kData, numbered(2), in_ms(100)).ok());
  EXPECT_EQ(p.server->receive(in_ms(50)).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(p.client->receive(in_ms(50)).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(net.faults().hits(id), 2u);
  net.faults().remove_rule(id);
  EXPECT_EQ(net.faults().hits(id), 0u);
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(3), in_ms(100)).ok());
  EXPECT_EQ(drain(*p.server), std::vector<uint32_t>{3});
}

TEST(Faults, DropOnlyOneMessageType) {
  LoopbackNetwork net;
  auto p = pair_on(net, "s");
  net.faults().add_rule({.action = FaultAction::kDrop, .type = wire::MsgType::kHeartbeat});
  for (uint32_t i = 0; i < 6; ++i) {
    auto type = i % 2 == 0 ? wire::MsgType::kHeartbeat : wire::MsgType::kData;
    ASSERT_TRUE(p.client->send(type, numbered(i), in_ms(100)).ok());
  }
  EXPECT_EQ(drain(*p.server), (std::vector<uint32_t>{1, 3, 5}));
}

TEST(Faults, DropTheNextN) {
  LoopbackNetwork net;
  auto p = pair_on(net, "s");
  FaultRuleId id = net.faults().add_rule({.action = FaultAction::kDrop, .count = 3});
  for (uint32_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(i), in_ms(100)).ok());
  }
  EXPECT_EQ(drain(*p.server), (std::vector<uint32_t>{3, 4, 5}));
  EXPECT_EQ(net.faults().hits(id), 3u);
}

std::vector<uint32_t> survivors_with_seed(uint64_t seed) {
  LoopbackNetwork net(std::make_shared<FaultInjector>(seed));
  auto p = pair_on(net, "s");
  net.faults().add_rule({.action = FaultAction::kDrop, .probability = 0.5});
  for (uint32_t i = 0; i < 400; ++i) {
    EXPECT_TRUE(p.client->send(wire::MsgType::kData, numbered(i), in_ms(100)).ok());
  }
  return drain(*p.server);
}

TEST(Faults, ProbabilisticDropIsDeterministicPerSeed) {
  std::vector<uint32_t> a = survivors_with_seed(42), b = survivors_with_seed(42);
  EXPECT_EQ(a, b);
  EXPECT_GT(a.size(), 120u);
  EXPECT_LT(a.size(), 280u);
  EXPECT_NE(a, survivors_with_seed(43));
}

TEST(Faults, DelayHoldsTheFrameAndThoseBehindIt) {
  LoopbackNetwork net;
  auto p = pair_on(net, "s");
  net.faults().add_rule({.action = FaultAction::kDelay,
                         .type = wire::MsgType::kData,
                         .delay = std::chrono::milliseconds(300)});
  TimePoint start = now();
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(1), in_ms(100)).ok());
  ASSERT_TRUE(p.client->send(wire::MsgType::kHeartbeat, numbered(2), in_ms(100)).ok());
  EXPECT_EQ(p.server->receive(in_ms(50)).status().code(), StatusCode::kDeadlineExceeded);
  auto f = p.server->receive(in_ms(5000));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_GE(seconds_since(start), 0.29);
  EXPECT_EQ(load_le<uint32_t>(f->payload.data()), 1u);
  auto g = p.server->receive(in_ms(5000));  // not delayed itself, but never overtakes
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(load_le<uint32_t>(g->payload.data()), 2u);
}

TEST(Faults, CorruptIsDataLossAndDropsTheConnection) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{5000}}) {
    LoopbackNetwork net;
    auto p = pair_on(net, "s");
    FaultRuleId id = net.faults().add_rule({.action = FaultAction::kCorrupt, .count = 1});
    ASSERT_TRUE(p.client->send(wire::MsgType::kData, pattern(size, 3), in_ms(100)).ok());
    auto f = p.server->receive(in_ms(1000));
    EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << size << ": " << f.status().to_string();
    EXPECT_TRUE(p.server->is_closed());
    EXPECT_EQ(net.faults().hits(id), 1u);
    EXPECT_EQ(p.client->receive(in_ms(1000)).status().code(), StatusCode::kUnavailable);
  }
}

TEST(Faults, CutAfterNFrames) {
  LoopbackNetwork net;
  auto p = pair_on(net, "s");
  net.faults().add_rule({.action = FaultAction::kCut, .skip = 2});
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(0), in_ms(100)).ok());
  ASSERT_TRUE(p.server->send(wire::MsgType::kData, numbered(1), in_ms(100)).ok());
  EXPECT_EQ(drain(*p.server), std::vector<uint32_t>{0});
  EXPECT_EQ(drain(*p.client), std::vector<uint32_t>{1});
  EXPECT_EQ(p.client->send(wire::MsgType::kData, numbered(2), in_ms(100)).code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(p.client->is_closed());
  EXPECT_TRUE(p.server->is_closed());
  EXPECT_EQ(p.server->receive(in_ms(100)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(p.server->send(wire::MsgType::kData, {}, in_ms(100)).code(), StatusCode::kUnavailable);
}

TEST(Faults, CutAllWakesBlockedCallsAndDiscardsFramesInFlight) {
  LoopbackNetwork net;
  auto p = pair_on(net, "s");
  auto q = pair_on(net, "t");
  ASSERT_TRUE(q.client->send(wire::MsgType::kData, numbered(7), in_ms(100)).ok());
  Status got;
  std::thread receiver([&] { got = p.server->receive(Deadline::never()).status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // usually blocked by now; either way
  net.faults().cut_all();
  receiver.join();
  EXPECT_EQ(got.code(), StatusCode::kUnavailable) << got.to_string();
  EXPECT_EQ(p.client->receive(in_ms(100)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(q.server->receive(in_ms(100)).status().code(), StatusCode::kUnavailable);
  // New connections are not affected.
  auto c = net.dial("s", in_ms(100));
  ASSERT_TRUE(c.ok());
  auto s = p.listener->accept(in_ms(100));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*c)->send(wire::MsgType::kData, numbered(8), in_ms(100)).ok());
  EXPECT_EQ(drain(**s), std::vector<uint32_t>{8});
}

TEST(Faults, CutOneEndpoint) {
  LoopbackNetwork net;
  auto a = pair_on(net, "a");
  auto b = pair_on(net, "b");
  net.faults().cut_endpoint("a");
  EXPECT_EQ(a.client->send(wire::MsgType::kData, numbered(1), in_ms(100)).code(),
            StatusCode::kUnavailable);
  ASSERT_TRUE(b.client->send(wire::MsgType::kData, numbered(2), in_ms(100)).ok());
  EXPECT_EQ(drain(*b.server), std::vector<uint32_t>{2});
}

TEST(Faults, EndpointAndDirectionFilters) {
  LoopbackNetwork net;
  auto a = pair_on(net, "a");
  auto b = pair_on(net, "b");
  net.faults().add_rule(
      {.action = FaultAction::kDrop, .endpoint = "a", .direction = FaultDirection::kFromListener});
  for (Pair* p : {&a, &b}) {
    ASSERT_TRUE(p->client->send(wire::MsgType::kData, numbered(1), in_ms(100)).ok());
    ASSERT_TRUE(p->server->send(wire::MsgType::kData, numbered(2), in_ms(100)).ok());
  }
  EXPECT_EQ(drain(*a.server), std::vector<uint32_t>{1});
  EXPECT_EQ(drain(*a.client), std::vector<uint32_t>{});  // a's listener side is muted
  EXPECT_EQ(drain(*b.server), std::vector<uint32_t>{1});
  EXPECT_EQ(drain(*b.client), std::vector<uint32_t>{2});
}

TEST(Faults, PerConnectionInjectorReplacesTheNetworks) {
  LoopbackNetwork net;
  net.faults().add_rule({.action = FaultAction::kDrop});
  auto own = std::make_shared<FaultInjector>(7);
  auto p = pair_on(net, "s", own);
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(1), in_ms(100)).ok());
  EXPECT_EQ(drain(*p.server), std::vector<uint32_t>{1});
  own->add_rule({.action = FaultAction::kDrop, .type = wire::MsgType::kData});
  ASSERT_TRUE(p.client->send(wire::MsgType::kData, numbered(2), in_ms(100)).ok());
  EXPECT_EQ(drain(*p.server), std::vector<uint32_t>{});
  own->cut_all();
  EXPECT_TRUE(p.server->is_closed());
}

}  // namespace
}  // namespace loco::transport
