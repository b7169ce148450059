// state_messages.h: the control-plane messages of a shared-state sync (peer <-> coordinator) and
// their payload codecs. A sync round goes:
//   peer -> coordinator  STATE_REPORT   {report id, strategy, revision, layout digest, serve port,
//                                        one XXH3-64 hash per chunk}
//   coordinator -> peer  STATE_PLAN     {report id, round, status, target revision, donors,
//                                        chunks to fetch with their hash and candidate donors}
//   peer -> coordinator  STATE_DONE     {round, status, donors that served bad bytes}
//   coordinator -> peer  STATE_COMPLETE {round}: every participant is done; donors may stop serving
// The chunk bytes themselves go peer to peer (state/chunk_messages.h), never through the
// coordinator. Decoders treat input as untrusted: any short, long or out-of-range payload is
// DATA_LOSS, never a crash or an unbounded allocation. Meaning and order: docs/protocol.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "wire/messages.h"

namespace loco::wire {

// At most this many chunks in one shared state (a report is then 512 KiB of hashes, within
// kMaxControlPayload).
inline constexpr uint32_t kMaxStateChunks = 65536;
// At most this many candidate donors per chunk in a plan.
inline constexpr uint32_t kMaxChunkCandidates = 8;

enum class SyncStrategy : uint8_t {
  kEnforceMajority = 1,  // vote with my content, fetch what differs from the majority
  kReceiveOnly = 2,      // do not vote or serve; fetch everything that differs (a joining peer)
  kSendOnly = 3,         // vote and serve, never fetch (a mismatch is FAILED_PRECONDITION)
};
const char* sync_strategy_name(SyncStrategy s);

struct StateReport {
  uint64_t report_id = 0;  // chosen by the peer; echoed in the plan
  SyncStrategy strategy = SyncStrategy::kEnforceMajority;
  uint64_t revision = 0;
  uint64_t layout_digest = 0;  // names, types, sizes, per-peer flags and chunk size
  uint16_t serve_port = 0;     // where this peer serves chunks (its data host, see Member)
  std::vector<uint64_t> chunk_hashes;
  Bytes encode() const;
};
Result<StateReport> decode_state_report(ByteSpan payload);

struct StateDonor {
  uint64_t peer_id = 0;
  std::string host;
  uint16_t port = 0;
  friend bool operator==(const StateDonor&, const StateDonor&) = default;
};

struct ChunkFetch {
  uint32_t chunk = 0;
  uint64_t hash = 0;                // the majority's hash: what the fetched bytes must hash to
  std::vector<uint16_t> donors;     // indices into StatePlan::donors, preferred first
  friend bool operator==(const ChunkFetch&, const ChunkFetch&) = default;
};

struct StatePlan {
  uint64_t report_id = 0;
  uint64_t round = 0;
  StatusCode code = StatusCode::kOk;  // not OK: this peer takes no part in the round (message says why)
  std::string message;
  uint64_t revision = 0;  // the revision every peer holds after the round
  std::vector<StateDonor> donors;
  std::vector<ChunkFetch> fetches;  // empty: in sync
  Bytes encode() const;
};
Result<StatePlan> decode_state_plan(ByteSpan payload);

struct StateDone {
  uint64_t round = 0;
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::vector<uint64_t> bad_donors;  // peers that served bytes not matching the hash
  Bytes encode() const;
};
Result<StateDone> decode_state_done(ByteSpan payload);

struct StateComplete {
  uint64_t round = 0;
  Bytes encode() const;
};
Result<StateComplete> decode_state_complete(ByteSpan payload);

}  // namespace loco::wire
