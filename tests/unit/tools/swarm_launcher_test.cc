// swarm_launcher_test.cc: `loco swarm` end to end with a fake trainer (fake_trainer.sh, no
// LibTorch): the run folder, a child's exit 2 or crash stopping the swarm with its message, bad
// options, a missing trainer, unreadable data, Ctrl-C and the stall watchdog.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/process.h"

namespace loco {
namespace {

namespace fs = std::filesystem;

std::string loco_bin() {
  const char* bin = std::getenv("LOCO_BIN");
  return bin ? bin : "loco";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SwarmLauncher : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("loco_swarm_launcher_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `loco swarm ARGS --out dir/out` and returns its exit; output in output_.
  ExitInfo run(std::vector<std::string> args, double timeout_s = 60,
               const std::string& trainer = FAKE_TRAINER) {
    std::vector<std::string> argv = {loco_bin(), "swarm", "--trainer", trainer, "--out",
                                     (dir_ / "out").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn(argv, (dir_ / "output.txt").string());
    EXPECT_TRUE(child.ok());
    auto info = child->wait(Deadline::after(std::chrono::milliseconds(static_cast<int>(timeout_s * 1000))));
    EXPECT_TRUE(info.ok()) << "loco swarm did not finish in " << timeout_s << " s";
    output_ = slurp(dir_ / "output.txt");
    return info.ok() ? *info : ExitInfo{};
  }

  fs::path dir_;
  std::string output_;
};

TEST_F(SwarmLauncher, TwoStrategiesWriteTheRunFolder) {
  ExitInfo e = run({"--peers", "2", "--steps", "4", "--strategies", "ddp,diloco:5", "--plain"});
  ASSERT_TRUE(e.exited && e.code == 0) << e.to_string() << "\n" << output_;
  fs::path out = dir_ / "out";
  for (const char* f : {"metrics.jsonl", "summary.json", "plot.svg", "table.md", "table.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  EXPECT_TRUE(fs::exists(out / "ddp" / "peer-0.jsonl"));
  EXPECT_TRUE(fs::exists(out / "diloco-H5" / "peer-1.log"));
  auto summary = nlohmann::json::parse(slurp(out / "summary.json"));
  ASSERT_EQ(summary["strategies"].size(), 2u);
  EXPECT_EQ(summary["strategies"][0]["label"], "ddp");
  EXPECT_EQ(summary["strategies"][1]["label"], "diloco H=5");
  EXPECT_EQ(summary["strategies"][1]["config"]["H"], 5);
  // The fake sends 1000 * (rank + 1) bytes per step: (4000 + 8000) / 2 per peer.
  EXPECT_DOUBLE_EQ(summary["strategies"][0]["bytes_sent_per_peer"].get<double>(), 6000);
  EXPECT_NEAR(summary["strategies"][0]["final_val_loss"].get<double>(), 3.0 / 1.4, 1e-3);
  EXPECT_EQ(summary["strategies"][0]["steps"], 4);
  EXPECT_EQ(summary["strategies"][0]["peers_done"], 2);
  EXPECT_EQ(summary["run"]["complete"], true);
  std::string svg = slurp(out / "plot.svg");
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(output_.find("run folder: " + out.string() +
                         " (metrics.jsonl, summary.json, plot.svg, table.md)"),
            std::string::npos)
      << output_;
  EXPECT_NE(output_.find("diloco H=5"), std::string::npos) << output_;
}

TEST_F(SwarmLauncher, PartialLastLineIsTolerated) {
  ExitInfo e = run({"--peers", "1", "--steps", "3", "--strategies", "lofi", "--fake-mode", "partial"});
  ASSERT_TRUE(e.exited && e.code == 0) << e.to_string() << "\n" << output_;
  auto summary = nlohmann::json::parse(slurp(dir_ / "out" / "summary.json"));
  EXPECT_EQ(summary["strategies"][0]["peers_done"], 1);
}

TEST_F(SwarmLauncher, ChildExit2StopsTheSwarmWithItsMessage) {
  ExitInfo e = run({"--peers", "3", "--steps", "50", "--fake-mode", "fail2"});
  EXPECT_TRUE(e.exited && e.code == 2) << e.to_string() << "\n" << output_;
  EXPECT_NE(output_.find("unknown option --bogus"), std::string::npos) << output_;
  EXPECT_NE(output_.find("exit"), std::string::npos) << output_;
}

// issue 17: a mistyped +OPTION of a later strategy is caught before any peer starts, named with
// its entry, in loco swarm's words (not "Run with --help", which meant loco-train's help).
TEST_F(SwarmLauncher, MistypedStrategyOptionIsCaughtBeforeAnythingStarts) {
  ExitInfo e = run({"--peers", "2", "--steps", "4", "--strategies", "ddp,diloco:5+bogus-option=1"});
  EXPECT_TRUE(e.exited && e.code == 2) << e.to_string() << "\n" << output_;
  EXPECT_NE(output_.find("--strategies entry 'diloco H=5 bogus-option=1'"), std::string::npos) << output_;
  EXPECT_NE(output_.find("not expected: --bogus-option"), std::string::npos) << output_;
  EXPECT_NE(output_.find("loco-train train --help"), std::string::npos) << output_;
  EXPECT_EQ(output_.find("Run with --help"), std::string::npos) << output_;
  // Nothing ran: not even the first (valid) strategy's peers.
  EXPECT_FALSE(fs::exists(dir_ / "out" / "ddp")) << output_;
  EXPECT_EQ(output_.find("peers started"), std::string::npos) << output_;
}

TEST_F(SwarmLauncher, ChildCrashIsReported) {
  ExitInfo e = run({"--peers", "2", "--steps", "50", "--fake-mode", "crash"});
  EXPECT_TRUE(e.exited && e.code == 1) << e.to_string() << "\n" << output_;
  EXPECT_NE(output_.find("simulated crash"), std::string::npos) << output_;
  // No strategy finished: the closing line names no empty file, and points at the peer logs.
  EXPECT_NE(output_.find("partial run folder: "), std::string::npos) << output_;
  EXPECT_EQ(output_.find("plot.svg"), std::string::npos) << output_;
  EXPECT_EQ(output_.find("metrics.jsonl"), std::string::npos) << output_;
  EXPECT_NE(output_.find("the failed run's peer logs in ddp/"), std::string::npos) << output_;
}

TEST_F(SwarmLauncher, BadOptionsFailClearly) {
  ExitInfo e = run({"--strategies", "ddp,adamw"});
  EXPECT_TRUE(e.exited && e.code == 2) << e.to_string();
  EXPECT_NE(output_.find("unknown strategy 'adamw'"), std::string::npos) << output_;
  e = run({"--data", (dir_ / "no-such-file.txt").string()});
  EXPECT_TRUE(e.exited && e.code == 2) << e.to_string();
  EXPECT_NE(output_.find("no-such-file.txt"), std::string::npos) << output_;
  e = run({"--peers", "0"});
  EXPECT_TRUE(e.exited && e.code != 0) << e.to_string();
  e = run({}, 60, (dir_ / "no-loco-train").string());
  EXPECT_TRUE(e.exited && e.code == 2) << e.to_string();
  EXPECT_NE(output_.find("missing"), std::string::npos) << output_;
}

bool any_process_mentions(const std::string& text) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(SwarmLauncher, InterruptStopsEveryChild) {
  std::vector<std::string> argv = {loco_bin(), "swarm", "--trainer", FAKE_TRAINER, "--out",
                                   (dir_ / "out").string(), "--peers", "3", "--fake-mode", "hang"};
  auto child = ChildProcess::spawn(argv, (dir_ / "output.txt").string());
  ASSERT_TRUE(child.ok());
  // Wait until all three fakes have written their start line.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int started = 0;
    for (int i = 0; i < 3; ++i) started += fs::exists(dir_ / "out" / "ddp" / ("peer-" + std::to_string(i) + ".jsonl"));
    if (started == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(any_process_mentions((dir_ / "out" / "ddp").string()));
  ASSERT_TRUE(child->signal(SIGINT).ok());
  auto info = child->wait(Deadline::after(std::chrono::seconds(20)));
  ASSERT_TRUE(info.ok()) << "loco swarm did not stop after SIGINT";
  EXPECT_TRUE(info->exited && info->code == 130) << info->to_string();
  EXPECT_FALSE(any_process_mentions((dir_ / "out" / "ddp").string()));
  EXPECT_NE(slurp(dir_ / "output.txt").find("interrupted"), std::string::npos);
}

TEST_F(SwarmLauncher, StalledSwarmIsStopped) {
  ExitInfo e = run({"--peers", "2", "--fake-mode", "hang", "--stall-timeout-s", "2"}, 60);
  EXPECT_TRUE(e.exited && e.code == 1) << e.to_string() << "\n" << output_;
  EXPECT_NE(output_.find("hung"), std::string::npos) << output_;
  EXPECT_FALSE(any_process_mentions((dir_ / "out" / "ddp").string()));
}

}  // namespace
}  // namespace loco
