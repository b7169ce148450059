/* C smoke test of libloco: a coordinator and two peers in one process form a 2-member epoch with
 * distinct ranks; error paths return the documented codes with a message. Exit code 0 = pass. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loco/loco.h"

static int failures = 0;

/* Peer b's side of the shared-state sync (sync blocks until every member has synced). */
static loco_state_t* g_state_b = NULL;
static loco_status_t g_sync_b = LOCO_INTERNAL;
static void* sync_b(void* arg) {
  (void)arg;
  g_sync_b = loco_state_sync(g_state_b, LOCO_SYNC_RECEIVE_ONLY, 20000, NULL);
  return NULL;
}

#define EXPECT(cond)                                                              \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__, __LINE__, \
              #cond, loco_last_error());                                          \
      ++failures;                                                                 \
    }                                                                             \
  } while (0)

int main(void) {
  loco_coordinator_options_t co;
  loco_comm_options_t po;
  loco_coordinator_t* coord = NULL;
  loco_comm_t* a = NULL;
  loco_comm_t* b = NULL;
  loco_comm_t* stranger = NULL;
  int32_t wa = 0, wb = 0, ra = -1, rb = -1;
  uint64_t ea = 0, eb = 0;

  EXPECT(loco_api_version() == LOCO_API_VERSION);
  EXPECT(strcmp(loco_status_name(LOCO_ABORTED), "ABORTED") == 0);
  EXPECT(loco_coordinator_create(NULL, &coord) == LOCO_INVALID_ARGUMENT);
  EXPECT(strlen(loco_last_error()) > 0);

  loco_coordinator_options_init(&co);
  co.secret = "smoke-secret";
  co.heartbeat_period_ms = 100;
  co.heartbeat_timeout_ms = 1000;
  co.join_window_ms = 50;
  EXPECT(loco_coordinator_create(&co, &coord) == LOCO_OK);
  if (coord == NULL) return 1;
  EXPECT(loco_coordinator_port(coord) != 0);

  loco_comm_options_init(&po);
  po.coordinator_port = loco_coordinator_port(coord);
  po.secret = "smoke-secret";
  po.connect_timeout_ms = 5000;
  /* A data-port range must run upwards. */
  po.data_port = 40000;
  po.data_port_last = 39999;
  EXPECT(loco_comm_create(&po, &a) == LOCO_INVALID_ARGUMENT && a == NULL);
  po.data_port = 0;
  po.data_port_last = 0;
  EXPECT(loco_comm_create(&po, &a) == LOCO_OK);
  /* b advertises an explicit address (the default, data_host NULL, picks 127.0.0.1 here). */
  po.advertise_host = "127.0.0.1";
  EXPECT(loco_comm_create(&po, &b) == LOCO_OK);
  EXPECT(loco_comm_world_size(a, &wa) == LOCO_FAILED_PRECONDITION);
  EXPECT(loco_comm_connect(a) == LOCO_OK);
  EXPECT(loco_comm_connect(a) == LOCO_FAILED_PRECONDITION);
  EXPECT(loco_comm_connect(b) == LOCO_OK);
  EXPECT(loco_comm_wait_for_world(a, 2, 10000) == LOCO_OK);
  EXPECT(loco_comm_wait_for_world(b, 2, 10000) == LOCO_OK);
  EXPECT(loco_comm_world_size(a, &wa) == LOCO_OK && wa == 2);
  EXPECT(loco_comm_world_size(b, &wb) == LOCO_OK && wb == 2);
  EXPECT(loco_comm_rank(a, &ra) == LOCO_OK);
  EXPECT(loco_comm_rank(b, &rb) == LOCO_OK);
  EXPECT(ra != rb && ra >= 0 && rb >= 0 && ra < 2 && rb < 2);
  EXPECT(loco_comm_epoch(a, &ea) == LOCO_OK && loco_comm_epoch(b, &eb) == LOCO_OK);
  EXPECT(ea == eb && ea >= 1);
  EXPECT(loco_comm_peer_id(a) != loco_comm_peer_id(b));

  /* Collectives from C: two tagged async all-reduces per peer in flight at once, then checked. */
  {
    float xa[1000], xb[1000], ya[7], yb[7];
    loco_op_desc_t d;
    loco_op_t* ops[4] = {NULL, NULL, NULL, NULL};
    loco_op_stats_t st;
    size_t i, off = 0, cnt = 0;
    int k;
    for (i = 0; i < 1000; ++i) {
      xa[i] = (float)i;
      xb[i] = (float)(2 * i);
    }
    for (i = 0; i < 7; ++i) {
      ya[i] = 1.0f;
      yb[i] = (float)i;
    }
    loco_op_desc_init(&d);
    d.count = 1000;
    d.tag = 1;
    d.out = xa;
    EXPECT(loco_collective_async(a, &d, &ops[0]) == LOCO_OK);
    d.out = xb;
    EXPECT(loco_collective_async(b, &d, &ops[1]) == LOCO_OK);
    d.count = 7;
    d.tag = 2;
    d.op = LOCO_MAX;
    d.out = ya;
    EXPECT(loco_collective_async(a, &d, &ops[2]) == LOCO_OK);
    d.out = yb;
    EXPECT(loco_collective_async(b, &d, &ops[3]) == LOCO_OK);
    for (k = 0; k < 4; ++k) {
      EXPECT(loco_op_wait(ops[k], &st) == LOCO_OK);
      EXPECT(st.world_size == 2);
    }
    for (i = 0; i < 1000; ++i) EXPECT(xa[i] == (float)(3 * i) && xb[i] == xa[i]);
    for (i = 0; i < 7; ++i) EXPECT(ya[i] == (i > 1 ? (float)i : 1.0f) && yb[i] == ya[i]);
    /* A bad descriptor is INVALID_ARGUMENT and runs nothing. */
    d.dtype = (loco_dtype_t)42;
    EXPECT(loco_collective(a, &d, NULL) == LOCO_INVALID_ARGUMENT);
    loco_segment(10, 3, 2, &off, &cnt);
    EXPECT(off + cnt == 10 && cnt >= 3);
  }

  /* The quantized all-reduce from C: int8 on the wire, identical bytes on both peers, within the
   * int8 budget of the exact average, fewer bytes than the raw f32 op; bad codecs are refused. */
  {
    float qa[1000], qb[1000], exact[1000];
    loco_op_desc_t d;
    loco_op_t* ops[2] = {NULL, NULL};
    loco_op_stats_t st[2];
    size_t i;
    float worst = 0.0f;
    for (i = 0; i < 1000; ++i) {
      qa[i] = (float)((int)(i % 200) - 100) / 100.0f;
      qb[i] = (float)((int)((i * 7) % 200) - 100) / 100.0f;
      exact[i] = (qa[i] + qb[i]) / 2.0f;
    }
    loco_op_desc_init(&d);
    EXPECT(d.wire_codec == NULL);
    d.count = 1000;
    d.op = LOCO_AVG;
    d.tag = 3;
    d.wire_codec = "int8:block=128";
    d.out = qa;
    EXPECT(loco_collective_async(a, &d, &ops[0]) == LOCO_OK);
    d.out = qb;
    EXPECT(loco_collective_async(b, &d, &ops[1]) == LOCO_OK);
    EXPECT(loco_op_wait(ops[0], &st[0]) == LOCO_OK);
    EXPECT(loco_op_wait(ops[1], &st[1]) == LOCO_OK);
    EXPECT(memcmp(qa, qb, sizeof qa) == 0);
    for (i = 0; i < 1000; ++i) {
      float e = qa[i] > exact[i] ? qa[i] - exact[i] : exact[i] - qa[i];
      if (e > worst) worst = e;
    }
    /* Two quantizations of values in [-1, 1] (P = 2): at most 2/255/2 each, halved once by avg. */
    EXPECT(worst > 0.0f && worst <= 1.5f / 255.0f + 1e-6f);
    /* Raw f32 would send 4000 bytes of payload per peer; int8 about a quarter of that. */
    EXPECT(st[0].bytes_sent > 1000 && st[0].bytes_sent < 2000);
    d.wire_codec = "topk";
    EXPECT(loco_collective(a, &d, NULL) == LOCO_INVALID_ARGUMENT);
    EXPECT(strstr(loco_last_error(), "all-gather") != NULL);
    d.wire_codec = "int8:block=7";
    EXPECT(loco_collective(a, &d, NULL) == LOCO_INVALID_ARGUMENT);
    d.wire_codec = "int8";
    d.dtype = LOCO_F64;
    EXPECT(loco_collective(a, &d, NULL) == LOCO_INVALID_ARGUMENT);
    d.dtype = LOCO_F32;
    d.op = LOCO_MAX;
    EXPECT(loco_collective(a, &d, NULL) == LOCO_INVALID_ARGUMENT);
    /* A descriptor from an older header (no wire_codec field) still runs, raw. */
    d.struct_size = (uint32_t)offsetof(loco_op_desc_t, wire_codec);
    d.op = LOCO_SUM;
    d.count = 7;
    d.tag = 4;
    d.out = qa;
    d.wire_codec = "not even read";
    EXPECT(loco_collective_async(a, &d, &ops[0]) == LOCO_OK);
    d.out = qb;
    EXPECT(loco_collective_async(b, &d, &ops[1]) == LOCO_OK);
    EXPECT(loco_op_wait(ops[0], NULL) == LOCO_OK);
    EXPECT(loco_op_wait(ops[1], NULL) == LOCO_OK);
    EXPECT(memcmp(qa, qb, 7 * sizeof(float)) == 0);
  }

  /* Shared state from C: b joins receive-only with zeros and ends with a's exact bytes. */
  {
    static uint32_t sa_w[5000], sb_w[5000];
    loco_state_t* sa = NULL;
    loco_state_t* bad = NULL;
    loco_sync_stats_t ss;
    pthread_t t;
    size_t i;
    for (i = 0; i < 5000; ++i) {
      sa_w[i] = (uint32_t)(i * 2654435761u);
      sb_w[i] = 0;
    }
    EXPECT(loco_state_create(a, 4096, &sa) == LOCO_OK);
    EXPECT(loco_state_create(b, 4096, &g_state_b) == LOCO_OK);
    EXPECT(loco_state_create(a, 100, &bad) == LOCO_INVALID_ARGUMENT && bad == NULL);
    EXPECT(loco_state_add_buffer(sa, "w", LOCO_U32, sa_w, 5000, 0) == LOCO_OK);
    EXPECT(loco_state_add_buffer(sa, "w", LOCO_U32, sa_w, 5000, 0) == LOCO_INVALID_ARGUMENT);
    EXPECT(loco_state_add_buffer(g_state_b, "w", LOCO_U32, sb_w, 5000, 0) == LOCO_OK);
    EXPECT(loco_state_set_revision(sa, 1) == LOCO_OK);
    EXPECT(pthread_create(&t, NULL, sync_b, NULL) == 0);
    EXPECT(loco_state_sync(sa, LOCO_SYNC_ENFORCE_MAJORITY, 20000, &ss) == LOCO_OK);
    pthread_join(t, NULL);
    EXPECT(g_sync_b == LOCO_OK);
    EXPECT(ss.revision == 1 && ss.chunks_fetched == 0);
    EXPECT(memcmp(sa_w, sb_w, sizeof sa_w) == 0);
    EXPECT(loco_state_revision(g_state_b) == 1);
    EXPECT(loco_state_sync(NULL, LOCO_SYNC_ENFORCE_MAJORITY, 0, NULL) == LOCO_INVALID_ARGUMENT);
    loco_state_destroy(sa);
    loco_state_destroy(g_state_b);
  }

  /* A wrong secret is UNAUTHENTICATED, and the swarm is unchanged. */
  po.secret = "wrong";
  EXPECT(loco_comm_create(&po, &stranger) == LOCO_OK);
  EXPECT(loco_comm_connect(stranger) == LOCO_UNAUTHENTICATED);
  EXPECT(loco_coordinator_epoch(coord) == ea);
  loco_comm_destroy(stranger);

  /* A graceful leave shrinks the world for the survivor. */
  loco_comm_destroy(b);
  EXPECT(loco_comm_wait_for_epoch(a, ea, 5000) == LOCO_OK);
  EXPECT(loco_comm_world_size(a, &wa) == LOCO_OK && wa == 1);
  EXPECT(loco_comm_wait_for_world(a, 2, 200) == LOCO_DEADLINE_EXCEEDED);

  loco_comm_destroy(a);
  loco_coordinator_destroy(coord);

  /* Nothing listening: UNAVAILABLE. */
  EXPECT(loco_comm_create(&po, &stranger) == LOCO_OK);
  EXPECT(loco_comm_connect(stranger) == LOCO_UNAVAILABLE);
  loco_comm_destroy(stranger);

  if (failures == 0) printf("capi smoke test passed\n");
  return failures == 0 ? 0 : 1;
}
