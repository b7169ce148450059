// alloc_tracker.h: measures the largest single heap allocation made while a scope is active, so a
// test can assert that a decoder fed a forged count or length did not allocate for it. It replaces
// the global operator new of the test binary (alloc_tracker.cc); it is not a leak checker.
#pragma once

#include <cstddef>

namespace loco::test_support {

// Starts recording on construction; largest() reports the biggest request since then. Not nestable.
class LargestAllocation {
 public:
  LargestAllocation();
  ~LargestAllocation();
  LargestAllocation(const LargestAllocation&) = delete;
  LargestAllocation& operator=(const LargestAllocation&) = delete;

  size_t largest() const;
};

}  // namespace loco::test_support
