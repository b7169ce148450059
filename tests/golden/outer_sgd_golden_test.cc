// outer_sgd_golden_test.cc: replays tests/golden/outer/ (written by gen_outer.py with PyTorch's own
// torch.optim.SGD) against loco's outer optimizer (src/optim/outer_sgd.h): from the same start and
// the same pseudo-gradients, the parameters after every step must match torch's within a few ulps
// (torch may fuse x + (-lr) * d into one FMA rounding where loco rounds twice). The hand-computed
// cases are in tests/unit/optim/outer_sgd_test.cc; this pins the conventions (first step v = g,
// dampening 0, the Nesterov look-ahead g + mu * v) to the reference DiLoCo is defined by.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "optim/outer_sgd.h"

namespace loco::optim {
namespace {

const std::string kDir = LOCO_GOLDEN_OUTER_DIR;

struct Case {
  std::string name;
  float lr = 0;
  float momentum = 0;
  int nesterov = 0;
  size_t steps = 0;
  size_t n = 0;
};

std::vector<Case> read_cases() {
  std::vector<Case> cases;
  std::ifstream in(kDir + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Case c;
    ls >> c.name >> c.lr >> c.momentum >> c.nesterov >> c.steps >> c.n;
    if (ls) cases.push_back(c);
  }
  return cases;
}

std::vector<float> read_f32(const std::string& name) {
  std::ifstream in(kDir + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << kDir << "/" << name;
  std::vector<char> raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<float> v(raw.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), raw.data(), 4 * v.size());
  return v;
}

// Distance in units of the last place of the step's largest operand: x_t = x_{t-1} - lr * d
// rounds at the scale of max(|x_{t-1}|, |lr * d|), however small x_t comes out.
double ulps(float got, float want, float before) {
  const float scale = std::max({std::fabs(want), std::fabs(before), std::fabs(before - want)});
  const double ulp = std::nextafter(scale, INFINITY) - scale;
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

// torch's parameters before step t (x0 for t = 0).
const float* x_before(const std::vector<float>& blob, const Case& c, size_t t) {
  return t == 0 ? blob.data() : blob.data() + c.n * (2 * t);
}

TEST(GoldenOuterSgd, CasesCoverNesterovHeavyBallAndPlain) {
  const std::vector<Case> cases = read_cases();
  ASSERT_EQ(cases.size(), 4u) << "cases.txt missing or short in " << kDir;
  int nesterov = 0;
  int heavy_ball = 0;
  int plain = 0;
  for (const Case& c : cases) {
    if (c.momentum == 0) ++plain;
    else if (c.nesterov != 0) ++nesterov;
    else ++heavy_ball;
  }
  EXPECT_GE(nesterov, 1);
  EXPECT_GE(heavy_ball, 1);
  EXPECT_GE(plain, 1);
}

TEST(GoldenOuterSgd, EveryStepMatchesTorchSgd) {
  for (const Case& c : read_cases()) {
    SCOPED_TRACE(c.name);
    const std::vector<float> blob = read_f32(c.name + ".f32");
    ASSERT_EQ(blob.size(), c.n * (1 + 2 * c.steps));
    OuterSgdOptions options;
    options.lr = c.lr;
    options.momentum = c.momentum;
    options.nesterov = c.nesterov != 0;
    OuterSgd outer(options);
    ASSERT_TRUE(outer.init(c.n).ok());
    std::vector<float> x(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(c.n));
    double worst = 0;
    size_t moved = 0;
    for (size_t t = 0; t < c.steps; ++t) {
      const float* g = blob.data() + c.n * (1 + 2 * t);
      const float* want = g + c.n;
      ASSERT_TRUE(outer.step(x, std::span<const float>(g, c.n)).ok());
      for (size_t i = 0; i < c.n; ++i) {
        const double d = ulps(x[i], want[i], x_before(blob, c, t)[i]);
        worst = std::max(worst, d);
        ASSERT_LE(d, 4.0) << "step " << t << " element " << i << ": loco " << x[i] << ", torch "
                          << want[i];
      }
      for (size_t i = 0; i < c.n; ++i) moved += want[i] != x_before(blob, c, t)[i] ? 1 : 0;
      // Continue from torch's parameters so the bound is per step, not accumulated.
      std::copy(want, want + c.n, x.begin());
    }
    // The reference really steps (a file of unchanged parameters would pass the bound trivially).
    EXPECT_GT(moved, c.n * c.steps / 2);
    std::printf("%s: worst %.1f ulp over %zu steps\n", c.name.c_str(), worst, c.steps);
  }
}

}  // namespace
}  // namespace loco::optim
