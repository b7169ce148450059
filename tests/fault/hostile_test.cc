// hostile_test.cc: strangers on the swarm's ports. Anyone on the internet can reach the
// coordinator and every peer's data and chunk ports; none of these may stop the swarm:
//   - a burst of connections reset at once (the coordinator's acceptor used to die on it);
//   - hundreds of idle unauthenticated sockets held open (pre-auth flood);
//   - idle sockets on a peer's data port, renewed (slowloris: the data listener used to
//     handshake one connection at a time, 5 s each, so a few kept a ring from forming);
//   - idle sockets on a chunk server's port (they used to hold all 64 slots).
// Each asserts that the good peers are served, within a bound shorter than the handshake
// timeout (so it is the admission gate that makes room, not the timeout).
// In-process: a Coordinator, SwarmPeers and a ChunkServer over real loopback TCP.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "collectives/swarm_peer.h"
#include "membership/auth.h"
#include "membership/coordinator.h"
#include "membership/peer.h"
#include "state/chunk_fetcher.h"
#include "state/chunk_server.h"
#include "state/shared_state.h"

namespace loco::collectives {
namespace {

double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

using std::chrono::milliseconds;
using std::chrono::seconds;

// A connected plain socket to 127.0.0.1:port, or -1.
int open_socket(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void reset_and_close(int fd) {
  linger l{1, 0};  // close sends RST
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

// Idle sockets held open until destroyed.
struct IdleSockets {
  std::vector<int> fds;
  void open(uint16_t port, int n) {
    for (int i = 0; i < n; ++i) {
      int fd = open_socket(port);
      if (fd >= 0) fds.push_back(fd);
    }
  }
  ~IdleSockets() {
    for (int fd : fds) ::close(fd);
  }
};

membership::SwarmKey key() { return *membership::derive_key("hostile test secret"); }

std::unique_ptr<membership::Coordinator> start_coordinator() {
  membership::CoordinatorOptions co;
  co.key = key();
  co.config.heartbeat_period = milliseconds(100);
  co.config.heartbeat_timeout = milliseconds(1500);
  co.config.join_window = milliseconds(50);
  co.handshake_timeout = seconds(5);
  auto c = membership::Coordinator::start(co);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? std::move(c).value() : nullptr;
}

// A good peer joins and becomes a member; returns how long that took.
double good_peer_joins_ms(uint16_t port) {
  const TimePoint t0 = now();
  membership::PeerOptions po;
  po.coordinator_port = port;
  po.key = key();
  po.name = "good";
  auto peer = membership::PeerClient::join(po);
  EXPECT_TRUE(peer.ok()) << peer.status().to_string();
  if (!peer.ok()) return 1e9;
  Status s = (*peer)->wait_for([](const membership::MembershipView& v) { return v.rank >= 0; },
                               Deadline::after(seconds(10)));
  EXPECT_TRUE(s.ok()) << s.to_string();
  return to_ms(now() - t0);
}

TEST(Hostile, BurstOfResetConnectionsDoesNotStopTheCoordinator) {
  auto coord = start_coordinator();
  ASSERT_NE(coord, nullptr);
  for (int round = 0; round < 3; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 300; ++i) {
      int fd = open_socket(coord->port());
      if (fd >= 0) fds.push_back(fd);
    }
    for (int fd : fds) reset_and_close(fd);
  }
  EXPECT_LT(good_peer_joins_ms(coord->port()), 4000);
}

TEST(Hostile, IdleUnauthenticatedFloodDoesNotKeepPeersOut) {
  auto coord = start_coordinator();
  ASSERT_NE(coord, nullptr);
  IdleSockets idle;
  idle.open(coord->port(), 300);
  ASSERT_GT(idle.fds.size(), 250u);
  // The gate holds at most 128 pending handshakes; the good peer's is the newest, so it stays
  // while older idle ones are closed: admitted well before the 5 s handshake timeout.
  EXPECT_LT(good_peer_joins_ms(coord->port()), 3000);
  // And again, with the flood still there and renewed.
  idle.open(coord->port(), 100);
  EXPECT_LT(good_peer_joins_ms(coord->port()), 3000);
}

TEST(Hostile, SlowlorisOnTheDataPortDoesNotKeepTheRingFromForming) {
  auto coord = start_coordinator();
  ASSERT_NE(coord, nullptr);
  SwarmPeerOptions o;
  o.peer.coordinator_port = coord->port();
  o.peer.key = key();
  o.peer.name = "a";
  auto a = SwarmPeer::join(o);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE((*a)->wait_for_world(1, Deadline::after(seconds(10))).ok());
  const auto view = (*a)->view();
  ASSERT_EQ(view.members.size(), 1u);
  const uint16_t data_port = view.members[0].data_port;

  // Idle sockets on a's data port, three renewed every 300 ms for the whole test.
  IdleSockets idle;
  idle.open(data_port, 100);
  std::atomic<bool> stop{false};
  std::thread renew([&] {
    while (!stop) {
      IdleSockets fresh;
      fresh.open(data_port, 3);
      std::this_thread::sleep_for(milliseconds(300));
    }
  });

  o.peer.name = "b";
  const TimePoint t0 = now();
  auto b = SwarmPeer::join(o);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  Status wa = (*a)->wait_for_world(2, Deadline::after(seconds(10)));
  Status wb = (*b)->wait_for_world(2, Deadline::after(seconds(10)));
  EXPECT_TRUE(wa.ok()) << wa.to_string();
  EXPECT_TRUE(wb.ok()) << wb.to_string();
  EXPECT_LT(to_ms(now() - t0), 4000);

  std::vector<float> xa(1000, 1.0f), xb(1000, 2.0f);
  Status ra, rb;
  std::thread ta([&] { ra = (*a)->comm().all_reduce(xa.data(), 1000, DataType::kF32, ReduceOp::kSum, 1).status(); });
  std::thread tb([&] { rb = (*b)->comm().all_reduce(xb.data(), 1000, DataType::kF32, ReduceOp::kSum, 1).status(); });
  ta.join();
  tb.join();
  stop = true;
  renew.join();
  EXPECT_TRUE(ra.ok()) << ra.to_string();
  EXPECT_TRUE(rb.ok()) << rb.to_string();
  EXPECT_EQ(xa[0], 3.0f);
  EXPECT_EQ(xb[999], 3.0f);
}

TEST(Hostile, IdleSocketsOnTheChunkPortDoNotKeepFetchersOut) {
  constexpr size_t kChunk = 64 << 10;
  std::vector<uint32_t> data(4 * kChunk / 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint32_t>(i * 2654435761u);
  state::SharedState donor(kChunk);
  ASSERT_TRUE(donor.add_buffer("w", DataType::kU32, data.size(), data.data()).ok());
  auto server = state::ChunkServer::listen({});
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  (*server)->open(&donor, donor.hash_chunks(), 1);

  IdleSockets idle;
  idle.open((*server)->port(), 100);  // more than the server's 64 connection slots
  std::this_thread::sleep_for(milliseconds(300));  // the acceptor works through them

  std::vector<uint32_t> out(data.size(), 0);
  state::SharedState mine(kChunk);
  ASSERT_TRUE(mine.add_buffer("w", DataType::kU32, out.size(), out.data()).ok());
  const auto truth = donor.hash_chunks();
  std::vector<state::FetchChunk> chunks;
  for (uint32_t c = 0; c < truth.size(); ++c) chunks.push_back({c, truth[c], mine.chunk_bytes(c), {0}});
  state::FetchOptions fo;
  fo.my_peer_id = 2;
  const TimePoint t0 = now();
  state::FetchReport r = state::fetch_chunks({state::FetchDonor{1, "127.0.0.1", (*server)->port()}},
                                             chunks, fo, Deadline::after(seconds(10)));
  EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(out, data);
  EXPECT_LT(to_ms(now() - t0), 3000);
}

// A member whose work thread hangs while its heartbeat thread runs: every operation of its ring
// times out, its neighbours report LINK_FAILED, the ring is re-formed with the same members... and
// after at most 3 such re-forms it is evicted with a reason, so the others go on without it.
TEST(Hostile, AMemberWhoseWorkHangsIsEvictedAfterBoundedReforms) {
  membership::CoordinatorOptions co;
  co.config.heartbeat_period = milliseconds(100);
  co.config.heartbeat_timeout = milliseconds(1000);
  co.config.join_window = milliseconds(50);
  co.config.max_suspect_reforms = 3;
  auto coord = membership::Coordinator::start(co);
  ASSERT_TRUE(coord.ok()) << coord.status().to_string();
  std::vector<std::unique_ptr<SwarmPeer>> peers;
  for (int i = 0; i < 3; ++i) {
    SwarmPeerOptions o;
    o.peer.coordinator_port = (*coord)->port();
    o.peer.name = "p" + std::to_string(i);
    o.comm.deadline.base = milliseconds(400);
    auto p = SwarmPeer::join(o);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    peers.push_back(std::move(p).value());
  }
  for (auto& p : peers) ASSERT_TRUE(p->wait_for_world(3, Deadline::after(seconds(10))).ok());
  const uint64_t hung_id = peers[2]->peer_id();

  // Peers 0 and 1 keep trying one all-reduce; peer 2 never calls anything (its heartbeats go on).
  const TimePoint t0 = now();
  std::vector<Status> last(2);
  std::vector<int> attempts(2, 0);
  std::vector<std::vector<float>> bufs(2, std::vector<float>(1000));
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      const Deadline deadline = Deadline::after(seconds(30));
      while (!deadline.expired()) {
        std::fill(bufs[i].begin(), bufs[i].end(), static_cast<float>(i + 1));
        ++attempts[i];
        auto r = peers[i]->comm().all_reduce(bufs[i].data(), 1000, DataType::kF32, ReduceOp::kSum, 5);
        last[i] = r.status();
        if (r.ok()) return;
        std::this_thread::sleep_for(milliseconds(50));
      }
    });
  }
  for (auto& t : threads) t.join();
  const double took_ms = to_ms(now() - t0);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(last[i].ok()) << last[i].to_string();
    EXPECT_EQ(bufs[i][0], 3.0f) << "the sum of the two survivors";
    EXPECT_GT(attempts[i], 1);
  }
  for (const auto& m : peers[0]->view().members) EXPECT_NE(m.peer_id, hung_id);
  EXPECT_LT(took_ms, 20000);
  // The hung peer learns why.
  Status why = peers[2]->client().wait_for(
      [](const membership::MembershipView&) { return false; }, Deadline::after(seconds(5)));
  EXPECT_NE(why.message().find("re-formed epochs"), std::string::npos) << why.to_string();
}

}  // namespace
}  // namespace loco::collectives
