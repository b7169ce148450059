// cmd_churn.cc: `loco churn`, the membership demo (it was `loco swarm` before the trainer). It hosts
// a coordinator in this process, starts N `loco peer` processes on loopback, and shows the live
// membership: joins, heartbeats, and (with --churn, the default) a peer SIGKILLed, another
// SIGSTOPped, both detected by heartbeat timeout, and a fresh peer admitted at the next epoch
// boundary. At the end every peer leaves gracefully and a summary is printed and written to the
// run folder. No training: `loco swarm` is the training job.
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli_util.h"
#include "commands.h"
#include "common/log.h"
#include "common/process.h"
#include "membership/coordinator.h"

namespace loco::cli {

namespace {

struct ChurnArgs {
  int peers = 4;
  double duration_s = 10;
  bool churn = true;
  int heartbeat_ms = 200;
  int heartbeat_timeout_ms = 1000;
  std::string run_dir;
};

double seconds_since(TimePoint start) {
  return std::chrono::duration<double>(now() - start).count();
}

std::string ring_names(const std::vector<wire::Member>& members) {
  std::string out;
  for (const auto& m : members) {
    if (!out.empty()) out += " -> ";
    out += m.name;
  }
  return out.empty() ? "(empty)" : out;
}

class Churn {
 public:
  Churn(ChurnArgs args, std::filesystem::path dir) : args_(std::move(args)), dir_(std::move(dir)) {}

  int run();

 private:
  Status spawn_peer();
  void on_epoch(const membership::CoordinatorEvent& ev);
  void print(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    std::cout << std::fixed << std::setprecision(2) << std::setw(6) << seconds_since(start_)
              << "s  " << line << std::endl;
  }

