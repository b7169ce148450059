// mesh_test.cc: the mesh's link handshake seen from a raw TCP dialer (stale epoch, wrong peer,
// wrong stripe count, duplicate stripe, parked early hello, bad key proof, garbage), set_epoch
// validation, and rings with a swarm key (matching and mismatched).
#include "collectives/mesh.h"

#include <gtest/gtest.h>

#include <vector>

#include "ring_harness.h"
#include "transport/tcp.h"

namespace loco::collectives {
namespace {

using testing::PeerSlot;
using testing::Ring;

// A mesh for peer 2 in the ring {1, 2, 3}: its predecessor is peer 1.
struct Fixture {
  explicit Fixture(std::optional<LinkKey> key = std::nullopt) {
    MeshOptions o;
    o.stripes = 2;
    o.key = key;
    o.connect_timeout = std::chrono::milliseconds(500);
    auto m = Mesh::listen_tcp(o);
    EXPECT_TRUE(m.ok());
    mesh = std::move(*m);
    // Peers 1 and 3 are not listening: the mesh's own dialer fails, which is not under test.
    ring = {
        {1, "a", "127.0.0.1", 1}, {2, "b", "127.0.0.1", mesh->port()}, {3, "c", "127.0.0.1", 1}};
  }
  std::unique_ptr<Mesh> mesh;
  std::vector<wire::Member> ring;
};

Result<std::unique_ptr<transport::Connection>> send_hello(uint16_t port, PeerHello h,
                                                          const std::optional<LinkKey>& key) {
  LOCO_ASSIGN_OR_RETURN(
      auto conn, transport::dial_tcp("127.0.0.1", port, Deadline::after(std::chrono::seconds(5))));
  h.proof = hello_proof(key, h);
  LOCO_RETURN_IF_ERROR(
      conn->send(wire::MsgType::kPeerHello, h.encode(), Deadline::after(std::chrono::seconds(5))));
  return conn;
}

Result<PeerAccept> read_accept(transport::Connection& conn,
                               Duration wait = std::chrono::seconds(5)) {
  LOCO_ASSIGN_OR_RETURN(wire::Frame f, conn.receive(Deadline::after(wait)));
  if (f.type != wire::MsgType::kPeerAccept) return DataLoss("not an accept");
  return decode_peer_accept(f.payload);
}

PeerHello hello(uint64_t epoch, uint64_t from, uint64_t to, uint32_t stripe, uint32_t stripes = 2) {
  PeerHello h;
  h.epoch = epoch;
  h.from_peer = from;
  h.to_peer = to;
  h.stripe = stripe;
  h.stripes = stripes;
  h.nonce.fill(std::byte{static_cast<unsigned char>(stripe + 1)});
  return h;
}

StatusCode answer_code(uint16_t port, const PeerHello& h, const std::optional<LinkKey>& key = {}) {
  auto conn = send_hello(port, h, key);
  if (!conn.ok()) return conn.status().code();
  auto a = read_accept(**conn);
  if (!a.ok()) return StatusCode::kInternal;
  return a->code;
}

TEST(Mesh, HandshakeAcceptsOnlyThePredecessorOnceForTheCurrentEpoch) {
  Fixture f;
  ASSERT_TRUE(f.mesh->set_epoch(5, 2, f.ring).ok());
  const uint16_t port = f.mesh->port();
  EXPECT_EQ(answer_code(port, hello(4, 1, 2, 0)), StatusCode::kAborted);             // stale epoch
  EXPECT_EQ(answer_code(port, hello(5, 3, 2, 0)), StatusCode::kFailedPrecondition);  // not prev
  EXPECT_EQ(answer_code(port, hello(5, 1, 9, 0)), StatusCode::kFailedPrecondition);  // not me
  EXPECT_EQ(answer_code(port, hello(5, 1, 2, 0, 3)), StatusCode::kInvalidArgument);  // stripes
  auto first = send_hello(port, hello(5, 1, 2, 0), std::nullopt);
  ASSERT_TRUE(first.ok());
  auto a = read_accept(**first);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->code, StatusCode::kOk);
  EXPECT_EQ(a->epoch, 5u);
  EXPECT_EQ(answer_code(port, hello(5, 1, 2, 0)), StatusCode::kFailedPrecondition);  // duplicate
}

TEST(Mesh, EarlyHelloIsParkedUntilTheEpochArrives) {
  Fixture f;
  ASSERT_TRUE(f.mesh->set_epoch(5, 2, f.ring).ok());
  auto conn = send_hello(f.mesh->port(), hello(6, 1, 2, 1), std::nullopt);
  ASSERT_TRUE(conn.ok());
  // No answer while the mesh is still at epoch 5...
  EXPECT_EQ(read_accept(**conn, std::chrono::milliseconds(300)).status().code(),
            StatusCode::kDeadlineExceeded);
  // ...and acceptance once it reaches epoch 6.
  ASSERT_TRUE(f.mesh->set_epoch(6, 2, f.ring).ok());
  auto a = read_accept(**conn);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->code, StatusCode::kOk);
  // A hello parked for an epoch that is skipped is refused as stale.
  auto late = send_hello(f.mesh->port(), hello(7, 1, 2, 0), std::nullopt);
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE(f.mesh->set_epoch(8, 2, f.ring).ok());
  auto r = read_accept(**late);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, StatusCode::kAborted);
}

