/* C smoke test of libloco: a coordinator and two peers in one process form a 2-member epoch with
 * distinct ranks; error paths return the documented codes with a message. Exit code 0 = pass. */
#include <stdio.h>
#include <string.h>

#include "loco/loco.h"

static int failures = 0;

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
  EXPECT(loco_comm_create(&po, &a) == LOCO_OK);
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
