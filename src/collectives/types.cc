// types.cc: names of data types and reduction operators (see types.h).
#include "collectives/types.h"

#include <array>

namespace loco::collectives {
namespace {

constexpr std::array<std::string_view, kNumDataTypes> kDtypeNames = {
    "f32", "f64", "f16", "bf16", "i8", "u8", "i32", "u32", "i64", "u64"};
constexpr std::array<std::string_view, kNumReduceOps> kOpNames = {"sum", "avg", "min", "max"};

}  // namespace

std::string_view dtype_name(DataType t) {
  return is_valid(t) ? kDtypeNames[static_cast<size_t>(t)] : std::string_view("invalid");
}

std::string_view reduce_op_name(ReduceOp op) {
  return is_valid(op) ? kOpNames[static_cast<size_t>(op)] : std::string_view("invalid");
}

std::optional<DataType> parse_dtype(std::string_view name) {
  for (size_t i = 0; i < kDtypeNames.size(); ++i) {
    if (kDtypeNames[i] == name) return static_cast<DataType>(i);
  }
  return std::nullopt;
}

std::optional<ReduceOp> parse_reduce_op(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) return static_cast<ReduceOp>(i);
  }
  return std::nullopt;
}

}  // namespace loco::collectives
