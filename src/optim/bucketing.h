// bucketing.h: how strategies hand a flat float span to a Reducer: cut into buckets of a bounded
// size (one collective per bucket, never one per tensor), either directly on a scratch span or
// "atomically" on a caller's span (staged, so a failure leaves it untouched). Shared by every
// strategy in src/optim. Not a collective itself, and no retrying: that is the trainer's job.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "optim/strategy.h"

namespace loco::optim {

// Default bucket size: 4 MiB of fp32, as DDP implementations commonly use.
inline constexpr size_t kDefaultBucketBytes = size_t{4} << 20;

// Elements of fp32 per bucket for `bucket_bytes` (at least one element).
size_t bucket_elements(size_t bucket_bytes);

// Number of buckets (collective calls) that `count` elements take; 0 for an empty span.
size_t bucket_count(size_t count, size_t bucket_elems);

// Averages `data` in place, bucket by bucket, in order. On failure the buckets before the failing
// one are already averaged: use only on scratch data the caller recomputes before a retry.
// A non-null `codec` sends every bucket through it (Reducer::all_reduce_avg_quantized).
[[nodiscard]] Status reduce_in_buckets(std::span<float> data, size_t bucket_elems, Reducer& reducer,
                                       const WireCodec& codec = {});

// Averages `data` in place with all-or-nothing semantics: on any non-OK status `data` is exactly
// as before. A single bucket goes straight to the reducer (whose contract already says so); more
// buckets are staged in `scratch` (resized as needed) and copied back once all of them succeeded.
[[nodiscard]] Status reduce_atomically(std::span<float> data, std::vector<float>& scratch,
                                       size_t bucket_elems, Reducer& reducer,
                                       const WireCodec& codec = {});

// A strategy's wire codec spec ("" or "fp32": null), parsed once when the strategy is built.
// A bad spec (make_strategy's validate() rejects it first) is the status of every collective.
Result<WireCodec> parse_strategy_codec(std::string_view spec);

}  // namespace loco::optim
