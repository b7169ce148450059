// admission.h: the gate every listener puts a connection through before it has authenticated.
// On the internet anyone can open sockets to a coordinator, data or chunk port and then say
// nothing (slowloris) or little; each such socket costs a descriptor and a handshake thread. The
// gate bounds how many unauthenticated connections are pending, in total and per source address,
// and when a bound is reached it closes the OLDEST pending connection (of that source, else of
// all) to make room, rather than refusing the newcomer: an honest peer's handshake takes a round
// trip, so it completes before a flood of idle sockets can push it out, while a fixed set of idle
// sockets can never keep the door shut. A connection leaves the gate when its handshake ends
// (ticket released), whatever the outcome.
// Not here: the handshake itself, rate limits on authenticated peers, or per-source bans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "transport/connection.h"

namespace loco::transport {

struct AdmissionLimits {
  size_t max_pending = 128;            // unauthenticated connections in total
  size_t max_pending_per_source = 16;  // from one remote address (port ignored)
};

struct AdmissionStats {
  size_t pending = 0;      // connections inside the gate now
  uint64_t admitted = 0;   // ever let in
  uint64_t evicted = 0;    // closed to make room for a newer one
};

// "10.0.0.1:5000" -> "10.0.0.1", "[fd00::1]:5000" -> "[fd00::1]"; other text as it is.
std::string source_of(const std::string& remote_address);

class AdmissionGate {
 public:
  explicit AdmissionGate(AdmissionLimits limits = {});
  ~AdmissionGate();
  AdmissionGate(const AdmissionGate&) = delete;
  AdmissionGate& operator=(const AdmissionGate&) = delete;

  // Holds one connection's place in the gate; releasing it (or destroying it) takes the
  // connection out. The connection must outlive the ticket (declare the ticket after it).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { release(); }
    void release();
    bool held() const { return gate_ != nullptr; }

   private:
    friend class AdmissionGate;
    Ticket(AdmissionGate* gate, uint64_t id) : gate_(gate), id_(id) {}
    AdmissionGate* gate_ = nullptr;
    uint64_t id_ = 0;
  };

  // Lets `conn` in, closing the oldest pending connection(s) first when a bound is full. The
  // closed connections' handshakes then fail with UNAVAILABLE and release their tickets.
  [[nodiscard]] Ticket admit(Connection& conn);
  // Closes every pending connection (for shutdown).
  void close_all();
  AdmissionStats stats() const;

 private:
  struct Entry {
    uint64_t id;
    std::string source;
    Connection* conn;  // valid while its ticket is held
    bool closed = false;
  };
  void remove(uint64_t id);
  bool evict_oldest_locked(const std::string* source);  // false when nothing is left to close
  void mark_closed_locked(Entry& e);

  const AdmissionLimits limits_;
  mutable std::mutex mu_;
  std::list<Entry> pending_;  // oldest first
  std::map<std::string, size_t> per_source_;  // open entries per source
  size_t open_ = 0;                           // entries not yet closed
  uint64_t next_id_ = 1;
  uint64_t admitted_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace loco::transport
