// cli_util.h: small helpers shared by the `loco` subcommands: HOST:PORT parsing, the swarm secret,
// signal flags for graceful shutdown, and writing a port file atomically.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "membership/auth.h"

namespace loco::cli {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// "127.0.0.1:7000", "[::1]:0", ":7000" (host defaults to 127.0.0.1).
Result<HostPort> parse_host_port(const std::string& text);

// --secret-file wins over LOCO_SECRET; nullopt when neither is set.
Result<std::optional<membership::SwarmKey>> load_key(const std::string& secret_file);

// Writes `port` to `path` through a temporary file and rename, so readers never see a partial file.
Status write_port_file(const std::string& path, uint16_t port);

// Installs SIGINT/SIGTERM handlers that set the flag returned by stop_requested().
void install_stop_handlers();
bool stop_requested();

}  // namespace loco::cli
