// state_sync_plan.cc: majority and fetch plan of a shared-state sync (see state_sync_plan.h).
// Pure and deterministic: the same reports give the same plans.
#include "membership/state_sync_plan.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>

namespace loco::membership {
namespace {

using wire::SyncStrategy;

bool votes(const SyncParticipant& p) { return p.report.strategy != SyncStrategy::kReceiveOnly; }

// The most common value among `values` (in ring order); ties go to `prefer(a, b)` true for a.
template <class T, class Prefer>
T most_common(const std::vector<T>& values, Prefer prefer) {
  std::map<T, size_t> counts;
  for (const T& v : values) ++counts[v];
  T best = values.front();
  size_t best_n = counts[best];
  for (const T& v : values) {
    const size_t n = counts[v];
    if (n > best_n || (n == best_n && prefer(v, best))) {
      best = v;
      best_n = n;
    }
  }
  return best;
}

wire::StatePlan refuse(const SyncParticipant& p, uint64_t round, StatusCode code, std::string why) {
  wire::StatePlan plan;
  plan.report_id = p.report.report_id;
  plan.round = round;
  plan.code = code;
  plan.message = std::move(why);
  return plan;
}

}  // namespace

std::vector<wire::StatePlan> plan_state_sync(const std::vector<SyncParticipant>& peers,
                                             std::optional<uint64_t> last_revision,
                                             uint64_t round) {
  const size_t n = peers.size();
  std::vector<wire::StatePlan> plans(n);
  auto refuse_all = [&](const std::string& why) {
    for (size_t i = 0; i < n; ++i) {
      plans[i] = refuse(peers[i], round, StatusCode::kFailedPrecondition, why);
    }
    return plans;
  };

  // Layout.
  using Layout = std::pair<uint64_t, size_t>;
  std::vector<Layout> layouts;
  for (const auto& p : peers) {
    if (votes(p)) layouts.emplace_back(p.report.layout_digest, p.report.chunk_hashes.size());
  }
  if (layouts.empty()) {
    return refuse_all("no peer in the round holds state to copy from (every peer is receive-only)");
  }
  const Layout layout = most_common(layouts, [](const Layout&, const Layout&) { return false; });
  std::vector<bool> ok(n, true);
  for (size_t i = 0; i < n; ++i) {
    const auto& r = peers[i].report;
    if (Layout{r.layout_digest, r.chunk_hashes.size()} != layout) {
      ok[i] = false;
      plans[i] = refuse(peers[i], round, StatusCode::kFailedPrecondition,
                        "this peer's state layout (buffers, types, sizes, chunk size) differs "
                        "from the majority's");
    }
  }

  // Target revision.
  std::vector<uint64_t> revisions;
  for (size_t i = 0; i < n; ++i) {
    if (ok[i] && votes(peers[i])) revisions.push_back(peers[i].report.revision);
  }
  const uint64_t target =
      most_common(revisions, [](uint64_t a, uint64_t b) { return a > b; });
  if (last_revision && target != *last_revision && target != *last_revision + 1) {
    return refuse_all("the majority's revision " + std::to_string(target) +
                      " is neither the swarm's last revision " + std::to_string(*last_revision) +
                      " nor the next one (revisions advance by one per sync)");
  }
  for (size_t i = 0; i < n; ++i) {
    if (ok[i] && votes(peers[i]) && peers[i].report.revision > target) {
      ok[i] = false;
      plans[i] = refuse(peers[i], round, StatusCode::kFailedPrecondition,
                        "revision " + std::to_string(peers[i].report.revision) +
                            " is ahead of the swarm's revision " + std::to_string(target));
    }
  }

  // Truth per chunk, from voters at the target revision.
  std::vector<size_t> voters;
  for (size_t i = 0; i < n; ++i) {
    if (ok[i] && votes(peers[i]) && peers[i].report.revision == target) voters.push_back(i);
  }
  const size_t chunks = layout.second;
  std::vector<uint64_t> truth(chunks);
  {
    std::vector<uint64_t> hashes(voters.size());
    for (size_t c = 0; c < chunks; ++c) {
      for (size_t v = 0; v < voters.size(); ++v) hashes[v] = peers[voters[v]].report.chunk_hashes[c];
      truth[c] = most_common(hashes, [](uint64_t, uint64_t) { return false; });
    }
  }

  // Donors: every voting peer still in the round.
  std::vector<size_t> donor_ids;  // participant indices
  for (size_t i = 0; i < n; ++i) {
    if (ok[i] && votes(peers[i])) donor_ids.push_back(i);
  }
  std::vector<uint64_t> load(n, 0);

  for (size_t i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    const auto& mine = peers[i].report.chunk_hashes;
    std::vector<uint32_t> stale;
    for (size_t c = 0; c < chunks; ++c) {
      if (mine[c] != truth[c]) stale.push_back(static_cast<uint32_t>(c));
    }
    if (peers[i].report.strategy == SyncStrategy::kSendOnly && !stale.empty()) {
      plans[i] = refuse(peers[i], round, StatusCode::kFailedPrecondition,
                        "send-only peer differs from the majority in " +
                            std::to_string(stale.size()) + " chunks");
      continue;
    }
    wire::StatePlan& plan = plans[i];
    plan.report_id = peers[i].report.report_id;
    plan.round = round;
    plan.code = StatusCode::kOk;
    plan.revision = target;
    std::map<size_t, uint16_t> donor_index;  // participant -> index in plan.donors
    for (uint32_t c : stale) {
      std::vector<size_t> holders;
      for (size_t d : donor_ids) {
        if (d != i && peers[d].report.chunk_hashes[c] == truth[c]) holders.push_back(d);
      }
      // Ring distance from the receiver breaks ties, so receivers start at different donors.
      auto distance = [&](size_t d) { return (d + n - i) % n; };
      std::sort(holders.begin(), holders.end(), [&](size_t a, size_t b) {
        if (load[a] != load[b]) return load[a] < load[b];
        return distance(a) < distance(b);
      });
      if (holders.size() > wire::kMaxChunkCandidates) holders.resize(wire::kMaxChunkCandidates);
      if (holders.empty()) continue;  // cannot happen: a voter holds the truth; kept for safety
      ++load[holders.front()];
      wire::ChunkFetch fetch;
      fetch.chunk = c;
      fetch.hash = truth[c];
      for (size_t d : holders) {
        auto [it, added] = donor_index.emplace(d, static_cast<uint16_t>(plan.donors.size()));
        if (added) {
          plan.donors.push_back(
              wire::StateDonor{peers[d].peer_id, peers[d].host, peers[d].report.serve_port});
        }
        fetch.donors.push_back(it->second);
      }
      plan.fetches.push_back(std::move(fetch));
    }
  }
  return plans;
}

}  // namespace loco::membership
