// make_wire_corpus.cc: writes the seed corpus of fuzz_wire (tests/fuzz/corpus/wire) into the
// directory given as argv[1]: one valid frame per message type, a few bare payloads, and frames
// broken in each way the decoders must reject. Deterministic (fixed nonces and names), so running
// it again gives identical files. Built as a target, run by hand (README.md), never by the tests.
#include <xxhash.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/state_messages.h"

namespace loco::wire {
namespace {

namespace fs = std::filesystem;

int g_written = 0;

void write(const fs::path& dir, const std::string& name, const Bytes& bytes) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
  ++g_written;
}

template <size_t N>
std::array<std::byte, N> filled(uint8_t first) {
  std::array<std::byte, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<std::byte>(first + i * 3);
  return a;
}

// Recomputes the checksum after a test edited header bytes [0,16).
Bytes reseal(Bytes frame) {
  Bytes covered(frame.begin(), frame.begin() + 16);
  covered.insert(covered.end(), frame.begin() + kFrameHeaderSize, frame.end());
  store_le<uint64_t>(frame.data() + 16, XXH3_64bits(covered.data(), covered.size()));
  return frame;
}

Bytes frame(MsgType t, const Bytes& payload) { return encode_frame(t, payload); }

void write_valid(const fs::path& dir) {
  Hello hello;
  hello.client_nonce = filled<kNonceSize>(1);
  hello.name = "host-a/gpu0";
  hello.data_host = "10.0.0.7";
  hello.data_port = 40123;
  Challenge challenge;
  challenge.server_nonce = filled<kNonceSize>(100);
  Challenge open = challenge;
  open.auth_required = false;
  Auth auth;
  auth.proof = filled<kProofSize>(7);
  Welcome welcome{42, filled<kProofSize>(9), 500, 3000};
  Reject reject{StatusCode::kUnauthenticated, "wrong swarm secret"};
  Heartbeat hb{17, 3};
  HeartbeatAck ack{17, 4};
  Epoch epoch;
  epoch.epoch = 4;
  epoch.members = {{1, "a", "10.0.0.1", 4001}, {2, "b", "10.0.0.2", 4002}, {5, "", "::1", 0}};
  Leave leave{"done"};
  OpDone done{{4, 1, 12}};
  OpCommit commit{{4, 1, 12}};

  write(dir, "frame_hello", frame(MsgType::kHello, hello.encode()));
  write(dir, "frame_challenge", frame(MsgType::kChallenge, challenge.encode()));
  write(dir, "frame_challenge_noauth", frame(MsgType::kChallenge, open.encode()));
  write(dir, "frame_auth", frame(MsgType::kAuth, auth.encode()));
  write(dir, "frame_welcome", frame(MsgType::kWelcome, welcome.encode()));
  write(dir, "frame_reject", frame(MsgType::kReject, reject.encode()));
  write(dir, "frame_heartbeat", frame(MsgType::kHeartbeat, hb.encode()));
  write(dir, "frame_heartbeat_ack", frame(MsgType::kHeartbeatAck, ack.encode()));
  write(dir, "frame_epoch", frame(MsgType::kEpoch, epoch.encode()));
  write(dir, "frame_epoch_empty", frame(MsgType::kEpoch, Epoch{}.encode()));
  write(dir, "frame_leave", frame(MsgType::kLeave, leave.encode()));
  write(dir, "frame_op_done", frame(MsgType::kOpDone, done.encode()));
  write(dir, "frame_op_commit", frame(MsgType::kOpCommit, commit.encode()));
  write(dir, "frame_link_failed", frame(MsgType::kLinkFailed, LinkFailed{3, "reset", 0, "", ""}.encode()));
  write(dir, "frame_link_unreachable",
        frame(MsgType::kLinkFailed, LinkFailed{3, "x", 2, "10.0.0.2:29500", "timed out"}.encode()));
  write(dir, "frame_peer_unreachable",
        frame(MsgType::kPeerUnreachable,
              PeerUnreachable{3, 1, "a", "10.0.0.2:29500", "connection refused"}.encode()));
  write(dir, "frame_peer_hello", frame(MsgType::kPeerHello, Bytes(20, std::byte{0x5A})));
  write(dir, "frame_peer_accept", frame(MsgType::kPeerAccept, {}));
  write(dir, "frame_data", frame(MsgType::kData, Bytes(64, std::byte{0xC3})));
  // Shared-state sync.
  StateReport report;
  report.report_id = 4;
  report.strategy = SyncStrategy::kReceiveOnly;
  report.revision = 12;
  report.layout_digest = 0xABCDEF;
  report.serve_port = 4100;
  report.chunk_hashes = {1, 2, 0xFFFFFFFFFFFFFFFFull};
  StatePlan plan;
  plan.report_id = 4;
  plan.round = 2;
  plan.revision = 12;
  plan.donors = {{1, "10.0.0.1", 4100}, {3, "10.0.0.3", 4101}};
  plan.fetches = {{0, 11, {0, 1}}, {2, 13, {1}}};
  StatePlan refused;
  refused.code = StatusCode::kFailedPrecondition;
  refused.message = "revision 9 is ahead of the swarm's revision 8";
  write(dir, "frame_state_report", frame(MsgType::kStateReport, report.encode()));
  write(dir, "frame_state_plan", frame(MsgType::kStatePlan, plan.encode()));
  write(dir, "frame_state_plan_refused", frame(MsgType::kStatePlan, refused.encode()));
  write(dir, "frame_state_done",
        frame(MsgType::kStateDone, StateDone{2, StatusCode::kOk, "", {3}}.encode()));
  write(dir, "frame_state_complete", frame(MsgType::kStateComplete, StateComplete{2}.encode()));
  write(dir, "payload_state_report", report.encode());
  write(dir, "payload_state_plan", plan.encode());

  // Bare payloads: fuzz_wire also hands the raw input to every decoder.
  write(dir, "payload_hello", hello.encode());
  write(dir, "payload_welcome", welcome.encode());
  write(dir, "payload_reject", reject.encode());
  write(dir, "payload_epoch", epoch.encode());
  write(dir, "payload_leave", leave.encode());
  write(dir, "payload_op_done", done.encode());
}

void write_malformed(const fs::path& dir) {
  const Bytes good = frame(MsgType::kHeartbeat, Heartbeat{1, 2}.encode());
  write(dir, "bad_empty", {});
  write(dir, "bad_header_truncated", Bytes(good.begin(), good.begin() + 10));

  Bytes b = good;
  b[0] = std::byte{'X'};
  write(dir, "bad_magic", reseal(b));
  b = good;
  store_le<uint16_t>(b.data() + 4, 2);
  write(dir, "bad_version_2", reseal(b));
  b = good;
  store_le<uint16_t>(b.data() + 6, 12);
  write(dir, "bad_unknown_type", reseal(b));
  b = good;
  store_le<uint32_t>(b.data() + 8, 1);
  write(dir, "bad_flags", reseal(b));
  b = Bytes(good.begin(), good.begin() + kFrameHeaderSize);
  store_le<uint32_t>(b.data() + 12, 0xFFFFFFFFu);
  write(dir, "bad_length_oversize", reseal(b));
  write(dir, "bad_payload_truncated", Bytes(good.begin(), good.end() - 1));
  b = good;
  b.push_back(std::byte{0});
  write(dir, "bad_trailing_byte", b);
  b = good;
  b.back() ^= std::byte{0x01};
  write(dir, "bad_checksum", b);
  b = good;
  store_le<uint16_t>(b.data() + 6, static_cast<uint16_t>(MsgType::kHeartbeatAck));
  write(dir, "bad_type_swapped", b);

  // Valid frames around invalid payloads.
  Bytes p;
  ByteWriter w(p);
  w.put<uint64_t>(1);
  w.put<uint32_t>(0xFFFFFFFFu);  // member count with no members behind it
  write(dir, "bad_epoch_forged_count", frame(MsgType::kEpoch, p));
  p.clear();
  w.put<int32_t>(0);
  w.put_string("ok is not a rejection");
  write(dir, "bad_reject_code_0", frame(MsgType::kReject, p));
  Hello h;
  h.name = "n";
  p = h.encode();
  p[0] = std::byte{2};
  write(dir, "bad_hello_role_2", frame(MsgType::kHello, p));
  p = Challenge{}.encode();
  p.back() = std::byte{2};
  write(dir, "bad_challenge_auth_2", frame(MsgType::kChallenge, p));
  h.name = std::string(kMaxNameLen + 1, 'n');
  write(dir, "bad_hello_name_oversize", frame(MsgType::kHello, h.encode()));
}

}  // namespace
}  // namespace loco::wire

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output-dir>\n", argv[0]);
    return 1;
  }
  std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  loco::wire::write_valid(dir);
  loco::wire::write_malformed(dir);
  std::printf("wrote %d files to %s\n", loco::wire::g_written, dir.c_str());
  return 0;
}
