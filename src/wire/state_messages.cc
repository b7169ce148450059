// state_messages.cc: payload codecs of the shared-state sync messages (see state_messages.h).
#include "wire/state_messages.h"

#include <string>

namespace loco::wire {
namespace {

Status malformed(const char* what) { return DataLoss(std::string("malformed ") + what + " payload"); }

bool get_code(ByteReader& r, StatusCode& code) {
  int32_t c = 0;
  if (!r.get(c) || c < 0 || c > static_cast<int32_t>(StatusCode::kInternal)) return false;
  code = static_cast<StatusCode>(c);
  return true;
}

}  // namespace

const char* sync_strategy_name(SyncStrategy s) {
  switch (s) {
    case SyncStrategy::kEnforceMajority: return "enforce-majority";
    case SyncStrategy::kReceiveOnly: return "receive-only";
    case SyncStrategy::kSendOnly: return "send-only";
  }
  return "unknown";
}

Bytes StateReport::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(report_id);
  w.put<uint8_t>(static_cast<uint8_t>(strategy));
  w.put<uint64_t>(revision);
  w.put<uint64_t>(layout_digest);
  w.put<uint16_t>(serve_port);
  w.put<uint32_t>(static_cast<uint32_t>(chunk_hashes.size()));
  for (uint64_t h : chunk_hashes) w.put<uint64_t>(h);
  return out;
}

Result<StateReport> decode_state_report(ByteSpan payload) {
  ByteReader r(payload);
  StateReport m;
  uint8_t strategy = 0;
  uint32_t count = 0;
  if (!r.get(m.report_id) || !r.get(strategy) || !r.get(m.revision) || !r.get(m.layout_digest) ||
      !r.get(m.serve_port) || !r.get(count)) {
    return malformed("STATE_REPORT");
  }
  if (strategy < 1 || strategy > 3) return DataLoss("STATE_REPORT with unknown strategy");
  m.strategy = static_cast<SyncStrategy>(strategy);
  if (count > kMaxStateChunks || count != r.remaining() / 8 || r.remaining() % 8 != 0) {
    return malformed("STATE_REPORT");
  }
  m.chunk_hashes.resize(count);
  for (uint64_t& h : m.chunk_hashes) r.get(h);
  if (!r.done()) return malformed("STATE_REPORT");
  return m;
}

Bytes StatePlan::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(report_id);
  w.put<uint64_t>(round);
  w.put<int32_t>(static_cast<int32_t>(code));
  w.put_string(std::string_view(message).substr(0, kMaxReasonLen));
  w.put<uint64_t>(revision);
  w.put<uint32_t>(static_cast<uint32_t>(donors.size()));
  for (const StateDonor& d : donors) {
    w.put<uint64_t>(d.peer_id);
    w.put_string(d.host);
    w.put<uint16_t>(d.port);
  }
  w.put<uint32_t>(static_cast<uint32_t>(fetches.size()));
  for (const ChunkFetch& f : fetches) {
    w.put<uint32_t>(f.chunk);
    w.put<uint64_t>(f.hash);
    w.put<uint8_t>(static_cast<uint8_t>(f.donors.size()));
    for (uint16_t d : f.donors) w.put<uint16_t>(d);
  }
  return out;
}

Result<StatePlan> decode_state_plan(ByteSpan payload) {
  ByteReader r(payload);
  StatePlan m;
  uint32_t donors = 0;
  if (!r.get(m.report_id) || !r.get(m.round) || !get_code(r, m.code) ||
      !r.get_string(m.message, kMaxReasonLen) || !r.get(m.revision) || !r.get(donors)) {
    return malformed("STATE_PLAN");
  }
  // Each donor takes at least 8 + 4 + 2 bytes: bound the count before reserving.
  if (donors > kMaxMembers || donors > r.remaining() / 14) return malformed("STATE_PLAN");
  m.donors.reserve(donors);
  for (uint32_t i = 0; i < donors; ++i) {
    StateDonor d;
    if (!r.get(d.peer_id) || !r.get_string(d.host, kMaxNameLen) || !r.get(d.port)) {
      return malformed("STATE_PLAN");
    }
    m.donors.push_back(std::move(d));
  }
  uint32_t fetches = 0;
  if (!r.get(fetches) || fetches > kMaxStateChunks || fetches > r.remaining() / 13) {
    return malformed("STATE_PLAN");
  }
  m.fetches.reserve(fetches);
  for (uint32_t i = 0; i < fetches; ++i) {
    ChunkFetch f;
    uint8_t n = 0;
    if (!r.get(f.chunk) || !r.get(f.hash) || !r.get(n)) return malformed("STATE_PLAN");
    if (n == 0 || n > kMaxChunkCandidates || f.chunk >= kMaxStateChunks) {
      return malformed("STATE_PLAN");
    }
    f.donors.resize(n);
    for (uint16_t& d : f.donors) {
      if (!r.get(d) || d >= m.donors.size()) return malformed("STATE_PLAN");
    }
    m.fetches.push_back(std::move(f));
  }
  if (!r.done()) return malformed("STATE_PLAN");
  if (m.code != StatusCode::kOk && !m.fetches.empty()) return malformed("STATE_PLAN");
  return m;
}

Bytes StateDone::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(round);
  w.put<int32_t>(static_cast<int32_t>(code));
  w.put_string(std::string_view(message).substr(0, kMaxReasonLen));
  w.put<uint32_t>(static_cast<uint32_t>(bad_donors.size()));
  for (uint64_t d : bad_donors) w.put<uint64_t>(d);
  return out;
}

Result<StateDone> decode_state_done(ByteSpan payload) {
  ByteReader r(payload);
  StateDone m;
  uint32_t count = 0;
  if (!r.get(m.round) || !get_code(r, m.code) || !r.get_string(m.message, kMaxReasonLen) ||
      !r.get(count) || count > kMaxMembers || count > r.remaining() / 8) {
    return malformed("STATE_DONE");
  }
  m.bad_donors.resize(count);
  for (uint64_t& d : m.bad_donors) r.get(d);
  if (!r.done()) return malformed("STATE_DONE");
  return m;
}

Bytes StateComplete::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(round);
  return out;
}

Result<StateComplete> decode_state_complete(ByteSpan payload) {
  ByteReader r(payload);
  StateComplete m;
  if (!r.get(m.round) || !r.done()) return malformed("STATE_COMPLETE");
  return m;
}

}  // namespace loco::wire
