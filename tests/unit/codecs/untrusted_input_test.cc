// untrusted_input_test.cc: every decoder against malformed buffers. Each targeted corruption gets
// its specific error (DATA_LOSS for bad bytes; INVALID_ARGUMENT for a count that does not match the
// output); truncations, extensions and thousands of random byte mutations of valid buffers never
// crash and never report success with non-finite output from a codec that cannot produce it.
// The fuzz targets (tests/fuzz/fuzz_codec.cc) explore further.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "codecs/random_k.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::encode_all;
using testing::must_make;

const char* kSpecs[] = {"fp32", "fp16", "bf16", "int8:block=16", "int4:block=16",
                        "sign:block=16", "topk:fraction=0.2", "randomk:fraction=0.2,seed=3"};

bool finite_output_only(CodecId id) {
  return id != CodecId::kIdentity && id != CodecId::kFp16 && id != CodecId::kBf16;
}

Status decode(const Codec& c, ByteSpan b, size_t n) {
  std::vector<float> y(n);
  Status st = c.decode(b, y);
  if (st.ok() && finite_output_only(c.id())) {
    for (float v : y) {
      if (!std::isfinite(v)) return Internal("decoded a non-finite value");
    }
  }
  return st;
}

void put_f32(Bytes& b, size_t at, float v) { std::memcpy(b.data() + at, &v, 4); }
void put_u32(Bytes& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }

TEST(UntrustedInput, TruncatedExtendedAndMutatedBuffers) {
  const size_t n = 77;
  std::vector<float> x = testing::make_input(testing::Shape::kGaussian, n, 1);
  for (const char* spec : kSpecs) {
    std::unique_ptr<Codec> c = must_make(spec);
    const Bytes good = encode_all(*c, x);
    ASSERT_TRUE(decode(*c, good, n).ok()) << spec;
    for (size_t len = 0; len < good.size(); ++len) {
      Status st = decode(*c, ByteSpan(good).first(len), n);
      ASSERT_FALSE(st.ok()) << spec << " truncated to " << len;
      ASSERT_EQ(st.code(), StatusCode::kDataLoss) << spec << " " << len << ": " << st.to_string();
    }
    Bytes longer = good;
    longer.push_back(std::byte{0});
    EXPECT_EQ(decode(*c, longer, n).code(), StatusCode::kDataLoss) << spec;
    SplitMix64 rng(7);
    for (int trial = 0; trial < 3000; ++trial) {
      Bytes m = good;
      const int flips = 1 + static_cast<int>(rng.next() % 4);
      for (int f = 0; f < flips; ++f) {
        m[rng.next() % m.size()] ^= static_cast<std::byte>(1u << (rng.next() % 8));
      }
      Status st = decode(*c, m, n);
      ASSERT_NE(st.code(), StatusCode::kInternal) << spec << ": " << st.to_string();
    }
  }
}

TEST(UntrustedInput, HugeCountWithSmallOutputIsRefusedBeforeAnyWork) {
  for (const char* spec : kSpecs) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes b = encode_all(*c, std::vector<float>(4, 1.0f));
    const uint64_t huge = kMaxCount;
    std::memcpy(b.data() + 8, &huge, 8);
    EXPECT_EQ(decode(*c, b, 4).code(), StatusCode::kInvalidArgument) << spec;
  }
}

TEST(UntrustedInput, BlockCodecsRejectBadBlockSizes) {
  for (const char* spec : {"int8:block=16", "int4:block=16", "sign:block=16"}) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes good = encode_all(*c, testing::make_input(testing::Shape::kUniform, 40, 2));
    for (uint32_t bs : {0u, 1u, 7u, 12u, 17u, kMaxBlockSize + 8, 0xFFFFFFFFu}) {
      Bytes b = good;
      put_u32(b, 4, bs);
      EXPECT_EQ(decode(*c, b, 40).code(), StatusCode::kDataLoss) << spec << " block " << bs;
    }
    // A valid block size other than the one the buffer was made with changes the layout size.
    Bytes b = good;
    put_u32(b, 4, 8);
    EXPECT_EQ(decode(*c, b, 40).code(), StatusCode::kDataLoss) << spec;
  }
  for (const char* spec : {"fp16", "topk:fraction=0.5", "randomk:fraction=0.5"}) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes b = encode_all(*c, testing::make_input(testing::Shape::kUniform, 40, 2));
    put_u32(b, 4, 16);
    EXPECT_EQ(decode(*c, b, 40).code(), StatusCode::kDataLoss) << spec;
  }
}

