// admission_test.cc: the pre-authentication gate (transport/admission.h): bounds per source and in
// total, oldest-first eviction, release, and a real TCP accept that survives a burst of resets.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "transport/admission.h"
#include "transport/tcp.h"

namespace loco::transport {
namespace {

// A connection that only records whether it was closed.
class FakeConnection final : public Connection {
 public:
  explicit FakeConnection(std::string remote) : remote_(std::move(remote)) {}
  Status send_parts(wire::MsgType, std::span<const ByteSpan>, Deadline) override {
    return OkStatus();
  }
  Result<wire::FrameHeader> receive_header(Deadline) override { return Unavailable("fake"); }
  Status receive_payload(MutableByteSpan, Deadline) override { return Unavailable("fake"); }
  void close() override { closed_ = true; }
  bool is_closed() const override { return closed_; }
  std::string remote_address() const override { return remote_; }
  bool remote_is_loopback() const override { return false; }
  void set_max_payload(uint32_t) override {}
  uint32_t max_payload() const override { return 0; }
  ConnectionStats stats() const override { return {}; }

 private:
  std::string remote_;
  std::atomic<bool> closed_{false};
};

TEST(Admission, SourceIgnoresThePort) {
  EXPECT_EQ(source_of("10.0.0.1:5000"), "10.0.0.1");
  EXPECT_EQ(source_of("[fd00::1]:5000"), "[fd00::1]");
  EXPECT_EQ(source_of("fd00::1"), "fd00::1");  // bare IPv6: no port to strip
  EXPECT_EQ(source_of("loopback-3"), "loopback-3");
}

TEST(Admission, ThePerSourceBoundClosesThatSourcesOldest) {
  AdmissionGate gate({.max_pending = 100, .max_pending_per_source = 2});
  FakeConnection a1("10.0.0.1:1"), a2("10.0.0.1:2"), a3("10.0.0.1:3"), b1("10.0.0.2:1");
  auto t_b1 = gate.admit(b1);
  auto t_a1 = gate.admit(a1);
  auto t_a2 = gate.admit(a2);
  EXPECT_FALSE(a1.is_closed());
  auto t_a3 = gate.admit(a3);
  EXPECT_TRUE(a1.is_closed()) << "the oldest of the full source makes room";
  EXPECT_FALSE(a2.is_closed());
  EXPECT_FALSE(a3.is_closed());
  EXPECT_FALSE(b1.is_closed()) << "another source is not touched, though it is older";
  EXPECT_EQ(gate.stats().pending, 3u);
  EXPECT_EQ(gate.stats().evicted, 1u);
  EXPECT_EQ(gate.stats().admitted, 4u);
}

TEST(Admission, TheTotalBoundClosesTheOldestOfAll) {
  AdmissionGate gate({.max_pending = 3, .max_pending_per_source = 3});
  FakeConnection c1("10.0.0.1:1"), c2("10.0.0.2:1"), c3("10.0.0.3:1"), c4("10.0.0.4:1");
  auto t1 = gate.admit(c1);
  auto t2 = gate.admit(c2);
  auto t3 = gate.admit(c3);
  auto t4 = gate.admit(c4);
  EXPECT_TRUE(c1.is_closed());
  EXPECT_FALSE(c2.is_closed());
  EXPECT_FALSE(c4.is_closed());
  EXPECT_EQ(gate.stats().pending, 3u);
}

TEST(Admission, AReleasedTicketLeavesTheGateAndIsNeverClosedByIt) {
  AdmissionGate gate({.max_pending = 1, .max_pending_per_source = 1});
  FakeConnection done("10.0.0.1:1"), next("10.0.0.1:2");
  {
    auto t = gate.admit(done);
    EXPECT_EQ(gate.stats().pending, 1u);
    t.release();
    EXPECT_FALSE(t.held());
    EXPECT_EQ(gate.stats().pending, 0u);
  }
  auto t2 = gate.admit(next);
  EXPECT_FALSE(done.is_closed()) << "an authenticated connection is out of the gate's reach";
  EXPECT_EQ(gate.stats().evicted, 0u);
  // A moved ticket is released once, by its new owner.
  AdmissionGate::Ticket moved = std::move(t2);
  EXPECT_EQ(gate.stats().pending, 1u);
  moved.release();
  EXPECT_EQ(gate.stats().pending, 0u);
}

TEST(Admission, CloseAllClosesEveryPendingConnection) {
  AdmissionGate gate;
  std::vector<std::unique_ptr<FakeConnection>> conns;
  std::vector<AdmissionGate::Ticket> tickets;
  for (int i = 0; i < 10; ++i) {
    conns.push_back(std::make_unique<FakeConnection>("10.0.0." + std::to_string(i) + ":1"));
    tickets.push_back(gate.admit(*conns.back()));
  }
  gate.close_all();
  for (auto& c : conns) EXPECT_TRUE(c->is_closed());
  EXPECT_EQ(gate.stats().pending, 0u);
  tickets.clear();  // releasing closed entries is fine
  EXPECT_EQ(gate.stats().pending, 0u);
}

// Connections reset before the listener configures them (getpeername: ENOTCONN) used to end the
// accept call with UNAVAILABLE, which stopped the coordinator's acceptor for good.
TEST(Admission, AcceptSurvivesABurstOfResetConnections) {
  auto listener = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status().to_string();
  const uint16_t port = (*listener)->port();
  for (int i = 0; i < 200; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    linger l{1, 0};  // close sends RST
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(fd);
  }
  auto good = dial_tcp("127.0.0.1", port, Deadline::after(std::chrono::seconds(5)));
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  // Every reset connection is either skipped inside accept or handed over already broken; the
  // good one must come through, and no accept may fail.
  for (int i = 0; i < 201; ++i) {
    auto c = (*listener)->accept(Deadline::after(std::chrono::milliseconds(500)));
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), StatusCode::kDeadlineExceeded) << c.status().to_string();
      break;
    }
  }
  auto again = dial_tcp("127.0.0.1", port, Deadline::after(std::chrono::seconds(5)));
  ASSERT_TRUE(again.ok());
  auto c = (*listener)->accept(Deadline::after(std::chrono::seconds(5)));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
}

}  // namespace
}  // namespace loco::transport
