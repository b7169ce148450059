// fuzz_wire.cc: libFuzzer target for the wire layer (wire/frame.h, wire/messages.h). The input is
// decoded as one frame (max payload 1 MiB) whose payload, if the frame is valid, goes to the
// decoder of its type; the raw input is also fed to every message decoder directly. Every successful
// decode must survive a round trip: re-encoding gives the input bytes back (the encoding is
// canonical) and decoding those gives an equal value; anything else calls abort().
// Built twice: as the libFuzzer binary fuzz_wire (clang, LOCO_BUILD_FUZZ) and, with replay_main.cc,
// as the corpus replay test fuzz_wire_replay. It holds no state between inputs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/state_messages.h"

namespace loco::wire {
namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_wire: round-trip property violated: %s\n", what);
  std::abort();
}

bool same(const Hello& a, const Hello& b) {
  return a.role == b.role && a.client_nonce == b.client_nonce && a.name == b.name &&
         a.data_host == b.data_host && a.data_port == b.data_port;
}
bool same(const Challenge& a, const Challenge& b) {
  return a.server_nonce == b.server_nonce && a.auth_required == b.auth_required;
}
bool same(const Auth& a, const Auth& b) { return a.proof == b.proof; }
bool same(const Welcome& a, const Welcome& b) {
  return a.peer_id == b.peer_id && a.server_proof == b.server_proof &&
         a.heartbeat_period_ms == b.heartbeat_period_ms &&
         a.heartbeat_timeout_ms == b.heartbeat_timeout_ms;
}
bool same(const Reject& a, const Reject& b) { return a.code == b.code && a.reason == b.reason; }
bool same(const Heartbeat& a, const Heartbeat& b) { return a.seq == b.seq && a.epoch == b.epoch; }
bool same(const HeartbeatAck& a, const HeartbeatAck& b) {
  return a.seq == b.seq && a.epoch == b.epoch;
}
bool same(const Epoch& a, const Epoch& b) { return a.epoch == b.epoch && a.members == b.members; }
bool same(const Leave& a, const Leave& b) { return a.reason == b.reason; }
bool same(const OpDone& a, const OpDone& b) { return a.op == b.op; }
bool same(const OpCommit& a, const OpCommit& b) { return a.op == b.op; }
bool same(const LinkFailed& a, const LinkFailed& b) {
  return a.epoch == b.epoch && a.reason == b.reason && a.unreachable_peer == b.unreachable_peer &&
         a.address == b.address && a.cause == b.cause;
}
bool same(const PeerUnreachable& a, const PeerUnreachable& b) {
  return a.epoch == b.epoch && a.from_peer == b.from_peer && a.from_name == b.from_name &&
         a.address == b.address && a.cause == b.cause;
}
bool same(const StateReport& a, const StateReport& b) {
  return a.report_id == b.report_id && a.strategy == b.strategy && a.revision == b.revision &&
         a.layout_digest == b.layout_digest && a.serve_port == b.serve_port &&
         a.chunk_hashes == b.chunk_hashes;
}
bool same(const StatePlan& a, const StatePlan& b) {
  return a.report_id == b.report_id && a.round == b.round && a.code == b.code &&
         a.message == b.message && a.revision == b.revision && a.donors == b.donors &&
         a.fetches == b.fetches;
}
bool same(const StateDone& a, const StateDone& b) {
  return a.round == b.round && a.code == b.code && a.message == b.message &&
         a.bad_donors == b.bad_donors;
}
bool same(const StateComplete& a, const StateComplete& b) { return a.round == b.round; }

