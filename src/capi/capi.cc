// capi.cc: every extern "C" function of include/loco/loco.h. It translates between C handles and
// the C++ objects, turns Status into loco_status_t plus a thread-local message, and makes sure no
// exception crosses the boundary. No logic of its own lives here.
#include "loco/loco.h"

#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "common/status.h"
#include "membership/auth.h"
#include "membership/coordinator.h"
#include "collectives/swarm_peer.h"
#include "state/state_sync.h"
#include "membership/peer.h"

struct loco_coordinator {
  std::unique_ptr<loco::membership::Coordinator> impl;
};

struct loco_comm {
  loco::collectives::SwarmPeerOptions options;
  std::unique_ptr<loco::collectives::SwarmPeer> peer;
  loco::membership::PeerClient* client = nullptr;  // peer->client(), once connected
};

struct loco_op {
  loco::collectives::OpHandle handle;
};

namespace {

thread_local std::string g_last_error;

// The integer in a C enum field. A C caller may store any int there; reading it through the C++
// enum type would be undefined for values outside the enumerators' range.
template <typename E>
int enum_value(const E& e) {
  static_assert(sizeof(E) == sizeof(int));
  int v = 0;
  std::memcpy(&v, &e, sizeof(v));
  return v;
}

loco_status_t fail(const loco::Status& s) {
  g_last_error = s.to_string();
  return static_cast<loco_status_t>(s.code());
}

loco_status_t ok() {
  g_last_error.clear();
  return LOCO_OK;
}

// Runs `body`, catching anything thrown (a bug, or std::bad_alloc) as INTERNAL/RESOURCE_EXHAUSTED.
template <typename F>
loco_status_t guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(loco::ResourceExhausted("out of memory"));
  } catch (const std::exception& e) {
    return fail(loco::Internal(std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    return fail(loco::Internal("unexpected exception"));
  }
}

loco::Result<std::optional<loco::membership::SwarmKey>> key_from(const char* secret,
                                                                  const char* secret_file) {
  if (secret != nullptr) {
    LOCO_ASSIGN_OR_RETURN(auto key, loco::membership::derive_key(secret));
    return std::optional<loco::membership::SwarmKey>{key};
  }
  return loco::membership::load_swarm_key(secret_file != nullptr ? secret_file : "");
}

// The options structs may gain fields at their end; a caller built against an older header passes
// a smaller struct_size. `in` is read up to its struct_size (at least kFirstSize, the end of the
// fields of the first released header), the rest of `out` keeps the defaults of `init`.
template <typename T>
loco::Status read_options(const T* in, size_t first_size, void (*init)(T*), const char* init_name,
                          T* out) {
  init(out);
  if (in->struct_size < first_size || in->struct_size > sizeof(T)) {
    return loco::InvalidArgument("options.struct_size is " + std::to_string(in->struct_size) +
                                 " (valid: " + std::to_string(first_size) + ".." +
                                 std::to_string(sizeof(T)) + "): not initialized by " + init_name);
  }
  std::memcpy(static_cast<void*>(out), static_cast<const void*>(in), in->struct_size);
  out->struct_size = sizeof(T);
  return loco::OkStatus();
}

// The ends of the last fields of API version 1: these sizes are accepted forever.
constexpr size_t kCoordinatorOptionsV1 =
    offsetof(loco_coordinator_options_t, join_window_ms) + sizeof(uint32_t);
constexpr size_t kCommOptionsV1 = offsetof(loco_comm_options_t, stripes) + sizeof(uint32_t);

loco_status_t connected(const loco_comm_t* comm) {
  if (comm == nullptr) return fail(loco::InvalidArgument("comm is NULL"));
  if (comm->client == nullptr) return fail(loco::FailedPrecondition("comm is not connected"));
  loco::Status h = comm->client->health();
  if (!h.ok()) return fail(h);
  return ok();
}

}  // namespace

