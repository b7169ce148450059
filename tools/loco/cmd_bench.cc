// cmd_bench.cc: `loco bench allreduce`, the collective benchmark launcher. It hosts a coordinator
// on loopback, starts N `loco bench-worker` processes (cmd_bench_worker.cc) that all-reduce fp32
// buffers of each size, then runs the baselines on the same sizes and world size: Gloo's
// AllreduceRingChunked over TCP (loco_bench_gloo, ranks started here, FileStore rendezvous in a
// fresh folder) and Open MPI's MPI_Allreduce under mpirun, once over TCP on loopback and once with
// its defaults (shared memory). Every program verifies its first result exactly and writes
// per-rank JSON; this file turns them into p50/p99, algorithm and bus bandwidth and loco's ratio to
// each baseline. Fault mode (--kill-peer R --at-op K) SIGKILLs rank R at op K and reports the
// survivors' time to fail and time until the retried op succeeds. --repeat R runs every system R
// times, interleaved, and keeps each one's best round (for shared machines). By default the
// children run with glibc's mmap/trim thresholds at 1 GiB so that per-call temporaries (Open MPI
// allocates one per in-place all-reduce) are not mmapped and faulted in on every call.
// Baseline binaries are looked up in --baseline-dir, $LOCO_BENCH_DIR, next to `loco`, then in the
// build tree's bench/ folder. Not here: the workers' loop, the baselines' code (bench/).
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "../../bench/bench_common.h"
#include "cli_util.h"
#include "commands.h"
#include "common/log.h"
#include "common/process.h"
#include "membership/coordinator.h"

namespace loco::cli {

namespace fs = std::filesystem;

namespace {

struct BenchArgs {
  int peers = 2;
  std::string size = "64M";
  int iters = 20;
  int warmup = 2;
  size_t stripes = 2;
  size_t piece_bytes = 0;
  bool out_of_place = false;
  std::string baselines = "gloo,mpi-tcp,mpi-shm";
  std::string json_path;
  std::string baseline_dir;
  int kill_peer = -1;
  int at_op = 5;
  int heartbeat_ms = 200;
  int heartbeat_timeout_ms = 1000;
  int timeout_s = 600;
  bool keep = false;
  bool malloc_tuning = true;
  int repeat = 1;
};

// One system's run: per-rank JSON documents, or why there are none.
struct SystemRun {
  std::string name;
  std::string state = "ok";  // ok, skipped, failed
  std::string note;
  std::vector<nlohmann::json> ranks;
};

struct SizeStats {
  bool verified = false;
  double p50 = 0, p99 = 0, mean = 0, algbw = 0, busbw = 0, cpu_ms = 0;
  std::vector<double> times_ms;  // per iteration, the slowest rank
};

std::string human_size(size_t bytes) {
  std::ostringstream o;
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) o << (bytes >> 30) << " GiB";
  else if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) o << (bytes >> 20) << " MiB";
  else if (bytes >= 1024 && bytes % 1024 == 0) o << (bytes >> 10) << " KiB";
  else o << bytes << " B";
  return o.str();
}

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

SizeStats stats_for(const SystemRun& run, size_t size_index, size_t bytes, int world) {
  SizeStats s;
  s.verified = !run.ranks.empty();
  size_t iters = SIZE_MAX;
  double cpu = 0;
  for (const auto& r : run.ranks) {
    const auto& res = r["results"].at(size_index);
    s.verified = s.verified && res.value("verified", false);
    iters = std::min(iters, res["times_ms"].size());
    cpu += res.value("cpu_s", 0.0);
  }
  if (iters == SIZE_MAX || iters == 0) return s;
  for (size_t k = 0; k < iters; ++k) {
    double slowest = 0;
    for (const auto& r : run.ranks) {
      slowest = std::max(slowest, r["results"][size_index]["times_ms"][k].get<double>());
    }
    s.times_ms.push_back(slowest);
  }
  std::vector<double> sorted = s.times_ms;
  std::sort(sorted.begin(), sorted.end());
  s.p50 = sorted[(sorted.size() - 1) / 2];
  s.p99 = sorted[std::min(sorted.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(sorted.size())))];
  for (double t : sorted) s.mean += t / static_cast<double>(sorted.size());
  s.algbw = static_cast<double>(bytes) / (s.p50 * 1e-3) / 1e9;
  s.busbw = world > 1 ? s.algbw * 2.0 * (world - 1) / world : s.algbw;
  s.cpu_ms = cpu / static_cast<double>(iters) * 1e3;
  return s;
}

