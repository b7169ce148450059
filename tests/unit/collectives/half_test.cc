// half_test.cc: binary16 and bfloat16 conversions against independent references: GCC's _Float16
// (libgcc soft-float), the F16C instructions when the CPU has them, and a nearest-value search in
// double for bfloat16. Exhaustive over every 16-bit pattern; f32 -> 16-bit over every upper bit
// pattern combined with the rounding-critical low bits (ties, just above and below, extremes).
#include "common/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "collectives/reduce_kernels.h"
#include "common/rng.h"

namespace loco::collectives {
namespace {

__extension__ typedef _Float16 RefHalf;

bool is_nan_bits16(uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }

TEST(Half, ToFloatMatchesFloat16EveryPattern) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t h = static_cast<uint16_t>(i);
    const float got = half_to_float(h);
    RefHalf ref_h = std::bit_cast<RefHalf>(h);
    const float ref = static_cast<float>(ref_h);
    if (is_nan_bits16(h)) {
      ASSERT_TRUE(std::isnan(got)) << i;
      ASSERT_EQ(std::signbit(got), (h & 0x8000u) != 0) << i;
      ASSERT_NE(std::bit_cast<uint32_t>(got) & 0x00400000u, 0u) << "NaN not quiet " << i;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(ref)) << i;
    }
  }
}

TEST(Half, RoundTripEveryPattern) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t h = static_cast<uint16_t>(i);
    const uint16_t back = float_to_half(half_to_float(h));
    if (is_nan_bits16(h)) {
      ASSERT_TRUE(is_nan_bits16(back)) << i;
      ASSERT_EQ(back, h | 0x0200u) << i;  // quietened, payload and sign kept
    } else {
      ASSERT_EQ(back, h) << i;
    }
  }
}

// Every upper-19-bit pattern of an f32 with low 13-bit patterns around the rounding point.
std::vector<uint32_t> critical_f32_patterns(int drop_bits) {
  const uint32_t half_ulp = 1u << (drop_bits - 1);
  const uint32_t mask = (1u << drop_bits) - 1;
  const uint32_t lows[] = {0, 1, half_ulp - 1, half_ulp, half_ulp + 1, mask, 0x5A5A5A5Au & mask};
  std::vector<uint32_t> out;
  for (uint64_t hi = 0; hi < (1ull << (32 - drop_bits)); ++hi) {
    for (uint32_t lo : lows) out.push_back(static_cast<uint32_t>(hi << drop_bits) | lo);
  }
  return out;
}

TEST(Half, FromFloatMatchesFloat16) {
  for (uint32_t u : critical_f32_patterns(13)) {
    const float f = std::bit_cast<float>(u);
    const uint16_t got = float_to_half(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(is_nan_bits16(got)) << std::hex << u;
      ASSERT_EQ(got, static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7E00u | ((u >> 13) & 0x3FFu)));
      continue;
    }
    const RefHalf ref = static_cast<RefHalf>(f);
    ASSERT_EQ(got, std::bit_cast<uint16_t>(ref)) << std::hex << u;
  }
}

TEST(Half, SoftwareMatchesF16cBitForBit) {
  use_portable_kernels_for_testing(false);
  if (!f16c_enabled()) GTEST_SKIP() << "no F16C on this CPU";
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> hw(all.size());
  half_to_float_n(all.data(), hw.data(), all.size());
  for (uint32_t i = 0; i < 65536; ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(hw[i]), std::bit_cast<uint32_t>(half_to_float(all[i])))
        << std::hex << i;
  }
  const std::vector<uint32_t> pats = critical_f32_patterns(13);
  std::vector<float> fs(pats.size());
  for (size_t i = 0; i < pats.size(); ++i) fs[i] = std::bit_cast<float>(pats[i]);
  std::vector<uint16_t> hs(fs.size());
  float_to_half_n(fs.data(), hs.data(), fs.size());
  for (size_t i = 0; i < fs.size(); ++i) {
    ASSERT_EQ(hs[i], float_to_half(fs[i])) << std::hex << pats[i];
  }
}

TEST(Bf16, ToFloatIsExact) {
  for (uint32_t i = 0; i < 65536; ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(bf16_to_float(static_cast<uint16_t>(i))), i << 16);
  }
}

// Nearest bfloat16 by direct comparison in double, ties to the even pattern.
uint16_t reference_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint16_t lo = static_cast<uint16_t>(u >> 16);  // truncation: same sign, smaller magnitude
  const uint16_t hi = static_cast<uint16_t>(lo + 1);
  const double x = std::fabs(static_cast<double>(f));
  const double dlo = std::fabs(static_cast<double>(bf16_to_float(lo)));
  // Past the largest finite value the next step is 2^128, as if the exponent were unbounded.
  const double dhi = (hi & 0x7FFFu) == 0x7F80u ? std::ldexp(1.0, 128)
                                               : std::fabs(static_cast<double>(bf16_to_float(hi)));
  const double below = x - dlo;
  const double above = dhi - x;
  if (below < above) return lo;
  if (above < below) return hi;
  return (lo & 1u) == 0 ? lo : hi;
}

TEST(Bf16, FromFloatRoundsToNearestEven) {
  for (uint32_t u : critical_f32_patterns(16)) {
    const float f = std::bit_cast<float>(u);
    const uint16_t got = float_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_EQ(got, static_cast<uint16_t>((u >> 16) | 0x40u)) << std::hex << u;
      continue;
    }
    ASSERT_EQ(got, reference_bf16(f)) << std::hex << u;
  }
}

TEST(Bf16, RoundTripEveryPattern) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t b = static_cast<uint16_t>(i);
    const uint16_t back = float_to_bf16(bf16_to_float(b));
    const bool nan = (b & 0x7F80u) == 0x7F80u && (b & 0x7Fu) != 0;
    ASSERT_EQ(back, nan ? static_cast<uint16_t>(b | 0x40u) : b) << i;
  }
}

}  // namespace
}  // namespace loco::collectives
