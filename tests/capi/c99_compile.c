/* Compiles loco.h as strict C99 (-std=c99 -pedantic -Werror) and uses every declaration, so a
 * C++-ism in the header fails the build. */
#include "loco/loco.h"

int loco_c99_compile_check(void);

int loco_c99_compile_check(void) {
  loco_coordinator_options_t co;
  loco_comm_options_t po;
  loco_coordinator_t* coord = NULL;
  loco_comm_t* comm = NULL;
  loco_status_t s;
  int32_t world = 0, rank = 0;
  uint64_t epoch = 0;
  loco_coordinator_options_init(&co);
  loco_comm_options_init(&po);
  s = loco_coordinator_create(&co, &coord);
  po.coordinator_port = loco_coordinator_port(coord);
  s = loco_comm_create(&po, &comm);
  s = loco_comm_connect(comm);
  s = loco_comm_wait_for_world(comm, 1, 1000);
  s = loco_comm_wait_for_epoch(comm, 0, 1000);
  s = loco_comm_world_size(comm, &world);
  s = loco_comm_rank(comm, &rank);
  s = loco_comm_epoch(comm, &epoch);
  {
    loco_op_desc_t d;
    loco_op_t* op = NULL;
    loco_op_stats_t st;
    float x[4] = {1, 2, 3, 4};
    size_t off = 0, cnt = 0;
    loco_op_desc_init(&d);
    d.kind = LOCO_BROADCAST;
    d.out = x;
    d.count = 4;
    d.dtype = LOCO_F32;
    d.op = LOCO_AVG;
    s = loco_collective(comm, &d, &st);
    s = loco_collective_async(comm, &d, &op);
    s = loco_op_wait(op, &st);
    s = loco_all_reduce(comm, x, 4, LOCO_BF16, LOCO_MIN, 0);
    loco_segment(4, 2, 1, &off, &cnt);
  }
  (void)loco_comm_peer_id(comm);
  (void)loco_coordinator_epoch(coord);
  (void)loco_status_name(s);
  (void)loco_last_error();
  loco_comm_destroy(comm);
  loco_coordinator_destroy(coord);
  return loco_api_version() + (int)world + (int)rank + (int)epoch;
}
