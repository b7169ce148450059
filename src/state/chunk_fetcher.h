// chunk_fetcher.h: the receiver side of a shared-state transfer: fetches a set of chunks from
// several donors in parallel, verifies each chunk's XXH3 against the majority's hash, and fails
// over. One thread and one authenticated TCP connection per donor; each keeps `pipeline_depth`
// requests in flight, so the donor is sending the next chunk while this side hashes the last.
// A worker serves first the chunks whose preferred donor is its donor, then takes over (steals)
// any pending chunk its donor can also serve, so fast donors do more.
//
// Failures: a donor whose connection breaks is dropped and its chunks in flight are fetched from
// the others; a donor that answers "not held" is skipped for that chunk only; a donor whose bytes
// do not hash to the expected value is dropped, its bytes discarded (overwritten by the refetch),
// and it is named in `bad_donors`. The fetch fails (UNAVAILABLE, retryable) only when some chunk
// has no donor left, or at the deadline (DEADLINE_EXCEEDED). Chunks are received in place: on
// failure, chunks that were being fetched may hold partial bytes (they were stale anyway).
// Not here: who holds what (the plan), serving (chunk_server.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/status.h"
#include "state/chunk_messages.h"
#include "transport/tcp.h"

namespace loco::state {

struct FetchDonor {
  uint64_t peer_id = 0;
  std::string host;
  uint16_t port = 0;
};

struct FetchChunk {
  uint32_t chunk = 0;
  uint64_t hash = 0;
  MutableByteSpan dest;        // where the bytes go; its size is the chunk's length
  std::vector<uint16_t> donors;  // indices into the donor list, preferred first
};

struct FetchOptions {
  uint64_t my_peer_id = 0;
  std::optional<StateKey> key;  // swarm key: connections are authenticated and sealed when set
  bool encrypt = true;          // with a key: false seals for integrity only
  transport::TcpOptions tcp;
  size_t pipeline_depth = 2;
  Duration connect_timeout = std::chrono::seconds(5);
};

struct FetchReport {
  Status status;
  std::vector<uint64_t> bad_donors;     // served bytes not matching the hash
  std::vector<uint64_t> failed_donors;  // unreachable or broke mid-transfer
  size_t chunks = 0;
  size_t bytes = 0;
  std::map<uint64_t, size_t> chunks_by_donor;  // peer id -> chunks it delivered
};

FetchReport fetch_chunks(const std::vector<FetchDonor>& donors, std::vector<FetchChunk> chunks,
                         const FetchOptions& options, Deadline deadline);

}  // namespace loco::state
