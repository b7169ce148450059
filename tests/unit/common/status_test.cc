#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace loco {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> quarter(int x) {
  LOCO_ASSIGN_OR_RETURN(int h, half(x));
  LOCO_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status check_positive(int x) {
  if (x <= 0) return FailedPrecondition("not positive");
  return OkStatus();
}

Status both(int a, int b) {
  LOCO_RETURN_IF_ERROR(check_positive(a));
  LOCO_RETURN_IF_ERROR(check_positive(b));
  return OkStatus();
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(Status, CodesHaveFixedNumbers) {
  // These numbers are the C ABI (include/loco/loco.h); they must never change.
  EXPECT_EQ(static_cast<int>(StatusCode::kUnavailable), 3);
  EXPECT_EQ(static_cast<int>(StatusCode::kAborted), 4);
  EXPECT_EQ(static_cast<int>(StatusCode::kDataLoss), 7);
  EXPECT_EQ(static_cast<int>(StatusCode::kProtocolMismatch), 8);
  EXPECT_EQ(static_cast<int>(StatusCode::kUnauthenticated), 9);
  EXPECT_EQ(static_cast<int>(StatusCode::kInternal), 12);
}

TEST(Status, ToStringAndContext) {
  Status s = Aborted("epoch 4 replaced epoch 3").with_context("all-reduce");
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(s.to_string(), "ABORTED: all-reduce: epoch 4 replaced epoch 3");
}

TEST(Result, ValueAndError) {
  auto r = quarter(12);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  auto e = quarter(6);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

TEST(Result, OkStatusBecomesInternal) {
  Result<int> r{OkStatus()};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r{std::make_unique<int>(7)};
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Status, ReturnIfError) {
  EXPECT_TRUE(both(1, 2).ok());
  EXPECT_EQ(both(1, -2).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace loco
