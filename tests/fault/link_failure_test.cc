// A peer that is alive (heartbeats flow) but stuck in its data plane: the survivors' operation
// fails by its deadline, they report LINK_FAILED, the coordinator re-forms the same ring in a new
// epoch after the grace period, and the retry succeeds once the slow peer takes part again.
// In-process: a Coordinator and three SwarmPeers over TCP loopback.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "collectives/swarm_peer.h"
#include "membership/coordinator.h"

namespace loco::collectives {
namespace {

TEST(LinkFailure, StuckDataPlaneIsReportedAndTheRingReformed) {
  membership::CoordinatorOptions co;
  co.config.heartbeat_period = std::chrono::milliseconds(100);
  co.config.heartbeat_timeout = std::chrono::milliseconds(1000);
  co.config.join_window = std::chrono::milliseconds(50);
  auto coord = membership::Coordinator::start(co);
  ASSERT_TRUE(coord.ok()) << coord.status().to_string();

  std::vector<std::unique_ptr<SwarmPeer>> peers;
  for (int i = 0; i < 3; ++i) {
    SwarmPeerOptions o;
    o.peer.coordinator_port = (*coord)->port();
    o.peer.name = "p" + std::to_string(i);
    o.comm.deadline.base = std::chrono::milliseconds(400);
    auto p = SwarmPeer::join(o);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    peers.push_back(std::move(p).value());
  }
  for (auto& p : peers) {
    ASSERT_TRUE(p->wait_for_world(3, Deadline::after(std::chrono::seconds(10))).ok());
  }
  const uint64_t epoch = peers[0]->view().epoch;

  // Peers 0 and 1 start an all-reduce; peer 2 does not (stuck, but its heartbeats continue).
  std::vector<std::vector<float>> bufs(3, std::vector<float>(1000));
  for (int i = 0; i < 3; ++i) {
    for (size_t k = 0; k < 1000; ++k) bufs[i][k] = static_cast<float>(i + 1);
  }
  std::vector<Status> first(2);
  std::vector<std::thread> threads;
  const TimePoint t0 = now();
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      first[i] = peers[i]->comm().all_reduce(bufs[i].data(), 1000, DataType::kF32, ReduceOp::kSum, 7)
                     .status();
    });
  }
  for (auto& t : threads) t.join();
  const double fail_ms = std::chrono::duration<double, std::milli>(now() - t0).count();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(is_retryable(first[i].code())) << first[i].to_string();
    EXPECT_EQ(bufs[i][0], static_cast<float>(i + 1)) << "buffer modified by a failed operation";
  }
  EXPECT_LT(fail_ms, 5000);

  // Without a membership change, the coordinator re-forms the ring: same members, new epoch.
  for (auto& p : peers) {
    auto v = p->client().wait_for_epoch_after(epoch, Deadline::after(std::chrono::seconds(10)));
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->world_size(), 3);
  }
  for (auto& p : peers) {
    ASSERT_TRUE(p->wait_for_world(3, Deadline::after(std::chrono::seconds(10))).ok());
  }

  // Everyone takes part now: the retry succeeds in the new epoch, bit-identical everywhere.
  threads.clear();
  std::vector<Status> second(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      second[i] = peers[i]->comm().all_reduce(bufs[i].data(), 1000, DataType::kF32, ReduceOp::kSum, 7)
                      .status();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(second[i].ok()) << second[i].to_string();
    EXPECT_EQ(bufs[i], std::vector<float>(1000, 6.0f));
  }
  EXPECT_GT(peers[0]->view().epoch, epoch);
}

}  // namespace
}  // namespace loco::collectives
