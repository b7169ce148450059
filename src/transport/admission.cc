// admission.cc: see admission.h.
#include "transport/admission.h"

#include <algorithm>

#include "common/log.h"

namespace loco::transport {

std::string source_of(const std::string& remote_address) {
  if (!remote_address.empty() && remote_address.front() == '[') {
    const size_t close = remote_address.find(']');
    if (close != std::string::npos) return remote_address.substr(0, close + 1);
    return remote_address;
  }
  const size_t colon = remote_address.rfind(':');
  if (colon == std::string::npos || remote_address.find(':') != colon) return remote_address;
  return remote_address.substr(0, colon);
}

AdmissionGate::AdmissionGate(AdmissionLimits limits) : limits_(limits) {}

AdmissionGate::~AdmissionGate() = default;

AdmissionGate::Ticket::Ticket(Ticket&& other) noexcept : gate_(other.gate_), id_(other.id_) {
  other.gate_ = nullptr;
}

AdmissionGate::Ticket& AdmissionGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    gate_ = other.gate_;
    id_ = other.id_;
    other.gate_ = nullptr;
  }
  return *this;
}

void AdmissionGate::Ticket::release() {
  if (gate_ == nullptr) return;
  gate_->remove(id_);
  gate_ = nullptr;
}

AdmissionGate::Ticket AdmissionGate::admit(Connection& conn) {
  std::string source = source_of(conn.remote_address());
  std::lock_guard<std::mutex> lock(mu_);
  const size_t per_source_cap = std::max<size_t>(limits_.max_pending_per_source, 1);
  const size_t total_cap = std::max<size_t>(limits_.max_pending, 1);
  for (auto it = per_source_.find(source); it != per_source_.end() && it->second >= per_source_cap;
       it = per_source_.find(source)) {
    if (!evict_oldest_locked(&source)) break;
  }
  while (open_ >= total_cap) {
    if (!evict_oldest_locked(nullptr)) break;
  }
  const uint64_t id = next_id_++;
  pending_.push_back(Entry{id, source, &conn});
  ++per_source_[source];
  ++open_;
  ++admitted_;
  return Ticket(this, id);
}

// Closing is enough: the connection's handshake wakes with UNAVAILABLE and releases its ticket.
// Until then the entry stays, marked closed, so its pointer is never used again; it no longer
// counts against either bound, so the newcomer has room at once.
bool AdmissionGate::evict_oldest_locked(const std::string* source) {
  for (Entry& e : pending_) {
    if (e.closed || (source != nullptr && e.source != *source)) continue;
    mark_closed_locked(e);
    ++evicted_;
    LOCO_LOG_DEBUG("admission: closed the oldest pending connection from {} to make room",
                   e.source);
    return true;
  }
  return false;
}

void AdmissionGate::mark_closed_locked(Entry& e) {
  e.closed = true;
  e.conn->close();
  --open_;
  auto it = per_source_.find(e.source);
  if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

void AdmissionGate::remove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->id != id) continue;
    if (!it->closed) {
      --open_;
      auto src = per_source_.find(it->source);
      if (src != per_source_.end() && --src->second == 0) per_source_.erase(src);
    }
    pending_.erase(it);
    return;
  }
}

void AdmissionGate::close_all() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Entry& e : pending_) {
    if (!e.closed) mark_closed_locked(e);
  }
}

AdmissionStats AdmissionGate::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  AdmissionStats s;
  s.pending = open_;
  s.admitted = admitted_;
  s.evicted = evicted_;
  return s;
}

}  // namespace loco::transport
