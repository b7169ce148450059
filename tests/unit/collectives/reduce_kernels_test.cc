// reduce_kernels_test.cc: reduce_into / divide_into for every data type and operator against a
// scalar reference written independently (plain per-type arithmetic), for many lengths (tails of
// the vector loops), with NaN, signed zero, infinities and integer wrap-around; 16-bit floats on
// both the F16C and the portable path.
#include "collectives/reduce_kernels.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/half.h"
#include "common/rng.h"

namespace loco::collectives {
namespace {

__extension__ typedef _Float16 RefHalf;

// Reference semantics, one element at a time, in the most obvious way.
template <typename T>
T ref_combine(ReduceOp op, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (op == ReduceOp::kSum || op == ReduceOp::kAvg) return a + b;
    if (std::isnan(a) || std::isnan(b)) return std::isnan(b) ? b : a;
    if (op == ReduceOp::kMin) return b < a ? b : a;
    return b > a ? b : a;
  } else {
    using U = std::make_unsigned_t<T>;
    if (op == ReduceOp::kSum || op == ReduceOp::kAvg) {
      return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    }
    if (op == ReduceOp::kMin) return a < b ? a : b;
    return a > b ? a : b;
  }
}

uint16_t ref_half(ReduceOp op, uint16_t a, uint16_t b) {
  const float fa = static_cast<float>(std::bit_cast<RefHalf>(a));
  const float fb = static_cast<float>(std::bit_cast<RefHalf>(b));
  const float r = ref_combine<float>(op, fa, fb);
  if (std::isnan(r)) return float_to_half(r);  // NaN bits: the documented F16C-compatible rule
  return std::bit_cast<uint16_t>(static_cast<RefHalf>(r));
}

uint16_t ref_bf16(ReduceOp op, uint16_t a, uint16_t b) {
  return float_to_bf16(ref_combine<float>(op, bf16_to_float(a), bf16_to_float(b)));
}

template <typename T>
std::vector<T> random_values(SplitMix64& rng, size_t n) {
  std::vector<T> v(n);
  for (auto& x : v) {
    if constexpr (std::is_floating_point_v<T>) {
      const uint64_t r = rng.next();
      x = static_cast<T>(static_cast<double>(static_cast<int64_t>(r % 2000001) - 1000000) / 1000.0);
      if (r % 97 == 0) x = std::numeric_limits<T>::quiet_NaN();
      if (r % 89 == 0) x = -std::numeric_limits<T>::infinity();
      if (r % 83 == 0) x = static_cast<T>(-0.0);
    } else {
      x = static_cast<T>(rng.next());
    }
  }
  return v;
}

std::vector<uint16_t> random_halves(SplitMix64& rng, size_t n) {
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = static_cast<uint16_t>(rng.next());  // every pattern: NaN, Inf, subnormal
  return v;
}

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <typename T>
void check_typed(DataType t) {
  SplitMix64 rng(42 + static_cast<uint64_t>(t));
  for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{15}, size_t{16},
                   size_t{33}, size_t{64}, size_t{127}, size_t{1000}, size_t{4099}}) {
    for (int o = 0; o < kNumReduceOps; ++o) {
      const ReduceOp op = static_cast<ReduceOp>(o);
      auto acc = random_values<T>(rng, n);
      const auto in = random_values<T>(rng, n);
      auto expect = acc;
      for (size_t i = 0; i < n; ++i) expect[i] = ref_combine<T>(op, acc[i], in[i]);
      reduce_into(t, op, acc.data(), in.data(), n);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(same_bits(acc[i], expect[i]))
            << dtype_name(t) << " " << reduce_op_name(op) << " n=" << n << " i=" << i;
      }
    }
  }
}

void check_all_typed();

TEST(ReduceKernels, EveryTypeAndOpMatchesReference) {
  for (bool portable : {false, true}) {
    SCOPED_TRACE(portable ? "portable loops" : "native (AVX2) loops");
    use_portable_kernels_for_testing(portable);
    check_all_typed();
  }
  use_portable_kernels_for_testing(false);
}

void check_all_typed() {
  check_typed<float>(DataType::kF32);
  check_typed<double>(DataType::kF64);
  check_typed<int8_t>(DataType::kI8);
  check_typed<uint8_t>(DataType::kU8);
  check_typed<int32_t>(DataType::kI32);
  check_typed<uint32_t>(DataType::kU32);
  check_typed<int64_t>(DataType::kI64);
  check_typed<uint64_t>(DataType::kU64);
}

class HalfKernels : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { use_portable_kernels_for_testing(GetParam()); }
  void TearDown() override { use_portable_kernels_for_testing(false); }
};

