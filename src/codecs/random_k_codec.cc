// random_k_codec.cc: random-k with a shared seed (random_k.h): Floyd's sampling over a bitmap,
// the codec that sends seed + values, and its untrusted-input checks. Not top-k.
#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "codecs/format.h"
#include "codecs/random_k.h"
#include "common/rng.h"

namespace loco::codecs {

std::vector<uint32_t> random_k_indices(uint64_t seed, size_t n, size_t k) {
  std::vector<uint32_t> idx;
  if (k == 0 || k > n) return idx;
  std::vector<uint64_t> taken((n + 63) / 64, 0);
  SplitMix64 rng(seed);
  for (size_t j = n - k; j < n; ++j) {
    const uint64_t t = ((rng.next() >> 32) * (uint64_t{j} + 1)) >> 32;  // uniform in [0, j]
    const uint64_t pick = (taken[t / 64] >> (t % 64)) & 1u ? uint64_t{j} : t;
    taken[pick / 64] |= uint64_t{1} << (pick % 64);
  }
  idx.reserve(k);
  for (size_t w = 0; w < taken.size(); ++w) {
    for (uint64_t bits = taken[w]; bits != 0; bits &= bits - 1) {
      idx.push_back(static_cast<uint32_t>(64 * w + static_cast<size_t>(std::countr_zero(bits))));
    }
  }
  return idx;
}

RandomKCodec::RandomKCodec(RandomKOptions o)
    : fraction_(o.fraction), seed_(o.seed), name_(fmt::format("randomk:fraction={}", o.fraction)) {}

Result<std::unique_ptr<RandomKCodec>> RandomKCodec::make(RandomKOptions options) {
  LOCO_RETURN_IF_ERROR(check_fraction_option(options.fraction));
  return std::unique_ptr<RandomKCodec>(new RandomKCodec(options));
}

size_t RandomKCodec::encoded_size_bound(size_t count) const {
  return kHeaderSize + 12 + 4 * k_for_fraction(fraction_, count);
}

Result<size_t> RandomKCodec::encode(std::span<const float> in, MutableByteSpan out) const {
  const size_t n = in.size();
  const size_t total = encoded_size_bound(n);
  LOCO_RETURN_IF_ERROR(check_encode_args(name_, n, out.size(), total));
  const size_t k = k_for_fraction(fraction_, n);
  const std::vector<uint32_t> idx = random_k_indices(seed_, n, k);
  std::byte* p = out.data() + kHeaderSize;
  std::byte* vp = p + 12;
  for (size_t j = 0; j < k; ++j) {
    const float v = in[idx[j]];
    if (!std::isfinite(v)) return InvalidArgument(name_ + ": NaN or Inf in the input");
    store_f32(vp + 4 * j, v);
  }
  write_header({CodecId::kRandomK, 0, n}, out.data());
  store_u64(p, seed_);
  store_u32(p + 8, static_cast<uint32_t>(k));
  return total;
}

Status RandomKCodec::decode(ByteSpan in, std::span<float> out) const {
  LOCO_ASSIGN_OR_RETURN(CodecHeader h, read_header_for(in, CodecId::kRandomK, out.size()));
  if (h.block_size != 0) return DataLoss("randomk: block size must be 0");
  if (in.size() < kHeaderSize + 12) return DataLoss("randomk: truncated before k");
  const std::byte* p = in.data() + kHeaderSize;
  const uint64_t seed = load_u64(p);
  const uint64_t k = load_u32(p + 8);
  if (k > h.count) return DataLoss(fmt::format("randomk: k = {} exceeds the count {}", k, h.count));
  LOCO_RETURN_IF_ERROR(check_total_size(in, kHeaderSize + 12 + 4 * k));
  const std::byte* vp = p + 12;
  for (size_t j = 0; j < k; ++j) {
    if (!std::isfinite(load_f32(vp + 4 * j))) {
      return DataLoss(fmt::format("randomk: value {} is not finite", j));
    }
  }
  const std::vector<uint32_t> idx = random_k_indices(seed, out.size(), k);
  std::fill(out.begin(), out.end(), 0.0f);
  for (size_t j = 0; j < k; ++j) out[idx[j]] = load_f32(vp + 4 * j);
  return OkStatus();
}

}  // namespace loco::codecs
