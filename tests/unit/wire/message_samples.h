// message_samples.h: non-trivial sample values of every control-plane message and field-by-field
// gtest comparisons, shared by messages_test.cc and messages_reject_test.cc. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "wire/messages.h"

namespace loco::wire::samples {

template <size_t N>
std::array<std::byte, N> filled(uint8_t first) {
  std::array<std::byte, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<std::byte>(first + i * 7);
  return a;
}

// Names with a multi-byte UTF-8 character and an embedded NUL: strings are bytes, not C strings.
inline std::string odd_name() { return std::string("host-\xc3\xbc/gpu\0" "7", 13); }

inline Hello hello() {
  Hello m;
  m.client_nonce = filled<kNonceSize>(0x11);
  m.name = odd_name();
  m.data_host = "10.1.2.3";
  m.data_port = 65535;
  return m;
}
inline Challenge challenge(bool auth = true) {
  Challenge m;
  m.server_nonce = filled<kNonceSize>(0x80);
  m.auth_required = auth;
  return m;
}
inline Auth auth() {
  Auth m;
  m.proof = filled<kProofSize>(0xF0);
  return m;
}
inline Welcome welcome() {
  Welcome m;
  m.peer_id = 0x0123456789ABCDEFull;
  m.server_proof = filled<kProofSize>(0x05);
  m.heartbeat_period_ms = 500;
  m.heartbeat_timeout_ms = 0xFFFFFFFEu;
  return m;
}
inline Reject reject() {
  Reject m;
  m.code = StatusCode::kUnauthenticated;
  m.reason = "wrong swarm secret\n(proof mismatch)";
  return m;
}
inline Heartbeat heartbeat() {
  Heartbeat m;
  m.seq = 0xFFFFFFFFFFFFFFFFull;
  m.epoch = 0x8000000000000001ull;
  return m;
}
inline HeartbeatAck heartbeat_ack() {
  HeartbeatAck m;
  m.seq = 42;
  m.epoch = 0x00000001FFFFFFFFull;
  return m;
}
inline Epoch epoch() {
  Epoch m;
  m.epoch = 0xFEDCBA9876543210ull;
  m.members.push_back({7, "a", "127.0.0.1", 40000});
  m.members.push_back({0xFFFFFFFFFFFFFFFFull, odd_name(), std::string(kMaxNameLen, 'h'), 65535});
  m.members.push_back({3, "", "", 0});
  return m;
}
inline Leave leave() {
  Leave m;
  m.reason = "shutting down: SIGTERM";
  return m;
}
inline OpId op() { return {0x1111222233334444ull, 0xAAAABBBBCCCCDDDDull, 7}; }
inline OpDone op_done() { return {op()}; }
inline OpCommit op_commit() { return {{op().epoch, op().tag, op().seq + 1}}; }
inline LinkFailed link_failed() {
  return {0x0102030405060708ull, "recv from 10.0.0.2:9000: reset", 0, "", ""};
}
inline LinkFailed link_unreachable() {
  return {7, "could not link to the next peer 3", 3, "10.0.0.3:29500", "connection refused"};
}
inline PeerUnreachable peer_unreachable() {
  return {7, 2, "host-a", "10.0.0.3:29500", "timed out"};
}

inline void expect_same(const Hello& a, const Hello& b) {
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.client_nonce, b.client_nonce);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.data_host, b.data_host);
  EXPECT_EQ(a.data_port, b.data_port);
}
inline void expect_same(const Challenge& a, const Challenge& b) {
  EXPECT_EQ(a.server_nonce, b.server_nonce);
  EXPECT_EQ(a.auth_required, b.auth_required);
}
inline void expect_same(const Auth& a, const Auth& b) { EXPECT_EQ(a.proof, b.proof); }
inline void expect_same(const Welcome& a, const Welcome& b) {
  EXPECT_EQ(a.peer_id, b.peer_id);
  EXPECT_EQ(a.server_proof, b.server_proof);
  EXPECT_EQ(a.heartbeat_period_ms, b.heartbeat_period_ms);
  EXPECT_EQ(a.heartbeat_timeout_ms, b.heartbeat_timeout_ms);
}
inline void expect_same(const Reject& a, const Reject& b) {
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.reason, b.reason);
}
inline void expect_same(const Heartbeat& a, const Heartbeat& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.epoch, b.epoch);
}
inline void expect_same(const HeartbeatAck& a, const HeartbeatAck& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.epoch, b.epoch);
}
inline void expect_same(const Epoch& a, const Epoch& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.members, b.members);
}
inline void expect_same(const Leave& a, const Leave& b) { EXPECT_EQ(a.reason, b.reason); }
inline void expect_same(const OpDone& a, const OpDone& b) { EXPECT_EQ(a.op, b.op); }
inline void expect_same(const OpCommit& a, const OpCommit& b) { EXPECT_EQ(a.op, b.op); }
inline void expect_same(const LinkFailed& a, const LinkFailed& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.unreachable_peer, b.unreachable_peer);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.cause, b.cause);
}
inline void expect_same(const PeerUnreachable& a, const PeerUnreachable& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.from_peer, b.from_peer);
  EXPECT_EQ(a.from_name, b.from_name);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.cause, b.cause);
}

}  // namespace loco::wire::samples
