// swarm_harness.h: test support for multi-process tests: runs `loco coordinator` and `loco peer`
// processes (path from the LOCO_BIN environment variable, set by CTest), in a fresh temporary
// directory, and reads the epochs each peer reports (JSON lines). Every wait has a deadline.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/process.h"

namespace loco::testing {

inline std::string loco_bin() {
  const char* p = std::getenv("LOCO_BIN");
  return p != nullptr ? p : "loco";
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "loco-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes a secret file as a user would (`loco secret new` or chmod 600): owner-only, since a
  // secret file others may read is refused.
  std::string secret_file(const std::string& name, const std::string& text) const {
    std::string p = file(name);
    std::ofstream(p) << text;
    std::filesystem::permissions(p, std::filesystem::perms::owner_read |
                                        std::filesystem::perms::owner_write);
    return p;
  }

 private:
  std::filesystem::path path_;
};

// Reads a whole file; "" if missing.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits for a port file written by `loco coordinator --port-file`; 0 on timeout.
inline uint16_t wait_port_file(const std::string& path, Deadline deadline) {
  while (!deadline.expired()) {
    std::string s = slurp(path);
    if (!s.empty() && s.back() == '\n') return static_cast<uint16_t>(std::stoi(s));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

// Every JSON line of a peer's --report file.
inline std::vector<nlohmann::json> read_reports(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

class SwarmHarness {
 public:
  struct Peer {
    std::string name;
    std::string report;
    ChildProcess proc;
  };

  // Starts a coordinator with the given heartbeat settings (and secret file, if any).
  explicit SwarmHarness(int heartbeat_ms = 100, int timeout_ms = 1000,
                        const std::string& secret_file = "")
      : heartbeat_ms_(heartbeat_ms), timeout_ms_(timeout_ms) {
    std::vector<std::string> argv = {loco_bin(), "coordinator", "--listen", "127.0.0.1:0",
                                     "--port-file", dir_.file("port"),
                                     "--heartbeat-ms", std::to_string(heartbeat_ms),
                                     "--heartbeat-timeout-ms", std::to_string(timeout_ms),
                                     "--join-window-ms", "100"};
    if (!secret_file.empty()) {
      argv.push_back("--secret-file");
      argv.push_back(secret_file);
    }
    auto c = ChildProcess::spawn(argv, dir_.file("coordinator.log"));
    if (c.ok()) coordinator_ = std::move(c).value();
    port_ = wait_port_file(dir_.file("port"), Deadline::after(std::chrono::seconds(20)));
  }

  uint16_t port() const { return port_; }
  ChildProcess& coordinator() { return coordinator_; }
  const TempDir& dir() const { return dir_; }
  std::string coordinator_log() const { return slurp(dir_.file("coordinator.log")); }

  // Starts `loco peer` named `name`; returns its index.
  size_t add_peer(const std::string& name, const std::vector<std::string>& extra = {}) {
    Peer p;
    p.name = name;
    p.report = dir_.file(name + ".jsonl");
    std::vector<std::string> argv = {loco_bin(), "peer", "--coordinator",
                                     "127.0.0.1:" + std::to_string(port_), "--name", name,
                                     "--report", p.report};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto c = ChildProcess::spawn(argv, dir_.file(name + ".log"));
    if (c.ok()) p.proc = std::move(c).value();
    peers_.push_back(std::move(p));
    return peers_.size() - 1;
  }
  // Starts `loco worker` (verified all-reduces with retry, see tools/loco/cmd_worker.cc).
  size_t add_worker(const std::string& name, int world, size_t count, int ops, int op_delay_ms) {
    Peer p;
    p.name = name;
    p.report = dir_.file(name + ".jsonl");
    std::vector<std::string> argv = {
        loco_bin(), "worker", "--coordinator", "127.0.0.1:" + std::to_string(port_),
        "--report", p.report, "--world", std::to_string(world), "--count", std::to_string(count),
        "--ops", std::to_string(ops), "--op-delay-ms", std::to_string(op_delay_ms)};
    auto c = ChildProcess::spawn(argv, dir_.file(name + ".log"));
    if (c.ok()) p.proc = std::move(c).value();
    peers_.push_back(std::move(p));
    return peers_.size() - 1;
  }
  // Every JSON line a peer wrote so far.
  std::vector<nlohmann::json> reports(size_t i) const { return read_reports(peers_.at(i).report); }
  Peer& peer(size_t i) { return peers_.at(i); }
  const Peer& peer(size_t i) const { return peers_.at(i); }
  size_t peer_count() const { return peers_.size(); }

  // The newest epoch a peer reported (an empty object if none yet).
  nlohmann::json last_report(size_t i) const {
    auto all = read_reports(peers_.at(i).report);
    return all.empty() ? nlohmann::json::object() : all.back();
  }

  // Waits until every listed peer's newest report has the same epoch and ring and that ring has
  // `world` members; returns that report (null json on timeout).
  nlohmann::json wait_agreement(const std::vector<size_t>& who, size_t world, Deadline deadline) const {
    while (!deadline.expired()) {
      nlohmann::json first;
      bool agree = true;
      for (size_t i : who) {
        nlohmann::json r = last_report(i);
        if (!r.contains("ring") || r["ring"].size() != world) {
          agree = false;
          break;
        }
        if (first.is_null()) {
          first = r;
        } else if (r["epoch"] != first["epoch"] || r["ring"] != first["ring"]) {
          agree = false;
          break;
        }
      }
      if (agree && !first.is_null()) return first;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }

  int heartbeat_ms() const { return heartbeat_ms_; }
  int timeout_ms() const { return timeout_ms_; }

 private:
  TempDir dir_;
  int heartbeat_ms_;
  int timeout_ms_;
  ChildProcess coordinator_;
  uint16_t port_ = 0;
  std::vector<Peer> peers_;
};

}  // namespace loco::testing
