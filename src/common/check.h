// check.h: LOCO_CHECK for invariants inside loco's own code. A failed check is a bug in loco and
// aborts with a message. Never use it on bytes that came from the network or on user input:
// those are validated and answered with a Status.
#pragma once

#include <cstdio>
#include <cstdlib>

#define LOCO_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: LOCO_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