TEST(UntrustedInput, QuantizersRejectBadScalesAndOffsets) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const char* spec : {"int8:block=16", "int4:block=16"}) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes good = encode_all(*c, testing::make_input(testing::Shape::kUniform, 40, 3));
    const size_t block2 = kHeaderSize + 16;  // lo, scale of block 2
    struct Bad {
      float lo, scale;
    } bads[] = {{nan, 1}, {inf, 1}, {-inf, 0}, {0, nan}, {0, inf}, {0, -1}, {0, -0.5f},
                {3e38f, 1e37f}, {-FLT_MAX, FLT_MAX}};
    for (const Bad& bad : bads) {
      Bytes b = good;
      put_f32(b, block2, bad.lo);
      put_f32(b, block2 + 4, bad.scale);
      EXPECT_EQ(decode(*c, b, 40).code(), StatusCode::kDataLoss)
          << spec << " lo " << bad.lo << " scale " << bad.scale;
    }
  }
  std::unique_ptr<Codec> s = must_make("sign:block=16");
  Bytes good = encode_all(*s, testing::make_input(testing::Shape::kUniform, 40, 3));
  for (float bad : {nan, inf, -1.0f, -inf}) {
    Bytes b = good;
    put_f32(b, kHeaderSize + 4, bad);
    EXPECT_EQ(decode(*s, b, 40).code(), StatusCode::kDataLoss) << "sign scale " << bad;
  }
}

TEST(UntrustedInput, PackedCodecsRejectPaddingBits) {
  std::unique_ptr<Codec> i4 = must_make("int4:block=8");
  Bytes b = encode_all(*i4, testing::make_input(testing::Shape::kUniform, 9, 4));
  b.back() |= std::byte{0x10};
  EXPECT_EQ(decode(*i4, b, 9).code(), StatusCode::kDataLoss);
  std::unique_ptr<Codec> sg = must_make("sign:block=8");
  b = encode_all(*sg, testing::make_input(testing::Shape::kUniform, 9, 4));
  b.back() |= std::byte{0x80};
  EXPECT_EQ(decode(*sg, b, 9).code(), StatusCode::kDataLoss);
}

TEST(UntrustedInput, TopKRejectsBadIndicesValuesAndK) {
  std::unique_ptr<Codec> c = must_make("topk:fraction=0.1");
  const size_t n = 50;  // k = 5
  Bytes good = encode_all(*c, testing::make_input(testing::Shape::kGaussian, n, 5));
  const size_t k_at = kHeaderSize, idx_at = kHeaderSize + 4, val_at = idx_at + 4 * 5;
  uint32_t idx[5];
  std::memcpy(idx, good.data() + idx_at, sizeof idx);
  auto with_index = [&](int j, uint32_t v) {
    Bytes b = good;
    put_u32(b, idx_at + 4 * static_cast<size_t>(j), v);
    return decode(*c, b, n).code();
  };
  EXPECT_EQ(with_index(4, n), StatusCode::kDataLoss);           // out of range
  EXPECT_EQ(with_index(4, 0xFFFFFFFFu), StatusCode::kDataLoss);  // far out of range
  EXPECT_EQ(with_index(1, idx[0]), StatusCode::kDataLoss);       // duplicate
  EXPECT_EQ(with_index(0, idx[1] + 1 < n ? idx[1] + 1 : idx[1]), StatusCode::kDataLoss);  // unsorted
  Bytes b = good;
  put_f32(b, val_at + 8, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  b = good;
  put_f32(b, val_at, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  b = good;
  put_u32(b, k_at, 51);  // k > n
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  b = good;
  put_u32(b, k_at, 0xFFFFFFFFu);
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  b = good;
  put_u32(b, k_at, 4);  // k smaller than the payload
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  // k = 0 with no payload is a valid all-zero buffer.
  Bytes zero(good.begin(), good.begin() + kHeaderSize + 4);
  put_u32(zero, k_at, 0);
  std::vector<float> y(n, 1.0f);
  ASSERT_TRUE(c->decode(zero, y).ok());
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(UntrustedInput, RandomKRejectsBadKAndValues) {
  std::unique_ptr<Codec> c = must_make("randomk:fraction=0.1,seed=8");
  const size_t n = 50;
  Bytes good = encode_all(*c, testing::make_input(testing::Shape::kGaussian, n, 6));
  const size_t k_at = kHeaderSize + 8, val_at = kHeaderSize + 12;
  Bytes b = good;
  put_u32(b, k_at, 51);
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  b = good;
  put_u32(b, k_at, 0xFFFFFFFFu);
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  b = good;
  put_f32(b, val_at + 4, std::numeric_limits<float>::infinity());
  EXPECT_EQ(decode(*c, b, n).code(), StatusCode::kDataLoss);
  // Any seed is valid: it only changes which coordinates the values land on.
  b = good;
  b[kHeaderSize] ^= std::byte{0xFF};
  EXPECT_TRUE(decode(*c, b, n).ok());
}

}  // namespace
}  // namespace loco::codecs
