// Integration: 3 `loco-train` peers and a coordinator (real processes, loopback, port 0) train a
// small transformer for a few dozen steps under each strategy. Checks: every peer exits 0, the
// loss falls, every sync leaves bit-identical parameters on all peers (params_hash of each "sync"
// line), the bytes sent match the strategy's schedule, and bad options fail fast with exit 2.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "integration/train_support.h"

namespace loco::testing {
namespace {

struct Case {
  std::string strategy;
  std::vector<std::string> extra;
  size_t syncs;  // "sync" lines expected per peer
  std::string suffix;  // test name suffix for variants of one strategy
};

class TrainIntegration : public ::testing::TestWithParam<Case> {};

TEST_P(TrainIntegration, ThreePeersLossFallsAndSyncsAreBitIdentical) {
  const Case& c = GetParam();
  constexpr int kSteps = 24;
  TrainSwarm t;
  ASSERT_NE(t.swarm().port(), 0) << t.swarm().coordinator_log();
  for (size_t i = 0; i < 3; ++i) {
    std::vector<std::string> extra = {"--strategy", c.strategy, "--steps", std::to_string(kSteps),
                                      "--eval-every", "8"};
    extra.insert(extra.end(), c.extra.begin(), c.extra.end());
    t.start(i, 3, extra);
  }
  for (size_t i = 0; i < 3; ++i) {
    auto exit = t.proc(i).wait(Deadline::after(std::chrono::seconds(240)));
    ASSERT_TRUE(exit.ok()) << "peer " << i << " still running\n" << t.log(i);
    ASSERT_TRUE(exit->exited && exit->code == 0) << exit->to_string() << "\n" << t.log(i);
  }
  std::set<int> ranks;
  std::vector<std::map<int64_t, std::string>> sync_hash(3);
  for (size_t i = 0; i < 3; ++i) {
    auto start = t.events(i, "start");
    ASSERT_EQ(start.size(), 1u) << t.log(i);
    EXPECT_EQ(start[0]["world"], 3);
    EXPECT_EQ(start[0]["strategy"], c.strategy);
    ranks.insert(start[0]["rank"].get<int>());
    auto steps = t.events(i, "step");
    ASSERT_FALSE(steps.empty());
    ASSERT_EQ(steps.front()["step"], 0);
    const double first_loss = steps.front()["loss"].get<double>();
    EXPECT_NEAR(first_loss, std::log(256.0), 0.5);
    auto done = t.events(i, "done");
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0]["step"], kSteps);
    EXPECT_LT(done[0]["val_loss"].get<double>(), first_loss - 1.0) << "peer " << i;
    EXPECT_EQ(done[0]["tokens"], kSteps * 256);
    EXPECT_GT(done[0]["bytes_sent"].get<uint64_t>(), 0u);
    EXPECT_EQ(t.events(i, "eval").size(), 3u);  // steps 8, 16 and the final one
    EXPECT_TRUE(t.events(i, "retry").empty());
    auto syncs = t.events(i, "sync");
    EXPECT_EQ(syncs.size(), c.syncs) << "peer " << i;
    for (auto& s : syncs) {
      const int64_t key = s.value("final", false) ? -1 : s["step"].get<int64_t>();
      sync_hash[i][key] = s["params_hash"];
    }
    sync_hash[i][-2] = done[0]["params_hash"];  // every strategy ends with identical parameters
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1, 2}));
  EXPECT_EQ(sync_hash[0], sync_hash[1]);
  EXPECT_EQ(sync_hash[0], sync_hash[2]);
  // Different peers trained on different shards: the hash is not a constant.
  std::set<std::string> distinct;
  for (auto& [step, h] : sync_hash[0]) distinct.insert(h);
  EXPECT_EQ(distinct.size(), sync_hash[0].size() - 1);  // the done hash repeats the last sync's
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, TrainIntegration,
    ::testing::Values(Case{"ddp", {}, 24, ""},
                      Case{"diloco", {"--H", "4"}, 6, ""},
                      // The pseudo-gradient all-reduced in int8 over the quantized ring: still
                      // bit-identical on every peer after every round.
                      Case{"diloco", {"--H", "4", "--wire-codec", "int8"}, 6, "_int8"},
                      // 8 data-parallel steps (a sync line each), then rounds after 11, 15, 19, 23.
                      Case{"diloco", {"--H", "4", "--warm-start", "8"}, 12, "_warm_start"},
                      Case{"local-sgd", {"--H", "6"}, 4, ""},
                      Case{"lofi", {}, 1, ""}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      std::string n = param_info.param.strategy + param_info.param.suffix;
      for (auto& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

// Bad options and data fail fast with exit 2 and a message naming what is wrong, through the
// `loco train` forwarder (no coordinator is needed: nothing joins).
TEST(TrainCli, BadOptionsAndDataExitTwoWithAClearMessage) {
  TempDir dir;
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> cases = {
      {{"--strategy", "gossip"}, "gossip"},
      {{"--data", dir.file("no-such.txt")}, "no-such.txt"},
      {{"--model", "mlp", "--data", dir.path().string()}, "train-images-idx3-ubyte.gz"},
      {{"--heads", "3"}, "divisible"},
      {{"--steps", "0"}, "--steps"},
      {{"--coordinator", "nonsense"}, "--coordinator"},
      {{"--wire-codec", "topk"}, "wire codec"},
      {{"--strategy", "ddp-topk", "--ef-codec", "nonsense"}, "nonsense"},
      {{"--warm-start", "-1"}, "--warm-start"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    std::vector<std::string> argv = {loco_bin(), "train"};
    if (cases[k].args.front() != "--coordinator") {
      argv.insert(argv.end(), {"--coordinator", "127.0.0.1:9"});
    }
    argv.insert(argv.end(), cases[k].args.begin(), cases[k].args.end());
    const std::string out = dir.file("out" + std::to_string(k));
    auto child = ChildProcess::spawn(argv, out);
    ASSERT_TRUE(child.ok());
    auto exit = child->wait(Deadline::after(std::chrono::seconds(60)));
    ASSERT_TRUE(exit.ok());
    EXPECT_TRUE(exit->exited);
    EXPECT_EQ(exit->code, 2) << cases[k].message << ": " << slurp(out);
    EXPECT_NE(slurp(out).find(cases[k].message), std::string::npos) << slurp(out);
  }
}

}  // namespace
}  // namespace loco::testing
