// bench_common.h: helpers shared by the baseline all-reduce programs (gloo_allreduce.cc,
// mpi_allreduce.cc) that `loco bench allreduce` runs beside loco: size parsing, the exact fp32
// inputs and their verification, CPU time, and the per-rank JSON result file the launcher reads.
// Header-only and dependency-free on purpose (the baselines do not link loco). Not the launcher.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace loco::bench {

// Small integers, so the fp32 sum over any world size is exact. Must match cmd_bench_worker.cc.
inline float contribution(uint64_t id, size_t i) {
  return static_cast<float>((id * 7 + i % 13) % 64);
}

inline void fill(std::vector<float>& buf, uint64_t id) {
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = contribution(id, i);
}

// True when buf[i] == sum over ids 0..world-1 of contribution(id, i) for every i.
inline bool verify_sum(const std::vector<float>& buf, int world) {
  float expect[13];
  for (size_t j = 0; j < 13; ++j) {
    expect[j] = 0;
    for (int r = 0; r < world; ++r) expect[j] += contribution(static_cast<uint64_t>(r), j);
  }
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] != expect[i % 13]) return false;
  }
  return true;
}

// "1048576,16M,64MiB,1G" -> bytes (K/M/G are powers of 1024). Empty on a parse error.
inline std::vector<size_t> parse_sizes(const std::string& text) {
  std::vector<size_t> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() + 1 : comma + 1;
    size_t digits = 0;
    while (digits < item.size() && item[digits] >= '0' && item[digits] <= '9') ++digits;
    if (digits == 0 || digits > 15) return {};
    size_t value = std::stoull(item.substr(0, digits));
    std::string suffix = item.substr(digits);
    for (char& c : suffix) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    if (suffix == "IB" || suffix == "B") suffix.clear();
    if (suffix.size() >= 2 && (suffix.substr(1) == "IB" || suffix.substr(1) == "B")) {
      suffix = suffix.substr(0, 1);
    }
    if (suffix == "K") value <<= 10;
    else if (suffix == "M") value <<= 20;
    else if (suffix == "G") value <<= 30;
    else if (!suffix.empty()) return {};
    if (value < 4) return {};
    out.push_back(value);
  }
  return out;
}

inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct SizeResult {
  size_t bytes = 0;
  bool verified = false;
  std::vector<double> times_ms;
  double cpu_s = 0;  // this process's CPU time (user + sys) over the timed iterations
};

// Writes {"rank":..,"world":..,"results":[{"bytes","verified","times_ms","cpu_s"}]} to
// "<prefix>.<rank>.json" through a temporary file and rename. False on an I/O error.
inline bool write_results(const std::string& prefix, int rank, int world,
                          const std::vector<SizeResult>& results) {
  std::string path = prefix + "." + std::to_string(rank) + ".json";
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "{\"rank\":%d,\"world\":%d,\"results\":[", rank, world);
  for (size_t s = 0; s < results.size(); ++s) {
    const SizeResult& r = results[s];
    std::fprintf(f, "%s{\"bytes\":%zu,\"verified\":%s,\"cpu_s\":%.6f,\"times_ms\":[", s ? "," : "",
                 r.bytes, r.verified ? "true" : "false", r.cpu_s);
    for (size_t i = 0; i < r.times_ms.size(); ++i) {
      std::fprintf(f, "%s%.6f", i ? "," : "", r.times_ms[i]);
    }
    std::fprintf(f, "]}");
  }
  std::fprintf(f, "]}\n");
  bool ok = std::fclose(f) == 0;
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace loco::bench
