// codec_fault_test.cc: the collectives' failure contract, once for every wire: the raw f32 ring
// and the quantized ring with each dense codec (fp16, int8, int4). An epoch replaced
// mid-operation, a peer whose mesh dies mid-operation and an aborted commit vote fail every
// survivor within a bound with its in-place buffer exactly as before (the result is staged,
// decoded values included), and the retry in the re-formed ring gives, on every peer, the bits
// the reference predicts (ring_reference for f32, the emulated quantized ring otherwise). Faults
// that do not depend on the wire (a peer that stops reading, a cut or corrupt link, a caller's
// abort, other dtypes): fault_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "quantized_reference.h"
#include "ring_harness.h"

namespace loco::collectives {
namespace {

using testing::is_failure_code;
using testing::layout_for;
using testing::quick_deadlines;
using testing::two_stripes;
using testing::PeerSlot;
using testing::quantized_ring_reference;
using testing::Ring;
using testing::ring_reference;
using testing::wire_codec_or_die;

constexpr auto kBound = std::chrono::seconds(5);  // generous for a loaded 2-core machine
constexpr size_t kPieceBytes = 64 * 1024;

// The parameter: a wire codec spec, "fp32" for the raw ring.
class WireFaults : public ::testing::TestWithParam<const char*> {
 protected:
  std::string_view codec() const { return GetParam(); }
};

void expect_retry_succeeds(Ring& ring, const std::vector<size_t>& which, size_t count,
                           uint64_t salt, std::string_view spec) {
  const size_t world = which.size();
  std::vector<std::vector<float>> out(world);
  ring.each(which, [&](size_t rank, PeerSlot& p) {
    std::vector<float> buf = testing::f32_input(count, rank, salt);
    auto r = p.comm->all_reduce_quantized(buf.data(), count, ReduceOp::kAvg, spec);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->world_size, world);
    out[rank] = std::move(buf);
  });
  std::vector<std::vector<float>> inputs;
  for (size_t r = 0; r < world; ++r) inputs.push_back(testing::f32_input(count, r, salt));
  std::vector<float> expect(count);
  if (spec == "fp32") {
    std::vector<std::vector<std::byte>> raw;
    for (size_t r = 0; r < world; ++r) raw.push_back(testing::make_input(DataType::kF32, count, r, salt));
    const std::vector<std::byte> e = ring_reference(DataType::kF32, ReduceOp::kAvg, count, raw);
    std::memcpy(expect.data(), e.data(), count * 4);
  } else {
    auto codec = wire_codec_or_die(std::string(spec));
    expect = quantized_ring_reference(*codec, layout_for(count, world, kPieceBytes, *codec),
                                      ReduceOp::kAvg, inputs);
  }
  for (size_t r = 0; r < world; ++r) {
    ASSERT_EQ(out[r].size(), count);
    EXPECT_EQ(0, std::memcmp(out[r].data(), expect.data(), count * 4)) << "rank " << r;
  }
}

// Starts the op on peers [0, starters) asynchronously; buffers and their copies in bufs/before.
std::vector<OpHandle> start_all(Ring& ring, size_t starters, size_t count, uint64_t salt,
                                std::string_view spec, std::vector<std::vector<float>>& bufs,
                                std::vector<std::vector<float>>& before) {
  std::vector<OpHandle> handles;
  for (size_t r = 0; r < starters; ++r) {
    bufs.push_back(testing::f32_input(count, r, salt));
    before.push_back(bufs.back());
  }
  for (size_t r = 0; r < starters; ++r) {
    OpRequest q{.kind = OpKind::kAllReduce, .in = bufs[r].data(), .out = bufs[r].data(),
                .count = count, .op = ReduceOp::kAvg, .wire_codec = spec};
    handles.push_back(ring.peers[r].comm->run_async(q));
  }
  return handles;
}

TEST_P(WireFaults, EpochReplacedMidOperationAbortsEverySurvivorWithBufferUntouched) {
  Ring ring(4, two_stripes(), quick_deadlines());
  ring.form_all(1);
  std::vector<std::vector<float>> bufs, before;
  // 8 MiB: peer 3 never takes part, so the others are stuck mid-operation.
  auto handles = start_all(ring, 3, 2 << 20, 1, codec(), bufs, before);
  const auto t0 = std::chrono::steady_clock::now();
  ring.form(2, {0, 1, 2});  // peer 3 is gone
  for (size_t r = 0; r < 3; ++r) {
    Result<OpStats> res = handles[r].wait();
    // Peer 0 learns of the new epoch first: ABORTED. Its neighbours may instead see its epoch-1
    // links close before their own set_epoch: UNAVAILABLE. Both say "new membership, retry".
    if (r == 0) {
      EXPECT_EQ(res.status().code(), StatusCode::kAborted) << res.status().to_string();
    } else {
      EXPECT_TRUE(res.status().code() == StatusCode::kAborted ||
                  res.status().code() == StatusCode::kUnavailable)
          << res.status().to_string();
    }
    EXPECT_EQ(bufs[r], before[r]) << "rank " << r << " buffer changed";
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kBound);
  expect_retry_succeeds(ring, {0, 1, 2}, 100001, 2, codec());
}

TEST_P(WireFaults, PeerWhoseMeshDiesMidOperation) {
  Ring ring(4, two_stripes(), quick_deadlines());
  ring.form_all(1);
  std::vector<std::vector<float>> bufs, before;
  auto handles = start_all(ring, 4, 4 << 20, 3, codec(), bufs, before);
  const auto t0 = std::chrono::steady_clock::now();
  ring.peers[3].mesh->shutdown();  // like SIGKILL for the others: its sockets close
  for (size_t r = 0; r < 4; ++r) {
    Result<OpStats> res = handles[r].wait();
    EXPECT_TRUE(is_failure_code(res.status().code()) ||
                res.status().code() == StatusCode::kCancelled)
        << "rank " << r << ": "
                                                      << res.status().to_string();
    EXPECT_EQ(bufs[r], before[r]) << "rank " << r;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kBound);
  ring.form(2, {0, 1, 2});
  expect_retry_succeeds(ring, {0, 1, 2}, 12345, 4, codec());
}

TEST_P(WireFaults, AbortedVoteLeavesInPlaceBuffersUntouched) {
  Ring ring(3, two_stripes(), quick_deadlines());
  ring.form_all(1);
  ring.voter.set_members(1, 4);  // one vote short: the data phase ends, the commit never comes
  std::vector<std::vector<float>> bufs, before;
  auto handles = start_all(ring, 3, 50000, 5, codec(), bufs, before);
  ring.voter.abort(1);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(handles[r].wait().status().code(), StatusCode::kAborted);
    EXPECT_EQ(bufs[r], before[r]);
  }
}

INSTANTIATE_TEST_SUITE_P(Wires, WireFaults,
                         ::testing::Values("fp32", "fp16", "int8:block=128", "int4"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           std::string name = p.param;
                           return name.substr(0, name.find(':'));
                         });

}  // namespace
}  // namespace loco::collectives
