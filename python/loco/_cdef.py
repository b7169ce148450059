"""_cdef.py: the declarations of include/loco/loco.h that cffi reads (ABI mode: no compiler).

Copied from the header by hand; tests/test_header.py checks that every function, enum value, struct
size and field offset here matches loco.h, so a header change that is not copied fails a test.
"""

CDEF = r"""
typedef enum loco_status {
  LOCO_OK = 0, LOCO_INVALID_ARGUMENT = 1, LOCO_FAILED_PRECONDITION = 2, LOCO_UNAVAILABLE = 3,
  LOCO_ABORTED = 4, LOCO_DEADLINE_EXCEEDED = 5, LOCO_CANCELLED = 6, LOCO_DATA_LOSS = 7,
  LOCO_PROTOCOL_MISMATCH = 8, LOCO_UNAUTHENTICATED = 9, LOCO_RESOURCE_EXHAUSTED = 10,
  LOCO_UNIMPLEMENTED = 11, LOCO_INTERNAL = 12
} loco_status_t;

const char* loco_last_error(void);
const char* loco_status_name(loco_status_t status);
int loco_api_version(void);

typedef struct loco_coordinator loco_coordinator_t;
typedef struct loco_coordinator_options {
  uint32_t struct_size;
  const char* host;
  uint16_t port;
  const char* secret;
  const char* secret_file;
  uint32_t heartbeat_period_ms;
  uint32_t heartbeat_timeout_ms;
  uint32_t join_window_ms;
  uint32_t no_encrypt;
} loco_coordinator_options_t;
void loco_coordinator_options_init(loco_coordinator_options_t* options);
loco_status_t loco_coordinator_create(const loco_coordinator_options_t* options,
                                      loco_coordinator_t** out);
uint16_t loco_coordinator_port(const loco_coordinator_t* coordinator);
uint64_t loco_coordinator_epoch(const loco_coordinator_t* coordinator);
void loco_coordinator_destroy(loco_coordinator_t* coordinator);

typedef struct loco_comm loco_comm_t;
typedef struct loco_comm_options {
  uint32_t struct_size;
  const char* coordinator_host;
  uint16_t coordinator_port;
  const char* secret;
  const char* secret_file;
  const char* name;
  uint32_t connect_timeout_ms;
  const char* data_host;
  uint16_t data_port;
  uint32_t stripes;
  uint16_t data_port_last;
  const char* advertise_host;
  uint16_t advertise_port;
  uint32_t no_encrypt;
} loco_comm_options_t;
void loco_comm_options_init(loco_comm_options_t* options);
loco_status_t loco_comm_create(const loco_comm_options_t* options, loco_comm_t** out);
loco_status_t loco_comm_connect(loco_comm_t* comm);
loco_status_t loco_comm_wait_for_world(loco_comm_t* comm, int32_t min_world, int32_t timeout_ms);
loco_status_t loco_comm_wait_for_epoch(loco_comm_t* comm, uint64_t after_epoch, int32_t timeout_ms);
loco_status_t loco_comm_world_size(const loco_comm_t* comm, int32_t* out);
loco_status_t loco_comm_rank(const loco_comm_t* comm, int32_t* out);
loco_status_t loco_comm_epoch(const loco_comm_t* comm, uint64_t* out);
uint64_t loco_comm_peer_id(const loco_comm_t* comm);
void loco_comm_destroy(loco_comm_t* comm);

typedef enum loco_dtype {
  LOCO_F32 = 0, LOCO_F64 = 1, LOCO_F16 = 2, LOCO_BF16 = 3, LOCO_I8 = 4,
  LOCO_U8 = 5, LOCO_I32 = 6, LOCO_U32 = 7, LOCO_I64 = 8, LOCO_U64 = 9
} loco_dtype_t;
typedef enum loco_reduce_op { LOCO_SUM = 0, LOCO_AVG = 1, LOCO_MIN = 2, LOCO_MAX = 3 } loco_reduce_op_t;
typedef enum loco_op_kind {
  LOCO_ALL_REDUCE = 1, LOCO_REDUCE_SCATTER = 2, LOCO_ALL_GATHER = 3, LOCO_BROADCAST = 4
} loco_op_kind_t;
typedef struct loco_op_desc {
  uint32_t struct_size;
  loco_op_kind_t kind;
  const void* in;
  void* out;
  size_t count;
  loco_dtype_t dtype;
  loco_reduce_op_t op;
  uint32_t root;
  uint64_t tag;
  const char* wire_codec;
} loco_op_desc_t;
typedef struct loco_op_stats {
  uint64_t epoch, tag, seq;
  uint32_t world_size;
  uint64_t bytes_sent, bytes_received;
  double duration_ms;
  double vote_ms;
} loco_op_stats_t;
typedef struct loco_op loco_op_t;
void loco_op_desc_init(loco_op_desc_t* desc);
loco_status_t loco_collective(loco_comm_t* comm, const loco_op_desc_t* desc, loco_op_stats_t* stats);
loco_status_t loco_collective_async(loco_comm_t* comm, const loco_op_desc_t* desc, loco_op_t** out);
loco_status_t loco_op_wait(loco_op_t* op, loco_op_stats_t* stats);
loco_status_t loco_all_reduce(loco_comm_t* comm, void* buf, size_t count, loco_dtype_t dtype,
                              loco_reduce_op_t op, uint64_t tag);
void loco_segment(size_t count, uint32_t world_size, uint32_t rank, size_t* offset, size_t* seg_count);

typedef struct loco_state loco_state_t;
typedef enum loco_sync_strategy {
  LOCO_SYNC_ENFORCE_MAJORITY = 1, LOCO_SYNC_RECEIVE_ONLY = 2, LOCO_SYNC_SEND_ONLY = 3
} loco_sync_strategy_t;
typedef struct loco_sync_stats {
  uint64_t round;
  uint64_t revision;
  uint64_t chunks_fetched;
  uint64_t bytes_fetched;
  uint32_t donors_used;
  uint32_t bad_donors;
  double fetch_ms;
} loco_sync_stats_t;
loco_status_t loco_state_create(loco_comm_t* comm, size_t chunk_size, loco_state_t** out);
loco_status_t loco_state_add_buffer(loco_state_t* state, const char* name, loco_dtype_t dtype,
                                    void* data, size_t count, int per_peer);
loco_status_t loco_state_set_revision(loco_state_t* state, uint64_t revision);
uint64_t loco_state_revision(const loco_state_t* state);
loco_status_t loco_state_sync(loco_state_t* state, loco_sync_strategy_t strategy, int32_t timeout_ms,
                              loco_sync_stats_t* stats);
void loco_state_destroy(loco_state_t* state);
"""

# The API version these declarations were copied from (loco.h's LOCO_API_VERSION).
API_VERSION = 1
