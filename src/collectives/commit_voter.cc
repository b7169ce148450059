// commit_voter.cc: LocalVoter (see commit_voter.h).
#include "collectives/commit_voter.h"

#include <string>

namespace loco::collectives {

void LocalVoter::set_members(uint64_t epoch, size_t members) {
  std::lock_guard<std::mutex> lock(mu_);
  members_[epoch] = members;
  cv_.notify_all();
}

void LocalVoter::abort(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_.insert(epoch);
  cv_.notify_all();
}

Status LocalVoter::vote(const wire::OpId& op, Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  ++votes_[op];
  cv_.notify_all();
  auto decided = [&] {
    if (aborted_.count(op.epoch) != 0) return true;
    auto m = members_.find(op.epoch);
    return m != members_.end() && votes_[op] >= m->second;
  };
  if (deadline.is_never()) {
    cv_.wait(lock, decided);
  } else if (!cv_.wait_until(lock, deadline.when(), decided)) {
    return DeadlineExceeded("commit vote on epoch " + std::to_string(op.epoch) + " timed out");
  }
  if (aborted_.count(op.epoch) != 0) {
    return Aborted("epoch " + std::to_string(op.epoch) + " aborted before the commit");
  }
  return OkStatus();
}

}  // namespace loco::collectives
