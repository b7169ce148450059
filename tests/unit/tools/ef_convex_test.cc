// ef_convex_test.cc: the convex check behind `loco bench ef-convex` shows what it claims: on
// heterogeneous least squares, top-k without error feedback stalls at a gap floor; classic EF gets
// within a floor proportional to the step (halving the step shrinks it), and EF21 converges like
// uncompressed gradient descent; and the run is deterministic.
#include <gtest/gtest.h>

#include "ef_convex.h"

namespace loco::cli {
namespace {

EfConvexOptions small() {
  EfConvexOptions o;
  o.workers = 4;
  o.dim = 60;
  o.rows = 40;
  o.iterations = 1500;
  o.codec = "topk:fraction=0.05";
  o.record_every = 50;
  o.step_scale = 0.05;
  return o;
}

const EfConvexSeries& by_name(const EfConvexResult& r, const std::string& name) {
  for (const auto& s : r.series) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no series " << name;
  return r.series.front();
}

TEST(EfConvex, NoFeedbackStallsWhileFeedbackConverges) {
  auto r = run_ef_convex(small());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->series.size(), 4u);
  EXPECT_GT(r->initial_gap, 0);
  EXPECT_LT(r->bytes_per_message, r->bytes_uncompressed / 4);
  const auto& plain = by_name(*r, "uncompressed");
  const auto& none = by_name(*r, "top-k, no feedback");
  const auto& ef = by_name(*r, "top-k + EF");
  const auto& ef21 = by_name(*r, "top-k + EF21");
  EXPECT_LT(plain.final_gap, 1e-5);
  // Without feedback: stuck on a floor, not improving over the last tenth.
  EXPECT_GT(none.floor_gap, 0.1);
  EXPECT_GT(none.final_gap, 0.9 * none.gap[none.gap.size() / 2].second);
  // EF: far below that floor; EF21: converged.
  EXPECT_LT(ef.final_gap, 0.02);
  EXPECT_LT(ef.final_gap, none.floor_gap / 50);
  EXPECT_LT(ef21.final_gap, 1e-5);
  // EF's remaining gap comes from the step size (heterogeneous workers keep non-zero residuals at
  // the optimum): a smaller step gets closer, so EF converges as the step goes to zero.
  EfConvexOptions half = small();
  half.step_scale = 0.025;
  half.iterations = 3000;
  auto h = run_ef_convex(half);
  ASSERT_TRUE(h.ok());
  EXPECT_LT(by_name(*h, "top-k + EF").final_gap, 0.75 * ef.final_gap);
  EXPECT_GT(by_name(*h, "top-k, no feedback").floor_gap, 0.1);
}

TEST(EfConvex, DeterministicAndValidated) {
  auto a = run_ef_convex(small());
  auto b = run_ef_convex(small());
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->series.size(); ++i) EXPECT_EQ(a->series[i].gap, b->series[i].gap);
  EfConvexOptions bad = small();
  bad.codec = "nonsense";
  EXPECT_FALSE(run_ef_convex(bad).ok());
  bad = small();
  bad.dim = 0;
  EXPECT_EQ(run_ef_convex(bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loco::cli
