// reduce_kernels.h: the element-wise arithmetic of the collectives, on raw memory.
//
//   reduce_into(t, op, acc, in, n):   acc[i] = acc[i] (op) in[i]   for i < n
//   divide_into(t, buf, n, divisor):  buf[i] = buf[i] / divisor   (the second half of kAvg)
//
// kAvg reduces like kSum; the division happens once, by the peer that owns a fully reduced segment,
// so every peer ends with identical bytes. f16/bf16 are widened to f32, combined and rounded back
// to nearest-even per call (for +, / and min/max of 16-bit floats this equals the correctly rounded
// 16-bit operation, since f32 has more than 2p+2 bits). Integer sums wrap (two's complement);
// integer averages truncate toward zero. min/max propagate NaN. Buffers may be unaligned; acc and
// in must not overlap partially (acc == in is allowed). Not a place for communication or chunking;
// plain loops the compiler vectorizes, with AVX2 paths for the 16-bit formats (F16C for binary16)
// chosen at run time; both paths give identical bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collectives/types.h"

namespace loco::collectives {

void reduce_into(DataType t, ReduceOp op, void* acc, const void* in, size_t n);
void divide_into(DataType t, void* buf, size_t n, uint32_t divisor);

// Bulk conversions (used by tests and codecs); F16C-accelerated where the CPU has it.
void half_to_float_n(const uint16_t* in, float* out, size_t n);
void float_to_half_n(const float* in, uint16_t* out, size_t n);
// True when the AVX2/F16C paths are in use (for benchmarks and logs).
bool f16c_enabled();
// Tests only: true forces the portable (software) 16-bit paths; false restores detection.
void use_portable_kernels_for_testing(bool portable);

}  // namespace loco::collectives
