// rng.h: randomness. secure_random() fills bytes from the OS CSPRNG (libsodium) for nonces;
// SplitMix64 is a tiny deterministic generator for tests and seeded algorithms.
#pragma once

#include <cstdint>
#include <span>

namespace loco {

void secure_random(std::span<std::byte> out);

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t s_;
};

}  // namespace loco
