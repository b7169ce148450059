// mpi_allreduce.cc: the Open MPI baseline for `loco bench allreduce`: MPI_Allreduce (fp32 sum,
// MPI_IN_PLACE) run under mpirun. The launcher runs it twice: over TCP on loopback (--mca btl
// tcp,self --mca btl_tcp_if_include lo) and with Open MPI's defaults (shared memory). For each
// size: `warmup` all-reduces (the first is verified exactly), then `iters` timed ones; results go
// to <out>.<rank>.json (bench_common.h). Not here: statistics (the launcher does them).
//
// Usage: mpirun -np N loco_bench_mpi SIZES WARMUP ITERS OUT_PREFIX
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_common.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (argc != 5) {
    if (rank == 0) std::fprintf(stderr, "usage: %s SIZES WARMUP ITERS OUT_PREFIX\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const std::vector<size_t> sizes = loco::bench::parse_sizes(argv[1]);
  const int warmup = std::atoi(argv[2]);
  const int iters = std::atoi(argv[3]);
  const std::string out = argv[4];
  if (sizes.empty() || warmup < 1 || iters < 1) {
    if (rank == 0) std::fprintf(stderr, "mpi bench: bad arguments\n");
    MPI_Finalize();
    return 2;
  }
  std::vector<loco::bench::SizeResult> results;
  for (size_t bytes : sizes) {
    loco::bench::SizeResult r;
    r.bytes = bytes;
    std::vector<float> buf(bytes / sizeof(float));
    loco::bench::fill(buf, static_cast<uint64_t>(rank));
    const int count = static_cast<int>(buf.size());
    for (int w = 0; w < warmup; ++w) {
      MPI_Allreduce(MPI_IN_PLACE, buf.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      if (w == 0) r.verified = loco::bench::verify_sum(buf, world);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    const double cpu0 = loco::bench::cpu_seconds();
    for (int k = 0; k < iters; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      MPI_Allreduce(MPI_IN_PLACE, buf.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      r.times_ms.push_back(loco::bench::ms_since(t0));
    }
    r.cpu_s = loco::bench::cpu_seconds() - cpu0;
    results.push_back(std::move(r));
  }
  int rc = 0;
  if (!loco::bench::write_results(out, rank, world, results)) {
    std::fprintf(stderr, "mpi bench: cannot write %s.%d.json\n", out.c_str(), rank);
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
