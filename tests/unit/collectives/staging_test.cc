// staging_test.cc: the pure staging plans of the ring algorithms (collectives/algorithms.h):
// where each algorithm writes, what its commit copies, and what it sends. The rule they encode is
// the fault contract: an in-place buffer (and every input) is untouched until the commit, so a
// failed operation can be retried. Ring behaviour itself: ring_ops_test.cc and fault_test.cc.
#include <gtest/gtest.h>

#include "collectives/algorithms.h"

namespace loco::collectives {
namespace {

using From = StagingPlan::From;
using Work = StagingPlan::Work;

StagingShape shape(size_t count, size_t world, size_t rank, bool in_place) {
  return {.count = count, .elem_bytes = 4, .world = world, .rank = rank, .in_place = in_place};
}

TEST(Staging, InPlaceAllReduceBuildsInScratchAndCommitsEverything) {
  const StagingPlan p = plan_all_reduce(shape(1000, 4, 1, true));
  EXPECT_EQ(p.work, Work::kScratch);
  EXPECT_EQ(p.scratch_bytes, 4000u);
  EXPECT_EQ(p.commit_from, From::kWork);
  EXPECT_EQ(p.commit_offset, 0u);
  EXPECT_EQ(p.commit_bytes, 4000u);
  EXPECT_EQ(p.send_bytes, 2u * (4000 - 1000));
}

TEST(Staging, OutOfPlaceAllReduceWritesTheOutputDirectly) {
  const StagingPlan p = plan_all_reduce(shape(1000, 4, 1, false));
  EXPECT_EQ(p.work, Work::kOut);
  EXPECT_EQ(p.scratch_bytes, 0u);
  EXPECT_EQ(p.commit_from, From::kNothing);
}

TEST(Staging, AWorldOfOneCopiesItsInputOrNothing) {
  const StagingPlan in_place = plan_all_reduce(shape(10, 1, 0, true));
  EXPECT_EQ(in_place.work, Work::kNone);
  EXPECT_EQ(in_place.commit_bytes, 0u);
  EXPECT_EQ(in_place.send_bytes, 0u);
  const StagingPlan copy = plan_all_reduce(shape(10, 1, 0, false));
  EXPECT_EQ(copy.commit_from, From::kInput);
  EXPECT_EQ(copy.commit_bytes, 40u);
  const StagingPlan rs = plan_reduce_scatter(shape(10, 1, 0, false));
  EXPECT_EQ(rs.commit_from, From::kInput);
  EXPECT_EQ(rs.commit_bytes, 40u);
}

TEST(Staging, ReduceScatterCommitsOnlyItsOwnSegment) {
  // 10 elements over 3 ranks: segments of 4, 3, 3; rank 2 owns elements 7..9.
  const StagingPlan p = plan_reduce_scatter(shape(10, 3, 2, false));
  EXPECT_EQ(p.work, Work::kScratch);
  EXPECT_EQ(p.scratch_bytes, 40u);
  EXPECT_EQ(p.commit_from, From::kWork);
  EXPECT_EQ(p.commit_offset, 7u * 4);
  EXPECT_EQ(p.commit_bytes, 3u * 4);
  EXPECT_EQ(p.send_bytes, 40u - 40 / 3);
}

TEST(Staging, AllGatherSeedsItsSegmentAndStagesOnlyWhenInputOverlaps) {
  StagingShape s = shape(10, 3, 0, false);
  const StagingPlan direct = plan_all_gather(s);
  EXPECT_EQ(direct.work, Work::kOut);
  EXPECT_EQ(direct.seed_offset, 0u);
  EXPECT_EQ(direct.seed_bytes, 16u);
  EXPECT_EQ(direct.commit_from, From::kNothing);
  s.input_overlaps = true;
  const StagingPlan staged = plan_all_gather(s);
  EXPECT_EQ(staged.work, Work::kScratch);
  EXPECT_EQ(staged.commit_from, From::kWork);
  EXPECT_EQ(staged.commit_bytes, 40u);
  EXPECT_EQ(staged.seed_bytes, 16u);
}

TEST(Staging, BroadcastRootOnlySendsOthersStageTheWholeBuffer) {
  StagingShape s = shape(100, 4, 2, true);
  s.root = 2;
  const StagingPlan root = plan_broadcast(s);
  EXPECT_EQ(root.work, Work::kNone);
  EXPECT_EQ(root.commit_from, From::kNothing);
  EXPECT_EQ(root.send_bytes, 400u);
  s.rank = 3;
  const StagingPlan other = plan_broadcast(s);
  EXPECT_EQ(other.work, Work::kScratch);
  EXPECT_EQ(other.commit_bytes, 400u);
}

}  // namespace
}  // namespace loco::collectives
