// cmd_bench_launch.cc: the launchers of `loco bench allreduce`. run_loco hosts a coordinator on
// loopback (with a fresh secret when the run is sealed) and starts N `loco bench-worker` processes
// (cmd_bench_worker.cc); run_gloo starts N
// loco_bench_gloo ranks (Gloo's AllreduceRingChunked over TCP, FileStore rendezvous in a fresh
// folder); run_mpi runs loco_bench_mpi under mpirun, over TCP on loopback or with Open MPI's
// defaults (shared memory). Each waits for its processes and collects their per-rank JSON.
// Baseline binaries are looked up in --baseline-dir, $LOCO_BENCH_DIR, next to `loco`, then in the
// build tree's bench/ folder. Not here: statistics and the table (cmd_bench_report.cc), the
// baselines' code (bench/).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli_util.h"
#include "cmd_bench_allreduce.h"
#include "common/process.h"
#include "membership/auth.h"
#include "membership/coordinator.h"

namespace loco::cli::bench_allreduce {

namespace fs = std::filesystem;

namespace {

Deadline deadline(const BenchArgs& args) { return Deadline::after(std::chrono::seconds(args.timeout_s)); }

std::string find_program(const std::string& name, const BenchArgs& args) {
  std::vector<fs::path> dirs;
  if (!args.baseline_dir.empty()) dirs.emplace_back(args.baseline_dir);
  if (const char* env = std::getenv("LOCO_BENCH_DIR")) dirs.emplace_back(env);
  const fs::path self = fs::path(self_executable()).parent_path();
  dirs.push_back(self);
  dirs.push_back(self / ".." / ".." / "bench");  // build/tools/loco/loco -> build/bench
  for (const auto& d : dirs) {
    fs::path p = d / name;
    if (::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p)) return p.lexically_normal().string();
  }
  return "";
}

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

std::string log_tail(const fs::path& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (all.size() > 600) all = "..." + all.substr(all.size() - 600);
  return all;
}

// Waits for every child; false (with `note` set) if one failed or the deadline passed. The child
// at `expected_dead` (fault mode) may die by signal.
bool wait_all(std::vector<ChildProcess>& children, Deadline deadline, const fs::path& log_prefix,
              std::string& note, int expected_dead = -1) {
  bool ok = true;
  for (size_t i = 0; i < children.size(); ++i) {
    auto info = children[i].wait(deadline);
    if (static_cast<int>(i) == expected_dead) continue;
    if (!info.ok() || !info->exited || info->code != 0) {
      if (ok) {
        note = "process " + std::to_string(i) + ": " +
               (info.ok() ? info->to_string() : info.status().to_string()) + "; log " +
               log_prefix.string() + "." + std::to_string(i) + ".log: " +
               log_tail(log_prefix.string() + "." + std::to_string(i) + ".log");
      }
      ok = false;
    }
  }
  if (!ok) {
    for (auto& c : children) c.signal(SIGKILL).ignore();
  }
  return ok;
}

// Reads <prefix>.<i>.json for i in [0, n).
bool read_rank_files(const fs::path& prefix, int n, SystemRun& run) {
  for (int i = 0; i < n; ++i) {
    std::ifstream f(prefix.string() + "." + std::to_string(i) + ".json");
    nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("results")) {
      run.state = "failed";
      run.note = "no result file from process " + std::to_string(i);
      return false;
    }
    run.ranks.push_back(std::move(j));
  }
  return true;
}

}  // namespace

std::optional<Seal> parse_seal(const std::string& text) {
  if (text == "off") return Seal::kOff;
  if (text == "on") return Seal::kEncrypt;
  if (text == "auth-only") return Seal::kAuthOnly;
  return std::nullopt;
}

const char* loco_system_name(Seal seal) {
  switch (seal) {
    case Seal::kOff: return "loco";
    case Seal::kEncrypt: return "loco+seal";
    case Seal::kAuthOnly: return "loco+auth";
  }
  return "loco";
}

