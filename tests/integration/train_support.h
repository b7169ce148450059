// train_support.h: test support for multi-process trainer tests: runs `loco-train train` peers
// (found next to $LOCO_BIN) against a SwarmHarness coordinator, on a small transformer and a text
// file written into the test's temporary directory, and reads their metrics JSON lines.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/swarm_harness.h"

namespace loco::testing {

inline std::string loco_train_bin() {
  return (std::filesystem::path(loco_bin()).parent_path() / "loco-train").string();
}

// A few hundred KB of text with structure a tiny model learns within a few dozen steps.
inline std::string write_training_text(const TempDir& dir) {
  const std::string path = dir.file("text.txt");
  std::ofstream out(path);
  const char* words[] = {"the cat sat on the mat. ", "a dog ran in the park. ",
                         "birds sing in the morning. ", "loco trains over poor networks. "};
  for (int i = 0; i < 12000; ++i) out << words[(i * 7 + i / 3) % 4];
  return path;
}

class TrainSwarm {
 public:
  explicit TrainSwarm(int heartbeat_ms = 100, int timeout_ms = 1000)
      : swarm_(heartbeat_ms, timeout_ms), text_(write_training_text(swarm_.dir())) {}

  SwarmHarness& swarm() { return swarm_; }
  std::string metrics(size_t i) const { return swarm_.dir().file("train" + std::to_string(i) + ".jsonl"); }
  std::string log(size_t i) const { return slurp(swarm_.dir().file("train" + std::to_string(i) + ".log")); }

  // Starts peer i with the small-model options above plus `extra` (options not among them).
  void start(size_t i, int world, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        loco_train_bin(), "train", "--coordinator", "127.0.0.1:" + std::to_string(swarm_.port()),
        "--name", "t" + std::to_string(i), "--world", std::to_string(world),
        "--layers", "1", "--width", "32", "--heads", "2", "--context", "32",
        "--data", text_, "--batch-tokens", "256", "--lr", "1e-2", "--warmup", "3",
        "--eval-tokens", "2048", "--metrics", metrics(i), "--threads", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto c = ChildProcess::spawn(argv, swarm_.dir().file("train" + std::to_string(i) + ".log"));
    if (c.ok()) procs_[i] = std::move(c).value();
  }
  ChildProcess& proc(size_t i) { return procs_.at(i); }
  std::vector<nlohmann::json> lines(size_t i) const { return read_reports(metrics(i)); }
  std::vector<nlohmann::json> events(size_t i, const std::string& event) const {
    std::vector<nlohmann::json> out;
    for (auto& l : lines(i)) {
      if (l.value("event", "") == event) out.push_back(l);
    }
    return out;
  }

 private:
  SwarmHarness swarm_;
  std::string text_;
  std::map<size_t, ChildProcess> procs_;
};

}  // namespace loco::testing
