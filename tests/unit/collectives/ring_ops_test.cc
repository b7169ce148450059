// ring_ops_test.cc: all-reduce, reduce-scatter, all-gather and broadcast over real TCP loopback
// for world sizes 1..8, every data type and operator, element counts 0, 1, world-1, world,
// world+1, odd and multi-piece, in place and out of place; results checked bit for bit against the
// ring-order reference, against an order-free exact sum where one exists, and across peers.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ring_harness.h"

namespace loco::collectives {
namespace {

using testing::make_input;
using testing::PeerSlot;
using testing::Ring;
using testing::ring_reference;

MeshOptions small_mesh() {
  MeshOptions m;
  m.stripes = 3;
  return m;
}
CommunicatorOptions small_pieces() {
  CommunicatorOptions c;
  c.piece_bytes = 4096;  // many pieces even for small buffers: exercises the pipeline
  return c;
}

struct Case {
  DataType t;
  ReduceOp op;
  size_t count;
};

std::vector<Case> all_reduce_cases(size_t world) {
  std::vector<Case> cases;
  const size_t counts[] = {0, 1, world > 1 ? world - 1 : 2, world, world + 1, 1237};
  for (int ti = 0; ti < kNumDataTypes; ++ti) {
    for (int oi = 0; oi < kNumReduceOps; ++oi) {
      for (size_t c : counts)
        cases.push_back({static_cast<DataType>(ti), static_cast<ReduceOp>(oi), c});
    }
  }
  cases.push_back({DataType::kF32, ReduceOp::kSum, 100003});
  cases.push_back({DataType::kBF16, ReduceOp::kAvg, 65537});
  cases.push_back({DataType::kF64, ReduceOp::kMax, 30011});
  return cases;
}

class RingOps : public ::testing::TestWithParam<size_t> {};

TEST_P(RingOps, AllReduceMatchesRingReferenceOnEveryPeer) {
  const size_t world = GetParam();
  Ring ring(world, small_mesh(), small_pieces());
  ring.form_all(1);
  const std::vector<Case> cases = all_reduce_cases(world);
  // results[rank][case]
  std::vector<std::vector<std::vector<std::byte>>> results(world);
  ring.each([&](size_t rank, PeerSlot& p) {
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      const Case& c = cases[ci];
      std::vector<std::byte> in = make_input(c.t, c.count, rank, ci);
      std::vector<std::byte> out(in.size());
      Result<OpStats> r = (ci % 2 == 0)
                              ? p.comm->all_reduce(in.data(), c.count, c.t, c.op)
                              : p.comm->all_reduce(in.data(), out.data(), c.count, c.t, c.op);
      ASSERT_TRUE(r.ok()) << r.status().to_string() << " case " << ci;
      EXPECT_EQ(r->world_size, world);
      EXPECT_EQ(r->op.seq, ci);
      results[rank].push_back(ci % 2 == 0 ? in : out);
    }
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    std::vector<std::vector<std::byte>> inputs;
    for (size_t r = 0; r < world; ++r) inputs.push_back(make_input(c.t, c.count, r, ci));
    const std::vector<std::byte> expect = ring_reference(c.t, c.op, c.count, inputs);
    for (size_t r = 0; r < world; ++r) {
      ASSERT_EQ(results[r][ci], expect) << "rank " << r << " " << dtype_name(c.t) << " "
                                        << reduce_op_name(c.op) << " count " << c.count;
    }
    if (c.t == DataType::kF32 && c.op == ReduceOp::kSum) {
      // Inputs are multiples of 1/8 below 2^7: the f32 sum is exact in any order.
      for (size_t i = 0; i < c.count; ++i) {
        double sum = 0;
        for (size_t r = 0; r < world; ++r) {
          float v;
          std::memcpy(&v, inputs[r].data() + 4 * i, 4);
          sum += v;
        }
        float got;
        std::memcpy(&got, results[0][ci].data() + 4 * i, 4);
        ASSERT_EQ(got, static_cast<float>(sum)) << i;
      }
    }
  }
}

TEST_P(RingOps, ReduceScatterAllGatherAndBroadcast) {
  const size_t world = GetParam();
  Ring ring(world, small_mesh(), small_pieces());
  ring.form_all(1);
  const size_t counts[] = {0, 1, world + 1, 4099, 50001};
  const DataType types[] = {DataType::kF32, DataType::kF16, DataType::kI64, DataType::kU8};
  struct Out {
    std::vector<std::byte> rs, ag, bc0, bc_last;
  };
  std::vector<std::vector<Out>> outs(world);
  ring.each([&](size_t rank, PeerSlot& p) {
    size_t salt = 0;
    for (size_t count : counts) {
      for (DataType t : types) {
        ++salt;
        const size_t e = dtype_size(t);
        const Segment mine = segment_of(count, world, rank);
        Out o;
        std::vector<std::byte> in = make_input(t, count, rank, salt);
        o.rs.assign(mine.count * e, std::byte{0x5A});
        auto r = p.comm->reduce_scatter(in.data(), o.rs.data(), count, t, ReduceOp::kSum);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        std::vector<std::byte> part = make_input(t, mine.count, rank, salt + 1000);
        o.ag.assign(count * e, std::byte{0x5A});
        r = p.comm->all_gather(part.data(), o.ag.data(), count, t);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        o.bc0 = make_input(t, count, rank, salt + 2000);
        r = p.comm->broadcast(o.bc0.data(), count, t, 0);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        o.bc_last = make_input(t, count, rank, salt + 3000);
        r = p.comm->broadcast(o.bc_last.data(), count, t, world - 1);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        outs[rank].push_back(std::move(o));
      }
    }
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  size_t salt = 0;
  size_t k = 0;
  for (size_t count : counts) {
    for (DataType t : types) {
      ++salt;
      const size_t e = dtype_size(t);
      std::vector<std::vector<std::byte>> inputs;
      for (size_t r = 0; r < world; ++r) inputs.push_back(make_input(t, count, r, salt));
      const auto reduced = ring_reference(t, ReduceOp::kSum, count, inputs);
      std::vector<std::byte> gathered;
      for (size_t r = 0; r < world; ++r) {
        auto part = make_input(t, segment_of(count, world, r).count, r, salt + 1000);
        gathered.insert(gathered.end(), part.begin(), part.end());
      }
      const auto root0 = make_input(t, count, 0, salt + 2000);
      const auto root_last = make_input(t, count, world - 1, salt + 3000);
      for (size_t r = 0; r < world; ++r) {
        const Segment mine = segment_of(count, world, r);
        const std::vector<std::byte> want_rs(
            reduced.begin() + static_cast<long>(mine.begin * e),
            reduced.begin() + static_cast<long>((mine.begin + mine.count) * e));
        const Out& o = outs[r][k];
        ASSERT_EQ(o.rs, want_rs) << "reduce_scatter rank " << r << " count " << count;
        ASSERT_EQ(o.ag, gathered) << "all_gather rank " << r << " count " << count;
        ASSERT_EQ(o.bc0, root0) << "broadcast(0) rank " << r << " count " << count;
        ASSERT_EQ(o.bc_last, root_last) << "broadcast(last) rank " << r << " count " << count;
      }
      ++k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(World, RingOps, ::testing::Range<size_t>(1, 9),
                         [](const auto& p) { return "P" + std::to_string(p.param); });

TEST(RingOps, ReduceScatterInPlaceAndAllGatherIntoItsOwnSegment) {
  Ring ring(3, small_mesh(), small_pieces());
  ring.form_all(1);
  const size_t count = 1001;
  std::vector<std::vector<std::byte>> rs(3), ag(3);
  ring.each([&](size_t rank, PeerSlot& p) {
    const Segment mine = segment_of(count, 3, rank);
    std::vector<std::byte> buf = make_input(DataType::kI32, count, rank, 9);
    // out aliases the start of in (MPI-style in place).
    ASSERT_TRUE(
        p.comm->reduce_scatter(buf.data(), buf.data(), count, DataType::kI32, ReduceOp::kMax).ok());
    rs[rank].assign(buf.begin(), buf.begin() + static_cast<long>(mine.count * 4));
    // in lies inside out at this rank's own segment.
    std::vector<std::byte> out(count * 4);
    std::vector<std::byte> part = make_input(DataType::kI32, mine.count, rank, 10);
    std::memcpy(out.data() + mine.begin * 4, part.data(), part.size());
    ASSERT_TRUE(
        p.comm->all_gather(out.data() + mine.begin * 4, out.data(), count, DataType::kI32).ok());
    ag[rank] = out;
  });
  std::vector<std::vector<std::byte>> inputs;
  for (size_t r = 0; r < 3; ++r) inputs.push_back(make_input(DataType::kI32, count, r, 9));
  const auto reduced = ring_reference(DataType::kI32, ReduceOp::kMax, count, inputs);
  for (size_t r = 0; r < 3; ++r) {
    const Segment mine = segment_of(count, 3, r);
    EXPECT_EQ(0, std::memcmp(rs[r].data(), reduced.data() + mine.begin * 4, mine.count * 4));
    EXPECT_EQ(ag[r], ag[0]);
    auto part = make_input(DataType::kI32, mine.count, r, 10);
    EXPECT_EQ(0, std::memcmp(ag[0].data() + mine.begin * 4, part.data(), part.size()));
  }
}

TEST(RingOps, EightConcurrentTaggedAllReducesFromFourPeers) {
  MeshOptions m;
  m.stripes = 2;
  CommunicatorOptions c;
  c.piece_bytes = 16384;
  Ring ring(4, m, c);
  ring.form_all(1);
  constexpr size_t kOps = 8;
  constexpr size_t kCount = 200003;
  std::vector<std::vector<std::vector<std::byte>>> results(4);
  ring.each([&](size_t rank, PeerSlot& p) {
    std::vector<std::vector<std::byte>> bufs;
    for (size_t k = 0; k < kOps; ++k)
      bufs.push_back(make_input(DataType::kF32, kCount, rank, 100 + k));
    std::vector<OpHandle> handles;
    // Peers start the tags in different orders: only the order per tag has to agree.
    for (size_t j = 0; j < kOps; ++j) {
      const size_t k = (j + rank * 3) % kOps;
      handles.push_back(p.comm->all_reduce_async(bufs[k].data(), kCount, DataType::kF32,
                                                 ReduceOp::kSum, /*tag=*/k));
    }
    for (auto& h : handles) {
      Result<OpStats> r = h.wait();
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      EXPECT_GT(r->bytes_sent, kCount * 4 / 2);
    }
    results[rank] = std::move(bufs);
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (size_t k = 0; k < kOps; ++k) {
    std::vector<std::vector<std::byte>> inputs;
    for (size_t r = 0; r < 4; ++r) inputs.push_back(make_input(DataType::kF32, kCount, r, 100 + k));
    const auto expect = ring_reference(DataType::kF32, ReduceOp::kSum, kCount, inputs);
    for (size_t r = 0; r < 4; ++r) ASSERT_EQ(results[r][k], expect) << "tag " << k << " rank " << r;
  }
}

TEST(RingOps, InvalidCallsAreRejectedWithoutTouchingBuffers) {
  Ring ring(2, small_mesh(), small_pieces());
  ring.form_all(1);
  PeerSlot& p = ring.peers[0];
  std::vector<float> buf(16, 1.0f);
  auto r = p.comm->all_reduce(buf.data(), buf.data() + 1, 8, DataType::kF32, ReduceOp::kSum);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = p.comm->broadcast(buf.data(), 8, DataType::kF32, 2);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = p.comm->all_reduce(nullptr, 8, DataType::kF32, ReduceOp::kSum);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = p.comm->all_reduce(buf.data(), 8, static_cast<DataType>(77), ReduceOp::kSum);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  for (float v : buf) EXPECT_EQ(v, 1.0f);
  // A communicator before any epoch.
  auto mesh = Mesh::listen_tcp({});
  ASSERT_TRUE(mesh.ok());
  Communicator c(**mesh, ring.voter);
  EXPECT_EQ(c.all_reduce(buf.data(), 8, DataType::kF32, ReduceOp::kSum).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.world_size(), 0u);
}

}  // namespace
}  // namespace loco::collectives
