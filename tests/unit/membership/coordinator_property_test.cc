// coordinator_property_test.cc: a randomized check of CoordinatorState. Seeded random sequences of
// joins, heartbeats, leaves, disconnects, ticks and commit votes over ~10 connection slots (a slot
// reconnects under a new connection id), with the invariants checked after every event: epochs go
// up by exactly one per batch of SendEpoch, members are unique, every SendEpoch lists exactly the
// state's members and reaches each member once, survivors keep their ring order, no action targets
// a connection already closed, and the same seed gives the same actions.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/rng.h"
#include "membership/coordinator_state.h"
#include "unit/membership/coordinator_test_util.h"

namespace loco::membership {
namespace {

using testing::describe;
using testing::only;
using testing::peer_ids;
using testing::t;
using testing::target;
using testing::test_config;

constexpr int kSlots = 10;
constexpr int kEvents = 2000;

struct Stats {
  uint64_t epochs = 0;
  uint64_t timeouts = 0;
  uint64_t leaves = 0;
  uint64_t commits = 0;
  size_t max_members = 0;
};

// What the test knows from the actions alone, to check the state against.
struct Model {
  std::set<ConnId> closed;
  std::map<ConnId, uint64_t> peer_of;  // from SendWelcome
  std::map<uint64_t, ConnId> conn_of;
  uint64_t last_peer_id = 0;
  uint64_t epoch = 0;
  std::vector<wire::Member> members;
  std::map<wire::OpId, std::set<ConnId>> votes;  // members' OpDone in the current epoch
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  // The next event; `epoch` is the state's current epoch (votes mostly target it).
  Event next(uint64_t epoch, const Model& model) {
    const uint64_t r = pick(100);
    const int slot = static_cast<int>(pick(kSlots));
    ConnId& conn = conn_[slot];
    const bool live = conn != 0 && model.closed.count(conn) == 0;
    if (r < 12) {
      if (!live) {
        conn = (++gen_[slot]) * 16 + static_cast<ConnId>(slot);
        return testing::join_event(conn);
      }
      if (pick(10) == 0) return testing::join_event(conn);  // duplicate authentication
    }
    if (r < 45) return HeartbeatReceived{conn, ++seq_, epoch};  // may hit a closed conn
    if (r < 50) return LeaveRequested{conn, "bye"};
    if (r < 55) {
      static const StatusCode kWhy[] = {StatusCode::kOk, StatusCode::kUnavailable,
                                        StatusCode::kDataLoss};
      return Disconnected{conn, Status(kWhy[pick(3)], "broken")};
    }
    if (r < 75) {
      now_ms_ += static_cast<int64_t>(pick(700));
      return Tick{};
    }
    uint64_t op_epoch = epoch;
    const uint64_t skew = pick(20);
    if (skew == 0 && epoch > 0) op_epoch = epoch - 1;
    if (skew == 1) op_epoch = epoch + 1;
    return OpDoneReceived{conn, wire::OpId{op_epoch, 0, pick(2)}};
  }

  TimePoint now() const { return t(now_ms_); }

 private:
  uint64_t pick(uint64_t n) { return rng_.next() % n; }

