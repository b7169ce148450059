// types.h: the element types and reduction operators the collectives understand, and their sizes.
// Values are part of the C API (include/loco/loco.h mirrors them) and of nothing on the wire: peers
// never send a data type, every peer of an operation passes the same one. Not the place for
// conversions (half.h) or arithmetic (reduce_kernels.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace loco::collectives {

enum class DataType : uint8_t {
  kF32 = 0,
  kF64 = 1,
  kF16 = 2,   // IEEE 754 binary16; reduced in f32, rounded back to nearest-even
  kBF16 = 3,  // bfloat16; reduced in f32, rounded back to nearest-even
  kI8 = 4,
  kU8 = 5,
  kI32 = 6,
  kU32 = 7,
  kI64 = 8,
  kU64 = 9,
};
inline constexpr int kNumDataTypes = 10;

enum class ReduceOp : uint8_t {
  kSum = 0,  // integers wrap around (two's complement), never undefined behaviour
  kAvg = 1,  // sum, then one division by the world size by the owner of each segment
  kMin = 2,  // NaN wins: a NaN in any input makes the result NaN
  kMax = 3,  // NaN wins
};
inline constexpr int kNumReduceOps = 4;

constexpr size_t dtype_size(DataType t) {
  switch (t) {
    case DataType::kF64:
    case DataType::kI64:
    case DataType::kU64:
      return 8;
    case DataType::kF32:
    case DataType::kI32:
    case DataType::kU32:
      return 4;
    case DataType::kF16:
    case DataType::kBF16:
      return 2;
    case DataType::kI8:
    case DataType::kU8:
      return 1;
  }
  return 0;
}

constexpr bool is_valid(DataType t) { return static_cast<int>(t) < kNumDataTypes; }
constexpr bool is_valid(ReduceOp op) { return static_cast<int>(op) < kNumReduceOps; }
constexpr bool is_floating(DataType t) {
  return t == DataType::kF32 || t == DataType::kF64 || t == DataType::kF16 || t == DataType::kBF16;
}

std::string_view dtype_name(DataType t);       // "f32", "bf16", ...
std::string_view reduce_op_name(ReduceOp op);  // "sum", "avg", "min", "max"
std::optional<DataType> parse_dtype(std::string_view name);
std::optional<ReduceOp> parse_reduce_op(std::string_view name);

}  // namespace loco::collectives
