/* loco.h: loco's C API. C99-clean, opaque handles, numbered status codes.
 *
 * Every function that can fail returns a loco_status_t; on failure, loco_last_error() returns a
 * message for the calling thread. The codes tell the caller what to do next (docs/errors.md):
 * UNAVAILABLE and ABORTED mean "update membership and retry", INVALID_ARGUMENT means "fix the call".
 * Exceptions never cross this boundary. Handles are not thread-safe unless a function says so.
 * Stable: numbers and signatures only ever gain new entries. Structs with a struct_size may gain
 * fields at their end only; a struct_size from an older header (down to API version 1's) is
 * accepted and the fields it lacks take their defaults. */
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
  uint32_t struct_size;          /* set by loco_coordinator_options_init (or an older header's) */
  const char* host;              /* listen address; default "127.0.0.1" */
  uint16_t port;                 /* 0: pick a free port (see loco_coordinator_port) */
  const char* secret;            /* swarm secret text, or NULL */
  const char* secret_file;       /* or a file holding it; NULL: env LOCO_SECRET; none: loopback only */
  uint32_t heartbeat_period_ms;  /* default 500 */
  uint32_t heartbeat_timeout_ms; /* default 3000; must exceed the period */
  uint32_t join_window_ms;       /* joins within this window share one epoch; default 200 */
  /* Appended fields (older, smaller struct_size values leave them at their defaults). */
  uint32_t no_encrypt;           /* with a secret every frame after the handshake is sealed
                                    (authenticated and encrypted); nonzero: authenticated only,
                                    payloads in clear. Default 0 */
} loco_coordinator_options_t;

void loco_coordinator_options_init(loco_coordinator_options_t* options);
/* Starts a coordinator serving on its own threads.
 * Returns OK, INVALID_ARGUMENT (NULL pointers, bad timings, unreadable secret file, a struct_size
 * no header ever had, a host that does not resolve), FAILED_PRECONDITION (host:port is in use),
 * UNAVAILABLE (cannot listen on host:port otherwise: e.g. a port below 1024 without the right, an
 * address of no local interface). loco_last_error() names host:port. */
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
  uint32_t struct_size;          /* set by loco_comm_options_init (or an older header's) */
  const char* coordinator_host;  /* default "127.0.0.1" */
  uint16_t coordinator_port;     /* required */
  const char* secret;            /* swarm secret text, or NULL */
  const char* secret_file;       /* or a file; NULL and no secret: env LOCO_SECRET, else none */
  const char* name;              /* a label for logs; may be NULL */
  uint32_t connect_timeout_ms;   /* default 10000 */
  const char* data_host;         /* data plane and state chunk server listen here; NULL (the
                                    default): 127.0.0.1 for a loopback coordinator, else 0.0.0.0
                                    (:: for an IPv6 one); "0.0.0.0"/"::": every interface */
  uint16_t data_port;            /* 0: an ephemeral port (the chunk server's is ephemeral too);
                                    else the data plane takes it and the chunk server the next free
                                    port up to data_port_last (or data_port + 1) */
  uint32_t stripes;              /* TCP connections per ring link; default 2 (raise on long links) */
  /* Appended fields (older, smaller struct_size values leave them at their defaults). */
  uint16_t data_port_last;       /* > data_port: a port range for firewalled hosts; 0: none */
  const char* advertise_host;    /* what other peers dial (a NAT's public address); NULL: data_host
                                    unless it listens on every interface, else the address the
                                    coordinator sees this peer connect from */
  uint16_t advertise_port;       /* the data-plane port other peers dial when a NAT or container
                                    maps it to another; 0: the listening port. The chunk server's
                                    port is advertised shifted by as much. */
  uint32_t no_encrypt;           /* with a secret every frame on every connection (coordinator,
                                    ring links, state chunks) is sealed: authenticated and
                                    encrypted; nonzero: authenticated only, what this peer sends
                                    goes in clear. Default 0 */
} loco_comm_options_t;

void loco_comm_options_init(loco_comm_options_t* options);
/* Creates an unconnected communicator (no I/O). Returns OK or INVALID_ARGUMENT. */
loco_status_t loco_comm_create(const loco_comm_options_t* options, loco_comm_t** out);
/* Joins the swarm: connects, authenticates, starts heartbeats. The peer becomes a member at the
 * coordinator's next epoch boundary (see loco_comm_wait_for_world).
 * Returns OK, INVALID_ARGUMENT (NULL), FAILED_PRECONDITION (already connected), UNAVAILABLE
 * (coordinator unreachable), UNAUTHENTICATED (wrong or missing secret), PROTOCOL_MISMATCH,
 * DEADLINE_EXCEEDED (connect_timeout_ms), DATA_LOSS; the data-plane listener on
 * data_host:data_port fails as loco_coordinator_create's does (INVALID_ARGUMENT: does not resolve,
 * FAILED_PRECONDITION: in use, UNAVAILABLE: otherwise), its message naming the address. */
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

