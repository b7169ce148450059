// cmd_bench_allreduce.cc: `loco bench allreduce`, the collective benchmark: loco's fp32 sum
// all-reduce between N local peers against Gloo's AllreduceRingChunked over TCP and Open MPI's
// MPI_Allreduce (over TCP, and with its default shared memory) on the same sizes and world size,
// each verifying its first result exactly. This file holds the options, the rounds (--repeat R runs
// every system R times, interleaved, and keeps each one's best round, for shared machines) and the
// fault mode's report (--kill-peer R --at-op K: rank R is SIGKILLed at op K; the survivors' time to
// fail and time until the retried op succeeds). By default the children run with glibc's
// mmap/trim thresholds at 1 GiB so that per-call temporaries (Open MPI allocates one per in-place
// all-reduce) are not mmapped and faulted in on every call. Not here: the launchers
// (cmd_bench_launch.cc), the statistics and table (cmd_bench_report.cc), the workers' loop
// (cmd_bench_worker.cc).
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "bench_common.h"
#include "cmd_bench_allreduce.h"
#include "commands.h"
#include "common/log.h"

namespace loco::cli::bench_allreduce {

namespace fs = std::filesystem;

namespace {

void print_fault(const BenchArgs& args, size_t first_size, TimePoint kill_time, const SystemRun& loco,
                 nlohmann::json& summary) {
  const int64_t kill_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kill_time.time_since_epoch()).count();
  nlohmann::json out = nlohmann::json::array();
  std::cout << "\nfault: rank " << args.kill_peer << " SIGKILLed when it started timed op "
            << args.at_op << " (" << human_size(first_size) << ")\n";
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
  summary["fault"] = {{"kill_rank", args.kill_peer}, {"at_op", args.at_op}, {"survivors", out}};
}

int run_bench(const BenchArgs& args, const std::vector<size_t>& sizes, const fs::path& top) {
  std::vector<std::string> wanted;
  {
    std::stringstream ss(args.baselines);
    std::string b;
    while (std::getline(ss, b, ',')) {
      if (!b.empty() && b != "none") wanted.push_back(b);
    }
  }
  const bool fault = args.kill_peer >= 0;
  if (fault && !wanted.empty()) {
    std::cout << "(fault mode: baselines not run, --repeat ignored)\n";
    wanted.clear();
  }
  std::vector<Seal> seals;
  {
    std::stringstream ss(args.seal);
    std::string m;
    while (std::getline(ss, m, ',')) {
      if (auto v = parse_seal(m)) seals.push_back(*v);
    }
  }
  if (fault && seals.size() > 1) {
    std::cout << "(fault mode: only --seal " << loco_system_name(seals[0]) << " is run)\n";
    seals.resize(1);
  }
  const int repeats = fault ? 1 : args.repeat;
  std::cout << "loco bench allreduce: " << args.peers << " peers, fp32 sum, sizes";
  for (size_t b : sizes) std::cout << " " << human_size(b);
  std::cout << ", " << args.warmup << " warm-up + " << args.iters << " timed iterations"
            << (args.out_of_place ? ", out of place" : ", in place") << ", payload checksum "
            << args.payload_checksum << ", seal " << args.seal
            << (args.malloc_tuning ? ", malloc tuning on" : ", malloc tuning off");
  if (repeats > 1) std::cout << ", best of " << repeats << " rounds";
  std::cout << "; run folder " << top.string() << std::endl;
  std::string sizes_text;
  for (size_t i = 0; i < sizes.size(); ++i) sizes_text += (i ? "," : "") + std::to_string(sizes[i]);
  // rounds[r][j]: system j (0 = loco, then the baselines in order) in round r. Rounds interleave
  // the systems, so a burst of load from elsewhere does not hit one system only.
  std::vector<std::vector<SystemRun>> rounds;
  TimePoint kill_time{};
  for (int r = 0; r < repeats; ++r) {
    LaunchContext ctx{args, sizes_text, top};
    if (repeats > 1) {
      ctx.dir = top / ("round" + std::to_string(r));
      fs::create_directories(ctx.dir);
    }
    std::vector<SystemRun> runs;
    for (Seal seal : seals) runs.push_back(run_loco(ctx, &kill_time, seal));
    for (const auto& b : wanted) {
      if (b == "gloo") runs.push_back(run_gloo(ctx));
      else if (b == "mpi-tcp") runs.push_back(run_mpi(ctx, true));
      else if (b == "mpi-shm") runs.push_back(run_mpi(ctx, false));
      else runs.push_back({b, "skipped", "unknown baseline (gloo, mpi-tcp, mpi-shm)", {}});
    }
    rounds.push_back(std::move(runs));
  }
  nlohmann::json summary = {{"peers", args.peers}, {"sizes", sizes}, {"iters", args.iters},
                            {"warmup", args.warmup}, {"stripes", args.stripes},
                            {"out_of_place", args.out_of_place}, {"repeat", repeats},
                            {"payload_checksum", args.payload_checksum}, {"seal", args.seal},
                            {"piece_bytes", args.piece_bytes},
                            {"malloc_tuning", args.malloc_tuning}};
  const int rc = report_rounds(args, sizes, rounds, summary);
  if (fault && rounds[0][0].state == "ok") print_fault(args, sizes[0], kill_time, rounds[0][0], summary);
  if (!args.json_path.empty()) {
    std::ofstream(args.json_path) << summary.dump(2) << "\n";
    std::cout << "JSON written to " << args.json_path << "\n";
  }
  if (rc == 0 && !args.keep) {
    std::error_code ec;
    fs::remove_all(top, ec);
  } else {
    std::cout << "run folder kept: " << top.string() << "\n";
  }
  return rc;
}

Runner add_allreduce(CLI::App& sub) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* ar = &sub;
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
  ar->add_option("--payload-checksum", args->payload_checksum,
                 "loco: hash DATA payloads on every link (always), on links to other hosts only "
                 "(remote: the default, so none here on loopback) or never")
      ->capture_default_str()->check(CLI::IsMember({"always", "remote", "never"}));
  ar->add_option("--seal", args->seal,
                 "loco: off (no secret), on (a secret: every frame sealed and encrypted) or "
                 "auth-only (a secret, --no-encrypt); comma-separated runs each as its own system "
                 "(e.g. off,on), the first being the reference of the loco/this column")
      ->capture_default_str()
      ->check([](const std::string& text) -> std::string {
        std::stringstream ss(text);
        std::string m;
        bool any = false;
        while (std::getline(ss, m, ',')) {
          if (!parse_seal(m)) return "unknown seal '" + m + "' (off, on, auth-only)";
          any = true;
        }
        return any ? std::string() : std::string("empty --seal");
      });
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
  // Two flags: CLI11 shows a "!--no-" negation's value as "{false}", which reads as the default.
  ar->add_flag_callback("--no-malloc-tuning", [args] { args->malloc_tuning = false; },
                        "leave glibc's malloc thresholds as they are");
  ar->add_flag("--malloc-tuning", args->malloc_tuning,
               "set MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ to 1 GiB for every system, so "
               "per-call temporaries (Open MPI's) are not mmapped and faulted in on every call "
               "(default on)");
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
    return run_bench(*args, sizes, tmpl);
  };
}

[[maybe_unused]] const bool kRegistered = register_bench_subcommand(
    "allreduce", "fp32 sum all-reduce: loco vs Gloo and Open MPI", &add_allreduce);

}  // namespace

}  // namespace loco::cli::bench_allreduce