SystemRun run_loco(const LaunchContext& ctx, TimePoint* kill_time, Seal seal) {
  const BenchArgs& args = ctx.args;
  const std::string name = loco_system_name(seal);
  SystemRun run{name, "ok", "", {}};
  membership::CoordinatorOptions opts;
  opts.config.heartbeat_period = std::chrono::milliseconds(args.heartbeat_ms);
  opts.config.heartbeat_timeout = std::chrono::milliseconds(args.heartbeat_timeout_ms);
  const std::string secret_file = (ctx.dir / (name + ".secret")).string();
  if (seal != Seal::kOff) {
    // A fresh secret per run: with it every connection is sealed (docs/protocol.md 2.2).
    Status written = membership::write_new_secret_file(secret_file, /*overwrite=*/true);
    if (!written.ok()) return {name, "failed", written.to_string(), {}};
    auto key = membership::load_swarm_key(secret_file);
    if (!key.ok() || !*key) return {name, "failed", "cannot read back " + secret_file, {}};
    opts.key = **key;
    opts.encrypt = seal == Seal::kEncrypt;
  }
  auto coord = membership::Coordinator::start(opts);
  if (!coord.ok()) return {name, "failed", coord.status().to_string(), {}};
  const fs::path prefix = ctx.dir / name;
  const std::string kill_request = (ctx.dir / "kill-request").string();
  const std::string all_done = (ctx.dir / "all-done").string();
  std::vector<ChildProcess> children;
  for (int i = 0; i < args.peers; ++i) {
    std::vector<std::string> argv = {
        self_executable(), "--log-level", "warn", "bench-worker", "--coordinator",
        "127.0.0.1:" + std::to_string((*coord)->port()), "--out", prefix.string(), "--index",
        std::to_string(i), "--world", std::to_string(args.peers), "--sizes", ctx.sizes_text,
        "--warmup", std::to_string(args.warmup), "--iters", std::to_string(args.iters),
        "--stripes", std::to_string(args.stripes), "--piece-bytes", std::to_string(args.piece_bytes),
        "--all-done", all_done};
    if (args.out_of_place) argv.push_back("--out-of-place");
    argv.insert(argv.end(), {"--payload-checksum", args.payload_checksum});
    if (seal != Seal::kOff) argv.insert(argv.end(), {"--secret-file", secret_file});
    if (seal == Seal::kAuthOnly) argv.push_back("--no-encrypt");
    if (args.kill_peer >= 0) {
      argv.insert(argv.end(), {"--victim-rank", std::to_string(args.kill_peer), "--victim-op",
                               std::to_string(args.at_op), "--kill-request", kill_request});
    }
    auto child = ChildProcess::spawn(argv, prefix.string() + "." + std::to_string(i) + ".log");
    if (!child.ok()) return {name, "failed", child.status().to_string(), {}};
    children.push_back(std::move(child).value());
  }
  int victim = -1;
  bool done = false;
  const Deadline until = deadline(args);
  // Kill the victim as soon as it asks (fault mode); tell the workers they may leave once every
  // live one has written its results.
  while (!done && !until.expired() && !stop_requested()) {
    if (args.kill_peer >= 0 && victim < 0 && fs::exists(kill_request)) {
      std::ifstream req(kill_request);
      req >> victim;
      if (victim < 0 || victim >= args.peers) victim = -1;
      if (victim >= 0) {
        if (kill_time != nullptr) *kill_time = now();
        children[static_cast<size_t>(victim)].signal(SIGKILL).ignore();
      }
    }
    done = args.kill_peer < 0 || victim >= 0;
    for (int i = 0; i < args.peers && done; ++i) {
      done = i == victim || fs::exists(prefix.string() + "." + std::to_string(i) + ".json");
    }
    if (done) std::ofstream(all_done) << "1\n";
    bool any_running = false;
    for (auto& c : children) any_running |= c.running();
    if (!any_running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string note;
  if (!wait_all(children, until, prefix, note, victim)) {
    (*coord)->stop();
    return {name, "failed", note, {}};
  }
  (*coord)->stop();
  if (args.kill_peer >= 0 && victim < 0) return {name, "failed", "the victim never asked to be killed", {}};
  for (int i = 0; i < args.peers; ++i) {
    if (i == victim) continue;
    std::ifstream f(prefix.string() + "." + std::to_string(i) + ".json");
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded()) return {name, "failed", "no result file from worker " + std::to_string(i), {}};
    run.ranks.push_back(std::move(j));
  }
  return run;
}

SystemRun run_gloo(const LaunchContext& ctx) {
  const BenchArgs& args = ctx.args;
  SystemRun run{"gloo", "ok", "", {}};
  const std::string bin = find_program("loco_bench_gloo", args);
  if (bin.empty()) return {"gloo", "skipped", "loco_bench_gloo not built or not found", {}};
  const fs::path store = ctx.dir / "gloo-store";  // fresh per run: stale keys break the rendezvous
  fs::create_directories(store);
  const fs::path prefix = ctx.dir / "gloo";
  std::vector<ChildProcess> children;
  for (int r = 0; r < args.peers; ++r) {
    auto child = ChildProcess::spawn(
        {bin, std::to_string(r), std::to_string(args.peers), store.string(), ctx.sizes_text,
         std::to_string(args.warmup), std::to_string(args.iters), prefix.string()},
        prefix.string() + "." + std::to_string(r) + ".log");
    if (!child.ok()) return {"gloo", "failed", child.status().to_string(), {}};
    children.push_back(std::move(child).value());
  }
  if (!wait_all(children, deadline(args), prefix, run.note)) run.state = "failed";
  else read_rank_files(prefix, args.peers, run);
  return run;
}

SystemRun run_mpi(const LaunchContext& ctx, bool tcp) {
  const BenchArgs& args = ctx.args;
  const std::string name = tcp ? "mpi-tcp" : "mpi-shm";
  SystemRun run{name, "ok", "", {}};
  const std::string bin = find_program("loco_bench_mpi", args);
  const std::string mpirun = find_in_path("mpirun");
  if (bin.empty()) return {name, "skipped", "loco_bench_mpi not built or not found", {}};
  if (mpirun.empty()) return {name, "skipped", "mpirun not in PATH", {}};
  const fs::path prefix = ctx.dir / name;
  std::vector<std::string> argv = {mpirun, "--allow-run-as-root", "--oversubscribe", "-np",
                                   std::to_string(args.peers)};
  if (args.malloc_tuning) {
    for (const char* a : {"-x", "MALLOC_MMAP_THRESHOLD_", "-x", "MALLOC_TRIM_THRESHOLD_"}) argv.emplace_back(a);
  }
  if (tcp) {
    for (const char* a : {"--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"}) {
      argv.emplace_back(a);
    }
  }
  for (const std::string& a : {bin, ctx.sizes_text, std::to_string(args.warmup),
                               std::to_string(args.iters), prefix.string()}) {
    argv.push_back(a);
  }
  std::vector<ChildProcess> children;
  auto child = ChildProcess::spawn(argv, prefix.string() + ".0.log");
  if (!child.ok()) return {name, "failed", child.status().to_string(), {}};
  children.push_back(std::move(child).value());
  if (!wait_all(children, deadline(args), prefix, run.note)) run.state = "failed";
  else read_rank_files(prefix, args.peers, run);
  return run;
}

}  // namespace loco::cli::bench_allreduce
