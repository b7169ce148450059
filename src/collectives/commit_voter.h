// commit_voter.h: the commit step of a collective. After this peer's part of an operation is
// complete and its result staged, the communicator asks a CommitVoter whether every member of the
// epoch completed it too; only on OK is the result copied into the caller's buffer. In a swarm the
// voter is the peer client: it sends OP_DONE to the coordinator and returns OK on OP_COMMIT, or
// ABORTED when a new epoch arrives first (membership/coordinator_state.h: either every survivor
// commits or none does). The voter's answer is final: the communicator never commits on its own.
//
// Also here: ImmediateVoter (no arbitration: a single process, or data-plane benchmarks) and
// LocalVoter (in-process peers, for tests and threads sharing one process: a barrier per operation
// that can be aborted per epoch). Not here: networking.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include "common/clock.h"
#include "common/status.h"
#include "wire/messages.h"

namespace loco::collectives {

class CommitVoter {
 public:
  virtual ~CommitVoter() = default;
  // OK: every member of op.epoch completed `op`, commit it. ABORTED: the epoch changed first.
  // Anything else (DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED): do not commit.
  virtual Status vote(const wire::OpId& op, Deadline deadline) = 0;
};

// Commits at once. Without an arbiter a failure after local completion can leave peers disagreeing
// about whether an operation committed; use only where that cannot matter.
class ImmediateVoter final : public CommitVoter {
 public:
  Status vote(const wire::OpId&, Deadline) override { return OkStatus(); }
};

// A barrier per operation among the members of each epoch, in one process.
class LocalVoter final : public CommitVoter {
 public:
  // How many votes commit an operation of `epoch` (must be set before its votes arrive).
  void set_members(uint64_t epoch, size_t members);
  // Pending and future votes of `epoch` return ABORTED.
  void abort(uint64_t epoch);
  Status vote(const wire::OpId& op, Deadline deadline) override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, size_t> members_;
  std::set<uint64_t> aborted_;
  std::map<wire::OpId, size_t> votes_;
};

}  // namespace loco::collectives
