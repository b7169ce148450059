// rng.cc: OS randomness through libsodium.
#include "common/rng.h"

#include <sodium.h>

#include "common/check.h"

namespace loco {

void secure_random(std::span<std::byte> out) {
  LOCO_CHECK(sodium_init() >= 0);
  randombytes_buf(out.data(), out.size());
}

}  // namespace loco
