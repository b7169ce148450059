// cmd_state_worker.cc: `loco state-worker` (hidden), one peer of a shared-state swarm for the
// multi-process tests and `loco bench state`. It joins a swarm, registers a state of --mib MiB
// (u32 elements, plus a small per-peer buffer), and runs sync points until its revision reaches
// --steps: before each sync it applies a deterministic update (the same on every peer holding the
// same bytes) and advances the revision by one; a --join peer starts from zeros and syncs
// receive-only first. Failed syncs are retried (retryable statuses). After each sync it can run an
// all-reduce of its state's hash to show every peer holds the same bytes (--collective). Every
// sync is appended to --report as a JSON line. Fault hooks: --corrupt-at (flip one element before
// that revision's sync), --serve-corrupt, --serve-rate-mbps, --leave-at.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "swarm_flags.h"
#include "collectives/swarm_peer.h"
#include "commands.h"
#include "state/state_sync.h"

namespace loco::cli {
namespace {

struct StateWorkerArgs {
  SwarmFlags swarm;
  std::string report;
  int world = 1;
  double mib = 4;
  size_t chunk_kib = 4096;
  uint64_t steps = 3;
  bool join = false;
  std::string strategy = "enforce";
  int step_delay_ms = 0;
  uint64_t corrupt_at = 0;
  bool serve_corrupt = false;
  double serve_rate_mbps = 0;
  uint64_t leave_at = 0;
  bool collective = false;
  int tries = 20;
};

void update(std::vector<uint32_t>& w, uint64_t revision) {
  const uint32_t r = static_cast<uint32_t>(revision);
  for (size_t i = 0; i < w.size(); ++i) w[i] = w[i] * 1664525u + 1013904223u + r + static_cast<uint32_t>(i);
}

}  // namespace

Runner add_state_worker_command(CLI::App& app) {
  auto a = std::make_shared<StateWorkerArgs>();
  add_swarm_flags(app, a->swarm);
  app.add_option("--report", a->report, "append one JSON line per sync here")->required();
  app.add_option("--world", a->world, "wait for this many peers before the first sync");
  app.add_option("--mib", a->mib, "shared state size in MiB");
  app.add_option("--chunk-kib", a->chunk_kib, "chunk size in KiB");
  app.add_option("--steps", a->steps, "run until the revision reaches this");
  app.add_flag("--join", a->join, "start from zeros and sync receive-only first");
  app.add_option("--strategy", a->strategy, "enforce, receive or send");
  app.add_option("--step-delay-ms", a->step_delay_ms, "pause between steps");
  app.add_option("--corrupt-at", a->corrupt_at, "flip one element before this revision's sync");
  app.add_flag("--serve-corrupt", a->serve_corrupt, "serve chunks with a flipped byte (fault test)");
  app.add_option("--serve-rate-mbps", a->serve_rate_mbps, "cap this donor's sending rate (MB/s)");
  app.add_option("--leave-at", a->leave_at, "leave gracefully after this revision's sync");
  app.add_flag("--collective", a->collective, "all-reduce the state hash after each sync");
  return [a]() -> int {
    collectives::SwarmPeerOptions opts;
    if (Status s = apply_swarm_flags(a->swarm, opts); !s.ok()) {
      std::cerr << "loco state-worker: " << s.message() << "\n";
      return 2;
    }
    opts.peer.name = a->join ? "state-joiner" : "state-worker";
    auto peer = collectives::SwarmPeer::join(opts);
    if (!peer.ok()) {
      std::cerr << "loco state-worker: " << peer.status().to_string() << "\n";
      return 1;
    }
    collectives::SwarmPeer& p = **peer;
    state::StateSyncOptions so = state::state_sync_options_for(opts, p.data_port());
    auto sync = state::StateSync::create(p.client(), so);
    if (!sync.ok()) {
      std::cerr << "loco state-worker: " << sync.status().to_string() << "\n";
      return 1;
    }
    state::StateSync& ss = **sync;
    ss.server().set_corrupt_serving(a->serve_corrupt);
    ss.server().set_rate_limit(a->serve_rate_mbps * 1e6);

    const size_t count = static_cast<size_t>(a->mib * (1 << 20) / 4);
    std::vector<uint32_t> w(count, 0);
    std::vector<uint64_t> cursor{p.peer_id()};  // per-peer: e.g. a data-loader position
    if (!a->join) {
      for (size_t i = 0; i < count; ++i) w[i] = static_cast<uint32_t>(i * 2654435761u);
    }
    state::SharedState st(a->chunk_kib << 10);
    Status reg = st.add_buffer("weights", collectives::DataType::kU32, count, w.data());
    if (reg.ok()) reg = st.add_buffer("cursor", collectives::DataType::kU64, 1, cursor.data(), true);
    if (!reg.ok()) {
      std::cerr << "loco state-worker: " << reg.to_string() << "\n";
      return 2;
    }
    std::ofstream report(a->report, std::ios::app);
    auto log = [&](nlohmann::json j) {
      j["peer_id"] = p.peer_id();
      report << j.dump() << "\n" << std::flush;
    };
    Status ready = p.wait_for_world(a->join ? 1 : a->world, Deadline::after(std::chrono::seconds(60)));
    if (!ready.ok()) {
      std::cerr << "loco state-worker: " << ready.to_string() << "\n";
      return 1;
    }
    bool receive_first = a->join;
    state::SyncStrategy base = a->strategy == "send"      ? state::SyncStrategy::kSendOnly
                               : a->strategy == "receive" ? state::SyncStrategy::kReceiveOnly
                                                          : state::SyncStrategy::kEnforceMajority;
    while (st.revision() < a->steps && !stop_requested()) {
      if (!receive_first) {
        update(w, st.revision() + 1);
        st.set_revision(st.revision() + 1);
        if (st.revision() == a->corrupt_at && count > 0) w[count / 3] ^= 0x40;
      }
      const auto strategy = receive_first ? state::SyncStrategy::kReceiveOnly : base;
      Result<state::SyncResult> r = InvalidArgument("not run");
      for (int attempt = 1; attempt <= a->tries; ++attempt) {
        const TimePoint t0 = now();
        r = ss.sync(st, strategy, std::chrono::seconds(120));
        const double ms = std::chrono::duration<double, std::milli>(now() - t0).count();
        nlohmann::json j = {{"event", "sync"},
                            {"attempt", attempt},
                            {"strategy", wire::sync_strategy_name(strategy)},
                            {"status", std::string(status_code_name(r.status().code()))},
                            {"ms", ms},
                            {"revision", st.revision()},
                            {"hash", st.buffer_hash(0)},
                            {"world", p.view().world_size()}};
        if (r.ok()) {
          j["round"] = r->round;
          j["chunks_fetched"] = r->chunks_fetched;
          j["bytes_fetched"] = r->bytes_fetched;
          j["fetch_s"] = r->fetch_seconds;
          j["bad_donors"] = r->bad_donors;
          j["failed_donors"] = r->failed_donors;
          j["donors_used"] = r->chunks_by_donor.size();
        } else {
          j["message"] = r.status().message();
        }
        log(j);
        if (r.ok() || !is_retryable(r.status().code())) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!r.ok()) {
        std::cerr << "loco state-worker: sync failed: " << r.status().to_string() << "\n";
        return 3;
      }
      receive_first = false;
      if (a->collective) {
        // Every peer contributes its state hash: the sum is world * hash only if all hold it.
        const uint64_t h = st.buffer_hash(0);
        auto op = p.with_retry(
            [&]() -> Result<std::pair<uint64_t, uint64_t>> {
              uint64_t v = h;
              LOCO_ASSIGN_OR_RETURN(auto stats, p.comm().all_reduce(&v, 1, collectives::DataType::kU64,
                                                                     collectives::ReduceOp::kSum, 7));
              return std::make_pair(v, static_cast<uint64_t>(stats.world_size));
            },
            10, Deadline::after(std::chrono::seconds(60)));
        if (op.ok()) {
          const bool same = op->first == h * op->second;
          log({{"event", "collective"}, {"revision", st.revision()}, {"world", op->second},
               {"identical", same}});
        } else {
          log({{"event", "collective"}, {"revision", st.revision()},
               {"status", std::string(status_code_name(op.status().code()))}});
        }
      }
      if (a->leave_at != 0 && st.revision() >= a->leave_at) break;
      if (a->step_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(a->step_delay_ms));
    }
    log({{"event", "finished"}, {"revision", st.revision()}});
    p.leave("finished");
    return 0;
  };
}

}  // namespace loco::cli
