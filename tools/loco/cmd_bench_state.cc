// cmd_bench_state.cc: `loco bench state`: transfer of a shared state to a joining peer from 1, 2,
// 4 ... donors on loopback. For each donor count it hosts a coordinator, starts that many
// `loco state-worker` donors holding --size of state and one joiner (receive-only), lets them run
// one sync point, and reads the joiner's report: bytes fetched, fetch time, donors used. It
// verifies the joiner ended with the donors' exact bytes (same hash) before printing a figure, and
// reports MB/s and the ratio to the single-donor run of the same invocation. --rate-mbps caps each
// donor's sending rate (an emulated uplink, as on a WAN) to show the aggregation of donors' links.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "common/process.h"
#include "membership/coordinator.h"

namespace loco::cli {
namespace {

namespace fs = std::filesystem;

struct BenchStateArgs {
  std::string donors = "1,2,4";
  std::string size = "256M";
  size_t chunk_kib = 4096;
  int reps = 1;
  double rate_mbps = 0;
  std::string out_dir;
};

double parse_mib(const std::string& s) {
  double v = std::stod(s);
  const char unit = s.empty() ? 'M' : static_cast<char>(std::toupper(s.back()));
  if (unit == 'G') return v * 1024;
  if (unit == 'K') return v / 1024;
  return v;
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

struct RunResult {
  bool ok = false;
  std::string why;
  double mb_per_s = 0;
  double seconds = 0;
  uint64_t bytes = 0;
  int donors_used = 0;
};

RunResult run_once(const BenchStateArgs& a, int donors, double mib, const fs::path& dir) {
  RunResult res;
  fs::create_directories(dir);
  membership::CoordinatorOptions co;
  co.config.join_window = std::chrono::milliseconds(50);
  co.config.heartbeat_timeout = std::chrono::seconds(10);
  auto coord = membership::Coordinator::start(co);
  if (!coord.ok()) {
    res.why = coord.status().to_string();
    return res;
  }
  const std::string addr = "127.0.0.1:" + std::to_string((*coord)->port());
  std::vector<std::string> common = {"--coordinator", addr, "--mib", std::to_string(mib),
                                     "--chunk-kib", std::to_string(a.chunk_kib), "--steps", "1",
                                     "--world", std::to_string(donors + 1)};
  std::vector<ChildProcess> procs;
  std::vector<std::string> reports;
  for (int i = 0; i <= donors; ++i) {
    const bool joiner = i == donors;
    std::string report = (dir / ((joiner ? "joiner" : "donor" + std::to_string(i)) + ".jsonl")).string();
    fs::remove(report);
    std::vector<std::string> argv = {self_executable(), "--log-level", "warn", "state-worker",
                                     "--report", report};
    argv.insert(argv.end(), common.begin(), common.end());
    if (joiner) argv.push_back("--join");
    if (!joiner && a.rate_mbps > 0) {
      argv.push_back("--serve-rate-mbps");
      argv.push_back(std::to_string(a.rate_mbps));
    }
    auto c = ChildProcess::spawn(argv, (dir / (fs::path(report).stem().string() + ".log")).string());
    if (!c.ok()) {
      res.why = c.status().to_string();
      return res;
    }
    procs.push_back(std::move(c).value());
    reports.push_back(report);
  }
  for (auto& p : procs) {
    auto e = p.wait(Deadline::after(std::chrono::seconds(600)));
    if (!e.ok() || !e->exited || e->code != 0) {
      res.why = "a state-worker failed (logs in " + dir.string() + ")";
      return res;
    }
  }
  // Verify: every peer's last sync is OK at revision 1 with the same hash.
  uint64_t hash = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    nlohmann::json last;
    for (const auto& j : read_lines(reports[i])) {
      if (j.value("event", "") == "sync" && j.value("status", "") == "OK") last = j;
    }
    if (last.is_null()) {
      res.why = "no successful sync in " + reports[i];
      return res;
    }
    const uint64_t h = last["hash"].get<uint64_t>();
    if (i == 0) hash = h;
    if (h != hash) {
      res.why = "the joiner's state differs from the donors' (hash mismatch)";
      return res;
    }
    if (i + 1 == reports.size()) {
      res.bytes = last["bytes_fetched"].get<uint64_t>();
      res.seconds = last["fetch_s"].get<double>();
      res.donors_used = last["donors_used"].get<int>();
    }
  }
  const uint64_t expect = static_cast<uint64_t>(mib * (1 << 20)) / 4 * 4;
  if (res.bytes != expect || res.seconds <= 0) {
    res.why = "the joiner fetched " + std::to_string(res.bytes) + " bytes, expected " +
              std::to_string(expect);
    return res;
  }
  res.mb_per_s = static_cast<double>(res.bytes) / 1e6 / res.seconds;
  res.ok = true;
  return res;
}

Runner add_state(CLI::App& sub) {
  auto a = std::make_shared<BenchStateArgs>();
  sub.add_option("--donors", a->donors, "comma-separated donor counts (first is the baseline)")->capture_default_str();
  sub.add_option("--size", a->size, "state size (e.g. 256M, 1G)")->capture_default_str();
  sub.add_option("--chunk-kib", a->chunk_kib, "chunk size in KiB")->capture_default_str();
  sub.add_option("--reps", a->reps, "runs per donor count (the median is reported)")->capture_default_str();
  sub.add_option("--rate-mbps", a->rate_mbps, "cap each donor's sending rate, MB/s (0: none)")->capture_default_str();
  sub.add_option("--out", a->out_dir, "folder for logs and reports (default: a temporary one)");
  return [a]() -> int {
    std::vector<int> counts;
    std::stringstream ss(a->donors);
    for (std::string item; std::getline(ss, item, ',');) counts.push_back(std::stoi(item));
    const double mib = parse_mib(a->size);
    fs::path dir = a->out_dir.empty() ? fs::temp_directory_path() / ("loco-bench-state-" +
                                                                     std::to_string(::getpid()))
                                      : fs::path(a->out_dir);
    fs::create_directories(dir);
    std::cout << "state transfer to a joining peer: " << mib << " MiB, chunk " << a->chunk_kib
              << " KiB, loopback" << (a->rate_mbps > 0 ? ", donor uplink capped at " +
                                                              std::to_string(a->rate_mbps) + " MB/s"
                                                        : std::string())
              << "\n";
    std::cout << "| donors | MB/s (median of " << a->reps << ") | ratio to " << counts.front()
              << " donor(s) | donors used | verified |\n|---|---|---|---|---|\n";
    double base = 0;
    for (int d : counts) {
      std::vector<double> rates;
      int used = 0;
      for (int r = 0; r < a->reps; ++r) {
        RunResult res = run_once(*a, d, mib, dir / ("d" + std::to_string(d) + "-r" + std::to_string(r)));
        if (!res.ok) {
          std::cerr << "loco bench state: " << d << " donors: " << res.why << "\n";
          return 1;
        }
        rates.push_back(res.mb_per_s);
        used = res.donors_used;
      }
      std::sort(rates.begin(), rates.end());
      const double med = rates[rates.size() / 2];
      if (base == 0) base = med;
      char line[160];
      std::snprintf(line, sizeof line, "| %d | %.0f | %.2fx | %d | yes (joiner hash = donors') |", d,
                    med, med / base, used);
      std::cout << line << "\n" << std::flush;
    }
    return 0;
  };
}

[[maybe_unused]] const bool kRegistered = register_bench_subcommand(
    "state", "shared-state transfer to a joining peer from 1, 2, 4 donors", &add_state);

}  // namespace
}  // namespace loco::cli
