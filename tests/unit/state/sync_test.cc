// sync_test.cc: whole sync points in one process: a real Coordinator, PeerClients and StateSyncs
// over loopback TCP. Parity after each sync, a corrupted chunk repaired, a joiner receiving the
// whole state, a peer ahead refused.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

#include "membership/coordinator.h"
#include "state/state_sync.h"

namespace loco::state {
namespace {

using collectives::DataType;
constexpr size_t kChunk = 16 << 10;
constexpr size_t kElems = 10 * kChunk / 4 + 7;  // 11 chunks, the last one short

struct Node {
  std::unique_ptr<membership::PeerClient> client;
  std::unique_ptr<StateSync> sync;
  std::vector<uint32_t> weights, pos;
  std::unique_ptr<SharedState> state;
};

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    membership::CoordinatorOptions o;
    o.config.heartbeat_period = std::chrono::milliseconds(100);
    o.config.heartbeat_timeout = std::chrono::milliseconds(2000);
    o.config.join_window = std::chrono::milliseconds(20);
    auto c = membership::Coordinator::start(o);
    ASSERT_TRUE(c.ok());
    coord_ = std::move(c).value();
  }

  Node& add(uint32_t fill) {
    auto n = std::make_unique<Node>();
    membership::PeerOptions po;
    po.coordinator_port = coord_->port();
    po.name = "n" + std::to_string(nodes_.size());
    po.data_host = "127.0.0.1";
    auto c = membership::PeerClient::join(po);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    n->client = std::move(c).value();
    auto s = StateSync::create(*n->client, {});
    EXPECT_TRUE(s.ok());
    n->sync = std::move(s).value();
    n->weights.assign(kElems, fill);
    n->pos.assign(4, fill);
    n->state = std::make_unique<SharedState>(kChunk);
    EXPECT_TRUE(n->state->add_buffer("w", DataType::kU32, kElems, n->weights.data()).ok());
    EXPECT_TRUE(n->state->add_buffer("pos", DataType::kU32, 4, n->pos.data(), true).ok());
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }

  void wait_world(size_t n) {
    for (auto& node : nodes_) {
      ASSERT_TRUE(node->client
                      ->wait_for([&](const auto& v) { return v.world_size() == static_cast<int>(n); },
                                 Deadline::after(std::chrono::seconds(20)))
                      .ok());
    }
  }

  std::vector<Result<SyncResult>> sync_all(std::vector<SyncStrategy> strategies = {}) {
    std::vector<std::future<Result<SyncResult>>> fs;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      SyncStrategy s = i < strategies.size() ? strategies[i] : SyncStrategy::kEnforceMajority;
      Node* n = nodes_[i].get();
      fs.push_back(std::async(std::launch::async, [n, s] {
        return n->sync->sync(*n->state, s, std::chrono::seconds(30));
      }));
    }
    std::vector<Result<SyncResult>> out;
    for (auto& f : fs) out.push_back(f.get());
    return out;
  }

  std::unique_ptr<membership::Coordinator> coord_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(SyncTest, MajorityWinsCorruptionIsRepairedAndJoinerGetsEverything) {
  add(5);
  add(5);
  add(5);
  wait_world(3);
  // Round 1: all equal at revision 1.
  for (auto& n : nodes_) n->state->set_revision(1);
  for (auto& r : sync_all()) {
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->chunks_fetched, 0u);
    EXPECT_EQ(r->revision, 1u);
  }
  // A flipped element on node 2 (think: bit rot) is repaired at the next sync.
  nodes_[2]->weights[3 * kChunk / 4 + 1] ^= 0x100;
  nodes_[2]->pos[0] = 42;  // per-peer: left alone
  for (auto& n : nodes_) n->state->set_revision(2);
  auto r2 = sync_all();
  for (auto& r : r2) ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r2[2]->chunks_fetched, 1u);
  EXPECT_EQ(nodes_[2]->weights, nodes_[0]->weights);
  EXPECT_EQ(nodes_[2]->pos[0], 42u);

  // A joiner with zeros, receive-only, gets all 11 chunks from the 3 donors.
  Node& j = add(0);
  wait_world(4);
  auto r3 = sync_all({SyncStrategy::kEnforceMajority, SyncStrategy::kEnforceMajority,
                      SyncStrategy::kEnforceMajority, SyncStrategy::kReceiveOnly});
  for (auto& r : r3) ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r3[3]->chunks_fetched, 11u);
  EXPECT_EQ(r3[3]->chunks_by_donor.size(), 3u);  // spread over every donor
  EXPECT_EQ(j.weights, nodes_[0]->weights);
  EXPECT_EQ(j.state->revision(), 2u);
  for (auto& n : nodes_) EXPECT_EQ(n->state->hash_chunks(), nodes_[0]->state->hash_chunks());
  EXPECT_GE(coord_->state_rounds_completed(), 3u);
}

TEST_F(SyncTest, PeerAheadIsRefusedOthersSync) {
  add(1);
  add(1);
  add(2);
  wait_world(3);
  nodes_[0]->state->set_revision(4);
  nodes_[1]->state->set_revision(4);
  nodes_[2]->state->set_revision(9);
  auto r = sync_all();
  ASSERT_TRUE(r[0].ok());
  ASSERT_TRUE(r[1].ok());
  ASSERT_FALSE(r[2].ok());
  EXPECT_EQ(r[2].status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r[2].status().message().find("ahead"), std::string::npos) << r[2].status().to_string();
  EXPECT_EQ(nodes_[2]->weights[0], 2u);  // untouched
  EXPECT_EQ(nodes_[2]->state->revision(), 9u);
}

TEST_F(SyncTest, CorruptDonorIsReportedAndEvicted) {
  add(3);
  add(3);
  add(3);
  add(0);
  wait_world(4);
  nodes_[1]->sync->server().set_corrupt_serving(true);
  auto r = sync_all({SyncStrategy::kEnforceMajority, SyncStrategy::kEnforceMajority,
                     SyncStrategy::kEnforceMajority, SyncStrategy::kReceiveOnly});
  ASSERT_TRUE(r[3].ok()) << r[3].status().to_string();
  EXPECT_EQ(nodes_[3]->weights, nodes_[0]->weights);
  EXPECT_EQ(r[3]->bad_donors, (std::vector<uint64_t>{nodes_[1]->client->peer_id()}));
  auto reports = coord_->bad_donor_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].donor, nodes_[1]->client->peer_id());
  // The bad donor is removed from the swarm.
  EXPECT_TRUE(nodes_[0]->client
                  ->wait_for([](const auto& v) { return v.world_size() == 3; },
                             Deadline::after(std::chrono::seconds(10)))
                  .ok());
}

}  // namespace
}  // namespace loco::state