class BenchRun {
 public:
  BenchRun(BenchArgs args, std::vector<size_t> sizes, fs::path dir)
      : args_(std::move(args)), sizes_(std::move(sizes)), dir_(std::move(dir)) {
    for (size_t i = 0; i < sizes_.size(); ++i) sizes_text_ += (i ? "," : "") + std::to_string(sizes_[i]);
  }
  int run();

 private:
  SystemRun run_loco();
  SystemRun run_gloo();
  SystemRun run_mpi(bool tcp);
  Deadline deadline() const { return Deadline::after(std::chrono::seconds(args_.timeout_s)); }
  void print_fault(const SystemRun& loco, nlohmann::json& summary);

  BenchArgs args_;
  std::vector<size_t> sizes_;
  std::string sizes_text_;
  fs::path dir_;
  TimePoint kill_time_{};
};

SystemRun BenchRun::run_loco() {
  SystemRun run{"loco", "ok", "", {}};
  membership::CoordinatorOptions opts;
  opts.config.heartbeat_period = std::chrono::milliseconds(args_.heartbeat_ms);
  opts.config.heartbeat_timeout = std::chrono::milliseconds(args_.heartbeat_timeout_ms);
  auto coord = membership::Coordinator::start(opts);
  if (!coord.ok()) return {"loco", "failed", coord.status().to_string(), {}};
  const fs::path prefix = dir_ / "loco";
  const std::string kill_request = (dir_ / "kill-request").string();
  const std::string all_done = (dir_ / "all-done").string();
  std::vector<ChildProcess> children;
  for (int i = 0; i < args_.peers; ++i) {
    std::vector<std::string> argv = {
        self_executable(), "--log-level", "warn", "bench-worker", "--coordinator",
        "127.0.0.1:" + std::to_string((*coord)->port()), "--out", prefix.string(), "--index",
        std::to_string(i), "--world", std::to_string(args_.peers), "--sizes", sizes_text_,
        "--warmup", std::to_string(args_.warmup), "--iters", std::to_string(args_.iters),
        "--stripes", std::to_string(args_.stripes), "--piece-bytes", std::to_string(args_.piece_bytes),
        "--all-done", all_done};
    if (args_.out_of_place) argv.push_back("--out-of-place");
    if (args_.kill_peer >= 0) {
      argv.insert(argv.end(), {"--victim-rank", std::to_string(args_.kill_peer), "--victim-op",
                               std::to_string(args_.at_op), "--kill-request", kill_request});
    }
    auto child = ChildProcess::spawn(argv, prefix.string() + "." + std::to_string(i) + ".log");
    if (!child.ok()) return {"loco", "failed", child.status().to_string(), {}};
    children.push_back(std::move(child).value());
  }
  int victim = -1;
  bool done = false;
  const Deadline until = deadline();
  // Kill the victim as soon as it asks (fault mode); tell the workers they may leave once every
  // live one has written its results.
  while (!done && !until.expired() && !stop_requested()) {
    if (args_.kill_peer >= 0 && victim < 0 && fs::exists(kill_request)) {
      std::ifstream req(kill_request);
      req >> victim;
      if (victim < 0 || victim >= args_.peers) victim = -1;
      if (victim >= 0) {
        kill_time_ = now();
        children[static_cast<size_t>(victim)].signal(SIGKILL).ignore();
      }
    }
    done = args_.kill_peer < 0 || victim >= 0;
    for (int i = 0; i < args_.peers && done; ++i) {
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
    return {"loco", "failed", note, {}};
  }
  (*coord)->stop();
  if (args_.kill_peer >= 0 && victim < 0) return {"loco", "failed", "the victim never asked to be killed", {}};
  for (int i = 0; i < args_.peers; ++i) {
    if (i == victim) continue;
    std::ifstream f(prefix.string() + "." + std::to_string(i) + ".json");
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded()) return {"loco", "failed", "no result file from worker " + std::to_string(i), {}};
    run.ranks.push_back(std::move(j));
  }
  return run;
}