extern "C" {

const char* loco_last_error(void) { return g_last_error.c_str(); }

const char* loco_status_name(loco_status_t status) {
  const int v = enum_value(status);
  if (v < LOCO_OK || v > LOCO_INTERNAL) return "UNKNOWN";
  return loco::status_code_name(static_cast<loco::StatusCode>(v)).data();
}

int loco_api_version(void) { return LOCO_API_VERSION; }

void loco_coordinator_options_init(loco_coordinator_options_t* o) {
  if (o == nullptr) return;
  *o = loco_coordinator_options_t{};
  o->struct_size = sizeof(*o);
  o->host = "127.0.0.1";
  o->heartbeat_period_ms = 500;
  o->heartbeat_timeout_ms = 3000;
  o->join_window_ms = 200;
}

loco_status_t loco_coordinator_create(const loco_coordinator_options_t* options,
                                      loco_coordinator_t** out) {
  return guarded([&]() -> loco_status_t {
    if (options == nullptr || out == nullptr) return fail(loco::InvalidArgument("NULL argument"));
    *out = nullptr;
    loco_coordinator_options_t copy;
    loco::Status read = read_options(options, kCoordinatorOptionsV1, loco_coordinator_options_init,
                                     "loco_coordinator_options_init", &copy);
    if (!read.ok()) return fail(read);
    const loco_coordinator_options_t* o = &copy;
    loco::membership::CoordinatorOptions opts;
    opts.host = o->host != nullptr ? o->host : "127.0.0.1";
    opts.port = o->port;
    auto key = key_from(o->secret, o->secret_file);
    if (!key.ok()) return fail(key.status());
    opts.key = *key;
    opts.encrypt = o->no_encrypt == 0;
    opts.config.heartbeat_period = std::chrono::milliseconds(o->heartbeat_period_ms);
    opts.config.heartbeat_timeout = std::chrono::milliseconds(o->heartbeat_timeout_ms);
    opts.config.join_window = std::chrono::milliseconds(o->join_window_ms);
    auto c = loco::membership::Coordinator::start(opts);
    if (!c.ok()) return fail(c.status());
    *out = new loco_coordinator{std::move(c).value()};
    return ok();
  });
}

uint16_t loco_coordinator_port(const loco_coordinator_t* c) {
  return c != nullptr ? c->impl->port() : 0;
}

uint64_t loco_coordinator_epoch(const loco_coordinator_t* c) {
  return c != nullptr ? c->impl->epoch() : 0;
}

void loco_coordinator_destroy(loco_coordinator_t* c) {
  try {
    delete c;
  } catch (...) {
  }
}

void loco_comm_options_init(loco_comm_options_t* o) {
  if (o == nullptr) return;
  *o = loco_comm_options_t{};
  o->struct_size = sizeof(*o);
  o->coordinator_host = "127.0.0.1";
  o->connect_timeout_ms = 10000;
  o->data_host = nullptr;  // chosen from the coordinator's address (loco.h)
  o->stripes = 2;
}

loco_status_t loco_comm_create(const loco_comm_options_t* options, loco_comm_t** out) {
  return guarded([&]() -> loco_status_t {
    if (options == nullptr || out == nullptr) return fail(loco::InvalidArgument("NULL argument"));
    *out = nullptr;
    loco_comm_options_t copy;
    loco::Status read = read_options(options, kCommOptionsV1, loco_comm_options_init,
                                     "loco_comm_options_init", &copy);
    if (!read.ok()) return fail(read);
    const loco_comm_options_t* o = &copy;
    if (o->coordinator_port == 0) return fail(loco::InvalidArgument("coordinator_port is 0"));
    auto comm = std::make_unique<loco_comm>();
    auto& peer = comm->options.peer;
    peer.coordinator_host = o->coordinator_host != nullptr ? o->coordinator_host : "127.0.0.1";
    peer.coordinator_port = o->coordinator_port;
    auto key = key_from(o->secret, o->secret_file);
    if (!key.ok()) return fail(key.status());
    peer.key = *key;
    peer.encrypt = o->no_encrypt == 0;
    peer.name = o->name != nullptr ? o->name : "";
    peer.connect_timeout = std::chrono::milliseconds(o->connect_timeout_ms);
    auto& mesh = comm->options.mesh;
    const std::string coord = peer.coordinator_host;
    if (o->data_host != nullptr && *o->data_host != '\0') {
      mesh.listen_host = o->data_host;
    } else if (coord == "localhost" || coord == "::1" || coord.rfind("127.", 0) == 0) {
      mesh.listen_host = coord == "::1" ? "::1" : "127.0.0.1";
    } else {
      mesh.listen_host = coord.find(':') != std::string::npos ? "::" : "0.0.0.0";
    }
    mesh.listen_port = o->data_port;
    mesh.listen_port_last = o->data_port_last;
    if (o->data_port_last != 0 && o->data_port_last <= o->data_port) {
      return fail(loco::InvalidArgument("data_port_last must be above data_port (or 0)"));
    }
    if (o->advertise_host != nullptr && *o->advertise_host != '\0') {
      peer.data_host = o->advertise_host;
    }
    comm->options.advertise_port = o->advertise_port;
    if (o->stripes == 0 || o->stripes > 64) return fail(loco::InvalidArgument("stripes must be 1..64"));
    comm->options.mesh.stripes = o->stripes;
    *out = comm.release();
    return ok();
  });
}

loco_status_t loco_comm_connect(loco_comm_t* comm) {
  return guarded([&]() -> loco_status_t {
    if (comm == nullptr) return fail(loco::InvalidArgument("comm is NULL"));
    if (comm->peer) return fail(loco::FailedPrecondition("comm is already connected"));
    auto peer = loco::collectives::SwarmPeer::join(comm->options);
    if (!peer.ok()) return fail(peer.status());
    comm->peer = std::move(peer).value();
    comm->client = &comm->peer->client();
    return ok();
  });
}

loco_status_t loco_comm_wait_for_world(loco_comm_t* comm, int32_t min_world, int32_t timeout_ms) {
  return guarded([&]() -> loco_status_t {
    if (comm == nullptr) return fail(loco::InvalidArgument("comm is NULL"));
    if (!comm->peer) return fail(loco::FailedPrecondition("comm is not connected"));
    if (min_world < 1) return fail(loco::InvalidArgument("min_world must be at least 1"));
    loco::Deadline d = timeout_ms < 0 ? loco::Deadline::never()
                                      : loco::Deadline::after(std::chrono::milliseconds(timeout_ms));
    loco::Status s = comm->peer->wait_for_world(min_world, d);
    return s.ok() ? ok() : fail(s);
  });
}

loco_status_t loco_comm_wait_for_epoch(loco_comm_t* comm, uint64_t after_epoch, int32_t timeout_ms) {
  return guarded([&]() -> loco_status_t {
    if (comm == nullptr) return fail(loco::InvalidArgument("comm is NULL"));
    if (comm->client == nullptr) return fail(loco::FailedPrecondition("comm is not connected"));
    loco::Deadline d = timeout_ms < 0 ? loco::Deadline::never()
                                      : loco::Deadline::after(std::chrono::milliseconds(timeout_ms));
    auto v = comm->client->wait_for_epoch_after(after_epoch, d);
    return v.ok() ? ok() : fail(v.status());
  });
}

loco_status_t loco_comm_world_size(const loco_comm_t* comm, int32_t* out) {
  return guarded([&]() -> loco_status_t {
    if (out == nullptr) return fail(loco::InvalidArgument("out is NULL"));
    loco_status_t s = connected(comm);
    if (comm != nullptr && comm->client != nullptr) *out = comm->client->view().world_size();
    return s;
  });
}

loco_status_t loco_comm_rank(const loco_comm_t* comm, int32_t* out) {
  return guarded([&]() -> loco_status_t {
    if (out == nullptr) return fail(loco::InvalidArgument("out is NULL"));
    loco_status_t s = connected(comm);
    if (comm != nullptr && comm->client != nullptr) *out = comm->client->view().rank;
    return s;
  });
}

loco_status_t loco_comm_epoch(const loco_comm_t* comm, uint64_t* out) {
  return guarded([&]() -> loco_status_t {
    if (out == nullptr) return fail(loco::InvalidArgument("out is NULL"));
    loco_status_t s = connected(comm);
    if (comm != nullptr && comm->client != nullptr) *out = comm->client->view().epoch;
    return s;
  });
}

uint64_t loco_comm_peer_id(const loco_comm_t* comm) {
  return comm != nullptr && comm->client != nullptr ? comm->client->peer_id() : 0;
}

void loco_comm_destroy(loco_comm_t* comm) {
  try {
    if (comm != nullptr && comm->peer && comm->client->health().ok()) {
      comm->peer->leave("loco_comm_destroy");
    }
    delete comm;
  } catch (...) {
  }
}

void loco_op_desc_init(loco_op_desc_t* d) {
  if (d == nullptr) return;
  *d = loco_op_desc_t{};
  d->struct_size = sizeof(*d);
  d->kind = LOCO_ALL_REDUCE;
  d->dtype = LOCO_F32;
  d->op = LOCO_SUM;
}

}  // extern "C"

