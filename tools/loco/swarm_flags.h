// swarm_flags.h: the one set of options every command that joins a swarm takes (`loco worker`,
// `loco peer`, `loco state-worker`, the bench workers, `loco-train train`): --coordinator,
// --secret-file (else LOCO_SECRET), --listen and --advertise, and their translation into
// SwarmPeerOptions, with errors that name the bad part. Not here: the command's own options, or
// anything that opens a socket.
//
// Address defaults (docs in README "Running a swarm by hand"):
//  - coordinator on loopback (127.x, ::1, localhost), no --listen/--advertise: listen on 127.0.0.1
//    (or ::1) and advertise it, as single-host swarms always did;
//  - otherwise listen on every interface (0.0.0.0, or :: for an IPv6 coordinator) and advertise
//    the address the coordinator sees this peer connect from;
//  - --listen HOST[:PORT|:FIRST-LAST]: the data plane takes the first free port, the state chunk
//    server the next free one (so a single PORT uses PORT and PORT+1);
//  - --advertise HOST[:PORT]: what the other peers dial. A PORT that differs from the listening
//    one is honoured (a NAT or container port mapping), and the chunk server's port is advertised
//    shifted by the same amount.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli_util.h"
#include "collectives/swarm_peer.h"
#include "common/status.h"

namespace loco::cli {

struct SwarmFlags {
  std::string coordinator;
  std::string secret_file;
  bool no_encrypt = false;  // --no-encrypt: sealed frames authenticated only, payloads in clear
  std::string listen;
  std::string advertise;
};

// Adds --coordinator (required), --secret-file, --no-encrypt and, with `data_plane`, --listen and --advertise.
void add_swarm_flags(CLI::App& app, SwarmFlags& flags, bool data_plane = true);

// "HOST:PORT", "[v6]:PORT", "name:PORT", ":PORT" (host 127.0.0.1). `what` names the option in
// errors, which say which part is bad: the brackets, the host, or the port.
Result<HostPort> parse_endpoint(const std::string& text, const std::string& what);

struct ListenSpec {
  std::string host;
  uint16_t port = 0;       // 0: ephemeral
  uint16_t port_last = 0;  // > port: a range
};
// "HOST", "HOST:PORT", "HOST:FIRST-LAST", "[v6]:PORT".
Result<ListenSpec> parse_listen(const std::string& text);
// "HOST" or "HOST:PORT" (port 0: the listening port).
Result<HostPort> parse_advertise(const std::string& text);

// True for 127.x, ::1 and localhost.
bool is_loopback_host(const std::string& host);

// Fills opts.peer (coordinator address, key), opts.mesh (listen address and port range) and the
// advertised address. INVALID_ARGUMENT naming the option when one is bad.
Status apply_swarm_flags(const SwarmFlags& flags, collectives::SwarmPeerOptions& opts);

}  // namespace loco::cli
