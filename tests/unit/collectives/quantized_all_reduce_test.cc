// quantized_all_reduce_test.cc: the quantized all-reduce over real TCP loopback (3 and 4 peers):
// every peer's result bit-identical to every other's and to the one-process emulation of the
// ring's encode/add/re-encode sequence, within the hop-derived error budget of the exact (f64)
// result, and sending the bytes the layout says (int8 about 1/3.8, int4 about 1/7 of f32). Also
// the slot arithmetic and its checks of untrusted piece headers, the codec choice, rejected calls,
// mismatched codecs between peers (INVALID_ARGUMENT) and corrupt pieces (DATA_LOSS), each with
// every buffer untouched.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "quantized_reference.h"
#include "ring_harness.h"

namespace loco::collectives {
namespace {

using testing::is_failure_code;
using testing::error_budget;
using testing::exact_result;
using testing::expected_bytes_sent;
using testing::layout_for;
using testing::PeerSlot;
using testing::quantized_ring_reference;
using testing::Ring;
using testing::wire_codec_or_die;

constexpr size_t kPieceBytes = 4096;  // 1024 f32 per piece: several pieces per segment
constexpr double kInputBound = 125.0;  // |x| of the inputs below

MeshOptions mesh_options() {
  MeshOptions m;
  m.stripes = 2;
  m.connect_timeout = std::chrono::seconds(5);
  return m;
}
CommunicatorOptions comm_options(size_t piece_bytes = kPieceBytes) {
  CommunicatorOptions c;
  c.piece_bytes = piece_bytes;
  c.deadline.base = std::chrono::milliseconds(3000);
  c.deadline.floor_bytes_per_sec = 1e8;
  return c;
}

// ---- the layout: pure arithmetic ----

TEST(QuantizedLayout, SlotsTileTheWireBufferAndOnlyExactPiecesAreAccepted) {
  auto codec = wire_codec_or_die("int8:block=64");
  ASSERT_NE(codec, nullptr);
  for (size_t world : {1, 2, 3, 4, 7}) {
    for (size_t count : {0, 1, 5, 64, 1000, 4097}) {
      for (size_t piece : {1, 63, 64, 256}) {
        const QuantizedLayout l(count, world, piece, *codec);
        size_t next = 0, elems = 0;
        for (size_t s = 0; s < world; ++s) {
          EXPECT_EQ(l.segment_wire(s).begin, next);
          const Segment seg = l.segment(s);
          for (size_t k = 0; k < l.num_pieces(s); ++k) {
            const PieceSlot slot = l.slot(s, k);
            EXPECT_EQ(slot.wire_offset, next);
            EXPECT_EQ(slot.elem_begin, seg.begin + k * piece);
            EXPECT_EQ(slot.wire_bytes, codec->encoded_size_bound(slot.elems));
            EXPECT_LE(slot.elems, piece);
            EXPECT_GT(slot.elems, 0u);
            auto found = l.find_slot(s, slot.wire_offset, slot.wire_bytes);
            ASSERT_TRUE(found.ok()) << found.status().to_string();
            EXPECT_EQ(found->index, k);
            // Off by one byte either way, or a length one off: DATA_LOSS.
            EXPECT_EQ(l.find_slot(s, slot.wire_offset + 1, slot.wire_bytes).status().code(),
                      StatusCode::kDataLoss);
            EXPECT_EQ(l.find_slot(s, slot.wire_offset, slot.wire_bytes - 1).status().code(),
                      StatusCode::kDataLoss);
            EXPECT_EQ(l.find_slot(s, slot.wire_offset, slot.wire_bytes + 1).status().code(),
                      StatusCode::kDataLoss);
            if (slot.wire_offset > 0) {
              EXPECT_EQ(l.find_slot(s, slot.wire_offset - 1, slot.wire_bytes).status().code(),
                        StatusCode::kDataLoss);
            }
            next += slot.wire_bytes;
            elems += slot.elems;
          }
          EXPECT_EQ(l.segment_wire(s).begin + l.segment_wire(s).count, next);
          // Past the segment, and a segment that does not exist.
          EXPECT_EQ(l.find_slot(s, next, 16).status().code(), StatusCode::kDataLoss);
        }
        EXPECT_EQ(l.find_slot(world, 0, 16).status().code(), StatusCode::kDataLoss);
        EXPECT_EQ(next, l.wire_bytes());
        EXPECT_EQ(elems, count);
      }
    }
  }
}

TEST(QuantizedLayout, PieceSizeFollowsTheByteBudgetInWholeBlocks) {
  EXPECT_EQ(quantized_piece_elems(4096, 128), 1024u);
  EXPECT_EQ(quantized_piece_elems(4096, 96), 960u);
  EXPECT_EQ(quantized_piece_elems(4096, 0), 1024u);
  EXPECT_EQ(quantized_piece_elems(8, 128), 2u);  // less than a block: as is
  EXPECT_EQ(quantized_piece_elems(0, 128), 1u);
  EXPECT_EQ(codec_block_size(*wire_codec_or_die("int8:block=96")), 96u);
  EXPECT_EQ(codec_block_size(*wire_codec_or_die("int4")), 128u);
  EXPECT_EQ(codec_block_size(*wire_codec_or_die("bf16")), 0u);
}

TEST(QuantizedLayout, OnlyDenseCodecsAreWireCodecs) {
  for (const char* raw : {"", "fp32"}) {
    auto c = parse_wire_codec(raw);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(*c, nullptr) << raw;
  }
  for (const char* ok : {"fp16", "bf16", "int8", "int8:block=128", "int4", "int4:block=32"}) {
    auto c = parse_wire_codec(ok);
    ASSERT_TRUE(c.ok()) << ok << ": " << c.status().to_string();
    EXPECT_NE(*c, nullptr);
  }
  for (const char* sparse : {"topk", "topk:fraction=0.1", "randomk", "sign"}) {
    auto c = parse_wire_codec(sparse);
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << sparse;
    EXPECT_NE(c.status().message().find("all-gather"), std::string::npos) << c.status().to_string();
  }
  for (const char* bad : {"int9", "int8:block=7", "int8:", "fp16:block=8"}) {
    EXPECT_EQ(parse_wire_codec(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// ---- the ring ----

struct QCase {
  std::string codec;
  ReduceOp op;
  size_t count;
};

class QuantizedRing : public ::testing::TestWithParam<size_t> {};

TEST_P(QuantizedRing, BitIdenticalOnEveryPeerAndWithinTheHopBudget) {
  const size_t world = GetParam();
  Ring ring(world, mesh_options(), comm_options());
  ring.form_all(1);
  std::vector<QCase> cases;
  for (const char* codec : {"int8:block=128", "int4", "fp16", "bf16"}) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg}) {
      for (size_t count : {size_t{1}, world - 1, world + 1, size_t{1237}, size_t{100003}}) {
        cases.push_back({codec, op, count});
      }
    }
  }
  // results[rank][case], stats[rank][case]
  std::vector<std::vector<std::vector<float>>> results(world);
  std::vector<std::vector<uint64_t>> sent(world);
  ring.each([&](size_t rank, PeerSlot& p) {
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      const QCase& c = cases[ci];
      std::vector<float> in = testing::f32_input(c.count, rank, ci);
      std::vector<float> out(c.count, -1.0f);
      const bool in_place = ci % 2 == 0;
      Result<OpStats> r =
          in_place ? p.comm->all_reduce_quantized(in.data(), c.count, c.op, c.codec)
                   : p.comm->all_reduce_quantized(in.data(), out.data(), c.count, c.op, c.codec);
      ASSERT_TRUE(r.ok()) << r.status().to_string() << " case " << ci;
      EXPECT_EQ(r->world_size, world);
      if (!in_place) {
        EXPECT_EQ(in, testing::f32_input(c.count, rank, ci)) << "input written, case " << ci;
      }
      results[rank].push_back(in_place ? in : out);
      sent[rank].push_back(r->bytes_sent);
    }
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const QCase& c = cases[ci];
    SCOPED_TRACE(c.codec + " " + std::string(reduce_op_name(c.op)) + " count " +
                 std::to_string(c.count));
    auto codec = wire_codec_or_die(c.codec);
    const QuantizedLayout layout = layout_for(c.count, world, kPieceBytes, *codec);
    std::vector<std::vector<float>> inputs;
    for (size_t r = 0; r < world; ++r) inputs.push_back(testing::f32_input(c.count, r, ci));
    const std::vector<float> expect = quantized_ring_reference(*codec, layout, c.op, inputs);
    const std::vector<double> exact = exact_result(c.op, inputs);
    const double budget = error_budget(*codec, c.op, world, kInputBound);
    for (size_t r = 0; r < world; ++r) {
      ASSERT_EQ(results[r][ci].size(), c.count);
      // Bit parity with rank 0 and with the emulated ring.
      EXPECT_EQ(0, std::memcmp(results[r][ci].data(), results[0][ci].data(), c.count * 4))
          << "rank " << r;
      EXPECT_EQ(0, std::memcmp(results[r][ci].data(), expect.data(), c.count * 4)) << "rank " << r;
      EXPECT_EQ(sent[r][ci], expected_bytes_sent(layout, r)) << "rank " << r;
    }
    double worst = 0.0;
    for (size_t i = 0; i < c.count; ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(results[0][ci][i]) - exact[i]));
    }
    EXPECT_LE(worst, budget);
    // Not the f32 ring in disguise: large cases do lose precision (fp16 at |x| ~ 100 too).
    if (c.count > 1000) {
      EXPECT_GT(worst, 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(World, QuantizedRing, ::testing::Values<size_t>(3, 4),
                         [](const auto& p) { return "P" + std::to_string(p.param); });

TEST(QuantizedRing, Int8SendsAFractionOfTheF32Bytes) {
  const size_t world = 4;
  const size_t count = 1 << 20;
  Ring ring(world, mesh_options(), CommunicatorOptions{});  // default 2 MiB pieces
  ring.form_all(1);
  std::vector<uint64_t> raw(world), q8(world), q4(world);
  std::vector<std::vector<float>> r8(world);
  ring.each([&](size_t rank, PeerSlot& p) {
    std::vector<float> a = testing::f32_input(count, rank, 1);
    auto s = p.comm->all_reduce(a.data(), count, DataType::kF32, ReduceOp::kAvg);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    raw[rank] = s->bytes_sent;
    std::vector<float> b = testing::f32_input(count, rank, 1);
    s = p.comm->all_reduce_quantized(b.data(), count, ReduceOp::kAvg, "int8:block=128");
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    q8[rank] = s->bytes_sent;
    r8[rank] = std::move(b);
    std::vector<float> c = testing::f32_input(count, rank, 1);
    s = p.comm->all_reduce_quantized(c.data(), count, ReduceOp::kAvg, "int4:block=128");
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    q4[rank] = s->bytes_sent;
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (size_t r = 0; r < world; ++r) {
    const double ratio8 = static_cast<double>(raw[r]) / static_cast<double>(q8[r]);
    const double ratio4 = static_cast<double>(raw[r]) / static_cast<double>(q4[r]);
    // 4 bytes against 1 + 8/128 (int8) and 0.5 + 8/128 (int4) per element: 3.76x and 7.11x.
    EXPECT_GT(ratio8, 3.7) << "rank " << r << ": " << raw[r] << " vs " << q8[r];
    EXPECT_LT(ratio8, 3.8);
    EXPECT_GT(ratio4, 7.0) << "rank " << r << ": " << raw[r] << " vs " << q4[r];
    EXPECT_LT(ratio4, 7.2);
    EXPECT_EQ(0, std::memcmp(r8[r].data(), r8[0].data(), count * 4));
  }
}

TEST(QuantizedRing, WorldOfOneStillQuantizesOnce) {
  Ring ring(1, mesh_options(), comm_options());
  ring.form_all(1);
  auto codec = wire_codec_or_die("int4");
  const size_t count = 5000;
  std::vector<float> buf = testing::f32_input(count, 0, 3);
  std::vector<float> expect = buf;
  const QuantizedLayout layout = layout_for(count, 1, kPieceBytes, *codec);
  for (size_t k = 0; k < layout.num_pieces(0); ++k) {
    const PieceSlot s = layout.slot(0, k);
    testing::round_trip(*codec, expect.data() + s.elem_begin, s.elems);
  }
  auto r = ring.peers[0].comm->all_reduce_quantized(buf.data(), count, ReduceOp::kAvg, "int4");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(buf, expect);
  EXPECT_NE(buf, testing::f32_input(count, 0, 3));
  EXPECT_EQ(r->bytes_sent, 0u);
}

TEST(QuantizedRing, InvalidCallsAreRejectedWithoutTouchingBuffers) {
  Ring ring(2, mesh_options(), comm_options());
  ring.form_all(1);
  Communicator& c = *ring.peers[0].comm;
  std::vector<float> buf(64, 1.5f);
  std::vector<double> dbuf(64, 1.5);
  auto code = [](const Result<OpStats>& r) { return r.status().code(); };
  EXPECT_EQ(code(c.all_reduce_quantized(buf.data(), 64, ReduceOp::kMax, "int8")),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(c.all_reduce_quantized(buf.data(), 64, ReduceOp::kSum, "bogus")),
            StatusCode::kInvalidArgument);
  auto topk = c.all_reduce_quantized(buf.data(), 64, ReduceOp::kSum, "topk:fraction=0.1");
  EXPECT_EQ(code(topk), StatusCode::kInvalidArgument);
  EXPECT_NE(topk.status().message().find("all-gather"), std::string::npos);
  OpRequest f64{.kind = OpKind::kAllReduce, .in = dbuf.data(), .out = dbuf.data(), .count = 64,
                .dtype = DataType::kF64, .wire_codec = "int8"};
  EXPECT_EQ(code(c.run(f64)), StatusCode::kInvalidArgument);
  OpRequest rs{.kind = OpKind::kReduceScatter, .in = buf.data(), .out = buf.data(), .count = 64,
               .wire_codec = "int8"};
  EXPECT_EQ(code(c.run(rs)), StatusCode::kInvalidArgument);
  // A parsed codec that is not dense is refused as well.
  auto sign = codecs::make_codec("sign");
  ASSERT_TRUE(sign.ok());
  OpRequest with_sign{.kind = OpKind::kAllReduce, .in = buf.data(), .out = buf.data(), .count = 64,
                      .codec = std::shared_ptr<const codecs::Codec>(std::move(*sign))};
  EXPECT_EQ(code(c.run(with_sign)), StatusCode::kInvalidArgument);
  for (float v : buf) EXPECT_EQ(v, 1.5f);
  for (double v : dbuf) EXPECT_EQ(v, 1.5);
  // None of these took a sequence number: a matching pair still runs as the first op (seq 0).
  std::vector<std::vector<float>> out(2);
  ring.each([&](size_t rank, PeerSlot& p) {
    std::vector<float> b(64, static_cast<float>(rank + 1));
    auto r = p.comm->all_reduce_quantized(b.data(), 64, ReduceOp::kSum, "int8");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->op.seq, 0u);
    out[rank] = b;
  });
  ASSERT_EQ(out[0], out[1]);
  for (float v : out[0]) EXPECT_NEAR(v, 3.0f, 1e-6f);
}

// Every peer of `which` runs an in-place quantized all-reduce with its own codec; returns the
// statuses, and checks every buffer is untouched when the call failed.
std::vector<Status> run_with_codecs(Ring& ring, const std::vector<std::string>& codecs,
                                    size_t count, uint64_t salt) {
  std::vector<Status> st(codecs.size());
  ring.each([&](size_t rank, PeerSlot& p) {
    std::vector<float> buf = testing::f32_input(count, rank, salt);
    st[rank] = p.comm->all_reduce_quantized(buf.data(), count, ReduceOp::kAvg, codecs[rank]).status();
    if (!st[rank].ok()) {
      EXPECT_EQ(buf, testing::f32_input(count, rank, salt)) << "rank " << rank << " changed";
    }
  });
  return st;
}

TEST(QuantizedRing, PeersWithAnotherCodecFailTheOpWithInvalidArgument) {
  Ring ring(3, mesh_options(), comm_options());
  const std::vector<std::vector<std::string>> mixes = {
      {"int8", "int8", "int4"}, {"int8", "", "int8"}, {"int8:block=128", "int8:block=256", "int8:block=128"}};
  uint64_t epoch = 1;
  for (const auto& mix : mixes) {
    ring.form_all(epoch++);
    std::vector<Status> st = run_with_codecs(ring, mix, 20000, epoch);
    bool some_invalid = false;
    for (size_t r = 0; r < 3; ++r) {
      EXPECT_TRUE(st[r].code() == StatusCode::kInvalidArgument || is_failure_code(st[r].code()))
          << "rank " << r << ": " << st[r].to_string();
      some_invalid |= st[r].code() == StatusCode::kInvalidArgument;
    }
    EXPECT_TRUE(some_invalid) << mix[0] << "/" << mix[1] << "/" << mix[2];
  }
  // In a fresh epoch the same peers agree and succeed.
  ring.form_all(epoch);
  for (const Status& s : run_with_codecs(ring, {"int4", "int4", "int4"}, 20000, 99)) {
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
}

// Corrupts, on rank `victim`, the first piece arriving at `step`: its codec's first block scale
// becomes NaN (int8 layout: 16-byte header, then f32 lo and scale per block) or its codec id byte
// becomes unknown. The transport's checksum passed; only the decoder can tell.
void corrupt_piece_test(size_t victim, size_t step, bool scale) {
  auto fired = std::make_shared<std::atomic<bool>>(false);
  CommunicatorOptions c = comm_options();
  c.test_on_piece = [=](const PieceEvent& e) {
    if (e.rank != victim || e.step != step || fired->exchange(true)) return;
    if (scale) {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(e.bytes.data() + 20, &nan, 4);
    } else {
      e.bytes[0] = std::byte{0xEE};
    }
  };
  Ring ring(3, mesh_options(), c);
  ring.form_all(1);
  std::vector<Status> st = run_with_codecs(ring, {"int8", "int8", "int8"}, 30000, 5);
  EXPECT_TRUE(fired->load());
  for (size_t r = 0; r < 3; ++r) {
    if (r == victim) {
      EXPECT_EQ(st[r].code(), StatusCode::kDataLoss) << st[r].to_string();
    } else {
      EXPECT_TRUE(is_failure_code(st[r].code()) || st[r].code() == StatusCode::kDataLoss)
          << "rank " << r << ": " << st[r].to_string();
    }
  }
  // The process and the peers are fine: a new epoch works (the hook has fired already).
  ring.form_all(2);
  for (const Status& s : run_with_codecs(ring, {"int8", "int8", "int8"}, 30000, 6)) {
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
}

TEST(QuantizedRing, CorruptScaleInTheReduceScatterIsDataLoss) { corrupt_piece_test(1, 0, true); }
TEST(QuantizedRing, CorruptCodecIdInTheAllGatherIsDataLoss) { corrupt_piece_test(2, 2, false); }

TEST(QuantizedRing, NonFiniteInputIsInvalidArgumentForItsPeer) {
  Ring ring(3, mesh_options(), comm_options());
  ring.form_all(1);
  const size_t count = 9000;
  std::vector<Status> st(3);
  ring.each([&](size_t rank, PeerSlot& p) {
    std::vector<float> buf = testing::f32_input(count, rank, 8);
    if (rank == 1) buf[4321] = std::numeric_limits<float>::infinity();
    const std::vector<float> before = buf;
    st[rank] = p.comm->all_reduce_quantized(buf.data(), count, ReduceOp::kSum, "int8").status();
    EXPECT_EQ(buf, before) << "rank " << rank;
  });
  EXPECT_EQ(st[1].code(), StatusCode::kInvalidArgument) << st[1].to_string();
  for (size_t r : {0, 2}) EXPECT_FALSE(st[r].ok());
}

}  // namespace
}  // namespace loco::collectives