namespace {

loco::Result<loco::collectives::OpRequest> to_request(const loco_comm_t* comm,
                                                      const loco_op_desc_t* d) {
  namespace c = loco::collectives;
  if (comm == nullptr || d == nullptr) return loco::InvalidArgument("NULL argument");
  // Descriptors from callers built against an older header end before wire_codec.
  constexpr size_t kSizeBeforeWireCodec = offsetof(loco_op_desc_t, wire_codec);
  if (d->struct_size != sizeof(*d) && d->struct_size != kSizeBeforeWireCodec) {
    return loco::InvalidArgument("descriptor not initialized by loco_op_desc_init");
  }
  const char* wire_codec = d->struct_size == sizeof(*d) ? d->wire_codec : nullptr;
  if (!comm->peer) return loco::FailedPrecondition("comm is not connected");
  if (comm->client->view().rank < 0) {
    return loco::FailedPrecondition("not a member of an epoch yet (see loco_comm_wait_for_world)");
  }
  const int kind = enum_value(d->kind), dtype = enum_value(d->dtype), op = enum_value(d->op);
  if (kind < LOCO_ALL_REDUCE || kind > LOCO_BROADCAST) {
    return loco::InvalidArgument("unknown operation kind");
  }
  if (dtype < LOCO_F32 || dtype > LOCO_U64) return loco::InvalidArgument("unknown dtype");
  if (op < LOCO_SUM || op > LOCO_MAX) return loco::InvalidArgument("unknown reduce op");
  if (d->out == nullptr && d->count > 0) return loco::InvalidArgument("out is NULL");
  c::OpRequest r;
  r.kind = static_cast<c::OpKind>(kind);
  r.in = d->in;
  r.out = d->out;
  if (r.kind == c::OpKind::kBroadcast || (r.kind == c::OpKind::kAllReduce && r.in == nullptr)) {
    r.in = r.out;
  }
  if (r.in == nullptr && d->count > 0) return loco::InvalidArgument("in is NULL");
  r.count = d->count;
  r.dtype = static_cast<c::DataType>(dtype);
  r.op = static_cast<c::ReduceOp>(op);
  r.root = d->root;
  r.tag = d->tag;
  if (wire_codec != nullptr) r.wire_codec = wire_codec;
  return r;
}

void fill_stats(const loco::collectives::OpStats& s, loco_op_stats_t* out) {
  if (out == nullptr) return;
  out->epoch = s.op.epoch;
  out->tag = s.op.tag;
  out->seq = s.op.seq;
  out->world_size = static_cast<uint32_t>(s.world_size);
  out->bytes_sent = s.bytes_sent;
  out->bytes_received = s.bytes_received;
  out->duration_ms = std::chrono::duration<double, std::milli>(s.duration).count();
  out->vote_ms = std::chrono::duration<double, std::milli>(s.vote_time).count();
}

}  // namespace

