// bucketing.cc: bucketed averaging over a Reducer (see bucketing.h).
#include "optim/bucketing.h"

#include <algorithm>

#include "collectives/quantized_layout.h"

namespace loco::optim {

size_t bucket_elements(size_t bucket_bytes) { return std::max<size_t>(1, bucket_bytes / sizeof(float)); }

size_t bucket_count(size_t count, size_t bucket_elems) {
  if (bucket_elems == 0) bucket_elems = 1;
  return (count + bucket_elems - 1) / bucket_elems;
}

namespace {

Status average(std::span<float> data, Reducer& reducer, const WireCodec& codec) {
  if (!codec) return reducer.all_reduce_avg(data);
  return reducer.all_reduce_avg_quantized(data, codec);
}

}  // namespace

Status reduce_in_buckets(std::span<float> data, size_t bucket_elems, Reducer& reducer,
                         const WireCodec& codec) {
  if (bucket_elems == 0) return InvalidArgument("bucket size must be at least one element");
  for (size_t off = 0; off < data.size(); off += bucket_elems) {
    const size_t n = std::min(bucket_elems, data.size() - off);
    LOCO_RETURN_IF_ERROR(average(data.subspan(off, n), reducer, codec));
  }
  return OkStatus();
}

Status reduce_atomically(std::span<float> data, std::vector<float>& scratch, size_t bucket_elems,
                         Reducer& reducer, const WireCodec& codec) {
  if (bucket_elems == 0) return InvalidArgument("bucket size must be at least one element");
  if (data.empty()) return OkStatus();
  if (data.size() <= bucket_elems) return average(data, reducer, codec);
  scratch.resize(data.size());
  std::copy(data.begin(), data.end(), scratch.begin());
  LOCO_RETURN_IF_ERROR(reduce_in_buckets(scratch, bucket_elems, reducer, codec));
  std::copy(scratch.begin(), scratch.end(), data.begin());
  return OkStatus();
}

Result<WireCodec> parse_strategy_codec(std::string_view spec) {
  auto codec = collectives::parse_wire_codec(spec);
  if (!codec.ok()) return codec.status().with_context("wire codec '" + std::string(spec) + "'");
  return WireCodec(std::move(codec).value());
}

}  // namespace loco::optim