SystemRun BenchRun::run_gloo() {
  SystemRun run{"gloo", "ok", "", {}};
  const std::string bin = find_program("loco_bench_gloo", args_);
  if (bin.empty()) return {"gloo", "skipped", "loco_bench_gloo not built or not found", {}};
  const fs::path store = dir_ / "gloo-store";  // fresh per run: stale keys break the rendezvous
  fs::create_directories(store);
  const fs::path prefix = dir_ / "gloo";
  std::vector<ChildProcess> children;
  for (int r = 0; r < args_.peers; ++r) {
    auto child = ChildProcess::spawn(
        {bin, std::to_string(r), std::to_string(args_.peers), store.string(), sizes_text_,
         std::to_string(args_.warmup), std::to_string(args_.iters), prefix.string()},
        prefix.string() + "." + std::to_string(r) + ".log");
    if (!child.ok()) return {"gloo", "failed", child.status().to_string(), {}};
    children.push_back(std::move(child).value());
  }
  if (!wait_all(children, deadline(), prefix, run.note)) run.state = "failed";
  else read_rank_files(prefix, args_.peers, run);
  return run;
}

SystemRun BenchRun::run_mpi(bool tcp) {
  const std::string name = tcp ? "mpi-tcp" : "mpi-shm";
  SystemRun run{name, "ok", "", {}};
  const std::string bin = find_program("loco_bench_mpi", args_);
  const std::string mpirun = find_in_path("mpirun");
  if (bin.empty()) return {name, "skipped", "loco_bench_mpi not built or not found", {}};
  if (mpirun.empty()) return {name, "skipped", "mpirun not in PATH", {}};
  const fs::path prefix = dir_ / name;
  std::vector<std::string> argv = {mpirun, "--allow-run-as-root", "--oversubscribe", "-np",
                                   std::to_string(args_.peers)};
  if (args_.malloc_tuning) {
    for (const char* a : {"-x", "MALLOC_MMAP_THRESHOLD_", "-x", "MALLOC_TRIM_THRESHOLD_"}) argv.emplace_back(a);
  }
  if (tcp) {
    for (const char* a : {"--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"}) {
      argv.emplace_back(a);
    }
  }
  for (const std::string& a : {bin, sizes_text_, std::to_string(args_.warmup),
                               std::to_string(args_.iters), prefix.string()}) {
    argv.push_back(a);
  }
  std::vector<ChildProcess> children;
  auto child = ChildProcess::spawn(argv, prefix.string() + ".0.log");
  if (!child.ok()) return {name, "failed", child.status().to_string(), {}};
  children.push_back(std::move(child).value());
  if (!wait_all(children, deadline(), prefix, run.note)) run.state = "failed";
  else read_rank_files(prefix, args_.peers, run);
  return run;
}

void BenchRun::print_fault(const SystemRun& loco, nlohmann::json& summary) {
  const int64_t kill_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kill_time_.time_since_epoch()).count();
  nlohmann::json out = nlohmann::json::array();
  std::cout << "\nfault: rank " << args_.kill_peer << " SIGKILLed when it started timed op "
            << args_.at_op << " (" << human_size(sizes_[0]) << ")\n";
  std::cout << std::fixed << std::setprecision(1);
  for (const auto& r : loco.ranks) {
    const auto& f = r.value("fault", nlohmann::json::object());
    if (!f.contains("fail_ns") || !f.contains("success_ns")) {
      std::cout << "  worker " << r["index"] << ": no failure seen\n";
      continue;
    }
    const double detect = static_cast<double>(f["fail_ns"].get<int64_t>() - kill_ns) / 1e6;
    const double recover =
        static_cast<double>(f["success_ns"].get<int64_t>() - f["fail_ns"].get<int64_t>()) / 1e6;
    const double total = static_cast<double>(f["success_ns"].get<int64_t>() - kill_ns) / 1e6;
    std::cout << "  worker " << r["index"] << " (rank " << r["rank"] << "): op " << f["op"]
              << " failed with " << f["status"].get<std::string>() << " after "
              << f["fail_op_ms"].get<double>() << " ms in the op, " << detect
              << " ms after the kill; buffer untouched: " << (f["buffer_untouched"].get<bool>() ? "yes" : "NO")
              << "\n    next op succeeded " << recover << " ms after the failure (" << total
              << " ms after the kill) in epoch " << f["success_epoch"] << " with "
              << f["success_world"] << " peers after " << f["attempts"]
              << " attempts; result verified: " << (f["retry_verified"].get<bool>() ? "yes" : "NO") << "\n";
    nlohmann::json e = f;
    e["worker"] = r["index"];
    e["detect_ms"] = detect;
    e["recover_ms"] = recover;
    e["kill_to_success_ms"] = total;
    out.push_back(e);
  }
  summary["fault"] = {{"kill_rank", args_.kill_peer}, {"at_op", args_.at_op}, {"survivors", out}};
}

