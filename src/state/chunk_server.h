// chunk_server.h: the donor side of a shared-state transfer. Listens on TCP; each incoming
// connection must open with an authenticated STATE_HELLO addressed to this peer, then asks for
// chunks (CHUNK_REQUEST) and gets them in order (CHUNK_HEADER + CHUNK_BYTES straight from the
// caller's buffer, no copy). A chunk is served only while a sync is open (open() .. close()) and
// only if the hash this peer reported for it equals the hash asked for; otherwise the header says
// FAILED_PRECONDITION and the receiver asks another donor.
//
// close() waits for sends in progress, so once it returns no thread reads the state's buffers and
// the caller may modify them. One thread per connection (at most kMaxConnections).
// Not here: deciding who fetches what (membership/state_sync_plan.h), fetching (chunk_fetcher.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "state/chunk_messages.h"
#include "state/shared_state.h"
#include "transport/admission.h"
#include "transport/connection.h"
#include "transport/tcp.h"

namespace loco::state {

struct ChunkServerOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  uint16_t listen_port_last = 0;  // > listen_port: the first free port of the range
  std::optional<StateKey> key;  // swarm key: connections are authenticated and sealed when set
  bool encrypt = true;          // with a key: false seals for integrity only
  transport::TcpOptions tcp;
  Duration handshake_timeout = std::chrono::seconds(5);
  Duration send_timeout = std::chrono::seconds(30);  // per chunk
  // An authenticated connection that sends no request for this long is closed (a fetcher
  // reconnects for its next round), so idle sockets cannot hold the connection slots.
  Duration idle_timeout = std::chrono::seconds(60);
  // Connections still in their STATE_HELLO: when full, the oldest pending one is closed.
  transport::AdmissionLimits admission{.max_pending = 32, .max_pending_per_source = 8};
};

class ChunkServer {
 public:
  static Result<std::unique_ptr<ChunkServer>> listen(ChunkServerOptions options);
  ~ChunkServer();
  ChunkServer(const ChunkServer&) = delete;
  ChunkServer& operator=(const ChunkServer&) = delete;

  uint16_t port() const { return port_; }
  // Starts serving `state`'s chunks with the hashes this peer reported, as peer `my_peer_id`.
  // `state` must stay alive and unmodified until close().
  void open(const SharedState* state, std::vector<uint64_t> hashes, uint64_t my_peer_id);
  // Stops serving (requests get FAILED_PRECONDITION) and waits for sends in progress.
  void close();
  // Closes the listener and every connection; joins the threads. Idempotent.
  void shutdown();

  // Fault injection for tests: serve every chunk with one byte flipped (the header still claims
  // the true hash), as a faulty or malicious donor would.
  void set_corrupt_serving(bool on) { corrupt_ = on; }
  // Caps this server's sending rate (bytes per second, 0: no cap) by pausing before each chunk:
  // emulates a donor's limited uplink (benchmarks) and makes transfers slow enough to interrupt
  // (fault tests).
  void set_rate_limit(double bytes_per_second) { rate_ = bytes_per_second; }
  uint64_t chunks_served() const { return served_; }

  // Connections at once, pending and authenticated; when full, a newcomer is refused.
  static constexpr size_t kMaxConnections = 64;

 private:
  explicit ChunkServer(ChunkServerOptions options, std::unique_ptr<transport::Listener> listener);
  void accept_loop();
  struct Client;
  void serve(Client& client);
  Status handshake(transport::Connection& conn);
  Status answer(transport::Connection& conn, const ChunkRequest& req);

  struct Client {
    std::unique_ptr<transport::Connection> conn;
    transport::AdmissionGate::Ticket ticket;  // until the handshake ends (after conn: freed first)
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  const ChunkServerOptions options_;
  std::unique_ptr<transport::Listener> listener_;
  transport::AdmissionGate gate_{options_.admission};
  const uint16_t port_;

  std::shared_mutex serving_mu_;  // shared: a send in progress; exclusive: open/close
  const SharedState* state_ = nullptr;
  std::vector<uint64_t> hashes_;
  std::atomic<uint64_t> my_peer_id_{0};

  std::mutex clients_mu_;
  std::list<Client> clients_;
  bool shut_down_ = false;
  std::atomic<bool> corrupt_{false};
  std::atomic<double> rate_{0};
  std::mutex pace_mu_;
  TimePoint next_send_{};
  std::atomic<uint64_t> served_{0};
  std::thread acceptor_;
};

}  // namespace loco::state
