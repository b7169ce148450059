// sealed_link_test.cc: an on-path attacker on a sealed data-plane link (docs/protocol.md 2.2,
// docs/fault-model.md). Two SwarmPeers with a swarm secret; peer a reaches peer b's data plane only
// through a TcpRelay (tests/support/tcp_relay.h) that b advertises as its address. The relay flips
// a bit, replays, reorders or cuts short one piece of a -> b traffic; b must refuse it with
// DATA_LOSS and drop the link, a's operation must fail too (retryable), neither buffer may change,
// and after the coordinator re-forms the ring the retry must succeed through the same relay.
// And what the relay sees: with encryption, none of a's input floats; with no_encrypt, them.
// In-process: a Coordinator and two SwarmPeers over real loopback TCP.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <unordered_map>
#include <vector>

#include "collectives/swarm_peer.h"
#include "membership/auth.h"
#include "membership/coordinator.h"
#include "support/tcp_relay.h"

namespace loco::collectives {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Attack = test::TcpRelay::Attack;

constexpr size_t kCount = 256 << 10;  // 1 MiB of floats: 4 pieces per stripe and ring step

membership::SwarmKey key() {
  return *membership::derive_key(
      "loco-secret-v1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

// Recognisable, all distinct, exact in sums: 1234567 + k.
float a_value(size_t k) { return 1234567.0f + static_cast<float>(k); }
constexpr float kB = 7.0f;

struct Swarm {
  std::unique_ptr<membership::Coordinator> coord;
  test::TcpRelay relay;
  std::unique_ptr<SwarmPeer> a, b;
  std::vector<float> xa, xb;

  // a encrypts what it sends unless `a_encrypts` is false (auth-only sealing).
  explicit Swarm(bool a_encrypts = true) {
    membership::CoordinatorOptions co;
    co.key = key();
    co.config.heartbeat_period = milliseconds(100);
    co.config.heartbeat_timeout = milliseconds(1000);
    co.config.join_window = milliseconds(50);
    auto c = membership::Coordinator::start(co);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    if (!c.ok()) return;
    coord = std::move(c).value();
    a = join("a", 0, a_encrypts);
    b = join("b", relay.port(), true);  // a dials b through the relay
    if (!a || !b) return;
    relay.set_target(b->data_port());
    EXPECT_TRUE(a->wait_for_world(2, Deadline::after(seconds(10))).ok());
    EXPECT_TRUE(b->wait_for_world(2, Deadline::after(seconds(10))).ok());
    EXPECT_EQ(a->view().rank, 0);  // admission order: a sends to b
  }

  std::unique_ptr<SwarmPeer> join(const std::string& name, uint16_t advertise, bool encrypt) {
    SwarmPeerOptions o;
    o.peer.coordinator_port = coord->port();
    o.peer.key = key();
    o.peer.encrypt = encrypt;
    o.peer.name = name;
    o.advertise_port = advertise;
    o.comm.piece_bytes = 128 << 10;
    o.comm.deadline.base = seconds(3);
    auto p = SwarmPeer::join(o);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  void fill() {
    xa.resize(kCount);
    for (size_t k = 0; k < kCount; ++k) xa[k] = a_value(k);
    xb.assign(kCount, kB);
  }

  // One all-reduce on both peers at once: {a's status, b's status}.
  std::pair<Status, Status> all_reduce() {
    Status sa, sb;
    std::thread ta([&] {
      sa = a->comm().all_reduce(xa.data(), kCount, DataType::kF32, ReduceOp::kSum, 1).status();
    });
    std::thread tb([&] {
      sb = b->comm().all_reduce(xb.data(), kCount, DataType::kF32, ReduceOp::kSum, 1).status();
    });
    ta.join();
    tb.join();
    return {sa, sb};
  }

  bool summed() const {
    for (size_t k = 0; k < kCount; ++k) {
      if (xa[k] != a_value(k) + kB || xb[k] != a_value(k) + kB) return false;
    }
    return true;
  }
  bool untouched() const {
    for (size_t k = 0; k < kCount; ++k) {
      if (xa[k] != a_value(k) || xb[k] != kB) return false;
    }
    return true;
  }
};

// The attack fails the operation on both peers with b saying DATA_LOSS, drops the attacked link,
// and the retry in the re-formed epoch succeeds.
void attack_is_refused(Attack attack, StatusCode b_code) {
  Swarm s;
  ASSERT_TRUE(s.a && s.b);
  s.fill();
  const uint64_t epoch = s.a->view().epoch;
  s.relay.arm(attack);
  const TimePoint t0 = now();
  auto [sa, sb] = s.all_reduce();
  EXPECT_TRUE(s.relay.fired());
  EXPECT_EQ(sb.code(), b_code) << sb.to_string();
  if (b_code == StatusCode::kDataLoss) {
    EXPECT_NE(sb.to_string().find("sealed"), std::string::npos) << sb.to_string();
  }
  EXPECT_FALSE(sa.ok());
  EXPECT_TRUE(is_retryable(sa.code()) || sa.code() == StatusCode::kDataLoss) << sa.to_string();
  EXPECT_TRUE(s.untouched()) << "a failed operation changed a buffer";
  EXPECT_LT(std::chrono::duration<double>(now() - t0).count(), 5.0);
  const Deadline drop = Deadline::after(seconds(5));
  while (!s.relay.attacked_connection_dropped() && !drop.expired()) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(s.relay.attacked_connection_dropped()) << "b kept the attacked link open";

  // LINK_FAILED: the coordinator re-forms the same ring; the retry goes through the same relay.
  for (SwarmPeer* p : {s.a.get(), s.b.get()}) {
    auto v = p->client().wait_for_epoch_after(epoch, Deadline::after(seconds(10)));
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->world_size(), 2);
    ASSERT_TRUE(p->wait_for_world(2, Deadline::after(seconds(10))).ok());
  }
  auto [ra, rb] = s.all_reduce();
  EXPECT_TRUE(ra.ok()) << ra.to_string();
  EXPECT_TRUE(rb.ok()) << rb.to_string();
  EXPECT_TRUE(s.summed());
}

TEST(SealedLink, FlippedBitIsDataLossAndTheRetrySucceeds) {
  attack_is_refused(Attack::kFlipBit, StatusCode::kDataLoss);
}
TEST(SealedLink, ReplayedPieceIsDataLossAndTheRetrySucceeds) {
  attack_is_refused(Attack::kReplay, StatusCode::kDataLoss);
}
TEST(SealedLink, ReorderedPiecesAreDataLossAndTheRetrySucceeds) {
  attack_is_refused(Attack::kReorder, StatusCode::kDataLoss);
}
TEST(SealedLink, PieceCutShortIsDataLossAndTheRetrySucceeds) {
  attack_is_refused(Attack::kCutShort, StatusCode::kDataLoss);
}
// A stream cut mid-frame and closed is a broken link (UNAVAILABLE), never a short message.
TEST(SealedLink, StreamCutAndClosedIsUnavailableAndTheRetrySucceeds) {
  attack_is_refused(Attack::kCutShortAndClose, StatusCode::kUnavailable);
}

// True if some 16 bytes of `haystack`, at any byte offset, equal 4 consecutive floats of a's input.
bool shows_a_run_of_a_input(const Bytes& haystack) {
  std::unordered_map<uint32_t, size_t> index;  // a's float bits -> its position
  for (size_t k = 0; k + 4 <= kCount; ++k) {
    const float v = a_value(k);
    uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    index.emplace(bits, k);
  }
  for (size_t i = 0; i + 16 <= haystack.size(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, haystack.data() + i, 4);
    auto it = index.find(bits);
    if (it == index.end()) continue;
    float run[4];
    for (size_t j = 0; j < 4; ++j) run[j] = a_value(it->second + j);
    if (std::memcmp(run, haystack.data() + i, 16) == 0) return true;
  }
  return false;
}

void relayed_bytes_test(bool encrypt) {
  Swarm s(encrypt);
  ASSERT_TRUE(s.a && s.b);
  s.fill();
  s.relay.clear_captured();
  auto [sa, sb] = s.all_reduce();
  ASSERT_TRUE(sa.ok()) << sa.to_string();
  ASSERT_TRUE(sb.ok()) << sb.to_string();
  EXPECT_TRUE(s.summed());
  const Bytes seen = s.relay.captured();
  // a sent b half its input (one ring segment) and half the sums: at least 1 MiB went by.
  EXPECT_GT(seen.size(), kCount * sizeof(float));
  EXPECT_EQ(shows_a_run_of_a_input(seen), !encrypt);
}

TEST(SealedLink, RelayedBytesShowNoRunOfTheInputFloats) { relayed_bytes_test(true); }
// The control: sealed for integrity only (no_encrypt), the same check finds them.
TEST(SealedLink, WithoutEncryptionTheRelayedBytesShowTheInputFloats) { relayed_bytes_test(false); }

}  // namespace
}  // namespace loco::collectives
