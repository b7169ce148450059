// gloo_allreduce.cc: the Gloo baseline for `loco bench allreduce`: one rank of Gloo's
// AllreduceRingChunked (fp32 sum, in place) over TCP on loopback. The launcher starts N of these;
// they meet through a FileStore in a fresh directory. For each size: `warmup` all-reduces (the
// first is verified exactly), then `iters` timed ones; results go to <out>.<rank>.json
// (bench_common.h). Not here: launching, statistics (the launcher does both).
//
// Usage: loco_bench_gloo RANK WORLD STORE_DIR SIZES WARMUP ITERS OUT_PREFIX
// (Gloo's newer gloo::allreduce() entry point stalls at 4 processes in Debian's snapshot: avoid.)
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s RANK WORLD STORE_DIR SIZES WARMUP ITERS OUT_PREFIX\n", argv[0]);
    return 2;
  }
  const int rank = std::atoi(argv[1]);
  const int world = std::atoi(argv[2]);
  const std::string store_dir = argv[3];
  const std::vector<size_t> sizes = loco::bench::parse_sizes(argv[4]);
  const int warmup = std::atoi(argv[5]);
  const int iters = std::atoi(argv[6]);
  const std::string out = argv[7];
  if (world < 1 || rank < 0 || rank >= world || sizes.empty() || warmup < 1 || iters < 1) {
    std::fprintf(stderr, "gloo bench: bad arguments\n");
    return 2;
  }
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = "127.0.0.1";
    attr.ai_family = AF_INET;
    auto dev = gloo::transport::tcp::CreateDevice(attr);
    gloo::rendezvous::FileStore file_store(store_dir);
    gloo::rendezvous::PrefixStore store("loco-bench", file_store);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, world);
    ctx->connectFullMesh(store, dev);

    std::vector<loco::bench::SizeResult> results;
    for (size_t bytes : sizes) {
      loco::bench::SizeResult r;
      r.bytes = bytes;
      std::vector<float> buf(bytes / sizeof(float));
      loco::bench::fill(buf, static_cast<uint64_t>(rank));
      std::vector<float*> ptrs{buf.data()};
      gloo::AllreduceRingChunked<float> algo(ctx, ptrs, static_cast<int>(buf.size()));
      for (int w = 0; w < warmup; ++w) {
        algo.run();
        if (w == 0) r.verified = loco::bench::verify_sum(buf, world);
      }
      const double cpu0 = loco::bench::cpu_seconds();
      for (int k = 0; k < iters; ++k) {
        auto t0 = std::chrono::steady_clock::now();
        algo.run();
        r.times_ms.push_back(loco::bench::ms_since(t0));
      }
      r.cpu_s = loco::bench::cpu_seconds() - cpu0;
      results.push_back(std::move(r));
    }
    if (!loco::bench::write_results(out, rank, world, results)) {
      std::fprintf(stderr, "gloo bench: cannot write %s.%d.json\n", out.c_str(), rank);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gloo bench rank %d: %s\n", rank, e.what());
    return 1;
  }
  return 0;
}
