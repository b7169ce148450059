// state_sync_plan.h: the coordinator's decision at a shared-state sync point, as a pure function.
// Input: every participant's report (ring order) and the swarm's last agreed revision; output:
// one plan per participant. No I/O, no clock; unit tested in tests/unit/state/plan_test.cc.
//
// Rules (docs/protocol.md, docs/fault-model.md):
//  - Voting peers are those that are not receive-only. No voting peer: every plan is
//    FAILED_PRECONDITION (there is nothing to copy from).
//  - Layout: the most common (layout digest, chunk count) among voting peers wins (a tie goes to
//    the one held by the earliest peer in ring order). Any peer with another layout gets
//    FAILED_PRECONDITION: fetching chunks cannot fix a different set of buffers.
//  - Revision: the target T is the most common revision among voting peers of that layout (a tie
//    goes to the higher revision). With a last agreed revision L, T must be L or L + 1 (revisions
//    advance by one per sync; T == L is a repeated sync, e.g. for a joiner or after a retry);
//    otherwise every plan is FAILED_PRECONDITION. A voting peer whose revision is above T gets
//    FAILED_PRECONDITION ("ahead of the swarm") and is neither a voter nor a donor.
//  - Content: per chunk, the most common hash among voting peers at revision T is the truth (a
//    tie goes to the hash of the earliest such peer in ring order).
//  - Donors of a chunk: every voting peer (any revision up to T) whose hash equals the truth.
//  - Each peer fetches exactly the chunks whose hash differs from the truth. A send-only peer
//    that differs gets FAILED_PRECONDITION instead. Each fetch names up to kMaxChunkCandidates
//    donors: first the donor with the least load so far in this round (chunks assigned to it over
//    all receivers; ties rotate from the receiver's ring position, so receivers start at
//    different donors), then the others by load. Receivers fall back along that list.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "wire/state_messages.h"

namespace loco::membership {

struct SyncParticipant {
  uint64_t peer_id = 0;
  std::string host;  // data host (where its chunk server listens, with report.serve_port)
  wire::StateReport report;
};

// Plans one round. `round` is stamped into every plan; report ids are echoed.
std::vector<wire::StatePlan> plan_state_sync(const std::vector<SyncParticipant>& peers,
                                             std::optional<uint64_t> last_revision, uint64_t round);

}  // namespace loco::membership
