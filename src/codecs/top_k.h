// top_k.h: selection of the k largest magnitudes, exposed for the top-k codec (top_k_codec.cc),
// its tests and benchmark. The order is total: larger |x| first, and among equal |x| the lower
// index first, so the selected set is unique and both paths below return the same indices.
// Not the codec (no bytes here) and not a partial sort of the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace loco::codecs {

enum class TopKPath {
  kExact,     // nth_element over all indices
  kSampled,   // threshold from a sample, nth_element over the candidates above it
  kFallback,  // the sampled threshold missed (too few or too many candidates): exact after all
};

// Indices (ascending) of the k largest |x|; k <= x.size(), x finite (the codec checks).
// exact = false tries the sampled-threshold path first when the input is large and k small
// relative to it. `path`, when given, says which path produced the result.
std::vector<uint32_t> top_k_indices(std::span<const float> x, size_t k, bool exact,
                                    TopKPath* path = nullptr);

}  // namespace loco::codecs
