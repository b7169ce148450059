// dct.h: the orthonormal DCT-II and its inverse (DCT-III) on fixed-size chunks of a flat span,
// as DeMo uses to move momentum into a frequency basis before top-k selection:
//     X_k = s_k * sum_n x_n cos(pi (n + 1/2) k / c),   s_0 = sqrt(1/c), s_k = sqrt(2/c)
//     x_n = sum_k s_k X_k cos(pi (n + 1/2) k / c)
// A table of c x c coefficients (computed in double, stored as float) per chunk size; the loops
// run in a fixed order, so equal inputs give equal bytes on every peer. O(c) work per element:
// meant for chunks of tens of elements, not for an FFT-sized transform.
// Not here: selection, communication (demo.h).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace loco::optim {

class ChunkDct {
 public:
  explicit ChunkDct(size_t size);
  size_t size() const { return size_; }
  // out = DCT-II(in); both of size(). in and out must not overlap.
  void forward(std::span<const float> in, std::span<float> out) const;
  // out += coefficient * (basis vector k): the inverse transform of a single coefficient.
  void add_basis(size_t k, float coefficient, std::span<float> out) const;
  // out = DCT-III(in) (the inverse of forward); both of size(); no overlap.
  void inverse(std::span<const float> in, std::span<float> out) const;

 private:
  size_t size_;
  std::vector<float> table_;  // table_[k * size_ + n] = s_k cos(pi (n + 1/2) k / size_)
};

}  // namespace loco::optim
