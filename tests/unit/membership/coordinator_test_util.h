// coordinator_test_util.h: small helpers shared by the CoordinatorState tests: explicit time
// points, picking actions of one type out of a batch, and a one-line description of any action
// (used to compare runs for determinism and to print readable failures). Test code only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "membership/coordinator_state.h"

namespace loco::membership::testing {

// Time is explicit: t(ms) is `ms` milliseconds after an arbitrary origin.
inline TimePoint t(int64_t ms) { return TimePoint{} + std::chrono::milliseconds(ms); }

inline CoordinatorConfig test_config() {
  CoordinatorConfig c;
  c.heartbeat_period = std::chrono::milliseconds(500);
  c.heartbeat_timeout = std::chrono::milliseconds(3000);
  c.join_window = std::chrono::milliseconds(200);
  return c;
}

template <class A>
std::vector<A> only(const std::vector<Action>& actions) {
  std::vector<A> out;
  for (const Action& a : actions) {
    if (const A* x = std::get_if<A>(&a)) out.push_back(*x);
  }
  return out;
}

inline ConnId target(const Action& a) {
  return std::visit([](const auto& x) { return x.conn; }, a);
}

inline std::string describe(const Action& a) {
  struct V {
    std::string operator()(const SendWelcome& x) const {
      return "welcome conn=" + std::to_string(x.conn) + " id=" + std::to_string(x.peer_id);
    }
    std::string operator()(const SendHeartbeatAck& x) const {
      return "ack conn=" + std::to_string(x.conn) + " seq=" + std::to_string(x.seq) +
             " epoch=" + std::to_string(x.epoch);
    }
    std::string operator()(const SendEpoch& x) const {
      std::string s =
          "epoch conn=" + std::to_string(x.conn) + " e=" + std::to_string(x.epoch->epoch) + " [";
      for (const wire::Member& m : x.epoch->members) s += std::to_string(m.peer_id) + ",";
      return s + "]";
    }
    std::string operator()(const CloseConnection& x) const {
      return "close conn=" + std::to_string(x.conn) + " " + x.reason.to_string();
    }
    std::string operator()(const SendOpCommit& x) const {
      return "commit conn=" + std::to_string(x.conn) + " op=" + std::to_string(x.op.epoch) + "/" +
             std::to_string(x.op.tag) + "/" + std::to_string(x.op.seq);
    }
  };
  return std::visit(V{}, a);
}

inline std::vector<std::string> describe_all(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const Action& a : actions) out.push_back(describe(a));
  return out;
}

inline PeerAuthenticated join_event(ConnId conn) {
  return PeerAuthenticated{conn, "peer-" + std::to_string(conn), "10.0.0." + std::to_string(conn),
                           static_cast<uint16_t>(4000 + conn % 1000)};
}

inline std::vector<uint64_t> peer_ids(const std::vector<wire::Member>& members) {
  std::vector<uint64_t> ids;
  for (const wire::Member& m : members) ids.push_back(m.peer_id);
  return ids;
}

inline std::vector<ConnId> conns_of(const std::vector<SendEpoch>& sends) {
  std::vector<ConnId> out;
  for (const SendEpoch& s : sends) out.push_back(s.conn);
  return out;
}

// Joins `conns` at `at_ms` and ticks once past the join window, so they form one new epoch.
// Returns the actions of that tick.
inline std::vector<Action> admit(CoordinatorState& s, const std::vector<ConnId>& conns,
                                 int64_t at_ms) {
  for (ConnId c : conns) s.handle(join_event(c), t(at_ms));
  return s.handle(Tick{}, t(at_ms + 200));
}

}  // namespace loco::membership::testing
