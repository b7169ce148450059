// ef_convex.cc: distributed least squares with compressed gradients (see ef_convex.h).
#include "ef_convex.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "codecs/codecs.h"
#include "codecs/error_feedback.h"
#include "common/rng.h"

namespace loco::cli {

namespace {

using Vec = std::vector<double>;

// One worker's data: A (rows x dim, row-major) and b.
struct Shard {
  Vec a;
  Vec b;
};

double gaussian(SplitMix64& r) {
  // Box-Muller on two uniforms in (0, 1].
  const double u1 = (static_cast<double>(r.next() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(r.next() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

struct Problem {
  int dim = 0;
  int rows = 0;
  std::vector<Shard> shards;

  // grad_i(x) = A_i^T (A_i x - b_i); returns 0.5 |A_i x - b_i|^2.
  double worker_grad(size_t i, const Vec& x, Vec* g) const {
    const Shard& s = shards[i];
    const auto d = static_cast<size_t>(dim);
    Vec r(static_cast<size_t>(rows));
    double f = 0;
    for (size_t row = 0; row < r.size(); ++row) {
      double v = -s.b[row];
      for (size_t j = 0; j < d; ++j) v += s.a[row * d + j] * x[j];
      r[row] = v;
      f += 0.5 * v * v;
    }
    if (g != nullptr) {
      g->assign(d, 0.0);
      for (size_t row = 0; row < r.size(); ++row) {
        for (size_t j = 0; j < d; ++j) (*g)[j] += s.a[row * d + j] * r[row];
      }
    }
    return f;
  }
  double objective(const Vec& x) const {
    double f = 0;
    for (size_t i = 0; i < shards.size(); ++i) f += worker_grad(i, x, nullptr);
    return f / static_cast<double>(shards.size());
  }
  // H v with H = (1/W) sum A_i^T A_i.
  Vec hessian_times(const Vec& v) const {
    const auto d = static_cast<size_t>(dim);
    Vec out(d, 0.0);
    for (const Shard& s : shards) {
      for (size_t row = 0; row < static_cast<size_t>(rows); ++row) {
        double av = 0;
        for (size_t j = 0; j < d; ++j) av += s.a[row * d + j] * v[j];
        for (size_t j = 0; j < d; ++j) out[j] += s.a[row * d + j] * av;
      }
    }
    for (double& o : out) o /= static_cast<double>(shards.size());
    return out;
  }
};

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

Problem make_problem(const EfConvexOptions& o) {
  Problem p;
  p.dim = o.dim;
  p.rows = o.rows;
  SplitMix64 r(o.seed);
  const auto d = static_cast<size_t>(o.dim);
  const double scale = 1.0 / std::sqrt(static_cast<double>(o.rows));
  for (int w = 0; w < o.workers; ++w) {
    Shard s;
    s.a.resize(static_cast<size_t>(o.rows) * d);
    for (double& v : s.a) v = gaussian(r) * scale;
    Vec target(d);
    for (double& v : target) v = gaussian(r);  // a different target per worker: heterogeneous
    s.b.resize(static_cast<size_t>(o.rows));
    for (size_t row = 0; row < s.b.size(); ++row) {
      double v = 0.1 * gaussian(r);
      for (size_t j = 0; j < d; ++j) v += s.a[row * d + j] * target[j];
      s.b[row] = v;
    }
    p.shards.push_back(std::move(s));
  }
  return p;
}

// Largest eigenvalue of H by power iteration.
double lipschitz(const Problem& p) {
  Vec v(static_cast<size_t>(p.dim), 1.0);
  double lambda = 0;
  for (int it = 0; it < 200; ++it) {
    Vec hv = p.hessian_times(v);
    const double n = std::sqrt(dot(hv, hv));
    if (n == 0) return 0;
    lambda = dot(v, hv) / dot(v, v);
    for (size_t i = 0; i < v.size(); ++i) v[i] = hv[i] / n;
  }
  return lambda;
}

// x* from H x = (1/W) sum A_i^T b_i by conjugate gradients.
Vec solve(const Problem& p) {
  const auto d = static_cast<size_t>(p.dim);
  Vec rhs(d, 0.0), g;
  Vec zero(d, 0.0);
  for (size_t i = 0; i < p.shards.size(); ++i) {
    p.worker_grad(i, zero, &g);  // = -A_i^T b_i
    for (size_t j = 0; j < d; ++j) rhs[j] -= g[j] / static_cast<double>(p.shards.size());
  }
  Vec x(d, 0.0), r = rhs, dir = rhs;
  double rr = dot(r, r);
  for (size_t it = 0; it < 4 * d && rr > 1e-30; ++it) {
    Vec hd = p.hessian_times(dir);
    const double alpha = rr / dot(dir, hd);
    for (size_t j = 0; j < d; ++j) {
      x[j] += alpha * dir[j];
      r[j] -= alpha * hd[j];
    }
    const double next = dot(r, r);
    for (size_t j = 0; j < d; ++j) dir[j] = r[j] + next / rr * dir[j];
    rr = next;
  }
  return x;
}

enum class Mode { kUncompressed, kNoFeedback, kEf, kEf21 };

Result<EfConvexSeries> run_mode(const Problem& p, const EfConvexOptions& o, Mode mode,
                                const codecs::Codec& codec, double step, double f_star,
                                double gap0) {
  static constexpr const char* kNames[] = {"uncompressed", "top-k, no feedback", "top-k + EF",
                                           "top-k + EF21"};
  EfConvexSeries out;
  out.name = kNames[static_cast<int>(mode)];
  const auto d = static_cast<size_t>(o.dim);
  const auto w = static_cast<size_t>(o.workers);
  std::vector<std::unique_ptr<codecs::ErrorFeedback>> senders;
  std::vector<std::unique_ptr<codecs::Ef21Receiver>> receivers;
  for (size_t i = 0; i < w; ++i) {
    if (mode == Mode::kEf || mode == Mode::kEf21) {
      senders.push_back(std::make_unique<codecs::ErrorFeedback>(
          codec, d, mode == Mode::kEf ? codecs::FeedbackMode::kEf : codecs::FeedbackMode::kEf21));
    }
    if (mode == Mode::kEf21) receivers.push_back(std::make_unique<codecs::Ef21Receiver>(codec, d));
  }
  Vec x(d, 0.0), g, avg(d);
  std::vector<float> gf(d), decoded(d);
  std::vector<std::byte> buf(codec.encoded_size_bound(d));
  out.floor_gap = std::numeric_limits<double>::infinity();
  for (int it = 0; it <= o.iterations; ++it) {
    const double gap = (p.objective(x) - f_star) / gap0;
    if (it % o.record_every == 0 || it == o.iterations) out.gap.emplace_back(it, gap);
    if (it >= o.iterations - o.iterations / 10) out.floor_gap = std::min(out.floor_gap, gap);
    if (it == o.iterations) {
      out.final_gap = gap;
      break;
    }
    std::fill(avg.begin(), avg.end(), 0.0);
    for (size_t i = 0; i < w; ++i) {
      p.worker_grad(i, x, &g);
      for (size_t j = 0; j < d; ++j) gf[j] = static_cast<float>(g[j]);
      std::span<const float> contribution;
      if (mode == Mode::kUncompressed) {
        contribution = gf;
      } else if (mode == Mode::kNoFeedback) {
        LOCO_ASSIGN_OR_RETURN(size_t n, codec.encode(gf, buf));
        LOCO_RETURN_IF_ERROR(codec.decode(ByteSpan(buf.data(), n), decoded));
        contribution = decoded;
      } else if (mode == Mode::kEf) {
        LOCO_ASSIGN_OR_RETURN(size_t n, senders[i]->encode(gf, buf));
        LOCO_RETURN_IF_ERROR(codec.decode(ByteSpan(buf.data(), n), decoded));
        contribution = decoded;
      } else {
        LOCO_ASSIGN_OR_RETURN(size_t n, senders[i]->encode(gf, buf));
        LOCO_RETURN_IF_ERROR(receivers[i]->apply(ByteSpan(buf.data(), n)));
        contribution = receivers[i]->estimate();
      }
      for (size_t j = 0; j < d; ++j) avg[j] += contribution[j] / static_cast<double>(w);
    }
    for (size_t j = 0; j < d; ++j) x[j] -= step * avg[j];
  }
  return out;
}

}  // namespace

Result<EfConvexResult> run_ef_convex(const EfConvexOptions& o) {
  if (o.workers < 1 || o.dim < 1 || o.rows < 1 || o.iterations < 1 || o.record_every < 1 ||
      !(o.step_scale > 0) || o.workers > 1024 || o.dim > 100000 || o.rows > 100000) {
    return InvalidArgument("ef-convex: workers, dim, rows, iterations and record interval must be "
                           "positive (and not huge), and the step scale > 0");
  }
  LOCO_ASSIGN_OR_RETURN(std::unique_ptr<codecs::Codec> codec, codecs::make_codec(o.codec));
  const Problem p = make_problem(o);
  EfConvexResult r;
  r.lipschitz = lipschitz(p);
  if (!(r.lipschitz > 0)) return Internal("ef-convex: degenerate problem (L = 0)");
  const Vec x_star = solve(p);
  r.f_star = p.objective(x_star);
  r.initial_gap = p.objective(Vec(static_cast<size_t>(o.dim), 0.0)) - r.f_star;
  r.bytes_uncompressed = static_cast<size_t>(o.dim) * sizeof(float);
  r.bytes_per_message = codec->encoded_size_bound(static_cast<size_t>(o.dim));
  const double step = o.step_scale / r.lipschitz;
  for (Mode m : {Mode::kUncompressed, Mode::kNoFeedback, Mode::kEf, Mode::kEf21}) {
    LOCO_ASSIGN_OR_RETURN(EfConvexSeries s, run_mode(p, o, m, *codec, step, r.f_star, r.initial_gap));
    r.series.push_back(std::move(s));
  }
  return r;
}

}  // namespace loco::cli
