// cli_util.cc: see cli_util.h.
#include "cli_util.h"

#include <csignal>
#include <cstdio>
#include <fstream>

namespace loco::cli {

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }
}  // namespace

Result<HostPort> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("expected HOST:PORT, got '" + text + "'");
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  if (hp.host.empty()) hp.host = "127.0.0.1";
  std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("bad port in '" + text + "'");
  }
  unsigned long v = std::stoul(port);
  if (v > 65535) return InvalidArgument("port out of range in '" + text + "'");
  hp.port = static_cast<uint16_t>(v);
  return hp;
}

Result<std::optional<membership::SwarmKey>> load_key(const std::string& secret_file) {
  return membership::load_swarm_key(secret_file);
}

Status write_port_file(const std::string& path, uint16_t port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return InvalidArgument("cannot write port file '" + path + "'");
    out << port << "\n";
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return InvalidArgument("cannot rename port file to '" + path + "'");
  }
  return OkStatus();
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop.load(); }

}  // namespace loco::cli
