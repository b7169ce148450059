// mesh.h: the data-plane mesh of one peer: a listener for the ring predecessor's connections and,
// per membership epoch, the links to the ring neighbours (epoch_links.h).
//
// set_epoch(epoch, me, ring) replaces the links at once and returns without waiting for the
// network: the previous epoch's links fail with ABORTED (which wakes and fails its operations),
// a new EpochLinks is created, a thread dials the next peer `stripes` times (PEER_HELLO /
// PEER_ACCEPT, data_messages.h) and the acceptor installs the predecessor's connections as they
// arrive. Operations may start at once; their pieces wait in the queues until the links are up.
//
// Acceptance rules for an incoming PEER_HELLO (proof checked first when a key is set):
//   epoch older than ours, or ours already failed  -> refused with ABORTED (the dialer is stale)
//   epoch newer than ours   -> parked until set_epoch reaches it (bounded count and age), then
//   our epoch               -> accepted only from our ring predecessor, addressed to us, with our
//                              stripe count, once per stripe; otherwise refused
// Each accepted connection waits for its PEER_HELLO on a thread of its own (at most
// handshake_timeout), inside an admission gate (transport/admission.h) that bounds pending
// connections in total and per source address by closing the oldest: idle sockets from a
// stranger can neither stall the handshakes of the real predecessor nor exhaust the threads.
// If the links cannot be formed within connect_timeout they fail with UNAVAILABLE.
// Not here: membership (who is in the ring is the caller's knowledge), the algorithms.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectives/data_messages.h"
#include "collectives/epoch_links.h"
#include "common/clock.h"
#include "common/status.h"
#include "transport/admission.h"
#include "transport/connection.h"
#include "transport/tcp.h"
#include "wire/messages.h"

namespace loco::collectives {

// Whether DATA frames checksum their payload (XXH3-64 over every byte) or only their header,
// leaving the payload to TCP's own checksum (docs/protocol.md, "Data plane", weighs the two).
enum class PayloadChecksum : uint8_t {
  kAlways = 0,
  kRemoteOnly = 1,  // on links to other hosts; not on loopback, where no wire can flip a bit
  kNever = 2,
};

struct MeshOptions {
  std::string listen_host = "127.0.0.1";  // data-plane listener; "0.0.0.0" for every interface
  uint16_t listen_port = 0;               // 0: an ephemeral port (see port())
  uint16_t listen_port_last = 0;  // > listen_port: the first free port of listen_port..this
  size_t stripes = 2;  // TCP connections per direction and neighbour (raise for long fat links)
  std::optional<LinkKey> key;             // swarm key: links are authenticated and sealed when set
  bool encrypt = true;                    // with a key: false seals for integrity only
  Duration connect_timeout = std::chrono::seconds(10);   // to form one epoch's links
  Duration handshake_timeout = std::chrono::seconds(5);  // for one incoming PEER_HELLO
  // Incoming connections wait for their PEER_HELLO each on its own thread, within these bounds
  // (the oldest pending one is closed to make room), so idle sockets cannot hold the ring back.
  transport::AdmissionLimits admission{.max_pending = 64, .max_pending_per_source = 16};
  uint32_t max_piece_bytes = 16u << 20;  // largest DATA body accepted (senders use less)
  PayloadChecksum payload_checksum = PayloadChecksum::kRemoteOnly;  // of the DATA frames sent
  transport::TcpOptions tcp;
};

// Makes an outgoing connection to a member's data address (TCP, or a loopback network in tests).
using MeshDialer = std::function<Result<std::unique_ptr<transport::Connection>>(
    const std::string& host, uint16_t port, Deadline deadline)>;

class Mesh {
 public:
  // A mesh over TCP listening on options.listen_host:listen_port.
  static Result<std::unique_ptr<Mesh>> listen_tcp(MeshOptions options);
  Mesh(std::unique_ptr<transport::Listener> listener, MeshDialer dialer, MeshOptions options);
  ~Mesh();
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  uint16_t port() const { return port_; }
  const MeshOptions& options() const { return options_; }

  // See the header comment. FAILED_PRECONDITION if `epoch` is not newer than the current one;
  // INVALID_ARGUMENT if `my_peer_id` is not in `ring` exactly once or ids repeat.
  Status set_epoch(uint64_t epoch, uint64_t my_peer_id, const std::vector<wire::Member>& ring);
  // Fails the links of `epoch` with ABORTED if it is the current epoch; otherwise does nothing.
  void abort_epoch(uint64_t epoch, const std::string& reason);
  // Told (on an internal thread) when an epoch's links fail for a reason other than abort: a
  // broken link or an operation deadline. Set before the first set_epoch.
  void set_failure_listener(std::function<void(uint64_t epoch, const Status&)> listener) {
    failure_listener_ = std::move(listener);
  }
  // Told (on the dialing thread, before the failure listener) when the next peer's data plane
  // could not be reached at all within connect_timeout: its address ("host:port") and the cause
  // ("connection refused", "timed out", or the dial error). Set before the first set_epoch.
  using UnreachableListener = std::function<void(uint64_t epoch, const wire::Member& next,
                                                 const std::string& address,
                                                 const std::string& cause)>;
  void set_unreachable_listener(UnreachableListener listener) {
    unreachable_listener_ = std::move(listener);
  }
  // The current epoch's links (null before the first set_epoch).
  std::shared_ptr<EpochLinks> current() const;
  uint64_t epoch() const;
  // Waits until the current links are all up: OK, their failure, or DEADLINE_EXCEEDED.
  Status wait_ready(Deadline deadline) const;
  // Closes the listener, fails every epoch's links and joins every thread. Idempotent.
  void shutdown();

 private:
  struct Parked {
    PeerHello hello;
    std::unique_ptr<transport::Connection> conn;
    TimePoint since;
  };

  struct Handshake {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void accept_loop();
  // Starts a handshake thread for one accepted connection; reaps the finished ones.
  void start_handshake(std::unique_ptr<transport::Connection> conn);
  void reap_handshakes(bool all);
  // On a handshake thread: reads and checks PEER_HELLO, then parks, judges or refuses it.
  void handle_incoming(std::unique_ptr<transport::Connection> conn);
  // Accepts or refuses a hello for the current epoch's links.
  void judge(const std::shared_ptr<EpochLinks>& links, uint64_t my_id, const PeerHello& hello,
             std::unique_ptr<transport::Connection> conn);
  // Sends PEER_ACCEPT (with a fresh nonce) and returns what it sent.
  PeerAccept answer(transport::Connection& conn, const PeerHello& hello, StatusCode code,
                    const std::string& reason, uint64_t epoch);
  void dial_all(const std::shared_ptr<EpochLinks>& links, uint64_t my_id);
  Status dial_stripe(EpochLinks& links, uint64_t my_id, size_t stripe, Deadline deadline);
  void reap_retired_locked();

  const MeshOptions options_;
  std::unique_ptr<transport::Listener> listener_;
  const MeshDialer dialer_;
  const uint16_t port_;

  std::function<void(uint64_t, const Status&)> failure_listener_;
  UnreachableListener unreachable_listener_;
  mutable std::mutex mu_;
  uint64_t epoch_ = 0;
  uint64_t my_id_ = 0;
  std::shared_ptr<EpochLinks> current_;
  std::vector<std::shared_ptr<EpochLinks>> retired_;
  std::vector<Parked> parked_;
  bool shut_down_ = false;
  transport::AdmissionGate gate_{options_.admission};
  std::mutex handshakes_mu_;
  std::list<Handshake> handshakes_;
  std::thread acceptor_;
};

}  // namespace loco::collectives