extern "C" {

loco_status_t loco_collective(loco_comm_t* comm, const loco_op_desc_t* desc, loco_op_stats_t* stats) {
  return guarded([&]() -> loco_status_t {
    auto req = to_request(comm, desc);
    if (!req.ok()) return fail(req.status());
    auto r = comm->peer->comm().run(*req);
    if (!r.ok()) return fail(r.status());
    fill_stats(*r, stats);
    return ok();
  });
}

loco_status_t loco_collective_async(loco_comm_t* comm, const loco_op_desc_t* desc, loco_op_t** out) {
  return guarded([&]() -> loco_status_t {
    if (out == nullptr) return fail(loco::InvalidArgument("out is NULL"));
    *out = nullptr;
    auto req = to_request(comm, desc);
    if (!req.ok()) return fail(req.status());
    auto op = std::make_unique<loco_op>();
    op->handle = comm->peer->comm().run_async(*req);
    *out = op.release();
    return ok();
  });
}

loco_status_t loco_op_wait(loco_op_t* op, loco_op_stats_t* stats) {
  return guarded([&]() -> loco_status_t {
    if (op == nullptr) return fail(loco::InvalidArgument("op is NULL"));
    std::unique_ptr<loco_op> owned(op);
    auto r = owned->handle.wait();
    if (!r.ok()) return fail(r.status());
    fill_stats(*r, stats);
    return ok();
  });
}

loco_status_t loco_all_reduce(loco_comm_t* comm, void* buf, size_t count, loco_dtype_t dtype,
                              loco_reduce_op_t op, uint64_t tag) {
  loco_op_desc_t d;
  loco_op_desc_init(&d);
  d.kind = LOCO_ALL_REDUCE;
  d.in = buf;
  d.out = buf;
  d.count = count;
  d.dtype = dtype;
  d.op = op;
  d.tag = tag;
  return loco_collective(comm, &d, nullptr);
}

void loco_segment(size_t count, uint32_t world_size, uint32_t rank, size_t* offset, size_t* seg_count) {
  if (world_size == 0 || rank >= world_size) {
    if (offset != nullptr) *offset = 0;
    if (seg_count != nullptr) *seg_count = 0;
    return;
  }
  auto s = loco::collectives::Communicator::segment(count, world_size, rank);
  if (offset != nullptr) *offset = s.begin;
  if (seg_count != nullptr) *seg_count = s.count;
}

}  // extern "C"