  SplitMix64 rng_;
  ConnId conn_[kSlots] = {};
  uint64_t gen_[kSlots] = {};
  uint64_t seq_ = 0;
  int64_t now_ms_ = 0;
};

// Checks one batch of actions against the model, then updates the model.
void check_step(const CoordinatorState& s, const Event& event, const std::vector<Action>& actions,
                Model& m, Stats& stats) {
  if (const auto* done = std::get_if<OpDoneReceived>(&event);
      done != nullptr && done->op.epoch == m.epoch && m.closed.count(done->conn) == 0 &&
      m.peer_of.count(done->conn) != 0) {
    const uint64_t id = m.peer_of[done->conn];
    for (const wire::Member& member : m.members) {
      if (member.peer_id == id) m.votes[done->op].insert(done->conn);
    }
  }
  for (const Action& a : actions) {
    const ConnId conn = target(a);
    ASSERT_EQ(m.closed.count(conn), 0u) << "action on a closed connection: " << describe(a);
    if (const auto* close = std::get_if<CloseConnection>(&a)) {
      m.closed.insert(conn);
      if (close->reason.code() == StatusCode::kDeadlineExceeded) ++stats.timeouts;
      if (close->reason.ok()) ++stats.leaves;
    } else if (const auto* welcome = std::get_if<SendWelcome>(&a)) {
      ASSERT_TRUE(std::holds_alternative<PeerAuthenticated>(event));
      ASSERT_EQ(welcome->peer_id, m.last_peer_id + 1);
      m.last_peer_id = welcome->peer_id;
      m.peer_of[conn] = welcome->peer_id;
      m.conn_of[welcome->peer_id] = conn;
    } else if (const auto* ack = std::get_if<SendHeartbeatAck>(&a)) {
      ASSERT_EQ(ack->epoch, s.epoch());
    }
  }

  const std::vector<uint64_t> ids = peer_ids(s.members());
  ASSERT_EQ(std::set<uint64_t>(ids.begin(), ids.end()).size(), ids.size()) << "duplicate member";
  std::vector<ConnId> ring;
  for (uint64_t id : ids) {
    ASSERT_EQ(m.conn_of.count(id), 1u);
    ring.push_back(m.conn_of[id]);
    ASSERT_EQ(m.closed.count(ring.back()), 0u) << "closed connection is a member";
  }

  const auto sends = only<SendEpoch>(actions);
  if (s.epoch() == m.epoch) {
    ASSERT_TRUE(sends.empty());
    ASSERT_EQ(s.members(), m.members);
  } else {
    ASSERT_EQ(s.epoch(), m.epoch + 1) << "epochs must go up by exactly one per batch";
    ++stats.epochs;
    ASSERT_EQ(sends.size(), ids.size());
    for (size_t i = 0; i < sends.size(); ++i) {
      ASSERT_EQ(sends[i].epoch->epoch, s.epoch());
      ASSERT_EQ(sends[i].epoch->members, s.members());
      ASSERT_EQ(sends[i].conn, ring[i]) << "each member gets its epoch once, in ring order";
    }
    // Survivors first, in their old order; then newcomers in admission (peer id) order.
    std::set<uint64_t> old_ids;
    std::vector<uint64_t> survivors;
    for (const wire::Member& old : m.members) {
      old_ids.insert(old.peer_id);
      if (std::count(ids.begin(), ids.end(), old.peer_id) != 0) survivors.push_back(old.peer_id);
    }
    ASSERT_GE(ids.size(), survivors.size());
    ASSERT_TRUE(std::equal(survivors.begin(), survivors.end(), ids.begin()));
    for (size_t i = survivors.size(); i < ids.size(); ++i) {
      ASSERT_EQ(old_ids.count(ids[i]), 0u);
      if (i > survivors.size()) {
        ASSERT_LT(ids[i - 1], ids[i]);
      }
    }
    ASSERT_FALSE(s.history().empty());
    ASSERT_EQ(s.history().back().epoch, s.epoch());
    ASSERT_EQ(s.pending_count(), 0u) << "every epoch admits all pending peers";
  }

  const auto commits = only<SendOpCommit>(actions);
  if (!commits.empty()) {
    ++stats.commits;
    ASSERT_EQ(commits.size(), ring.size());
    for (size_t i = 0; i < commits.size(); ++i) {
      ASSERT_EQ(commits[i].conn, ring[i]);
      ASSERT_EQ(commits[i].op, commits[0].op);
      ASSERT_EQ(commits[i].op.epoch, s.epoch());
      ASSERT_EQ(m.votes[commits[0].op].count(ring[i]), 1u) << "commit before every member voted";
    }
    m.votes.erase(commits[0].op);
  }

  size_t live = 0;
  for (const auto& [conn, id] : m.peer_of) live += m.closed.count(conn) == 0 ? 1 : 0;
  ASSERT_EQ(live, s.members().size() + s.pending_count());
  ASSERT_LE(s.open_vote_count(), CoordinatorState::kMaxOpenVotes);
  ASSERT_LE(s.history().size(), CoordinatorState::kMaxHistory);

  if (m.epoch != s.epoch()) m.votes.clear();
  m.epoch = s.epoch();
  m.members = s.members();
  stats.max_members = std::max(stats.max_members, ids.size());
}

// Runs one seeded sequence, checking every step; appends every action's description to `log`.
void run_sequence(uint64_t seed, Stats& stats, std::vector<std::string>& log) {
  CoordinatorState s(test_config());
  Generator gen(seed);
  Model model;
  for (int i = 0; i < kEvents; ++i) {
    const Event event = gen.next(s.epoch(), model);
    const auto actions = s.handle(event, gen.now());
    check_step(s, event, actions, model, stats);
    if (::testing::Test::HasFatalFailure()) {
      ADD_FAILURE() << "seed " << seed << ", event " << i;
      return;
    }
    for (const Action& a : actions) log.push_back(describe(a));
  }
}

TEST(CoordinatorProperty, InvariantsHoldOverRandomSequences) {
  Stats total;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Stats stats;
    std::vector<std::string> log;
    run_sequence(seed, stats, log);
    if (HasFailure()) return;
    total.epochs += stats.epochs;
    total.timeouts += stats.timeouts;
    total.leaves += stats.leaves;
    total.commits += stats.commits;
    total.max_members = std::max(total.max_members, stats.max_members);
  }
  // The sequences must actually exercise the rules they check.
  EXPECT_GE(total.epochs, 100u);
  EXPECT_GE(total.timeouts, 5u);
  EXPECT_GE(total.leaves, 10u);
  EXPECT_GE(total.commits, 5u);
  EXPECT_GE(total.max_members, 5u);
}

TEST(CoordinatorProperty, SameEventsGiveSameActions) {
  Stats a_stats;
  Stats b_stats;
  std::vector<std::string> a;
  std::vector<std::string> b;
  run_sequence(42, a_stats, a);
  run_sequence(42, b_stats, b);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  std::vector<std::string> c;
  run_sequence(43, b_stats, c);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace loco::membership
