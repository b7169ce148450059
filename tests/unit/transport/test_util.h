// test_util.h: helpers shared by the transport tests: deterministic payloads, connected TCP pairs,
// and a timer for time bounds. Not a test framework.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <utility>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/rng.h"
#include "transport/connection.h"
#include "transport/tcp.h"

namespace loco::transport::testing {

// n bytes of a seeded pseudo-random pattern (different seeds give different bytes).
inline Bytes pattern(size_t n, uint64_t seed) {
  Bytes out(n);
  SplitMix64 rng(seed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng.next();
    std::memcpy(out.data() + i, &v, 8);
  }
  uint64_t v = rng.next();
  for (; i < n; ++i, v >>= 8) out[i] = static_cast<std::byte>(v & 0xFF);
  return out;
}

inline Deadline in_ms(int64_t ms) { return Deadline::after(std::chrono::milliseconds(ms)); }

inline double seconds_since(TimePoint start) {
  return std::chrono::duration<double>(now() - start).count();
}

struct TcpPair {
  std::unique_ptr<Listener> listener;
  std::unique_ptr<Connection> client;  // the dialing end
  std::unique_ptr<Connection> server;  // the accepted end
};

// A connected pair over 127.0.0.1 (the kernel completes the handshake before accept runs).
inline TcpPair tcp_pair(TcpOptions options = {}) {
  TcpPair p;
  auto l = listen_tcp("127.0.0.1", 0, options);
  EXPECT_TRUE(l.ok()) << l.status().to_string();
  if (!l.ok()) return p;
  p.listener = std::move(*l);
  auto c = dial_tcp("127.0.0.1", p.listener->port(), in_ms(10000), options);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  if (!c.ok()) return p;
  p.client = std::move(*c);
  auto s = p.listener->accept(in_ms(10000));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (s.ok()) p.server = std::move(*s);
  return p;
}

}  // namespace loco::transport::testing