// ---- shared state ----

struct loco_state {
  std::unique_ptr<loco::state::SharedState> state;
  std::unique_ptr<loco::state::StateSync> sync;
};

loco_status_t loco_state_create(loco_comm_t* comm, size_t chunk_size, loco_state_t** out) {
  return guarded([&]() -> loco_status_t {
    if (comm == nullptr || out == nullptr) return fail(loco::InvalidArgument("NULL argument"));
    *out = nullptr;
    if (comm->client == nullptr) return fail(loco::FailedPrecondition("comm is not connected"));
    if (chunk_size == 0) chunk_size = loco::state::kDefaultChunkSize;
    if (chunk_size < (4u << 10) || chunk_size > (64u << 20)) {
      return fail(loco::InvalidArgument("chunk size must be between 4 KiB and 64 MiB"));
    }
    loco::state::StateSyncOptions so =
        loco::state::state_sync_options_for(comm->options, comm->peer->data_port());
    auto sync = loco::state::StateSync::create(*comm->client, so);
    if (!sync.ok()) return fail(sync.status());
    auto st = std::make_unique<loco_state>();
    st->state = std::make_unique<loco::state::SharedState>(chunk_size);
    st->sync = std::move(sync).value();
    *out = st.release();
    return ok();
  });
}

loco_status_t loco_state_add_buffer(loco_state_t* state, const char* name, loco_dtype_t dtype,
                                    void* data, size_t count, int per_peer) {
  return guarded([&]() -> loco_status_t {
    if (state == nullptr || name == nullptr) return fail(loco::InvalidArgument("NULL argument"));
    const int t = static_cast<int>(dtype);
    if (t < 0 || t >= loco::collectives::kNumDataTypes) {
      return fail(loco::InvalidArgument("unknown dtype " + std::to_string(t)));
    }
    loco::Status s = state->state->add_buffer(name, static_cast<loco::collectives::DataType>(t),
                                              count, data, per_peer != 0);
    return s.ok() ? ok() : fail(s);
  });
}

loco_status_t loco_state_set_revision(loco_state_t* state, uint64_t revision) {
  return guarded([&]() -> loco_status_t {
    if (state == nullptr) return fail(loco::InvalidArgument("state is NULL"));
    state->state->set_revision(revision);
    return ok();
  });
}

uint64_t loco_state_revision(const loco_state_t* state) {
  return state != nullptr ? state->state->revision() : 0;
}

loco_status_t loco_state_sync(loco_state_t* state, loco_sync_strategy_t strategy, int32_t timeout_ms,
                              loco_sync_stats_t* stats) {
  return guarded([&]() -> loco_status_t {
    if (state == nullptr) return fail(loco::InvalidArgument("state is NULL"));
    const int s = static_cast<int>(strategy);
    if (s < 1 || s > 3) return fail(loco::InvalidArgument("unknown sync strategy"));
    const loco::Duration timeout = timeout_ms < 0 ? loco::Duration(std::chrono::minutes(2))
                                                  : loco::Duration(std::chrono::milliseconds(timeout_ms));
    auto r = state->sync->sync(*state->state, static_cast<loco::state::SyncStrategy>(s), timeout);
    if (!r.ok()) return fail(r.status());
    if (stats != nullptr) {
      *stats = loco_sync_stats_t{};
      stats->round = r->round;
      stats->revision = r->revision;
      stats->chunks_fetched = r->chunks_fetched;
      stats->bytes_fetched = r->bytes_fetched;
      stats->donors_used = static_cast<uint32_t>(r->chunks_by_donor.size());
      stats->bad_donors = static_cast<uint32_t>(r->bad_donors.size());
      stats->fetch_ms = r->fetch_seconds * 1000.0;
    }
    return ok();
  });
}

void loco_state_destroy(loco_state_t* state) {
  try {
    delete state;
  } catch (...) {
  }
}
