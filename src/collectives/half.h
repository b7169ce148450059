// half.h: the 16-bit float conversions live in common/half.h (codecs use them too); this header
// keeps their collectives-namespace names for the reduce kernels and their tests.
#pragma once

#include "common/half.h"

namespace loco::collectives {
using loco::bf16_to_float;
using loco::float_to_bf16;
using loco::float_to_half;
using loco::half_to_float;
}  // namespace loco::collectives
