// random_k.h: random-k sparsification with a shared seed. The k coordinates are drawn from the
// seed alone (random_k_indices), so they never travel: the encoded buffer holds the seed and the
// k values, and the decoder regenerates the same indices. Peers that use the same seed in a round
// pick the same coordinates, so their value vectors can even be summed directly.
// Not top-k (top_k.h) and not unbiased: the values are sent as they are (a contractive compressor,
// E|x - x^|^2 = (1 - k/n)|x|^2, meant to be wrapped in error feedback); scale by n/k yourself for
// an unbiased estimate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codecs/codec.h"

namespace loco::codecs {

// k distinct indices in [0, n), ascending, a pure function of (seed, n, k): Floyd's sampling with
// SplitMix64(seed) draws, j = n-k .. n-1, t = uniform [0, j] as ((r >> 32) * (j + 1)) >> 32, take
// t unless already taken, else j. Requires k <= n <= kMaxCount. O(k + n / 64) time, n / 8 bytes.
std::vector<uint32_t> random_k_indices(uint64_t seed, size_t n, size_t k);

struct RandomKOptions {
  double fraction = 0.01;  // k = ceil(fraction * count), at least 1
  uint64_t seed = 0;       // set_seed() changes it between rounds
};

// Layout after the header (block 0): u64 seed | u32 k | k x f32 value (ascending index order).
// The decoder rejects k > n and non-finite values, writes zeros elsewhere. Inputs must be finite.
class RandomKCodec final : public Codec {
 public:
  // INVALID_ARGUMENT unless 0 < fraction <= 1.
  static Result<std::unique_ptr<RandomKCodec>> make(RandomKOptions options);

  // The seed of the next encode(); all peers of a round should set the same one (e.g. the step).
  // Not synchronized: one thread per codec object.
  void set_seed(uint64_t seed) { seed_ = seed; }
  uint64_t seed() const { return seed_; }

  CodecId id() const override { return CodecId::kRandomK; }
  std::string_view name() const override { return name_; }
  size_t encoded_size_bound(size_t count) const override;
  Result<size_t> encode(std::span<const float> in, MutableByteSpan out) const override;
  Status decode(ByteSpan in, std::span<float> out) const override;

 private:
  explicit RandomKCodec(RandomKOptions options);
  double fraction_;
  uint64_t seed_;
  std::string name_;
};

}  // namespace loco::codecs
