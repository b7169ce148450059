/* allreduce.c: the smallest loco program, C API only. It joins a swarm, waits for WORLD peers and
 * runs ITERATIONS all-reduces of a vector, with the retry idiom: an operation that fails with
 * ABORTED, UNAVAILABLE or DEADLINE_EXCEEDED (a peer died, hung or joined) left the buffer as it
 * was, so wait for the next epoch and run it again. At the end it prints a checksum of the result,
 * which every peer must print identically.
 *
 *   loco coordinator --listen 127.0.0.1:7000 &
 *   ./allreduce 127.0.0.1 7000 2 &  ./allreduce 127.0.0.1 7000 2
 *
 * Not here: shared state (loco_state_*), async operations, quantized wires (loco.h has them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "loco/loco.h"

#define COUNT 4096 /* floats per all-reduce */

static int fail(const char* what, loco_status_t s) {
  fprintf(stderr, "allreduce: %s: %s: %s\n", what, loco_status_name(s), loco_last_error());
  return 1;
}

static int retryable(loco_status_t s) {
  return s == LOCO_ABORTED || s == LOCO_UNAVAILABLE || s == LOCO_DEADLINE_EXCEEDED;
}

int main(int argc, char** argv) {
  loco_comm_options_t options;
  loco_comm_t* comm = NULL;
  loco_status_t s;
  float data[COUNT];
  int32_t world = 0, rank = -1;
  int iterations, i, tries = 0;
  uint64_t epoch = 0, checksum = 1469598103934665603ull; /* FNV-1a over the result's bits */
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT WORLD [ITERATIONS]\n", argv[0]);
    return 2;
  }
  iterations = argc > 4 ? atoi(argv[4]) : 20;

  /* 1. Connect: a secret comes from LOCO_SECRET if set (without one, loopback only). */
  loco_comm_options_init(&options);
  options.coordinator_host = argv[1];
  options.coordinator_port = (uint16_t)atoi(argv[2]);
  if ((s = loco_comm_create(&options, &comm)) != LOCO_OK) return fail("create", s);
  if ((s = loco_comm_connect(comm)) != LOCO_OK) return fail("connect", s);

  /* 2. Wait until WORLD peers (this one among them) are members of one epoch. */
  if ((s = loco_comm_wait_for_world(comm, atoi(argv[3]), 30000)) != LOCO_OK) {
    return fail("wait for world", s);
  }
  loco_comm_world_size(comm, &world);
  loco_comm_rank(comm, &rank);
  printf("rank %d of %d\n", rank, world);

  /* 3. The loop. Each peer contributes (rank + 1) * (i + 1) + k / COUNT, so the sum is exact. */
  for (i = 0; i < iterations;) {
    int k;
    loco_comm_rank(comm, &rank);
    for (k = 0; k < COUNT; ++k) data[k] = (float)(rank + 1) * (float)(i + 1) + (float)k / COUNT;
    loco_comm_epoch(comm, &epoch);
    loco_comm_world_size(comm, &world); /* the world this step runs in, kept for the last line */
    s = loco_all_reduce(comm, data, COUNT, LOCO_F32, LOCO_SUM, /*tag=*/1);
    if (s == LOCO_OK) {
      ++i;
      continue;
    }
    if (!retryable(s) || ++tries > 10) return fail("all-reduce", s);
    /* The retry idiom: the membership changed; wait for the next epoch, then run step i again. */
    fprintf(stderr, "allreduce: step %d: %s, retrying in the next epoch\n", i, loco_status_name(s));
    s = loco_comm_wait_for_epoch(comm, epoch, 30000);
    if (s != LOCO_OK && s != LOCO_DEADLINE_EXCEEDED) return fail("wait for epoch", s);
  }

  /* 4. Every peer holds the same bytes: print their checksum, one value and the world the last
     all-reduce ran in. */
  {
    const unsigned char* bytes = (const unsigned char*)data;
    size_t b;
    for (b = 0; b < sizeof(data); ++b) checksum = (checksum ^ bytes[b]) * 1099511628211ull;
  }
  printf("done: %d all-reduces, world %d, data[0] %.1f, checksum %016llx\n", iterations, world,
         (double)data[0], (unsigned long long)checksum);
  loco_comm_destroy(comm);
  return 0;
}
