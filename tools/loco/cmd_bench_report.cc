// cmd_bench_report.cc: the statistics and the comparison table of `loco bench allreduce`: per
// size and system, the slowest rank's time per iteration, p50/p99, algorithm and bus bandwidth,
// CPU time per op, whether the first result was verified, and loco's bus-bandwidth ratio to each
// baseline; with --repeat, each system's best round. Not here: launching (cmd_bench_launch.cc),
// the options and the fault report (cmd_bench_allreduce.cc).
#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cmd_bench_allreduce.h"

namespace loco::cli::bench_allreduce {

std::string human_size(size_t bytes) {
  std::ostringstream o;
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) o << (bytes >> 30) << " GiB";
  else if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) o << (bytes >> 20) << " MiB";
  else if (bytes >= 1024 && bytes % 1024 == 0) o << (bytes >> 10) << " KiB";
  else o << bytes << " B";
  return o.str();
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

int report_rounds(const BenchArgs& args, const std::vector<size_t>& sizes,
                  const std::vector<std::vector<SystemRun>>& rounds, nlohmann::json& summary) {
  int rc = 0;
  const bool fault = args.kill_peer >= 0;
  const size_t repeats = rounds.size();
  const int survivors = fault ? args.peers - 1 : args.peers;
  bool loco_ok = true, loco_verified = true;
  size_t loco_ranks = 0;
  for (const auto& runs : rounds) {
    for (const SystemRun& run : runs) {
      if (run.name.rfind("loco", 0) != 0) continue;  // loco, loco+seal, loco+auth
      loco_ok = loco_ok && run.state == "ok";
      if (run.state != "ok") continue;
      loco_ranks = run.ranks.size();
      for (size_t s = 0; s < sizes.size(); ++s) {
        loco_verified = loco_verified && stats_for(run, s, sizes[s], args.peers).verified;
      }
    }
  }
  if (loco_ok) {
    std::cout << "loco: first result " << (loco_verified ? "verified exactly" : "WRONG") << " on "
              << loco_ranks << "/" << survivors << " peers" << std::endl;
    if (!loco_verified) rc = 1;
  }
  summary["systems"] = nlohmann::json::object();
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
      SizeStats st = stats_for(run, s, sizes[s], args.peers);
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
  for (size_t s = 0; s < sizes.size(); ++s) {
    std::string st0, note0, range0;
    const SizeStats base = best_of(0, s, st0, note0, range0);
    for (size_t j = 0; j < rounds[0].size(); ++j) {
      const std::string& name = rounds[0][j].name;
      std::string state, note, range;
      const SizeStats st = best_of(j, s, state, note, range);
      std::cout << std::left << std::setw(9) << human_size(sizes[s]) << std::setw(9) << name << std::right;
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
          {{"bytes", sizes[s]}, {"verified", st.verified}, {"p50_ms", st.p50}, {"p99_ms", st.p99},
           {"mean_ms", st.mean}, {"algbw_gbs", st.algbw}, {"busbw_gbs", st.busbw},
           {"cpu_ms_per_op", st.cpu_ms}, {"times_ms", st.times_ms}, {"p50_range_ms", range},
           {"loco_busbw_ratio", j == 0 ? 1.0 : ratio}});
    }
  }
  std::cout << "(times: per iteration, the slowest rank; bandwidths from the p50 time; busbw = algbw * "
               "2(N-1)/N; cpu: all ranks' CPU time per op";
  if (repeats > 1) std::cout << "; each row is its system's best round by p50";
  std::cout << ")\n";
  return rc;
}

}  // namespace loco::cli::bench_allreduce
