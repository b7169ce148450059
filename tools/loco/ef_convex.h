// ef_convex.h: the small convex check of issue 6: distributed least squares where each of W
// workers compresses its gradient with a sparse codec (top-k by default) before the average, run
// without error feedback, with EF (EF-SGD) and with EF21, next to uncompressed gradient descent.
//
// Problem (deterministic from a seed): worker i holds A_i (m x d, entries N(0, 1/m)) and
// b_i = A_i t_i + noise, with a different target t_i per worker, so the workers' gradients do not
// vanish at the common optimum x*. f(x) = (1/W) sum_i 0.5 |A_i x - b_i|^2. The step is 1/L (L the
// largest eigenvalue of the averaged Hessian, by power iteration), and x* solves the normal
// equations (conjugate gradient in double precision). Top-k without error feedback has a fixed
// point away from x* there (each worker's top-k of a non-zero gradient is non-zero at x*), so it
// stalls. With classic EF what was not sent is sent later, so it gets close to x*, within a gap
// that shrinks with the step (the residuals stay non-zero at x* with heterogeneous workers); EF21
// sends the change of each worker's gradient estimate and converges like plain gradient descent.
// Pure computation, no I/O: `loco bench ef-convex` (cmd_bench_ef.cc) prints and plots the result.
// Not a general least-squares solver.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace loco::cli {

struct EfConvexOptions {
  int workers = 4;
  int dim = 200;            // d
  int rows = 100;           // m per worker
  int iterations = 3000;
  std::string codec = "topk:fraction=0.05";
  double step_scale = 0.05;  // step = step_scale / L (EF-SGD needs a step well below 1/L)
  uint64_t seed = 1;
  int record_every = 10;    // iterations between recorded points
};

struct EfConvexSeries {
  std::string name;  // "uncompressed", "no feedback", "EF", "EF21"
  std::vector<std::pair<int, double>> gap;  // (iteration, f(x) - f*) relative to f(x0) - f*
  double final_gap = 0;                     // relative, after the last iteration
  double floor_gap = 0;                     // smallest relative gap over the last tenth
};

struct EfConvexResult {
  double lipschitz = 0;    // L
  double f_star = 0;
  double initial_gap = 0;  // f(x0) - f*
  size_t bytes_per_message = 0;  // one worker's compressed gradient
  size_t bytes_uncompressed = 0;
  std::vector<EfConvexSeries> series;
};

// INVALID_ARGUMENT for bad sizes or a codec that make_codec() rejects.
Result<EfConvexResult> run_ef_convex(const EfConvexOptions& options);

}  // namespace loco::cli
