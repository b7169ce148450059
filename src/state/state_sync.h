// state_sync.h: one peer's side of a shared-state sync point. sync() hashes the state's chunks,
// opens them for serving, reports (revision, layout digest, hashes) to the coordinator, fetches
// the chunks its plan names from several donors in parallel (chunk_fetcher.h), reports done, and
// keeps serving until the coordinator says every participant is done (STATE_COMPLETE). Then every
// peer whose sync returned OK holds bit-identical shared buffers at the same revision.
//
// The caller must not modify the state's buffers during sync() (it blocks). Every member of the
// epoch must call sync() for a round to start (a joiner waits for the others' next sync).
// Not here: the majority rules (membership/state_sync_plan.h), the transfer (chunk_*.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectives/swarm_peer.h"
#include "membership/peer.h"
#include "state/chunk_fetcher.h"
#include "state/chunk_server.h"
#include "state/shared_state.h"
#include "wire/state_messages.h"

namespace loco::state {

using wire::SyncStrategy;

struct StateSyncOptions {
  std::string listen_host = "127.0.0.1";  // where this peer serves chunks (its data host)
  uint16_t listen_port = 0;
  uint16_t listen_port_last = 0;  // > listen_port: the first free port of the range
  // Added to the chunk server's port in what other peers are told to dial: a NAT or port mapping
  // that shifts the data-plane port (--advertise HOST:PORT) shifts this one by as much.
  int32_t serve_port_offset = 0;
  std::optional<StateKey> key;            // the swarm key; chunk links are authenticated when set
  bool encrypt = true;                    // with a key: false seals chunk links for integrity only
  transport::TcpOptions tcp;
  size_t pipeline_depth = 2;
};

struct SyncResult {
  uint64_t round = 0;
  uint64_t revision = 0;  // the state's revision after the sync
  size_t chunks_fetched = 0;
  size_t bytes_fetched = 0;
  double fetch_seconds = 0;
  std::vector<uint64_t> bad_donors;     // reported to the coordinator
  std::vector<uint64_t> failed_donors;  // broke or were unreachable; the fetch went on without them
  std::map<uint64_t, size_t> chunks_by_donor;
};

// The chunk server's options for a peer joined with `swarm` whose data plane listens on
// `data_port`: the same address and port range (the chunk server takes the next free port), the
// swarm key, and the advertised port's shift.
StateSyncOptions state_sync_options_for(const collectives::SwarmPeerOptions& swarm,
                                        uint16_t data_port);

class StateSync {
 public:
  // Starts the chunk server. UNAVAILABLE / FAILED_PRECONDITION from listening.
  static Result<std::unique_ptr<StateSync>> create(membership::PeerClient& client,
                                                   StateSyncOptions options);
  ~StateSync();

  // Runs one sync point. Statuses:
  //  OK                  the state equals the majority's, at the round's revision
  //  FAILED_PRECONDITION this peer's revision is ahead of the swarm's, its layout differs, it is
  //                      send-only and differs, the majority's revision skips one, or no peer
  //                      holds state (the message says which); the state is untouched
  //  UNAVAILABLE         the coordinator was lost, or every donor of some chunk failed: retry
  //                      (chunks being fetched may hold partial bytes; the revision is unchanged)
  //  DEADLINE_EXCEEDED   the round did not start or finish within `timeout` (e.g. a member never
  //                      called sync)
  //  INVALID_ARGUMENT    the state is empty of buffers
  Result<SyncResult> sync(SharedState& state, SyncStrategy strategy = SyncStrategy::kEnforceMajority,
                          Duration timeout = std::chrono::seconds(120));

  ChunkServer& server() { return *server_; }

 private:
  StateSync(membership::PeerClient& client, StateSyncOptions options)
      : client_(client), options_(std::move(options)) {}
  membership::PeerClient& client_;
  StateSyncOptions options_;
  std::unique_ptr<ChunkServer> server_;
  uint64_t next_report_ = 1;
};

}  // namespace loco::state
