/* loco.h: loco's C API. C99-clean, opaque handles, numbered status codes.
 *
 * Every function that can fail returns a loco_status_t; on failure, loco_last_error() returns a
 * message for the calling thread. The codes tell the caller what to do next (docs/errors.md):
 * UNAVAILABLE and ABORTED mean "update membership and retry", INVALID_ARGUMENT means "fix the call".
 * Exceptions never cross this boundary. Handles are not thread-safe unless a function says so.
 * Stable: numbers and signatures only ever gain new entries. */
#ifndef LOCO_LOCO_H_
#define LOCO_LOCO_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOCO_API_VERSION 1

typedef enum loco_status {
  LOCO_OK = 0,
  LOCO_INVALID_ARGUMENT = 1,
  LOCO_FAILED_PRECONDITION = 2,
  LOCO_UNAVAILABLE = 3,
  LOCO_ABORTED = 4,
  LOCO_DEADLINE_EXCEEDED = 5,
  LOCO_CANCELLED = 6,
  LOCO_DATA_LOSS = 7,
  LOCO_PROTOCOL_MISMATCH = 8,
  LOCO_UNAUTHENTICATED = 9,
  LOCO_RESOURCE_EXHAUSTED = 10,
  LOCO_UNIMPLEMENTED = 11,
  LOCO_INTERNAL = 12
} loco_status_t;

/* The message of the last failed call on this thread ("" if none). Valid until the next loco call
 * on this thread. */
const char* loco_last_error(void);
/* "OK", "UNAVAILABLE", ...; "UNKNOWN" for a number that is not a status. */
const char* loco_status_name(loco_status_t status);
/* LOCO_API_VERSION of the library actually loaded. */
int loco_api_version(void);

/* ---- Coordinator ------------------------------------------------------------------------- */

typedef struct loco_coordinator loco_coordinator_t;

typedef struct loco_coordinator_options {
  uint32_t struct_size;          /* set by loco_coordinator_options_init */
  const char* host;              /* listen address; default "127.0.0.1" */
  uint16_t port;                 /* 0: pick a free port (see loco_coordinator_port) */
  const char* secret;            /* swarm secret text, or NULL */
  const char* secret_file;       /* or a file holding it; NULL: env LOCO_SECRET; none: loopback only */
  uint32_t heartbeat_period_ms;  /* default 500 */
  uint32_t heartbeat_timeout_ms; /* default 3000; must exceed the period */
  uint32_t join_window_ms;       /* joins within this window share one epoch; default 200 */
} loco_coordinator_options_t;

void loco_coordinator_options_init(loco_coordinator_options_t* options);
/* Starts a coordinator serving on its own threads.
 * Returns OK, INVALID_ARGUMENT (NULL pointers, bad timings, unreadable secret file), UNAVAILABLE
 * (cannot listen on host:port). */
loco_status_t loco_coordinator_create(const loco_coordinator_options_t* options,
                                      loco_coordinator_t** out);
/* The bound port; 0 for NULL. */
uint16_t loco_coordinator_port(const loco_coordinator_t* coordinator);
/* The current membership epoch (0: no member yet); 0 for NULL. */
uint64_t loco_coordinator_epoch(const loco_coordinator_t* coordinator);
/* Stops the coordinator and frees it. NULL is ignored. */
void loco_coordinator_destroy(loco_coordinator_t* coordinator);

/* ---- Communicator (one peer) --------------------------------------------------------------- */

typedef struct loco_comm loco_comm_t;

typedef struct loco_comm_options {
  uint32_t struct_size;          /* set by loco_comm_options_init */
  const char* coordinator_host;  /* default "127.0.0.1" */
  uint16_t coordinator_port;     /* required */
  const char* secret;            /* swarm secret text, or NULL */
  const char* secret_file;       /* or a file; NULL and no secret: env LOCO_SECRET, else none */
  const char* name;              /* a label for logs; may be NULL */
  uint32_t connect_timeout_ms;   /* default 10000 */
} loco_comm_options_t;

void loco_comm_options_init(loco_comm_options_t* options);
/* Creates an unconnected communicator (no I/O). Returns OK or INVALID_ARGUMENT. */
loco_status_t loco_comm_create(const loco_comm_options_t* options, loco_comm_t** out);
/* Joins the swarm: connects, authenticates, starts heartbeats. The peer becomes a member at the
 * coordinator's next epoch boundary (see loco_comm_wait_for_world).
 * Returns OK, INVALID_ARGUMENT (NULL), FAILED_PRECONDITION (already connected), UNAVAILABLE
 * (coordinator unreachable), UNAUTHENTICATED (wrong or missing secret), PROTOCOL_MISMATCH,
 * DEADLINE_EXCEEDED (connect_timeout_ms), DATA_LOSS. */
loco_status_t loco_comm_connect(loco_comm_t* comm);
/* Waits until this peer is a member of an epoch with at least min_world members.
 * Returns OK, INVALID_ARGUMENT, FAILED_PRECONDITION (not connected), DEADLINE_EXCEEDED (timeout_ms;
 * negative waits forever), UNAVAILABLE (coordinator lost or this peer expelled). */
loco_status_t loco_comm_wait_for_world(loco_comm_t* comm, int32_t min_world, int32_t timeout_ms);
/* Waits for an epoch newer than after_epoch (the retry idiom: after ABORTED, wait for the new
 * membership). Same returns as loco_comm_wait_for_world. */
loco_status_t loco_comm_wait_for_epoch(loco_comm_t* comm, uint64_t after_epoch, int32_t timeout_ms);
/* The current epoch's world size, this peer's rank in the ring (-1 while not yet a member) and
 * epoch number. Return OK, INVALID_ARGUMENT (NULL), FAILED_PRECONDITION (not connected), or
 * UNAVAILABLE (the coordinator connection is gone; the values are then the last known ones). */
loco_status_t loco_comm_world_size(const loco_comm_t* comm, int32_t* out);
loco_status_t loco_comm_rank(const loco_comm_t* comm, int32_t* out);
loco_status_t loco_comm_epoch(const loco_comm_t* comm, uint64_t* out);
/* This peer's id (unique within the coordinator's lifetime; 0 before connect). */
uint64_t loco_comm_peer_id(const loco_comm_t* comm);
/* Leaves the swarm gracefully (if connected) and frees the communicator. NULL is ignored. */
void loco_comm_destroy(loco_comm_t* comm);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LOCO_LOCO_H_ */