/* ---- Collectives ------------------------------------------------------------------------------
 * Operations run over the current epoch's ring. If the membership changes during an operation it
 * fails on every survivor with ABORTED or UNAVAILABLE (or DEADLINE_EXCEEDED for a hung peer)
 * within a bounded time, and every input buffer and an in-place buffer are exactly as before the
 * call: wait for the next epoch (loco_comm_wait_for_epoch) and retry. Results are bit-identical on
 * every peer. Operations on one tag must be started in the same order on every peer; different
 * tags may be in flight at once (async forms). */

typedef enum loco_dtype {
  LOCO_F32 = 0, LOCO_F64 = 1, LOCO_F16 = 2, LOCO_BF16 = 3, LOCO_I8 = 4,
  LOCO_U8 = 5, LOCO_I32 = 6, LOCO_U32 = 7, LOCO_I64 = 8, LOCO_U64 = 9
} loco_dtype_t;

typedef enum loco_reduce_op { LOCO_SUM = 0, LOCO_AVG = 1, LOCO_MIN = 2, LOCO_MAX = 3 } loco_reduce_op_t;

typedef enum loco_op_kind {
  LOCO_ALL_REDUCE = 1,     /* in -> out (count elements each); in == out (or in NULL): in place */
  LOCO_REDUCE_SCATTER = 2, /* in: count elements; out: this rank's segment (loco_segment) */
  LOCO_ALL_GATHER = 3,     /* in: this rank's segment; out: count elements */
  LOCO_BROADCAST = 4       /* out (count elements) becomes the root's; in is ignored */
} loco_op_kind_t;

typedef struct loco_op_desc {
  uint32_t struct_size; /* set by loco_op_desc_init */
  loco_op_kind_t kind;  /* default LOCO_ALL_REDUCE */
  const void* in;
  void* out;
  size_t count;            /* elements of the whole buffer (see loco_op_kind_t) */
  loco_dtype_t dtype;      /* default LOCO_F32 */
  loco_reduce_op_t op;     /* default LOCO_SUM */
  uint32_t root;           /* broadcast root rank */
  uint64_t tag;            /* operations on different tags may run concurrently */
  /* All-reduce only: the wire codec, NULL or "" (or "fp32") for raw f32 pieces. "fp16", "bf16",
   * "int8[:block=N]" or "int4[:block=N]" (N a multiple of 8, default 256 / 128) run the quantized
   * all-reduce: dtype LOCO_F32, op LOCO_SUM or LOCO_AVG; results stay bit-identical on every peer
   * (the parity rule of docs/algorithms.md); the result differs from the exact one by the codec's rounding,
   * once per ring hop (docs/algorithms.md). Every peer must pass the same codec. Statuses, besides
   * those of loco_collective: INVALID_ARGUMENT for an unknown codec, a sparse or 1-bit codec
   * (topk, randomk, sign: exchange those with an all-gather), another dtype or op, with int8 or
   * int4 a NaN or Inf in the input or in a partial sum, or a peer that passed another codec;
   * DATA_LOSS when a received piece does not decode. Descriptors whose struct_size ends before
   * this field (older headers) run raw. */
  const char* wire_codec;
} loco_op_desc_t;

typedef struct loco_op_stats {
  uint64_t epoch, tag, seq;
  uint32_t world_size;
  uint64_t bytes_sent, bytes_received; /* on the wire, headers included */
  double duration_ms;                  /* call to commit */
  double vote_ms;                      /* of which waiting for the commit vote */
} loco_op_stats_t;

typedef struct loco_op loco_op_t;

void loco_op_desc_init(loco_op_desc_t* desc);
/* Runs one collective and waits for it. stats may be NULL (bytes_sent counts the encoded bytes
 * for a quantized all-reduce).
 * Returns OK, INVALID_ARGUMENT (NULL, bad dtype/op/kind/root/wire_codec, overlapping buffers),
 * DATA_LOSS (a quantized piece that does not decode),
 * FAILED_PRECONDITION (not connected, or not yet a member), ABORTED / UNAVAILABLE /
 * DEADLINE_EXCEEDED (membership changed or a peer hung: retry in the next epoch). */
loco_status_t loco_collective(loco_comm_t* comm, const loco_op_desc_t* desc, loco_op_stats_t* stats);
/* Starts one collective; the buffers must stay valid until loco_op_wait returns. Returns OK or
 * INVALID_ARGUMENT / FAILED_PRECONDITION; the operation's own result comes from loco_op_wait. */
