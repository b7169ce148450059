// cmd_peer.cc: `loco peer`: joins a swarm, prints every epoch it sees (and appends it as a JSON
// line to --report), and leaves gracefully on SIGINT/SIGTERM or after --duration-s.
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "cli_util.h"
#include "swarm_flags.h"
#include "commands.h"
#include "common/log.h"
#include "membership/peer.h"

namespace loco::cli {

namespace {
struct PeerArgs {
  SwarmFlags swarm;  // --coordinator and --secret-file (no data plane: no --listen/--advertise)
  std::string name;
  std::string report;
  double duration_s = 0;
};

nlohmann::json view_json(const membership::MembershipView& v, uint64_t self) {
  nlohmann::json ring = nlohmann::json::array();
  for (const auto& m : v.members) ring.push_back(m.peer_id);
  return {{"peer_id", self}, {"epoch", v.epoch}, {"rank", v.rank},
          {"world_size", v.world_size()}, {"ring", ring}};
}
}  // namespace

Runner add_peer_command(CLI::App& app) {
  auto args = std::make_shared<PeerArgs>();
  add_swarm_flags(app, args->swarm, /*data_plane=*/false);
  app.add_option("--name", args->name, "a label for logs");
  app.add_option("--report", args->report, "append every epoch seen to this file as a JSON line");
  app.add_option("--duration-s", args->duration_s, "leave after this many seconds (0: run until signalled)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  return [args]() -> int {
    collectives::SwarmPeerOptions swarm;
    if (Status s = apply_swarm_flags(args->swarm, swarm); !s.ok()) {
      std::cerr << "loco peer: " << s.message() << "\n";
      return 2;
    }
    membership::PeerOptions opts = swarm.peer;
    opts.name = args->name;
    auto report = std::make_shared<std::ofstream>();
    if (!args->report.empty()) report->open(args->report, std::ios::app);
    auto mu = std::make_shared<std::mutex>();
    auto self_id = std::make_shared<std::atomic<uint64_t>>(0);
    opts.on_epoch = [report, mu, self_id](const membership::MembershipView& v) {
      std::lock_guard<std::mutex> lock(*mu);
      uint64_t self = v.rank >= 0 ? v.members[static_cast<size_t>(v.rank)].peer_id : self_id->load();
      nlohmann::json j = view_json(v, self);
      std::cout << "epoch " << v.epoch << ": world " << v.world_size() << ", rank " << v.rank
                << ", ring " << j["ring"].dump() << std::endl;
      if (report->is_open()) *report << j.dump() << "\n" << std::flush;
    };
    auto peer = membership::PeerClient::join(opts);
    if (!peer.ok()) {
      std::cerr << "loco peer: join failed: " << peer.status().to_string() << "\n";
      return 1;
    }
    membership::PeerClient& client = **peer;
    const uint64_t self = client.peer_id();
    self_id->store(self);
    std::cout << "joined as peer " << self << std::endl;
    const Deadline end = args->duration_s > 0
                             ? Deadline::after(std::chrono::milliseconds(
                                   static_cast<int64_t>(args->duration_s * 1000)))
                             : Deadline::never();
    while (!stop_requested() && !end.expired()) {
      Status h = client.health();
      if (!h.ok()) {
        std::cerr << "loco peer " << self << ": " << h.to_string() << std::endl;
        return 3;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    client.leave(stop_requested() ? "signalled" : "duration reached");
    std::cout << "peer " << self << " left" << std::endl;
    return 0;
  };
}

}  // namespace loco::cli
