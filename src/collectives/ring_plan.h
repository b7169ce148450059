// ring_plan.h: the arithmetic of a ring: how a buffer of `count` elements is cut into one segment
// per rank, and which segment a rank sends and receives at each step of each algorithm.
//
// Segments are balanced: the first count % world segments hold one element more. After the
// reduce-scatter phase rank r owns the fully reduced segment r; in the all-gather phase every rank
// forwards what it received one step earlier. Step numbers of an all-reduce run 0..2(P-1)-1: the
// first P-1 are reduce-scatter steps, the rest all-gather steps. Pure functions, no I/O.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace loco::collectives {

struct Segment {
  size_t begin = 0;  // first element
  size_t count = 0;  // elements
};

inline Segment segment_of(size_t count, size_t world, size_t index) {
  const size_t base = count / world;
  const size_t rem = count % world;
  return {index * base + std::min(index, rem), base + (index < rem ? 1 : 0)};
}

// (a - b) mod n for ranks, without unsigned underflow.
inline size_t ring_sub(size_t a, size_t b, size_t n) { return (a + n - (b % n)) % n; }

// Reduce-scatter step s (0 <= s < P-1): rank r sends segment r-1-s and receives segment r-2-s.
inline size_t rs_send_segment(size_t rank, size_t step, size_t world) {
  return ring_sub(rank, 1 + step, world);
}
inline size_t rs_recv_segment(size_t rank, size_t step, size_t world) {
  return ring_sub(rank, 2 + step, world);
}
// All-gather step a (0 <= a < P-1): rank r sends segment r-a and receives segment r-a-1.
inline size_t ag_send_segment(size_t rank, size_t step, size_t world) {
  return ring_sub(rank, step, world);
}
inline size_t ag_recv_segment(size_t rank, size_t step, size_t world) {
  return ring_sub(rank, 1 + step, world);
}

// One more FNV-1a round: folds `v` (8 bytes, little-endian) into the hash `h`.
inline uint64_t fingerprint_mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xFF;
    h *= 0x100000001b3ull;
  }
  return h;
}

// FNV-1a over the parameters peers must agree on; carried in every DATA header.
inline uint64_t op_fingerprint(uint8_t kind, uint8_t dtype, uint8_t op, uint64_t count,
                               uint64_t root, uint64_t world) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 0x100000001b3ull;
    }
  };
  mix(kind);
  mix(dtype);
  mix(op);
  mix(count);
  mix(root);
  mix(world);
  return h;
}

}  // namespace loco::collectives
