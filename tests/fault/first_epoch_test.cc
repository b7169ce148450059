// A joiner's first wait for the world under churn (issue 11): the epoch it joins in is replaced
// before its data-plane links are up, or its next peer cannot be reached at all; in both cases
// SwarmPeer::wait_for_world follows the membership to the next epoch instead of failing with
// ABORTED / UNAVAILABLE, and the joiner's first operation succeeds there.
// In-process: a Coordinator, one SwarmPeer, and a bare PeerClient whose data plane never answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "collectives/swarm_peer.h"
#include "membership/coordinator.h"

namespace loco::collectives {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A loopback TCP socket on a free port: listening (connects complete in the kernel, nothing is
// ever answered) or closed again (connects are refused).
struct DeadPort {
  int fd = -1;
  uint16_t port = 0;
  explicit DeadPort(bool listening) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) return;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    if (listening) {
      ::listen(fd, 16);
    } else {
      ::close(fd);
      fd = -1;
    }
  }
  ~DeadPort() {
    if (fd >= 0) ::close(fd);
  }
};

std::unique_ptr<membership::Coordinator> coordinator(membership::CoordinatorConfig config) {
  membership::CoordinatorOptions co;
  co.config = config;
  co.config.heartbeat_period = milliseconds(100);
  co.config.join_window = milliseconds(50);
  auto coord = membership::Coordinator::start(co);
  EXPECT_TRUE(coord.ok()) << coord.status().to_string();
  return coord.ok() ? std::move(coord).value() : nullptr;
}

// A member whose data plane is `port`: it holds its place in the ring and never links.
std::unique_ptr<membership::PeerClient> silent_member(uint16_t coord_port, uint16_t port) {
  membership::PeerOptions o;
  o.coordinator_port = coord_port;
  o.name = "silent";
  o.data_host = "127.0.0.1";
  o.data_port = port;
  auto c = membership::PeerClient::join(o);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::unique_ptr<SwarmPeer> joiner(uint16_t coord_port, Duration connect_timeout) {
  SwarmPeerOptions o;
  o.peer.coordinator_port = coord_port;
  o.peer.name = "joiner";
  o.mesh.connect_timeout = connect_timeout;
  auto p = SwarmPeer::join(o);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(p).value() : nullptr;
}

void expect_an_operation_succeeds(SwarmPeer& p) {
  std::vector<float> x(100, 2.0f);
  auto r = p.with_retry(
      [&] { return p.comm().all_reduce(x.data(), x.size(), DataType::kF32, ReduceOp::kSum, 1); },
      5, Deadline::after(seconds(20)));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->world_size, 1);
  EXPECT_EQ(x[0], 2.0f);
}

TEST(FirstEpoch, JoinerWhoseFirstEpochIsReplacedKeepsGoing) {
  auto coord = coordinator({});
  ASSERT_NE(coord, nullptr);
  DeadPort dead(/*listening=*/true);
  ASSERT_NE(dead.port, 0);
  auto silent = silent_member(coord->port(), dead.port);
  ASSERT_NE(silent, nullptr);
  ASSERT_TRUE(silent->wait_for([](const auto& v) { return v.world_size() == 1; },
                               Deadline::after(seconds(10))).ok());
  auto p = joiner(coord->port(), seconds(30));
  ASSERT_NE(p, nullptr);
  // The joiner's first epoch (with the silent member) can never link; the silent member leaves
  // while the joiner waits on those links, so that epoch is replaced by one of the joiner alone.
  std::thread churn([&] {
    Status two = p->client().wait_for([](const auto& v) { return v.world_size() == 2; },
                                      Deadline::after(seconds(10)));
    two.ignore();
    std::this_thread::sleep_for(milliseconds(300));
    silent->leave("churn");
  });
  Status ready = p->wait_for_world(1, Deadline::after(seconds(20)));
  churn.join();
  ASSERT_TRUE(ready.ok()) << ready.to_string();
  EXPECT_EQ(p->view().world_size(), 1);
  expect_an_operation_succeeds(*p);
}

TEST(FirstEpoch, JoinerWhoseNextPeerIsUnreachableKeepsGoing) {
  membership::CoordinatorConfig config;
  config.heartbeat_timeout = milliseconds(3000);
  config.link_failure_grace = milliseconds(100);
  config.max_suspect_reforms = 1;  // the member that never links is evicted at the first re-form
  auto coord = coordinator(config);
  ASSERT_NE(coord, nullptr);
  DeadPort dead(/*listening=*/false);
  ASSERT_NE(dead.port, 0);
  auto silent = silent_member(coord->port(), dead.port);
  ASSERT_NE(silent, nullptr);
  ASSERT_TRUE(silent->wait_for([](const auto& v) { return v.world_size() == 1; },
                               Deadline::after(seconds(10))).ok());
  // Dials to the silent member are refused: the link fails UNAVAILABLE after connect_timeout.
  auto p = joiner(coord->port(), milliseconds(500));
  ASSERT_NE(p, nullptr);
  Status ready = p->wait_for_world(1, Deadline::after(seconds(20)));
  ASSERT_TRUE(ready.ok()) << ready.to_string();
  expect_an_operation_succeeds(*p);
}

}  // namespace
}  // namespace loco::collectives
