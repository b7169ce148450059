// tcp.cc: listen_tcp and dial_tcp. Asio resolves, binds, listens, connects (with a deadline) and
// accepts, and sets the socket options; each connected socket is then released to a TcpConnection
// (tcp_connection.h), which drives the fd directly. Not here: the frame hot path.
#include "transport/tcp.h"

// GCC's -Wtsan flags the std::atomic_thread_fence inside Asio's handler invocation in TSan builds;
// it is Asio's code, not ours, and TSan still checks everything else in this file.
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif

#include <poll.h>
#include <sys/socket.h>

#include <asio.hpp>
#include <atomic>
#include <cerrno>
#include <optional>
#include <utility>

#include "common/log.h"
#include "transport/tcp_connection.h"

namespace loco::transport {
namespace {

using asio::ip::tcp;

bool is_loopback_address(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();  // 127.0.0.0/8
  const asio::ip::address_v6 v6 = a.to_v6();
  if (v6.is_loopback()) return true;  // ::1
  return v6.is_v4_mapped() &&
         asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();  // ::ffff:127.x
}

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

Status resolve_error(const asio::error_code& ec, const std::string& host) {
  std::string what = "resolve '" + host + "': " + ec.message();
  if (ec == asio::error::host_not_found || ec == asio::error::service_not_found ||
      ec == asio::error::address_family_not_supported) {
    return InvalidArgument(what);
  }
  return Unavailable(what);
}

Result<std::vector<tcp::endpoint>> resolve(asio::io_context& io, const std::string& host,
                                           uint16_t port, bool passive) {
  std::vector<tcp::endpoint> out;
  asio::error_code ec;
  // Numeric addresses need no resolver round trip.
  asio::ip::address addr = asio::ip::make_address(host, ec);
  if (!ec) {
    out.emplace_back(addr, port);
    return out;
  }
  if (host.empty()) return InvalidArgument("empty host name");
  tcp::resolver resolver(io);
  auto flags = tcp::resolver::numeric_service;
  if (passive) flags |= tcp::resolver::passive;
  auto results = resolver.resolve(host, std::to_string(port), flags, ec);
  if (ec) return resolve_error(ec, host);
  for (const auto& r : results) out.push_back(r.endpoint());
  if (out.empty()) return InvalidArgument("'" + host + "' resolves to no address");
  return out;
}

// Buffer sizes are requested before connect/listen so the TCP window scale is negotiated for them.
void set_buffer_sizes(tcp::socket& s, const TcpOptions& o, asio::error_code& ec) {
  if (o.send_buffer_bytes > 0)
    s.set_option(asio::socket_base::send_buffer_size(o.send_buffer_bytes), ec);
  if (!ec && o.recv_buffer_bytes > 0) {
    s.set_option(asio::socket_base::receive_buffer_size(o.recv_buffer_bytes), ec);
  }
}

// Sets the per-connection options and hands the descriptor to a TcpConnection.
Result<std::unique_ptr<Connection>> adopt(tcp::socket& s, const TcpOptions& o) {
  asio::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
  if (!ec) s.set_option(asio::socket_base::keep_alive(true), ec);
  if (!ec) s.non_blocking(true, ec);
  tcp::endpoint remote;
  if (!ec) remote = s.remote_endpoint(ec);
  if (ec) return Unavailable("configure socket: " + ec.message());
  int fd = s.release(ec);
  if (ec) return Unavailable("release socket: " + ec.message());
  std::unique_ptr<Connection> c = std::make_unique<TcpConnection>(
      fd, endpoint_text(remote), is_loopback_address(remote.address()), o.max_payload);
  return c;
}

Status connect_one(asio::io_context& io, tcp::socket& s, const tcp::endpoint& ep, Deadline deadline,
                   const TcpOptions& o) {
  asio::error_code ec;
  s.open(ep.protocol(), ec);
  if (!ec) set_buffer_sizes(s, o, ec);
  if (ec) return Unavailable("socket for " + endpoint_text(ep) + ": " + ec.message());
  std::optional<asio::error_code> done;
  s.async_connect(ep, [&done](const asio::error_code& e) { done = e; });
  io.restart();
  if (deadline.is_never()) {
    io.run();
  } else {
    io.run_until(deadline.when());
  }
  if (!done) {
    s.close(ec);  // cancels the connect; its handler runs (operation_aborted) before we return
    io.restart();
    io.run();
    return DeadlineExceeded("connect to " + endpoint_text(ep) + ": deadline passed");
  }
  if (*done) return Unavailable("connect to " + endpoint_text(ep) + ": " + done->message());
  return OkStatus();
}

class TcpListener final : public Listener {
 public:
  explicit TcpListener(TcpOptions options) : acceptor_(io_), options_(options) {}
  ~TcpListener() override { close(); }