TEST(Mesh, KeyedHandshakeRejectsAWrongProofAndProvesItself) {
  LinkKey key;
  key.fill(std::byte{7});
  LinkKey other;
  other.fill(std::byte{8});
  Fixture f(key);
  ASSERT_TRUE(f.mesh->set_epoch(1, 2, f.ring).ok());
  EXPECT_EQ(answer_code(f.mesh->port(), hello(1, 1, 2, 0), other), StatusCode::kUnauthenticated);
  EXPECT_EQ(answer_code(f.mesh->port(), hello(1, 1, 2, 0), std::nullopt),
            StatusCode::kUnauthenticated);
  const PeerHello h = hello(1, 1, 2, 0);
  auto conn = send_hello(f.mesh->port(), h, key);
  ASSERT_TRUE(conn.ok());
  PeerHello sent = h;
  sent.proof = hello_proof(key, h);
  auto a = read_accept(**conn);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->code, StatusCode::kOk);
  EXPECT_TRUE(proofs_equal(a->proof, accept_proof(key, sent, *a)));
}

TEST(Mesh, GarbageOnTheListenerDoesNotHurt) {
  Fixture f;
  ASSERT_TRUE(f.mesh->set_epoch(1, 2, f.ring).ok());
  {
    auto conn =
        transport::dial_tcp("127.0.0.1", f.mesh->port(), Deadline::after(std::chrono::seconds(5)));
    ASSERT_TRUE(conn.ok());
    const Bytes junk(100, std::byte{0x41});
    (*conn)->send(wire::MsgType::kData, junk, Deadline::after(std::chrono::seconds(1))).ignore();
    EXPECT_FALSE((*conn)->receive(Deadline::after(std::chrono::seconds(5))).ok());  // closed on us
  }
  EXPECT_EQ(answer_code(f.mesh->port(), hello(1, 1, 2, 0)), StatusCode::kOk);
}

TEST(Mesh, SetEpochValidates) {
  Fixture f;
  EXPECT_EQ(f.mesh->set_epoch(1, 42, f.ring).code(), StatusCode::kInvalidArgument);
  auto dup = f.ring;
  dup[2].peer_id = 1;
  EXPECT_EQ(f.mesh->set_epoch(1, 2, dup).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(f.mesh->set_epoch(3, 2, f.ring).ok());
  EXPECT_EQ(f.mesh->set_epoch(3, 2, f.ring).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.mesh->set_epoch(2, 2, f.ring).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.mesh->epoch(), 3u);
}

TEST(Mesh, UnreachableNextPeerFailsTheLinksWithUnavailable) {
  Fixture f;  // peer 3 (next) does not listen; connect_timeout is 500 ms
  ASSERT_TRUE(f.mesh->set_epoch(1, 2, f.ring).ok());
  const Status s = f.mesh->wait_ready(Deadline::after(std::chrono::seconds(10)));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.to_string();
}

TEST(Mesh, RingWithMatchingKeysWorksAndMismatchedKeyFails) {
  LinkKey key;
  key.fill(std::byte{3});
  MeshOptions o;
  o.stripes = 2;
  o.key = key;
  o.connect_timeout = std::chrono::seconds(2);
  {
    Ring ring(3, o);
    ring.form_all(1);
    ring.each([&](size_t, PeerSlot& p) {
      std::vector<int32_t> v(1000, 2);
      auto r = p.comm->all_reduce(v.data(), v.size(), DataType::kI32, ReduceOp::kSum);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      EXPECT_EQ(v[999], 6);
    });
  }
  // Peer 1 holds another key: its links and its neighbours' fail, nobody hangs.
  Ring ring(3, o);
  LinkKey wrong;
  wrong.fill(std::byte{4});
  MeshOptions w = o;
  w.key = wrong;
  auto m = Mesh::listen_tcp(w);
  ASSERT_TRUE(m.ok());
  ring.peers[1].comm.reset();
  ring.peers[1].mesh = std::move(*m);
  ring.peers[1].member.data_port = ring.peers[1].mesh->port();
  ring.peers[1].comm = std::make_unique<Communicator>(*ring.peers[1].mesh, ring.voter);
  ring.form_all(1);
  ring.each([&](size_t, PeerSlot& p) {
    std::vector<int32_t> v(1000, 2);
    auto r = p.comm->all_reduce(v.data(), v.size(), DataType::kI32, ReduceOp::kSum);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(v[0], 2);
  });
}

}  // namespace
}  // namespace loco::collectives
