// throughput_main.cc: a quick in-process throughput print for the ring all-reduce over TCP
// loopback (not a test and not the benchmark: peers are threads of one process here; bench/ runs
// separate processes against Gloo and MPI). Usage:
//   collectives_throughput [peers=2] [MiB=64] [stripes=2] [piece_KiB=2048] [iters=10] [inplace=0]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "collectives/communicator.h"
#include "collectives/mesh.h"

using namespace loco;
using namespace loco::collectives;

int main(int argc, char** argv) {
  auto arg = [&](int i, long def) { return argc > i ? std::atol(argv[i]) : def; };
  const size_t peers = static_cast<size_t>(arg(1, 2));
  const size_t mib = static_cast<size_t>(arg(2, 64));
  MeshOptions mo;
  mo.stripes = static_cast<size_t>(arg(3, 2));
  CommunicatorOptions co;
  co.piece_bytes = static_cast<size_t>(arg(4, 2048)) * 1024;
  const int iters = static_cast<int>(arg(5, 10));
  const bool inplace = arg(6, 0) != 0;
  const size_t count = mib * (1u << 20) / 4;

  LocalVoter voter;
  std::vector<std::unique_ptr<Mesh>> meshes;
  std::vector<std::unique_ptr<Communicator>> comms;
  std::vector<wire::Member> ring;
  for (size_t i = 0; i < peers; ++i) {
    auto m = Mesh::listen_tcp(mo);
    if (!m.ok()) return 1;
    meshes.push_back(std::move(*m));
    ring.push_back({i + 1, "p" + std::to_string(i), "127.0.0.1", meshes.back()->port()});
    comms.push_back(std::make_unique<Communicator>(*meshes.back(), voter, co));
  }
  voter.set_members(1, peers);
  for (size_t i = 0; i < peers; ++i) {
    if (!meshes[i]->set_epoch(1, i + 1, ring).ok()) return 1;
  }
  auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  std::vector<std::vector<double>> times(peers);
  double cpu0 = 0;
  std::atomic<size_t> warmed{0};
  std::vector<std::thread> threads;
  for (size_t r = 0; r < peers; ++r) {
    threads.emplace_back([&, r] {
      std::vector<float> in(count, static_cast<float>(r + 1));
      std::vector<float> out(count, 0.0f);
      for (int it = 0; it < iters + 1; ++it) {
        auto t0 = std::chrono::steady_clock::now();
        Result<OpStats> s =
            inplace ? comms[r]->all_reduce(in.data(), count, DataType::kF32, ReduceOp::kSum)
                    : comms[r]->all_reduce(in.data(), out.data(), count, DataType::kF32,
                                           ReduceOp::kSum);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!s.ok()) {
          std::fprintf(stderr, "rank %zu: %s\n", r, s.status().to_string().c_str());
          std::exit(1);
        }
        if (it == 0 && !inplace && out[count / 2] != static_cast<float>(peers * (peers + 1) / 2)) {
          std::fprintf(stderr, "wrong result %f\n", static_cast<double>(out[count / 2]));
          std::exit(1);
        }
        if (it > 0) times[r].push_back(secs);  // the first one warms buffers and links
        if (it == 0 && warmed.fetch_add(1) + 1 == peers) cpu0 = cpu_seconds();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double cpu_per_op = (cpu_seconds() - cpu0) / iters;
  std::vector<double> t = times[0];
  std::sort(t.begin(), t.end());
  const double p50 = t[t.size() / 2];
  const double bytes = static_cast<double>(count) * 4;
  const double busbw =
      bytes / p50 * 2.0 * static_cast<double>(peers - 1) / static_cast<double>(peers);
  std::printf(
      "peers=%zu size=%zuMiB stripes=%zu piece=%zuKiB %s: p50 %.1f ms, min %.1f ms, algbw %.2f "
      "GB/s, busbw %.2f GB/s, cpu %.1f ms/op\n",
      peers, mib, mo.stripes, co.piece_bytes / 1024, inplace ? "in-place" : "out-of-place",
      p50 * 1e3, t[0] * 1e3, bytes / p50 / 1e9, busbw / 1e9, cpu_per_op * 1e3);
  return 0;
}
