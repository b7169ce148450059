// half.h: scalar conversions between f32 and the 16-bit float formats (IEEE binary16 and
// bfloat16), written as branch-light bit manipulation so that loops over them vectorize.
//
// Rounding is to nearest, ties to even, with overflow to infinity, as IEEE 754 requires. NaN stays
// NaN with its sign, and is made quiet; for binary16 the result equals what the F16C instructions
// (VCVTPH2PS / VCVTPS2PH) produce for every input, NaN payloads included, so that machines with and
// without F16C compute identical bytes. bfloat16 has no hardware path here on purpose (AVX512-BF16
// flushes subnormals, which would break bit parity between machines).
// Not a numeric type: no arithmetic operators. Shared by collectives (reduce kernels) and codecs.
#pragma once

#include <bit>
#include <cstdint>

namespace loco {

// binary16 -> f32: exact for every finite value; NaN payloads kept, quiet bit set.
inline float half_to_float(uint16_t h) {
  const uint32_t shifted_exp = 0x7C00u << 13;
  uint32_t o = (static_cast<uint32_t>(h) & 0x7FFFu) << 13;
  const uint32_t exp = shifted_exp & o;
  o += (127u - 15u) << 23;
  if (exp == shifted_exp) {
    o += (128u - 16u) << 23;                       // Inf / NaN: exponent all ones
    if ((o & 0x007FFFFFu) != 0) o |= 0x00400000u;  // NaN: make it quiet
  } else if (exp == 0) {
    o += 1u << 23;  // zero / subnormal: renormalize through a float subtraction (exact)
    o = std::bit_cast<uint32_t>(std::bit_cast<float>(o) - std::bit_cast<float>(113u << 23));
  }
  o |= (static_cast<uint32_t>(h) & 0x8000u) << 16;
  return std::bit_cast<float>(o);
}

// f32 -> binary16, round to nearest even (needs the default FP rounding mode and no FTZ/DAZ).
inline uint16_t float_to_half(float value) {
  uint32_t f = std::bit_cast<uint32_t>(value);
  const uint32_t sign = f & 0x80000000u;
  f ^= sign;
  uint32_t o;
  if (f >= (127u + 16u) << 23) {  // too large for binary16, Inf, or NaN
    o = f > 0x7F800000u ? (0x7E00u | ((f >> 13) & 0x3FFu)) : 0x7C00u;
  } else if (f < (113u << 23)) {  // result is subnormal or zero: let float addition round it
    const float magic = std::bit_cast<float>(((127u - 15u) + (23u - 10u) + 1u) << 23);
    o = std::bit_cast<uint32_t>(std::bit_cast<float>(f) + magic) - std::bit_cast<uint32_t>(magic);
  } else {
    const uint32_t mant_odd = (f >> 13) & 1u;
    f += ((15u - 127u) << 23) + 0xFFFu;  // rebias the exponent and add the rounding bias
    f += mant_odd;
    o = f >> 13;
  }
  return static_cast<uint16_t>(o | (sign >> 16));
}

// bfloat16 -> f32: exact (the top half of an f32).
inline float bf16_to_float(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

// f32 -> bfloat16, round to nearest even; NaN made quiet with sign and top payload kept.
inline uint16_t float_to_bf16(float value) {
  const uint32_t u = std::bit_cast<uint32_t>(value);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x0040u;
  // A select rather than an early return, so that loops over this vectorize.
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded);
}

}  // namespace loco