TEST_P(HalfKernels, F16AndBf16MatchReference) {
  SplitMix64 rng(7);
  for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{31}, size_t{4096 + 5}}) {
    for (int o = 0; o < kNumReduceOps; ++o) {
      const ReduceOp op = static_cast<ReduceOp>(o);
      for (DataType t : {DataType::kF16, DataType::kBF16}) {
        auto acc = random_halves(rng, n);
        const auto in = random_halves(rng, n);
        std::vector<uint16_t> expect(n);
        for (size_t i = 0; i < n; ++i) {
          expect[i] =
              t == DataType::kF16 ? ref_half(op, acc[i], in[i]) : ref_bf16(op, acc[i], in[i]);
        }
        reduce_into(t, op, acc.data(), in.data(), n);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(acc[i], expect[i]) << dtype_name(t) << " " << reduce_op_name(op) << " i=" << i
                                       << " portable=" << GetParam();
        }
      }
    }
  }
}

TEST_P(HalfKernels, F16SumOfEveryPairRoundsCorrectly) {
  // Every a against a spread of b: f32 has enough precision that one rounding is exact.
  std::vector<uint16_t> a(65536), b(65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    a[i] = static_cast<uint16_t>(i);
    b[i] = static_cast<uint16_t>(i * 40503u + 12345u);
  }
  auto acc = a;
  reduce_into(DataType::kF16, ReduceOp::kSum, acc.data(), b.data(), acc.size());
  for (uint32_t i = 0; i < 65536; ++i) {
    const RefHalf r = std::bit_cast<RefHalf>(a[i]) + std::bit_cast<RefHalf>(b[i]);
    if (std::isnan(static_cast<float>(r))) {
      ASSERT_TRUE(std::isnan(half_to_float(acc[i]))) << i;
    } else {
      ASSERT_EQ(acc[i], std::bit_cast<uint16_t>(r)) << i;
    }
  }
}

TEST_P(HalfKernels, DivideRoundsOnce) {
  SplitMix64 rng(3);
  const auto orig = random_halves(rng, 1003);
  auto h = orig;
  auto b = orig;
  divide_into(DataType::kF16, h.data(), h.size(), 3);
  divide_into(DataType::kBF16, b.data(), b.size(), 3);
  for (size_t i = 0; i < h.size(); ++i) {
    const float q = half_to_float(orig[i]) / 3.0f;
    ASSERT_EQ(h[i], float_to_half(q)) << i;
    ASSERT_EQ(b[i], float_to_bf16(bf16_to_float(orig[i]) / 3.0f)) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, HalfKernels, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "portable" : "native"; });

TEST(ReduceKernels, NanWinsMinAndMax) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float acc[4] = {nan, 1.0f, nan, 2.0f};
  const float in[4] = {1.0f, nan, nan, 3.0f};
  reduce_into(DataType::kF32, ReduceOp::kMin, acc, in, 4);
  EXPECT_TRUE(std::isnan(acc[0]));
  EXPECT_TRUE(std::isnan(acc[1]));
  EXPECT_TRUE(std::isnan(acc[2]));
  EXPECT_EQ(acc[3], 2.0f);
  float acc2[2] = {nan, 5.0f};
  const float in2[2] = {-1.0f, nan};
  reduce_into(DataType::kF32, ReduceOp::kMax, acc2, in2, 2);
  EXPECT_TRUE(std::isnan(acc2[0]));
  EXPECT_TRUE(std::isnan(acc2[1]));
}

TEST(ReduceKernels, IntegerSumWrapsAndAverageTruncates) {
  int8_t a[3] = {127, -128, -7};
  const int8_t b[3] = {1, -1, 0};
  reduce_into(DataType::kI8, ReduceOp::kSum, a, b, 3);
  EXPECT_EQ(a[0], -128);
  EXPECT_EQ(a[1], 127);
  divide_into(DataType::kI8, a, 3, 2);
  EXPECT_EQ(a[0], -64);
  EXPECT_EQ(a[1], 63);
  EXPECT_EQ(a[2], -3);  // toward zero
  uint64_t u[2] = {~0ull, 10};
  divide_into(DataType::kU64, u, 2, 4);
  EXPECT_EQ(u[0], (~0ull) / 4);
  EXPECT_EQ(u[1], 2u);
}

TEST(ReduceKernels, AverageOfFloatsDividesOnce) {
  std::vector<double> v = {1.0, 2.0, 3.0, -9.0};
  divide_into(DataType::kF64, v.data(), v.size(), 3);
  EXPECT_EQ(v[0], 1.0 / 3.0);
  EXPECT_EQ(v[3], -3.0);
  std::vector<float> f = {7.0f};
  divide_into(DataType::kF32, f.data(), 1, 1);
  EXPECT_EQ(f[0], 7.0f);
}

TEST(Types, NamesRoundTrip) {
  for (int i = 0; i < kNumDataTypes; ++i) {
    const auto t = static_cast<DataType>(i);
    EXPECT_EQ(parse_dtype(dtype_name(t)), t);
    EXPECT_GT(dtype_size(t), 0u);
  }
  for (int i = 0; i < kNumReduceOps; ++i) {
    const auto op = static_cast<ReduceOp>(i);
    EXPECT_EQ(parse_reduce_op(reduce_op_name(op)), op);
  }
  EXPECT_FALSE(parse_dtype("f8").has_value());
}

}  // namespace
}  // namespace loco::collectives