loco_status_t loco_collective_async(loco_comm_t* comm, const loco_op_desc_t* desc, loco_op_t** out);
/* Waits for an async operation and frees its handle. stats may be NULL. Same returns as
 * loco_collective. */
loco_status_t loco_op_wait(loco_op_t* op, loco_op_stats_t* stats);
/* Convenience: in-place all-reduce of buf. */
loco_status_t loco_all_reduce(loco_comm_t* comm, void* buf, size_t count, loco_dtype_t dtype,
                              loco_reduce_op_t op, uint64_t tag);
/* The segment [*offset, *offset + *count) of a count-element buffer that rank owns in
 * reduce-scatter and all-gather for a given world size. */
void loco_segment(size_t count, uint32_t world_size, uint32_t rank, size_t* offset, size_t* seg_count);

/* ---- Shared state (bit parity at sync points) ----------------------------------------------
 * A state is a named list of caller-owned buffers with a revision. At loco_state_sync every member
 * reports its revision and per-chunk hashes to the coordinator, which takes the most common
 * content per chunk as the truth; peers that differ fetch exactly those chunks from several
 * donors in parallel, peer to peer, and verify them. After an OK sync every peer whose sync
 * returned OK holds bit-identical shared buffers at the same revision. Every member of the epoch
 * must call loco_state_sync for a round to start. Buffers must not be modified during a sync.
 * See docs/fault-model.md. */

typedef struct loco_state loco_state_t;

typedef enum loco_sync_strategy {
  LOCO_SYNC_ENFORCE_MAJORITY = 1, /* vote, serve, fetch what differs from the majority (default) */
  LOCO_SYNC_RECEIVE_ONLY = 2,     /* a joining peer: do not vote or serve; fetch what differs */
  LOCO_SYNC_SEND_ONLY = 3         /* vote and serve, never fetch (differing: FAILED_PRECONDITION) */
} loco_sync_strategy_t;

typedef struct loco_sync_stats {
  uint64_t round;
  uint64_t revision;       /* the state's revision after the sync */
  uint64_t chunks_fetched;
  uint64_t bytes_fetched;
  uint32_t donors_used;    /* peers that delivered at least one chunk */
  uint32_t bad_donors;     /* peers that served bytes not matching the hash (reported, evicted) */
  double fetch_ms;
} loco_sync_stats_t;

/* Creates an empty state served by this peer (a chunk server on the comm's data host). chunk_size
 * 0 means 4 MiB (valid: 4 KiB .. 64 MiB). The state must be destroyed before the comm.
 * Returns OK, INVALID_ARGUMENT (NULL, chunk size, a data_host that does not resolve),
 * FAILED_PRECONDITION (comm not connected, or the data port is in use), UNAVAILABLE (cannot
 * listen otherwise). */
loco_status_t loco_state_create(loco_comm_t* comm, size_t chunk_size, loco_state_t** out);
/* Registers count elements at data under a unique name. per_peer != 0: the buffer may differ
 * between peers (e.g. a data-loader position) and is excluded from parity.
 * Returns OK or INVALID_ARGUMENT (NULL, empty or repeated name, bad dtype, too many chunks). */
loco_status_t loco_state_add_buffer(loco_state_t* state, const char* name, loco_dtype_t dtype,
                                    void* data, size_t count, int per_peer);
/* The revision; advance it by one after each step that changes the state, before the sync.
 * loco_state_set_revision returns OK or INVALID_ARGUMENT (NULL). */
loco_status_t loco_state_set_revision(loco_state_t* state, uint64_t revision);
uint64_t loco_state_revision(const loco_state_t* state);
/* Runs one sync point (blocking). stats may be NULL. timeout_ms < 0: two minutes.
 * Returns OK (parity reached), INVALID_ARGUMENT (NULL, no buffers), FAILED_PRECONDITION (this
 * peer's revision is ahead of the swarm's, its layout differs, send-only and different, or the
 * swarm's revision skipped one; the state is untouched), UNAVAILABLE (coordinator lost, or every
 * donor of a chunk failed: retry), DEADLINE_EXCEEDED (a member never synced), DATA_LOSS (this
 * peer was evicted for serving bad chunks). */
loco_status_t loco_state_sync(loco_state_t* state, loco_sync_strategy_t strategy, int32_t timeout_ms,
                              loco_sync_stats_t* stats);
/* Stops serving and frees the state (not the buffers). NULL is ignored. */
void loco_state_destroy(loco_state_t* state);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LOCO_LOCO_H_ */