int BenchRun::run() {
  std::vector<std::string> wanted;
  {
    std::stringstream ss(args_.baselines);
    std::string b;
    while (std::getline(ss, b, ',')) {
      if (!b.empty() && b != "none") wanted.push_back(b);
    }
  }
  const bool fault = args_.kill_peer >= 0;
  if (fault && !wanted.empty()) {
    std::cout << "(fault mode: baselines not run, --repeat ignored)\n";
    wanted.clear();
  }
  const int repeats = fault ? 1 : args_.repeat;
  std::cout << "loco bench allreduce: " << args_.peers << " peers, fp32 sum, sizes";
  for (size_t b : sizes_) std::cout << " " << human_size(b);
  std::cout << ", " << args_.warmup << " warm-up + " << args_.iters << " timed iterations"
            << (args_.out_of_place ? ", out of place" : ", in place")
            << (args_.malloc_tuning ? ", malloc tuning on" : ", malloc tuning off");
  if (repeats > 1) std::cout << ", best of " << repeats << " rounds";
  std::cout << "; run folder " << dir_.string() << std::endl;
  // rounds[r][j]: system j (0 = loco, then the baselines in order) in round r. Rounds interleave
  // the systems, so a burst of load from elsewhere does not hit one system only.
  std::vector<std::vector<SystemRun>> rounds;
  const fs::path top = dir_;
  for (int r = 0; r < repeats; ++r) {
    if (repeats > 1) {
      dir_ = top / ("round" + std::to_string(r));
      fs::create_directories(dir_);
    }
    std::vector<SystemRun> runs;
    runs.push_back(run_loco());
    for (const auto& b : wanted) {
      if (b == "gloo") runs.push_back(run_gloo());
      else if (b == "mpi-tcp") runs.push_back(run_mpi(true));
      else if (b == "mpi-shm") runs.push_back(run_mpi(false));
      else runs.push_back({b, "skipped", "unknown baseline (gloo, mpi-tcp, mpi-shm)", {}});
    }
    rounds.push_back(std::move(runs));
  }
  dir_ = top;
  int rc = 0;
  const int survivors = fault ? args_.peers - 1 : args_.peers;
  bool loco_ok = true, loco_verified = true;
  size_t loco_ranks = 0;
  for (const auto& runs : rounds) {
    loco_ok = loco_ok && runs[0].state == "ok";
    if (runs[0].state != "ok") continue;
    loco_ranks = runs[0].ranks.size();
    for (size_t s = 0; s < sizes_.size(); ++s) {
      loco_verified = loco_verified && stats_for(runs[0], s, sizes_[s], args_.peers).verified;
    }
  }
  if (loco_ok) {
    std::cout << "loco: first result " << (loco_verified ? "verified exactly" : "WRONG") << " on "
              << loco_ranks << "/" << survivors << " peers" << std::endl;
    if (!loco_verified) rc = 1;
  }
  nlohmann::json summary = {{"peers", args_.peers}, {"sizes", sizes_}, {"iters", args_.iters},
                            {"warmup", args_.warmup}, {"stripes", args_.stripes},
                            {"out_of_place", args_.out_of_place}, {"repeat", repeats},
                            {"malloc_tuning", args_.malloc_tuning}, {"systems", nlohmann::json::object()}};
  std::cout << "\n" << std::left << std::setw(9) << "size" << std::setw(9) << "system" << std::right
            << std::setw(10) << "p50 ms" << std::setw(10) << "p99 ms" << std::setw(12) << "algbw GB/s"
            << std::setw(12) << "busbw GB/s" << std::setw(11) << "cpu ms/op" << std::setw(10) << "verified"
            << std::setw(11) << "loco/this";
  if (repeats > 1) std::cout << "   p50 over rounds";
  std::cout << "\n" << std::fixed;
  // Per system and size: the round with the lowest p50 (the least disturbed one).
  auto best_of = [&](size_t j, size_t s, std::string& state, std::string& note, std::string& range) {
    SizeStats best;
    double lo = 0, hi = 0;
    bool any = false;
    state = "ok";
    for (const auto& runs : rounds) {
      const SystemRun& run = runs[j];
      if (run.state != "ok") {
        if (state == "ok" || run.state == "failed") { state = run.state; note = run.note; }
        continue;
      }
      SizeStats st = stats_for(run, s, sizes_[s], args_.peers);
      if (!any || st.p50 < best.p50) best = st;
      lo = any ? std::min(lo, st.p50) : st.p50;
      hi = any ? std::max(hi, st.p50) : st.p50;
      any = true;
      if (!st.verified) best.verified = false;
    }
    std::ostringstream r;
    r << std::fixed << std::setprecision(1) << lo << "-" << hi;
    range = r.str();
    if (any && state == "skipped") state = "ok";
    return best;
  };
  for (size_t s = 0; s < sizes_.size(); ++s) {
    std::string st0, note0, range0;
    const SizeStats base = best_of(0, s, st0, note0, range0);
    for (size_t j = 0; j < rounds[0].size(); ++j) {
      const std::string& name = rounds[0][j].name;
      std::string state, note, range;
      const SizeStats st = best_of(j, s, state, note, range);
      std::cout << std::left << std::setw(9) << human_size(sizes_[s]) << std::setw(9) << name << std::right;
      if (state != "ok") {
        std::cout << "  " << state << ": " << note << "\n";
        if (state == "failed") rc = 1;
        summary["systems"][name] = {{"state", state}, {"note", note}};
        continue;
      }
      if (!st.verified) rc = 1;
      std::cout << std::setprecision(2) << std::setw(10) << st.p50 << std::setw(10) << st.p99
                << std::setprecision(3) << std::setw(12) << st.algbw << std::setw(12) << st.busbw
                << std::setprecision(1) << std::setw(11) << st.cpu_ms << std::setw(10)
                << (st.verified ? "yes" : "NO");
      const double ratio = st.busbw > 0 && st0 == "ok" ? base.busbw / st.busbw : 0;
      std::ostringstream rt;
      if (j > 0 && ratio > 0) rt << std::fixed << std::setprecision(2) << ratio << "x";
      std::cout << std::setw(11) << rt.str();
      if (repeats > 1) std::cout << "   " << range;
      std::cout << "\n";
      summary["systems"][name]["state"] = "ok";
      summary["systems"][name]["results"].push_back(
          {{"bytes", sizes_[s]}, {"verified", st.verified}, {"p50_ms", st.p50}, {"p99_ms", st.p99},
           {"mean_ms", st.mean}, {"algbw_gbs", st.algbw}, {"busbw_gbs", st.busbw},
           {"cpu_ms_per_op", st.cpu_ms}, {"times_ms", st.times_ms}, {"p50_range_ms", range},
           {"loco_busbw_ratio", j == 0 ? 1.0 : ratio}});
    }
  }
  std::cout << "(times: per iteration, the slowest rank; bandwidths from the p50 time; busbw = algbw * "
               "2(N-1)/N; cpu: all ranks' CPU time per op";
  if (repeats > 1) std::cout << "; each row is its system's best round by p50";
  std::cout << ")\n";
  if (fault && loco_ok) print_fault(rounds[0][0], summary);
  if (!args_.json_path.empty()) {
    std::ofstream(args_.json_path) << summary.dump(2) << "\n";
    std::cout << "JSON written to " << args_.json_path << "\n";
  }
  if (rc == 0 && !args_.keep) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } else {
    std::cout << "run folder kept: " << dir_.string() << "\n";
  }
  return rc;
}

}  // namespace

