// dct.cc: orthonormal DCT-II / DCT-III on small chunks (see dct.h).
#include "optim/dct.h"

#include <cmath>
#include <numbers>

namespace loco::optim {

ChunkDct::ChunkDct(size_t size) : size_(size), table_(size * size) {
  const double c = static_cast<double>(size);
  for (size_t k = 0; k < size; ++k) {
    const double s = k == 0 ? std::sqrt(1.0 / c) : std::sqrt(2.0 / c);
    for (size_t n = 0; n < size; ++n) {
      table_[k * size + n] = static_cast<float>(
          s * std::cos(std::numbers::pi * (static_cast<double>(n) + 0.5) * static_cast<double>(k) / c));
    }
  }
}

void ChunkDct::forward(std::span<const float> in, std::span<float> out) const {
  for (size_t k = 0; k < size_; ++k) {
    const float* row = &table_[k * size_];
    float acc = 0.0f;
    for (size_t n = 0; n < size_; ++n) acc += row[n] * in[n];
    out[k] = acc;
  }
}

void ChunkDct::add_basis(size_t k, float coefficient, std::span<float> out) const {
  const float* row = &table_[k * size_];
  for (size_t n = 0; n < size_; ++n) out[n] += coefficient * row[n];
}

void ChunkDct::inverse(std::span<const float> in, std::span<float> out) const {
  for (size_t n = 0; n < size_; ++n) out[n] = 0.0f;
  for (size_t k = 0; k < size_; ++k) {
    if (in[k] != 0.0f) add_basis(k, in[k], out);
  }
}

}  // namespace loco::optim
