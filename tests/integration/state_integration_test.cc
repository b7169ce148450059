// state_integration_test.cc: shared state across real processes (`loco state-worker`): parity
// after every sync through a corrupted chunk, a graceful leave and a join mid-run; the joiner gets
// the whole state and takes part in the next collective with identical bytes.
#include <gtest/gtest.h>

#include "integration/state_harness.h"

namespace loco::testing {
namespace {

TEST(StateIntegration, ParityThroughCorruptionLeaveAndJoinThenCollective) {
  StateSwarm s;
  ASSERT_NE(s.swarm().port(), 0);
  const std::vector<std::string> common = {"--mib", "4", "--chunk-kib", "256", "--steps", "6",
                                           "--world", "3", "--step-delay-ms", "2500",
                                           "--collective"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = common;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  const size_t w0 = s.add("w0", with({}));
  const size_t w1 = s.add("w1", with({"--corrupt-at", "2"}));
  const size_t w2 = s.add("w2", with({"--leave-at", "3"}));
  // Join while the others are between steps (after revision 2's collective).
  ASSERT_TRUE(s.wait_report(w0, "collective", 2, 90)) << s.log(w0);
  const size_t j = s.add("joiner", with({"--join"}));

  EXPECT_EQ(s.wait_exit(w0, 120), 0) << s.log(w0);
  EXPECT_EQ(s.wait_exit(w1, 60), 0) << s.log(w1);
  EXPECT_EQ(s.wait_exit(w2, 60), 0) << s.log(w2);
  EXPECT_EQ(s.wait_exit(j, 60), 0) << s.log(j);

  EXPECT_GE(s.expect_parity({w0, w1, w2, j}), 6u + 6 + 3 + 1);
  // The corrupted chunk (one element of 4 MiB in 256 KiB chunks) was refetched at revision 2.
  for (const auto& r : s.syncs(w1)) {
    if (r["revision"] == 2) {
      EXPECT_EQ(r["chunks_fetched"], 1) << r.dump();
    }
  }
  // The joiner's first sync fetched every chunk, from more than one donor.
  auto js = s.syncs(j);
  ASSERT_FALSE(js.empty());
  EXPECT_EQ(js.front()["strategy"], "receive-only");
  EXPECT_EQ(js.front()["chunks_fetched"], 16);
  EXPECT_GE(js.front()["donors_used"].get<int>(), 2);
  EXPECT_EQ(js.back()["revision"], 6);
  // Every collective after a sync saw identical state on every member, the joiner's included.
  int collectives = 0;
  for (size_t i : {w0, j}) {
    for (const auto& r : s.reports(i)) {
      if (r.value("event", "") != "collective") continue;
      ++collectives;
      EXPECT_TRUE(r.value("identical", false)) << r.dump();
    }
  }
  EXPECT_GE(collectives, 6 + 1);
}

}  // namespace
}  // namespace loco::testing