Runner add_bench_command(CLI::App& app) {
  app.require_subcommand(1, 1);
  CLI::App* ar = app.add_subcommand("allreduce", "fp32 sum all-reduce: loco vs Gloo and Open MPI");
  auto args = std::make_shared<BenchArgs>();
  ar->add_option("--peers", args->peers, "peer processes")->capture_default_str()->check(CLI::Range(1, 64));
  ar->add_option("--size", args->size, "bytes per all-reduce, comma-separated, suffixes K/M/G (1024-based)")
      ->capture_default_str();
  ar->add_option("--iters", args->iters, "timed iterations per size")->capture_default_str()->check(CLI::Range(1, 100000));
  ar->add_option("--warmup", args->warmup, "warm-up iterations (the first is verified)")->capture_default_str()
      ->check(CLI::Range(1, 1000));
  ar->add_option("--stripes", args->stripes, "loco: TCP connections per ring link")->capture_default_str()
      ->check(CLI::Range(1, 64));
  ar->add_option("--piece-bytes", args->piece_bytes, "loco: pipeline piece size (0: default)");
  ar->add_flag("--out-of-place", args->out_of_place, "loco: use the out-of-place all-reduce");
  ar->add_option("--baselines", args->baselines, "gloo,mpi-tcp,mpi-shm or none")->capture_default_str();
  ar->add_option("--json", args->json_path, "write the summary (with per-iteration times) here");
  ar->add_option("--baseline-dir", args->baseline_dir,
                 "where loco_bench_gloo / loco_bench_mpi are (also $LOCO_BENCH_DIR; default: next to "
                 "loco, then the build tree's bench/)");
  ar->add_option("--kill-peer", args->kill_peer, "fault mode: SIGKILL this rank ...");
  ar->add_option("--at-op", args->at_op, "... when it starts this timed op (of the first size)")
      ->capture_default_str();
  ar->add_option("--heartbeat-ms", args->heartbeat_ms, "coordinator heartbeat period")->capture_default_str();
  ar->add_option("--heartbeat-timeout-ms", args->heartbeat_timeout_ms, "coordinator heartbeat timeout")
      ->capture_default_str();
  ar->add_option("--timeout-s", args->timeout_s, "give up on a system after this long")->capture_default_str();
  ar->add_option("--repeat", args->repeat,
                 "rounds of every system, interleaved; each row shows its best round (shared machines)")
      ->capture_default_str()->check(CLI::Range(1, 100));
  ar->add_flag("--keep", args->keep, "keep the run folder (logs, per-rank JSON)");
  ar->add_flag("--malloc-tuning,!--no-malloc-tuning", args->malloc_tuning,
               "set MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ to 1 GiB for every system, so "
               "per-call temporaries (Open MPI's) are not mmapped and faulted in on every call")
      ->capture_default_str();
  return [args, ar]() -> int {
    if (!ar->parsed()) return 2;
    auto sizes = bench::parse_sizes(args->size);
    if (sizes.empty()) {
      std::cerr << "loco bench: bad --size '" << args->size << "' (e.g. 1M,16M,64M)\n";
      return 2;
    }
    for (size_t& b : sizes) b -= b % sizeof(float);
    if (args->kill_peer >= 0 && (args->peers < 2 || args->kill_peer >= args->peers ||
                                 args->at_op < 0 || args->at_op >= args->iters)) {
      std::cerr << "loco bench: --kill-peer needs >= 2 peers, a rank < --peers and --at-op < --iters\n";
      return 2;
    }
    if (args->heartbeat_timeout_ms <= args->heartbeat_ms || args->heartbeat_ms < 1) {
      std::cerr << "loco bench: --heartbeat-timeout-ms must exceed --heartbeat-ms\n";
      return 2;
    }
    std::string tmpl = (fs::temp_directory_path() / "loco-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "loco bench: cannot create a run folder in " << fs::temp_directory_path() << "\n";
      return 2;
    }
    if (spdlog::get_level() == spdlog::level::info && std::getenv("LOCO_LOG_LEVEL") == nullptr) {
      spdlog::set_level(spdlog::level::warn);
    }
    if (args->malloc_tuning) {
      ::setenv("MALLOC_MMAP_THRESHOLD_", "1073741824", /*overwrite=*/0);
      ::setenv("MALLOC_TRIM_THRESHOLD_", "1073741824", /*overwrite=*/0);
    }
    BenchRun run(*args, std::move(sizes), tmpl);
    return run.run();
  };
}

}  // namespace loco::cli
