// state_harness.h: test support for shared-state multi-process tests: starts `loco state-worker`
// peers next to a SwarmHarness coordinator, and checks parity from their JSON-line reports (every
// successful sync at the same revision must report the same hash of the shared buffer).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/swarm_harness.h"

namespace loco::testing {

class StateSwarm {
 public:
  StateSwarm() : swarm_(100, 1500) {}

  SwarmHarness& swarm() { return swarm_; }

  size_t add(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> argv = {loco_bin(), "state-worker", "--coordinator",
                                     "127.0.0.1:" + std::to_string(swarm_.port()), "--report",
                                     swarm_.dir().file(name + ".jsonl")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Worker w;
    w.name = name;
    w.report = swarm_.dir().file(name + ".jsonl");
    auto c = ChildProcess::spawn(argv, swarm_.dir().file(name + ".log"));
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    if (c.ok()) w.proc = std::move(c).value();
    workers_.push_back(std::move(w));
    return workers_.size() - 1;
  }

  ChildProcess& proc(size_t i) { return workers_.at(i).proc; }
  std::vector<nlohmann::json> reports(size_t i) const { return read_reports(workers_.at(i).report); }
  std::string log(size_t i) const { return slurp(swarm_.dir().file(workers_.at(i).name + ".log")); }

  // Successful syncs of worker i.
  std::vector<nlohmann::json> syncs(size_t i) const {
    std::vector<nlohmann::json> out;
    for (const auto& j : reports(i)) {
      if (j.value("event", "") == "sync" && j.value("status", "") == "OK") out.push_back(j);
    }
    return out;
  }

  // Exit code of worker i (waits up to `seconds`); -1 if killed or still running.
  int wait_exit(size_t i, int seconds) {
    auto e = workers_.at(i).proc.wait(Deadline::after(std::chrono::seconds(seconds)));
    if (!e.ok() || !e->exited) return -1;
    return e->code;
  }

  // Waits until `pred` holds on the coordinator log.
  bool wait_coordinator_log(const std::string& needle, int seconds) {
    const Deadline d = Deadline::after(std::chrono::seconds(seconds));
    while (!d.expired()) {
      if (swarm_.coordinator_log().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  bool wait_report(size_t i, const std::string& event, uint64_t revision, int seconds) {
    const Deadline d = Deadline::after(std::chrono::seconds(seconds));
    while (!d.expired()) {
      for (const auto& j : reports(i)) {
        if (j.value("event", "") == event && j.value("revision", uint64_t{0}) >= revision) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Parity: for every revision, every worker's successful sync reports the same hash. Returns the
  // number of (worker, revision) pairs checked.
  size_t expect_parity(const std::vector<size_t>& who) const {
    std::map<uint64_t, std::set<uint64_t>> hashes;
    size_t n = 0;
    for (size_t i : who) {
      for (const auto& j : syncs(i)) {
        hashes[j["revision"].get<uint64_t>()].insert(j["hash"].get<uint64_t>());
        ++n;
      }
    }
    for (const auto& [rev, set] : hashes) {
      EXPECT_EQ(set.size(), 1u) << "revision " << rev << " has " << set.size() << " different states";
    }
    return n;
  }

 private:
  struct Worker {
    std::string name;
    std::string report;
    ChildProcess proc;
  };
  SwarmHarness swarm_;
  std::vector<Worker> workers_;
};

}  // namespace loco::testing
