// cmd_bench_allreduce.h: internal interface of `loco bench allreduce`, split over three files:
// cmd_bench_allreduce.cc (options, rounds, fault report), cmd_bench_launch.cc (starting loco's
// workers and the Gloo / Open MPI baselines, collecting their per-rank JSON) and
// cmd_bench_report.cc (statistics and the comparison table). Not a public API: only these files
// include it. The `loco bench` command itself and its registry are in cmd_bench.cc.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace loco::cli::bench_allreduce {

struct BenchArgs {
  int peers = 2;
  std::string size = "64M";
  int iters = 20;
  int warmup = 2;
  size_t stripes = 2;
  size_t piece_bytes = 0;
  bool out_of_place = false;
  std::string payload_checksum = "remote";  // loco: DATA payload checksums (always, remote, never)
  // loco: which sealing to run, comma-separated, each as its own system in every round: off (no
  // secret, frames checksummed), on (a secret: sealed and encrypted), auth-only (a secret,
  // --no-encrypt). The first is the reference of the loco/this column.
  std::string seal = "off";
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

// What one launch needs: the arguments, the sizes as the workers' --sizes text, and the folder
// for logs and result files (fresh per round).
struct LaunchContext {
  const BenchArgs& args;
  std::string sizes_text;
  std::filesystem::path dir;
};

// How run_loco seals its connections (docs/protocol.md 2.2).
enum class Seal { kOff, kEncrypt, kAuthOnly };
// "off", "on", "auth-only"; nullopt for anything else.
std::optional<Seal> parse_seal(const std::string& text);
// The system's name in the table: loco, loco+seal, loco+auth.
const char* loco_system_name(Seal seal);

// cmd_bench_launch.cc. run_loco sets *kill_time when it SIGKILLs the victim (fault mode). With a
// seal other than off it writes a fresh secret (mode 0600) into the run folder for the
// coordinator and the workers.
SystemRun run_loco(const LaunchContext& ctx, TimePoint* kill_time, Seal seal = Seal::kOff);
SystemRun run_gloo(const LaunchContext& ctx);
SystemRun run_mpi(const LaunchContext& ctx, bool tcp);

// cmd_bench_report.cc.
std::string human_size(size_t bytes);
SizeStats stats_for(const SystemRun& run, size_t size_index, size_t bytes, int world);
// rounds[r][j]: system j (0 = loco, then the baselines) in round r. Prints the verification line
// and the table (each system's best round per size), fills summary["systems"]; returns the exit
// code (1 when a system failed or a result was wrong).
int report_rounds(const BenchArgs& args, const std::vector<size_t>& sizes,
                  const std::vector<std::vector<SystemRun>>& rounds, nlohmann::json& summary);

}  // namespace loco::cli::bench_allreduce
