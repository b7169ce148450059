// fault_test.cc: fault semantics of the collectives with in-process peers that do not depend on
// the wire codec: a peer that stops reading (DEADLINE_EXCEEDED / UNAVAILABLE), a link cut or
// corrupted mid operation, an aborted commit vote of an integer all-reduce, a caller's abort.
// Every survivor must fail within a bound with its buffer exactly as before, and the retry in the
// re-formed (smaller) ring must succeed with the right result. An epoch replaced mid-operation
// and a peer whose mesh dies, once per wire (raw f32 and each dense codec): codec_fault_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "ring_harness.h"
#include "transport/fault_injector.h"

namespace loco::collectives {
namespace {

using testing::make_input;
using testing::PeerSlot;
using testing::is_failure_code;
using testing::quick_deadlines;
using testing::Ring;
using testing::ring_reference;
using testing::two_stripes;

constexpr auto kBound = std::chrono::seconds(5);  // generous for a loaded 2-core machine

// Runs an all-reduce of `count` f32 on each of `which` (rank order) and checks the result.
void expect_retry_succeeds(Ring& ring, const std::vector<size_t>& which, size_t count,
                           uint64_t salt) {
  const size_t world = which.size();
  std::vector<std::vector<std::byte>> out(world);
  ring.each(which, [&](size_t rank, PeerSlot& p) {
    std::vector<std::byte> buf = make_input(DataType::kF32, count, rank, salt);
    Result<OpStats> r = p.comm->all_reduce(buf.data(), count, DataType::kF32, ReduceOp::kSum);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->world_size, world);
    out[rank] = std::move(buf);
  });
  std::vector<std::vector<std::byte>> inputs;
  for (size_t r = 0; r < world; ++r) inputs.push_back(make_input(DataType::kF32, count, r, salt));
  const auto expect = ring_reference(DataType::kF32, ReduceOp::kSum, count, inputs);
  for (size_t r = 0; r < world; ++r) EXPECT_EQ(out[r], expect) << "rank " << r;
}

TEST(Faults, PeerThatStopsReadingIsDetectedByTheDeadline) {
  Ring ring(3, two_stripes(), quick_deadlines());
  ring.form_all(1);
  const size_t count = 8 << 20;  // 32 MiB: far more than the socket buffers hold
  std::vector<std::vector<std::byte>> bufs, before;
  for (size_t r = 0; r < 2; ++r) {
    bufs.push_back(make_input(DataType::kF32, count, r, 3));
    before.push_back(bufs.back());
  }
  // Peer 2 is "hung": it never starts the operation, so its receivers never read the pieces.
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Status> st(2);
  ring.each({0, 1}, [&](size_t rank, PeerSlot& p) {
    st[rank] =
        p.comm->all_reduce(bufs[rank].data(), count, DataType::kF32, ReduceOp::kSum).status();
  });
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  bool some_deadline = false;
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_TRUE(is_failure_code(st[r].code())) << st[r].to_string();
    some_deadline |= st[r].code() == StatusCode::kDeadlineExceeded;
    EXPECT_EQ(bufs[r], before[r]) << "rank " << r << " buffer changed";
  }
  EXPECT_TRUE(some_deadline);
  EXPECT_GE(elapsed, std::chrono::milliseconds(1000));  // not before the deadline...
  EXPECT_LT(elapsed, kBound);                           // ...and not long after it
  ring.form(2, {0, 1});
  expect_retry_succeeds(ring, {0, 1}, 65537, 4);
}

TEST(Faults, LinkCutMidOperationFailsEveryPeer) {
  auto net = std::make_shared<transport::LoopbackNetwork>();
  Ring ring(4, two_stripes(), quick_deadlines(), net);
  ring.form_all(1);
  transport::FaultRule cut;
  cut.action = transport::FaultAction::kCut;
  cut.type = wire::MsgType::kData;
  cut.endpoint = "peer2";  // a link into peer 2
  cut.skip = 40;           // well into the operation
  cut.count = 1;
  const auto rule = net->faults().add_rule(cut);
  const size_t count = 1 << 20;
  std::vector<std::vector<std::byte>> bufs(4), before(4);
  std::vector<Status> st(4);
  const auto t0 = std::chrono::steady_clock::now();
  ring.each([&](size_t rank, PeerSlot& p) {
    bufs[rank] = make_input(DataType::kF32, count, rank, 5);
    before[rank] = bufs[rank];
    st[rank] =
        p.comm->all_reduce(bufs[rank].data(), count, DataType::kF32, ReduceOp::kSum).status();
  });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kBound);
  EXPECT_EQ(net->faults().hits(rule), 1u);
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_TRUE(is_failure_code(st[r].code())) << "rank " << r << ": " << st[r].to_string();
    EXPECT_EQ(bufs[r], before[r]) << "rank " << r << " buffer changed";
  }
  ring.form_all(2);  // fresh links; the rule is spent
  expect_retry_succeeds(ring, {0, 1, 2, 3}, 1 << 20, 6);
}

