// coordinator.h: the coordinator process's I/O shell around CoordinatorState. It listens on TCP,
// runs the join handshake (version check, then proof of the swarm secret), feeds events (joins,
// heartbeats, leaves, disconnects, commit votes, ticks) into the pure state machine, and carries out
// the actions it returns on the sockets. It carries control traffic only, never tensor bytes.
//
// Threads: one acceptor, one ticker, and per connection a reader and a writer (outgoing frames are
// queued, so a peer that stops reading cannot stall the coordinator). All state-machine calls are
// serialized by one mutex. Not here: the membership rules (coordinator_state.h), the frame format
// (wire/), the proofs (auth.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "membership/auth.h"
#include "membership/coordinator_state.h"
#include "membership/state_rounds.h"
#include "transport/admission.h"
#include "transport/connection.h"

namespace loco::membership {

struct CoordinatorOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                 // 0: pick a free port (see Coordinator::port())
  std::optional<SwarmKey> key;       // no key: only loopback peers are accepted
  // With a key every frame after WELCOME is sealed; false seals for integrity only (no encryption).
  bool encrypt = true;
  CoordinatorConfig config;
  Duration handshake_timeout = std::chrono::seconds(5);
  // Bounds on connections still in their handshake (transport/admission.h): when full, the
  // oldest pending one is closed to make room.
  transport::AdmissionLimits admission;
  Duration tick_interval{};          // default: heartbeat_period / 5, at least 5 ms
};

// A membership change as the coordinator saw it, for logs and the `loco swarm` display.
struct CoordinatorEvent {
  MembershipChange change;
  std::vector<wire::Member> members;
};

class Coordinator {
 public:
  static Result<std::unique_ptr<Coordinator>> start(CoordinatorOptions options);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  uint16_t port() const { return port_; }
  uint64_t epoch() const;
  std::vector<wire::Member> members() const;
  // Shared-state rounds completed so far, and the bad-donor reports received (state_rounds.h).
  uint64_t state_rounds_completed() const;
  std::vector<BadDonorReport> bad_donor_reports() const;
  // Called (from a coordinator thread, without locks held) after every new epoch.
  void set_observer(std::function<void(const CoordinatorEvent&)> observer);
  // Stops accepting, closes every connection and joins all threads. Idempotent.
  void stop();

 private:
  struct Session;
  explicit Coordinator(CoordinatorOptions options);

  void accept_loop();
  void tick_loop();
  void serve(std::shared_ptr<Session> session);
  // Runs the handshake; on success returns the Hello, on failure has already queued a REJECT.
  Result<wire::Hello> handshake(Session& session);
  void dispatch(const Event& event);
  // Shared-state sync (STATE_REPORT, STATE_DONE): feeds StateRounds, then evicts reported donors.
  void dispatch_state(ConnId conn, const wire::Frame& frame, Status& why);
  // Queues the state actions; returns the evictions for the caller to run without state_mu_.
  std::vector<EvictPeer> execute_state(std::vector<StateAction> actions);
  std::vector<StateRounds::MemberConn> ring_locked() const;
  // A LINK_FAILED that names an unreachable peer: log the pair, tell that peer (PEER_UNREACHABLE).
  void tell_unreachable(ConnId reporter, const wire::LinkFailed& lf);
  // Queues one frame to a connection if it is still open (takes sessions_mu_).
  void send_to(ConnId conn, wire::MsgType type, Bytes payload);
  void execute(std::vector<Action> actions);
  void reap_finished_sessions();

  CoordinatorOptions options_;
  std::unique_ptr<transport::Listener> listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};

  mutable std::mutex state_mu_;  // guards state_
  CoordinatorState state_;
  StateRounds rounds_;  // guarded by state_mu_ too

  std::mutex sessions_mu_;  // guards sessions_, next_conn_
  std::map<ConnId, std::shared_ptr<Session>> sessions_;
  ConnId next_conn_ = 1;

  transport::AdmissionGate gate_{options_.admission};

  std::mutex observer_mu_;
  std::function<void(const CoordinatorEvent&)> observer_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::thread acceptor_;
  std::thread ticker_;
};

}  // namespace loco::membership
