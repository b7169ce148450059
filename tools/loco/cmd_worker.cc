// cmd_worker.cc: `loco worker`, a collective worker for multi-process and fault tests. It joins a
// swarm, waits for a world of --world peers, then runs --ops all-reduces (fp32 sum) of --count
// elements whose exact result every peer can compute (inputs are small integers derived from each
// member's peer id), verifying each result. A failed operation is checked to have left the buffer
// untouched and is retried in the next epoch. Every attempt is appended to --report as a JSON line.
//
// Fault-test hook: with LOCO_TEST_KILL_AT=RANK:OP:PHASE in the environment (PHASE is
// reduce-scatter or all-gather), the worker that has ring rank RANK in the first attempt of
// operation OP (0-based) logs a "self_kill" line and SIGKILLs itself when a piece of the middle step
// of that phase arrives, so a test can kill a peer in a chosen phase deterministically.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "swarm_flags.h"
#include "collectives/swarm_peer.h"
#include "commands.h"

namespace loco::cli {

namespace {

struct WorkerArgs {
  SwarmFlags swarm;
  std::string report;
  int world = 2;
  size_t count = 1 << 20;
  int ops = 10;
  int op_delay_ms = 0;
  size_t stripes = 2;
};

// A peer's input depends only on its id and the element index, so every peer can compute the exact
// sum for any membership, even when a late joiner is at a different iteration than the others.
float contribution(uint64_t peer_id, int /*iter*/, size_t i) {
  return static_cast<float>((peer_id * 7 + i % 13) % 64);
}

struct KillAt {
  size_t rank = 0;
  int op = 0;
  bool all_gather = false;  // else reduce-scatter
};

std::optional<KillAt> kill_at_from_env() {
  const char* env = std::getenv("LOCO_TEST_KILL_AT");
  if (env == nullptr) return std::nullopt;
  const std::string text = env;
  const size_t a = text.find(':');
  const size_t b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) return std::nullopt;
  KillAt k;
  try {
    k.rank = std::stoul(text.substr(0, a));
    k.op = std::stoi(text.substr(a + 1, b - a - 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string phase = text.substr(b + 1);
  if (phase != "reduce-scatter" && phase != "all-gather") return std::nullopt;
  k.all_gather = phase == "all-gather";
  return k;
}

// Installs the LOCO_TEST_KILL_AT hook. `iter` and `attempt` are the worker's current operation
// and attempt; `report` is the --report path (appended with O_APPEND, one write per line).
void install_kill_hook(collectives::CommunicatorOptions& comm, const KillAt& k,
                       std::shared_ptr<std::atomic<int>> iter, std::shared_ptr<std::atomic<int>> attempt,
                       const std::string& report) {
  comm.test_on_piece = [k, iter, attempt, report](const collectives::PieceEvent& e) {
    if (e.kind != collectives::OpKind::kAllReduce || e.rank != k.rank || iter->load() != k.op ||
        attempt->load() != 1) {
      return;
    }
    const size_t rs_steps = e.world - 1;  // all-gather steps: as many, after these
    const size_t step = (k.all_gather ? rs_steps : 0) + rs_steps / 2;
    if (e.step != step) return;
    nlohmann::json j = {{"event", "self_kill"}, {"iter", k.op}, {"rank", e.rank},
                        {"phase", k.all_gather ? "all-gather" : "reduce-scatter"},
                        {"step", e.step}, {"steps", e.num_steps}, {"epoch", e.op.epoch}};
    const std::string line = j.dump() + "\n";
    const int fd = ::open(report.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
      ::close(fd);
    }
    ::raise(SIGKILL);
  };
}

}  // namespace

Runner add_worker_command(CLI::App& app) {
  auto args = std::make_shared<WorkerArgs>();
  add_swarm_flags(app, args->swarm);
  app.add_option("--report", args->report, "append one JSON line per attempt here")->required();
  app.add_option("--world", args->world, "wait for this many peers before the first operation")->capture_default_str();
  app.add_option("--count", args->count, "fp32 elements per all-reduce")->capture_default_str();
  app.add_option("--ops", args->ops, "operations to complete")->capture_default_str();
  app.add_option("--op-delay-ms", args->op_delay_ms, "pause between operations")->capture_default_str();
  app.add_option("--stripes", args->stripes, "TCP connections per ring link")->capture_default_str();
  return [args]() -> int {
    collectives::SwarmPeerOptions opts;
    if (Status s = apply_swarm_flags(args->swarm, opts); !s.ok()) {
      std::cerr << "loco worker: " << s.message() << "\n";
      return 2;
    }
    auto epochs = std::make_shared<std::map<uint64_t, std::vector<uint64_t>>>();
    auto mu = std::make_shared<std::mutex>();
    opts.mesh.stripes = args->stripes;
    auto cur_iter = std::make_shared<std::atomic<int>>(-1);
    auto cur_attempt = std::make_shared<std::atomic<int>>(0);
    if (std::getenv("LOCO_TEST_KILL_AT") != nullptr) {
      auto k = kill_at_from_env();
      if (!k) {
        std::cerr << "loco worker: bad LOCO_TEST_KILL_AT (want RANK:OP:reduce-scatter|all-gather)\n";
        return 2;
      }
      install_kill_hook(opts.comm, *k, cur_iter, cur_attempt, args->report);
    }
    opts.peer.on_epoch = [epochs, mu](const membership::MembershipView& v) {
      std::lock_guard<std::mutex> lock(*mu);
      auto& ids = (*epochs)[v.epoch];
      for (const auto& m : v.members) ids.push_back(m.peer_id);
    };
    auto peer = collectives::SwarmPeer::join(opts);
    if (!peer.ok()) {
      std::cerr << "loco worker: " << peer.status().to_string() << "\n";
      return 1;
    }
    collectives::SwarmPeer& p = **peer;
    std::ofstream report(args->report, std::ios::app);
    auto log = [&](nlohmann::json j) {
      j["peer_id"] = p.peer_id();
      report << j.dump() << "\n" << std::flush;
    };
    Status ready = p.wait_for_world(args->world, Deadline::after(std::chrono::seconds(60)));
    if (!ready.ok()) {
      std::cerr << "loco worker: " << ready.to_string() << "\n";
      return 1;
    }
    std::vector<float> buf(args->count), before(args->count);
    for (int iter = 0; iter < args->ops; ++iter) {
      for (size_t i = 0; i < buf.size(); ++i) buf[i] = contribution(p.peer_id(), iter, i);
      before = buf;
      for (int attempt = 1;; ++attempt) {
        const uint64_t epoch = p.view().epoch;
        cur_iter->store(iter);
        cur_attempt->store(attempt);
        log({{"event", "start"}, {"iter", iter}, {"attempt", attempt}, {"epoch", epoch}});
        const TimePoint t0 = now();
        auto r = p.comm().all_reduce(buf.data(), buf.size(), collectives::DataType::kF32,
                                     collectives::ReduceOp::kSum, /*tag=*/1);
        const double ms = std::chrono::duration<double, std::milli>(now() - t0).count();
        if (r.ok()) {
          std::vector<uint64_t> members;
          {
            std::lock_guard<std::mutex> lock(*mu);
            members = (*epochs)[r->op.epoch];
          }
          bool verified = !members.empty();
          for (size_t i = 0; i < buf.size() && verified; ++i) {
            float expect = 0;
            for (uint64_t id : members) expect += contribution(id, iter, i);
            verified = buf[i] == expect;
          }
          log({{"event", "done"}, {"iter", iter}, {"attempt", attempt}, {"status", "OK"},
               {"epoch", r->op.epoch}, {"world", r->world_size}, {"ms", ms},
               {"verified", verified}});
          if (!verified) return 4;
          break;
        }
        const bool untouched = std::memcmp(buf.data(), before.data(), buf.size() * 4) == 0;
        log({{"event", "done"}, {"iter", iter}, {"attempt", attempt},
             {"status", std::string(status_code_name(r.status().code()))},
             {"message", r.status().message()}, {"epoch", epoch}, {"ms", ms},
             {"untouched", untouched}});
        if (!untouched) return 5;
        if (!is_retryable(r.status().code()) || attempt >= 20) return 6;
        Status next = p.wait_next_epoch(epoch, Deadline::after(std::chrono::seconds(30)));
        if (!next.ok()) {
          std::cerr << "loco worker: " << next.to_string() << "\n";
          return 3;
        }
      }
      if (args->op_delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(args->op_delay_ms));
      }
    }
    log({{"event", "finished"}});
    p.leave("finished");
    return 0;
  };
}

}  // namespace loco::cli