  ChurnArgs args_;
  std::filesystem::path dir_;
  TimePoint start_ = now();
  std::unique_ptr<membership::Coordinator> coord_;
  std::map<std::string, ChildProcess> children_;  // by peer name
  int next_index_ = 0;
  std::mutex mu_;
  std::map<std::string, TimePoint> faulted_at_;  // name -> when we killed/stopped it
  nlohmann::json epochs_ = nlohmann::json::array();
  nlohmann::json detections_ = nlohmann::json::array();
};

Status Churn::spawn_peer() {
  std::string name = "peer-" + std::to_string(next_index_++);
  auto child = ChildProcess::spawn(
      {self_executable(), "peer", "--coordinator", "127.0.0.1:" + std::to_string(coord_->port()),
       "--name", name, "--report", (dir_ / (name + ".jsonl")).string()},
      (dir_ / (name + ".log")).string());
  if (!child.ok()) return child.status();
  children_[name] = std::move(child).value();
  print("started " + name + " (pid " + std::to_string(children_[name].pid()) + ")");
  return OkStatus();
}

void Churn::on_epoch(const membership::CoordinatorEvent& ev) {
  std::map<uint64_t, std::string> names;
  for (const auto& m : ev.members) names[m.peer_id] = m.name;
  std::ostringstream line;
  line << "epoch " << ev.change.epoch << ": " << ev.members.size() << " peers  ring "
       << ring_names(ev.members);
  if (!ev.change.joined.empty()) line << "  (+" << ev.change.joined.size() << " joined)";
  if (!ev.change.left.empty()) line << "  (-" << ev.change.left.size() << " left)";
  if (!ev.change.died.empty()) line << "  (-" << ev.change.died.size() << " declared dead)";
  print(line.str());
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json ring = nlohmann::json::array();
  for (const auto& m : ev.members) ring.push_back(m.name);
  epochs_.push_back({{"epoch", ev.change.epoch}, {"t_s", seconds_since(start_)}, {"ring", ring}});
  // A faulted peer is gone from the ring: record how long detection took.
  for (auto it = faulted_at_.begin(); it != faulted_at_.end();) {
    bool still_member = false;
    for (const auto& m : ev.members) still_member |= m.name == it->first;
    if (!still_member) {
      double ms = std::chrono::duration<double, std::milli>(now() - it->second).count();
      detections_.push_back({{"peer", it->first}, {"detected_after_ms", ms}, {"epoch", ev.change.epoch}});
      std::cout << "        " << it->first << " removed " << std::setprecision(0) << ms
                << " ms after the fault (timeout " << args_.heartbeat_timeout_ms << " ms)"
                << std::setprecision(2) << std::endl;
      it = faulted_at_.erase(it);
    } else {
      ++it;
    }
  }
}

int Churn::run() {
  membership::CoordinatorOptions opts;
  opts.config.heartbeat_period = std::chrono::milliseconds(args_.heartbeat_ms);
  opts.config.heartbeat_timeout = std::chrono::milliseconds(args_.heartbeat_timeout_ms);
  auto coord = membership::Coordinator::start(opts);
  if (!coord.ok()) {
    std::cerr << "loco churn: " << coord.status().to_string() << "\n";
    return 1;
  }
  coord_ = std::move(coord).value();
  coord_->set_observer([this](const membership::CoordinatorEvent& ev) { on_epoch(ev); });
  print("coordinator on 127.0.0.1:" + std::to_string(coord_->port()) + ", run folder " +
        dir_.string());
  for (int i = 0; i < args_.peers; ++i) {
    Status s = spawn_peer();
    if (!s.ok()) {
      std::cerr << "loco churn: " << s.to_string() << "\n";
      return 1;
    }
  }
  const double d = args_.duration_s;
  bool faulted = false, rejoined = false;
  std::string killed, stopped;
  double next_status = 1.0;
  while (!stop_requested() && seconds_since(start_) < d) {
    double t = seconds_since(start_);
    if (args_.churn && !faulted && t >= 0.3 * d && args_.peers >= 3) {
      faulted = true;
      killed = "peer-1";
      stopped = "peer-2";
      {
        std::lock_guard<std::mutex> lock(mu_);
        faulted_at_[killed] = now();
        faulted_at_[stopped] = now();
      }
      children_[killed].signal(SIGKILL).ignore();
      children_[stopped].signal(SIGSTOP).ignore();
      print("fault: SIGKILL " + killed + ", SIGSTOP " + stopped);
    }
    if (args_.churn && faulted && !rejoined && t >= 0.6 * d) {
      rejoined = true;
      Status s = spawn_peer();
      if (!s.ok()) print("could not start a new peer: " + s.to_string());
    }
    if (t >= next_status) {
      next_status += 1.0;
      print("epoch " + std::to_string(coord_->epoch()) + ", " +
            std::to_string(coord_->members().size()) + " live peers heartbeating");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  print("stopping: every peer leaves gracefully");
  if (!stopped.empty()) children_[stopped].signal(SIGCONT).ignore();
  for (auto& [name, child] : children_) child.signal(SIGTERM).ignore();
  int failures = 0;
  nlohmann::json exits = nlohmann::json::object();
  for (auto& [name, child] : children_) {
    auto info = child.wait(Deadline::after(std::chrono::seconds(10)));
    std::string what = info.ok() ? info->to_string() : info.status().to_string();
    exits[name] = what;
    bool expected = info.ok() && ((info->exited && info->code == 0) || name == killed ||
                                  (name == stopped && info->exited));
    if (!expected) ++failures;
  }
  // Let the coordinator process the last leaves before it stops.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  nlohmann::json summary = {{"peers", args_.peers},        {"duration_s", d},
                            {"churn", args_.churn},        {"final_epoch", coord_->epoch()},
                            {"epochs", epochs_},           {"fault_detections", detections_},
                            {"peer_exits", exits},
                            {"heartbeat_ms", args_.heartbeat_ms},
                            {"heartbeat_timeout_ms", args_.heartbeat_timeout_ms}};
  coord_->stop();
  std::ofstream(dir_ / "summary.json") << summary.dump(2) << "\n";
  std::cout << "summary: " << epochs_.size() << " epochs, final epoch " << coord_->epoch()
            << "; written to " << (dir_ / "summary.json").string() << std::endl;
  return failures == 0 ? 0 : 1;
}

}  // namespace

Runner add_churn_command(CLI::App& app) {
  auto args = std::make_shared<ChurnArgs>();
  app.add_option("--peers", args->peers, "number of peer processes")->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--duration-s", args->duration_s, "how long the swarm runs")->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  // Two flags rather than "--churn,!--no-churn": CLI11 shows the negation's value as "{false}",
  // which reads as the default.
  app.add_flag("--churn", args->churn,
               "kill one peer, stop another and add a new one midway (needs >= 3 peers; default on)");
  app.add_flag_callback("--no-churn", [args] { args->churn = false; }, "idle peers only");
  app.add_option("--heartbeat-ms", args->heartbeat_ms, "heartbeat period")->capture_default_str()
      ->check(CLI::Range(1, 60000));
  app.add_option("--heartbeat-timeout-ms", args->heartbeat_timeout_ms,
                 "silence after which a peer is declared dead")->capture_default_str()
      ->check(CLI::Range(2, 600000));
  app.add_option("--run-dir", args->run_dir, "where logs and the summary go (default runs/churn-<time>)");
  return [args]() -> int {
    if (args->heartbeat_timeout_ms <= args->heartbeat_ms) {
      std::cerr << "loco churn: --heartbeat-timeout-ms must exceed --heartbeat-ms\n";
      return 2;
    }
    std::filesystem::path dir = args->run_dir;
    if (dir.empty()) {
      auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      std::ostringstream name;
      name << "runs/churn-" << std::put_time(std::localtime(&t), "%Y%m%d-%H%M%S");
      dir = name.str();
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::cerr << "loco churn: cannot create run folder " << dir << ": " << ec.message() << "\n";
      return 2;
    }
    // The live display is the demo's output; keep the coordinator's own log to warnings unless
    // the user asked for more.
    if (spdlog::get_level() == spdlog::level::info && std::getenv("LOCO_LOG_LEVEL") == nullptr) {
      spdlog::set_level(spdlog::level::warn);
    }
    Churn churn(*args, dir);
    return churn.run();
  };
}

}  // namespace loco::cli