TEST(Faults, CorruptPieceFailsTheOperationNotTheProcess) {
  auto net = std::make_shared<transport::LoopbackNetwork>();
  Ring ring(3, two_stripes(), quick_deadlines(), net);
  ring.form_all(1);
  transport::FaultRule corrupt;
  corrupt.action = transport::FaultAction::kCorrupt;
  corrupt.type = wire::MsgType::kData;
  corrupt.skip = 7;
  corrupt.count = 1;
  net->faults().add_rule(corrupt);
  const size_t count = 300000;
  std::vector<Status> st(3);
  std::vector<std::vector<std::byte>> bufs(3), before(3);
  ring.each([&](size_t rank, PeerSlot& p) {
    bufs[rank] = make_input(DataType::kBF16, count, rank, 7);
    before[rank] = bufs[rank];
    st[rank] =
        p.comm->all_reduce(bufs[rank].data(), count, DataType::kBF16, ReduceOp::kAvg).status();
  });
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_FALSE(st[r].ok());
    EXPECT_EQ(bufs[r], before[r]);
  }
  ring.form_all(2);
  expect_retry_succeeds(ring, {0, 1, 2}, 4097, 8);
}

TEST(Faults, AbortedVoteLeavesInPlaceBuffersUntouched) {
  Ring ring(3, two_stripes(), quick_deadlines());
  ring.form_all(1);
  ring.voter.set_members(1, 4);  // one vote short: the commit never comes by itself
  const size_t count = 50000;
  std::vector<std::vector<std::byte>> bufs, before;
  std::vector<OpHandle> handles;
  for (size_t r = 0; r < 3; ++r) {
    bufs.push_back(make_input(DataType::kI32, count, r, 11));
    before.push_back(bufs.back());
    handles.push_back(ring.peers[r].comm->all_reduce_async(bufs[r].data(), count, DataType::kI32,
                                                           ReduceOp::kSum));
  }
  ring.voter.abort(1);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(handles[r].wait().status().code(), StatusCode::kAborted);
    EXPECT_EQ(bufs[r], before[r]);
  }
}

TEST(Faults, CallerAbortFailsTheEpochFast) {
  Ring ring(2, two_stripes(), quick_deadlines());
  ring.form_all(1);
  std::vector<float> buf(1000, 1.0f);
  // Only peer 0 starts: it waits for peer 1 until aborted.
  OpHandle h =
      ring.peers[0].comm->all_reduce_async(buf.data(), buf.size(), DataType::kF32, ReduceOp::kSum);
  ring.peers[0].comm->abort(1);
  EXPECT_EQ(h.wait().status().code(), StatusCode::kAborted);
  // The epoch stays failed until the next one: later calls fail at once.
  EXPECT_EQ(ring.peers[0]
                .comm->all_reduce(buf.data(), buf.size(), DataType::kF32, ReduceOp::kSum)
                .status()
                .code(),
            StatusCode::kAborted);
  for (float v : buf) ASSERT_EQ(v, 1.0f);
  ring.form_all(2);
  expect_retry_succeeds(ring, {0, 1}, 999, 12);
}

TEST(Throughput, DeadlineGrowsWithSizeAndShrinksWithMeasuredBandwidth) {
  ThroughputEstimator est;
  DeadlinePolicy pol;
  pol.base = std::chrono::seconds(2);
  pol.slack = 4;
  pol.floor_bytes_per_sec = 1e6;
  EXPECT_EQ(est.budget(0, pol), pol.base);
  const Duration before = est.budget(100'000'000, pol);  // floor: 100 s
  EXPECT_NEAR(std::chrono::duration<double>(before).count(), 102.0, 0.01);
  est.observe(1'000'000'000, std::chrono::seconds(1));  // 1 GB/s measured
  const Duration after = est.budget(100'000'000, pol);  // 100 MB at 250 MB/s: 0.4 s
  EXPECT_NEAR(std::chrono::duration<double>(after).count(), 2.4, 0.01);
  est.observe(1000, std::chrono::seconds(100));  // too small a sample: ignored
  EXPECT_DOUBLE_EQ(est.bytes_per_sec(), 1e9);
}

}  // namespace
}  // namespace loco::collectives
