// alloc_tracker.cc: the replaced global operator new/delete behind LargestAllocation (see
// alloc_tracker.h). Plain malloc/free underneath; aligned forms are left to the standard library.
#include "unit/wire/alloc_tracker.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> g_active{false};
std::atomic<size_t> g_largest{0};

void* tracked_alloc(size_t n) {
  if (g_active.load(std::memory_order_relaxed)) {
    size_t prev = g_largest.load(std::memory_order_relaxed);
    while (n > prev && !g_largest.compare_exchange_weak(prev, n, std::memory_order_relaxed)) {
    }
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(size_t n) { return tracked_alloc(n); }
void* operator new[](size_t n) { return tracked_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace loco::test_support {

LargestAllocation::LargestAllocation() {
  g_largest.store(0);
  g_active.store(true);
}

LargestAllocation::~LargestAllocation() { g_active.store(false); }

size_t LargestAllocation::largest() const { return g_largest.load(); }

}  // namespace loco::test_support