  Status open(const tcp::endpoint& ep) {
    asio::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    // Accepted sockets inherit the buffer sizes, so the window scale matches from the SYN on.
    if (!ec && options_.send_buffer_bytes > 0) {
      acceptor_.set_option(asio::socket_base::send_buffer_size(options_.send_buffer_bytes), ec);
    }
    if (!ec && options_.recv_buffer_bytes > 0) {
      acceptor_.set_option(asio::socket_base::receive_buffer_size(options_.recv_buffer_bytes), ec);
    }
    if (ec) return Unavailable("listen socket: " + ec.message());
    acceptor_.bind(ep, ec);
    if (ec == asio::error::address_in_use) {
      return FailedPrecondition("listen on " + endpoint_text(ep) + ": address in use");
    }
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) acceptor_.non_blocking(true, ec);
    tcp::endpoint local;
    if (!ec) local = acceptor_.local_endpoint(ec);
    if (ec) return Unavailable("listen on " + endpoint_text(ep) + ": " + ec.message());
    port_ = local.port();
    address_ = endpoint_text(local);
    return OkStatus();
  }

  Result<std::unique_ptr<Connection>> accept(Deadline deadline) override {
    for (;;) {
      if (closed_.load(std::memory_order_acquire)) return closed_status();
      asio::error_code ec;
      tcp::socket s = acceptor_.accept(ec);
      if (!ec) {
        // A connection that is reset before we configure it (ENOTCONN from getpeername) is that
        // connection's problem, not the listener's: drop it and accept the next one.
        auto conn = adopt(s, options_);
        if (conn.ok()) return conn;
        LOCO_LOG_DEBUG("accept on {}: dropped a connection: {}", address_,
                       conn.status().to_string());
        continue;
      }
      if (closed_.load(std::memory_order_acquire)) return closed_status();
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        LOCO_RETURN_IF_ERROR(wait_readable(deadline));
        continue;
      }
      // The peer gave up before we accepted it: wait for the next one.
      if (ec == asio::error::connection_aborted || ec.value() == EPROTO || ec.value() == EINTR) {
        continue;
      }
      if (ec.value() == EMFILE || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory) {
        return ResourceExhausted("accept on " + address_ + ": " + ec.message());
      }
      return Unavailable("accept on " + address_ + ": " + ec.message());
    }
  }

  uint16_t port() const override { return port_; }
  std::string address() const override { return address_; }

  void close() override {
    // Shutting a listening socket down wakes a poll on it in another thread; the descriptor is
    // closed by the acceptor's destructor, so it is not reused while polled.
    if (!closed_.exchange(true, std::memory_order_acq_rel) && acceptor_.is_open()) {
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    }
  }

 private:
  Status closed_status() const { return Unavailable("listener " + address_ + " is closed"); }

  Status wait_readable(Deadline deadline) {
    for (;;) {
      if (closed_.load(std::memory_order_acquire)) return closed_status();
      pollfd p{acceptor_.native_handle(), POLLIN, 0};
      int r = ::poll(&p, 1, deadline.poll_timeout_ms());
      if (r > 0) return OkStatus();
      if (r == 0) {
        if (deadline.expired())
          return DeadlineExceeded("accept on " + address_ + ": deadline passed");
        continue;
      }
      if (errno != EINTR) return Unavailable("poll on listener " + address_);
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  TcpOptions options_;
  std::atomic<bool> closed_{false};
  uint16_t port_ = 0;
  std::string address_;
};

}  // namespace

Result<std::unique_ptr<Listener>> listen_tcp(const std::string& host, uint16_t port,
                                             TcpOptions options) {
  asio::io_context io;
  std::vector<tcp::endpoint> endpoints;
  if (host.empty()) {
    endpoints.emplace_back(tcp::v4(), port);
  } else {
    auto resolved = resolve(io, host, port, /*passive=*/true);
    if (!resolved.ok()) {
      return resolved.status().with_context("listen on " + host + ":" + std::to_string(port));
    }
    endpoints = std::move(resolved).value();
  }
  Status last;
  for (const tcp::endpoint& ep : endpoints) {
    auto listener = std::make_unique<TcpListener>(options);
    last = listener->open(ep);
    if (last.ok()) return std::unique_ptr<Listener>(std::move(listener));
  }
  return last;
}

Result<std::unique_ptr<Listener>> listen_tcp_range(const std::string& host, uint16_t first,
                                                   uint16_t last, TcpOptions options) {
  auto listener = listen_tcp(host, first, options);
  if (first == 0) return listener;
  for (uint32_t port = first + 1u; !listener.ok() && port <= last; ++port) {
    if (listener.status().code() != StatusCode::kFailedPrecondition) break;  // not "in use"
    listener = listen_tcp(host, static_cast<uint16_t>(port), options);
  }
  return listener;
}

Result<std::unique_ptr<Connection>> dial_tcp(const std::string& host, uint16_t port,
                                             Deadline deadline, TcpOptions options) {
  if (port == 0) return InvalidArgument("dial " + host + ": port 0");
  asio::io_context io;
  LOCO_ASSIGN_OR_RETURN(std::vector<tcp::endpoint> endpoints,
                        resolve(io, host, port, /*passive=*/false));
  Status last;
  for (const tcp::endpoint& ep : endpoints) {
    tcp::socket s(io);
    last = connect_one(io, s, ep, deadline, options);
    if (last.ok()) return adopt(s, options);
    if (last.code() == StatusCode::kDeadlineExceeded) return last;
  }
  return last;
}

}  // namespace loco::transport
