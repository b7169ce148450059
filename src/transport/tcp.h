// tcp.h: the TCP implementation of Connection and Listener (connection.h). Asio resolves, binds,
// listens, connects and accepts and sets the socket options; each connected socket is then driven
// directly (non-blocking fd, poll(2) with the deadline, sendmsg with an iovec of header + payload
// parts, recv straight into the caller's buffer) so the data plane has no extra copies, no
// per-frame allocation and no SIGPIPE.
// Not here: striping over several sockets, reconnects, authentication (built on top).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "transport/connection.h"
#include "wire/frame.h"

namespace loco::transport {

struct TcpOptions {
  // SO_SNDBUF / SO_RCVBUF requests (the kernel may clamp them); 0 keeps the kernel's autotuning.
  int send_buffer_bytes = 4 << 20;
  int recv_buffer_bytes = 4 << 20;
  // Initial max_payload() of the connections made (set_max_payload changes it later).
  uint32_t max_payload = wire::kMaxControlPayload;
};

// Listens on host:port (port 0: an ephemeral port, see Listener::port()). An empty host or
// "0.0.0.0" listens on every IPv4 interface, "::" on every interface. SO_REUSEADDR is set. Errors:
// INVALID_ARGUMENT (host does not resolve), FAILED_PRECONDITION (address in use), UNAVAILABLE
// (other socket errors).
Result<std::unique_ptr<Listener>> listen_tcp(const std::string& host, uint16_t port,
                                             TcpOptions options = {});

// listen_tcp on the first port of first..last that is free (a firewall may open only a range);
// last <= first (or first 0) is the single port `first`. Errors as listen_tcp's for the last port.
Result<std::unique_ptr<Listener>> listen_tcp_range(const std::string& host, uint16_t first,
                                                   uint16_t last, TcpOptions options = {});

// Connects to host:port, trying each resolved address until one answers or the deadline passes.
// Errors: UNAVAILABLE (refused, unreachable, resolver temporarily failing), DEADLINE_EXCEEDED,
// INVALID_ARGUMENT (the host does not resolve).
Result<std::unique_ptr<Connection>> dial_tcp(const std::string& host, uint16_t port,
                                             Deadline deadline, TcpOptions options = {});

}  // namespace loco::transport