bool equal_bytes(const Bytes& a, ByteSpan b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Decodes `payload`; on success checks encode(decoded) == payload and decode(encode) == decoded.
// Returns whether the payload decoded.
template <typename Decode>
bool check_message(ByteSpan payload, Decode decode, const char* name) {
  auto first = decode(payload);
  if (!first.ok()) {
    if (first.status().code() != StatusCode::kDataLoss) fail(name);  // decoders only say DATA_LOSS
    return false;
  }
  Bytes again = first->encode();
  if (!equal_bytes(again, payload)) fail(name);
  auto second = decode(ByteSpan(again));
  if (!second.ok() || !same(*first, *second)) fail(name);
  return true;
}

void check_payload(MsgType type, ByteSpan p) {
  switch (type) {
    case MsgType::kHello: check_message(p, decode_hello, "HELLO"); return;
    case MsgType::kChallenge: check_message(p, decode_challenge, "CHALLENGE"); return;
    case MsgType::kAuth: check_message(p, decode_auth, "AUTH"); return;
    case MsgType::kWelcome: check_message(p, decode_welcome, "WELCOME"); return;
    case MsgType::kReject: check_message(p, decode_reject, "REJECT"); return;
    case MsgType::kHeartbeat: check_message(p, decode_heartbeat, "HEARTBEAT"); return;
    case MsgType::kHeartbeatAck: check_message(p, decode_heartbeat_ack, "HEARTBEAT_ACK"); return;
    case MsgType::kEpoch: check_message(p, decode_epoch, "EPOCH"); return;
    case MsgType::kLeave: check_message(p, decode_leave, "LEAVE"); return;
    case MsgType::kOpDone: check_message(p, decode_op_done, "OP_DONE"); return;
    case MsgType::kOpCommit: check_message(p, decode_op_commit, "OP_COMMIT"); return;
    case MsgType::kLinkFailed: check_message(p, decode_link_failed, "LINK_FAILED"); return;
    case MsgType::kPeerUnreachable:
      check_message(p, decode_peer_unreachable, "PEER_UNREACHABLE");
      return;
    case MsgType::kStateReport: check_message(p, decode_state_report, "STATE_REPORT"); return;
    case MsgType::kStatePlan: check_message(p, decode_state_plan, "STATE_PLAN"); return;
    case MsgType::kStateDone: check_message(p, decode_state_done, "STATE_DONE"); return;
    case MsgType::kStateComplete: check_message(p, decode_state_complete, "STATE_COMPLETE"); return;
    case MsgType::kPeerHello:
    case MsgType::kPeerAccept:
    case MsgType::kData:
    case MsgType::kStateHello:
    case MsgType::kStateAccept:
    case MsgType::kChunkRequest:
    case MsgType::kChunkHeader:
    case MsgType::kChunkBytes:
      return;  // data-plane payloads are decoded by the collectives, not here
  }
}

void check_frame(ByteSpan input) {
  constexpr uint32_t kMax = 1u << 20;
  Result<Frame> frame = decode_frame(input, kMax);
  Result<FrameHeader> header = decode_header(input, kMax);
  if (!frame.ok()) {
    // A frame the header check let through can only fail on its length or checksum: DATA_LOSS.
    if (header.ok() && frame.status().code() != StatusCode::kDataLoss) fail("frame status");
    if (!header.ok() && frame.status().code() != header.status().code()) fail("frame status");
    return;
  }
  if (!header.ok() || header->type != frame->type || header->length != frame->payload.size()) {
    fail("frame header");
  }
  Bytes again = encode_frame(frame->type, frame->payload, frame->flags);
  if (!equal_bytes(again, input)) fail("frame re-encoding");
  Result<Frame> second = decode_frame(again, kMax);
  if (!second.ok() || second->type != frame->type || second->payload != frame->payload) {
    fail("frame round trip");
  }
  check_payload(frame->type, frame->payload);
}

}  // namespace
}  // namespace loco::wire

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loco::wire;  // NOLINT(google-build-using-namespace)
  loco::ByteSpan input(reinterpret_cast<const std::byte*>(data), size);
  check_frame(input);
  check_payload(MsgType::kHello, input);
  check_payload(MsgType::kChallenge, input);
  check_payload(MsgType::kAuth, input);
  check_payload(MsgType::kWelcome, input);
  check_payload(MsgType::kReject, input);
  check_payload(MsgType::kHeartbeat, input);
  check_payload(MsgType::kHeartbeatAck, input);
  check_payload(MsgType::kEpoch, input);
  check_payload(MsgType::kLeave, input);
  check_payload(MsgType::kOpDone, input);
  check_payload(MsgType::kOpCommit, input);
  check_payload(MsgType::kLinkFailed, input);
  check_payload(MsgType::kPeerUnreachable, input);
  check_payload(MsgType::kStateReport, input);
  check_payload(MsgType::kStatePlan, input);
  check_payload(MsgType::kStateDone, input);
  check_payload(MsgType::kStateComplete, input);
  return 0;
}
