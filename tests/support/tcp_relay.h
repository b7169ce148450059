// tcp_relay.h: an on-path attacker for tests. A TCP relay on 127.0.0.1 that forwards every
// connection it accepts to a target port, records what flows client -> server, and may attack one
// piece of that stream once: flip a bit, replay, reorder, cut short. It parses frames (24-byte
// header; a sealed frame carries a 16-byte tag after its payload, docs/protocol.md 2.2) but knows
// no keys: it does what anyone on the path can do.
//
// A "piece" is what the data plane sends per ring piece: two consecutive sealed frames (a 48-byte
// DATA piece header, then the body). Attacks target the first sealed piece header the relay sees
// on any connection, so the seal, not a shape check above it, is what must catch them.
// Not here: anything about what the bytes mean beyond the frame header (tests decide that).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"

namespace loco::test {

class TcpRelay {
 public:
  enum class Attack {
    kNone,
    kFlipBit,           // one bit of the piece body's payload (ciphertext when encrypted)
    kReplay,            // the piece goes through, then again
    kReorder,           // the piece is held back and sent after the next one
    kCutShort,          // 100 bytes vanish from the middle of the body; the stream goes on
    kCutShortAndClose,  // half the body goes through, then both sides are closed
  };

  TcpRelay() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(0);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpRelay() {
    stop_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (Link& l : links_) {
      ::shutdown(l.client, SHUT_RDWR);
      ::shutdown(l.server, SHUT_RDWR);
    }
    for (Link& l : links_) {
      if (l.up.joinable()) l.up.join();
      if (l.down.joinable()) l.down.join();
      ::close(l.client);
      ::close(l.server);
    }
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  uint16_t port() const { return port_; }
  // Where accepted connections go; connections accepted before it is set wait for it.
  void set_target(uint16_t port) { target_ = port; }
  void arm(Attack a) {
    fired_ = false;
    attack_ = a;
  }
  bool fired() const { return fired_; }
  // True once the server side (the receiver) closed the connection that carried the attack.
  bool attacked_connection_dropped() const { return attacked_dropped_; }
  // Everything that went client -> server so far, all connections appended.
  Bytes captured() const {
    std::lock_guard<std::mutex> lock(mu_);
    return captured_;
  }
  void clear_captured() {
    std::lock_guard<std::mutex> lock(mu_);
    captured_.clear();
  }

 private:
  struct Link {
    int client = -1;
    int server = -1;
    std::thread up;
    std::thread down;
    std::atomic<bool> attacked{false};
  };

  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  bool readable(int fd) {
    for (;;) {
      if (stop_) return false;
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }
  bool read_exact(int fd, std::byte* out, size_t n) {
    for (size_t got = 0; got < n;) {
      if (!readable(fd)) return false;
      ssize_t r = ::recv(fd, out + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  static bool write_all(int fd, const std::byte* p, size_t n) {
    for (size_t sent = 0; sent < n;) {
      ssize_t w = ::send(fd, p + sent, n - sent, MSG_NOSIGNAL);
      if (w <= 0) return false;
      sent += static_cast<size_t>(w);
    }
    return true;
  }
  static bool write_all(int fd, const Bytes& b) { return write_all(fd, b.data(), b.size()); }

  // One whole frame (header, payload, and the tag when sealed); sets `sealed` and `length`.
  bool read_frame(int fd, Bytes& frame, bool& sealed, uint32_t& length) {
    frame.resize(24);
    if (!read_exact(fd, frame.data(), 24)) return false;
    uint32_t flags = 0;
    std::memcpy(&flags, frame.data() + 8, 4);
    std::memcpy(&length, frame.data() + 12, 4);
    sealed = (flags & 0xEu) != 0;
    const size_t rest = size_t{length} + (sealed ? 16 : 0);
    frame.resize(24 + rest);
    if (!read_exact(fd, frame.data() + 24, rest)) return false;
    std::lock_guard<std::mutex> lock(mu_);
    captured_.insert(captured_.end(), frame.begin(), frame.end());
    return true;
  }
  // The next piece: two frames, header and body, concatenated.
  bool read_piece(int fd, Bytes& piece) {
    Bytes body;
    bool sealed = false;
    uint32_t length = 0;
    if (!read_frame(fd, piece, sealed, length)) return false;
    if (!read_frame(fd, body, sealed, length)) return false;
    piece.insert(piece.end(), body.begin(), body.end());
    return true;
  }

  // client -> server, frame by frame; the attack (if armed) hits the first sealed piece header.
  void pump_up(Link& l) {
    Bytes frame;
    bool sealed = false;
    uint32_t length = 0;
    while (read_frame(l.client, frame, sealed, length)) {
      const Attack a = attack_;
      if (a == Attack::kNone || !sealed || length != 48 || fired_.exchange(true)) {
        if (!write_all(l.server, frame)) break;
        continue;
      }
      l.attacked = true;
      Bytes body;
      if (!read_frame(l.client, body, sealed, length)) break;
      Bytes piece = frame;
      const size_t body_at = piece.size();
      piece.insert(piece.end(), body.begin(), body.end());
      const size_t mid = body_at + 24 + length / 2;
      bool ok = true;
      switch (a) {
        case Attack::kFlipBit:
          piece[mid] ^= std::byte{0x01};
          ok = write_all(l.server, piece);
          break;
        case Attack::kReplay:
          ok = write_all(l.server, piece) && write_all(l.server, piece);
          break;
        case Attack::kReorder: {
          Bytes next;
          ok = read_piece(l.client, next) && write_all(l.server, next) && write_all(l.server, piece);
          break;
        }
        case Attack::kCutShort:
          piece.erase(piece.begin() + static_cast<std::ptrdiff_t>(mid),
                      piece.begin() + static_cast<std::ptrdiff_t>(mid + 100));
          ok = write_all(l.server, piece);
          break;
        case Attack::kCutShortAndClose:
          write_all(l.server, piece.data(), mid);
          ::shutdown(l.server, SHUT_RDWR);
          ::shutdown(l.client, SHUT_RDWR);
          ok = false;
          break;
        case Attack::kNone:
          break;
      }
      if (!ok) break;
    }
    ::shutdown(l.server, SHUT_WR);
  }

  // server -> client, raw; notes when the server ends the connection.
  void pump_down(Link& l) {
    std::byte buf[64 << 10];
    for (;;) {
      if (!readable(l.server)) break;
      ssize_t r = ::recv(l.server, buf, sizeof(buf), 0);
      if (r <= 0) break;
      if (!write_all(l.client, buf, static_cast<size_t>(r))) break;
    }
    if (l.attacked) attacked_dropped_ = true;
    ::shutdown(l.client, SHUT_RDWR);
    ::shutdown(l.server, SHUT_RDWR);
  }

  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const Deadline until = Deadline::after(std::chrono::seconds(10));
      while (target_ == 0 && !until.expired() && !stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = loopback(target_);
      if (target_ == 0 ||
          ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      Link& l = links_.emplace_back();
      l.client = client;
      l.server = server;
      l.up = std::thread([this, &l] { pump_up(l); });
      l.down = std::thread([this, &l] { pump_down(l); });
    }
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<uint16_t> target_{0};
  std::atomic<Attack> attack_{Attack::kNone};
  std::atomic<bool> fired_{false};
  std::atomic<bool> attacked_dropped_{false};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  Bytes captured_;
  std::list<Link> links_;  // stable addresses: each Link's threads hold a reference
};

}  // namespace loco::test
