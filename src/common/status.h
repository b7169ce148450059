// status.h: loco's error model. Status says what went wrong and, through its code, what the caller
// should do next (fix the call, retry the call, retry the step, stop). Result<T> is a value or a Status.
// The numeric codes are part of the C ABI (include/loco/loco.h mirrors them) and never change.
// This file is not a logging or exception facility: expected failures are returned, never thrown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace loco {

enum class StatusCode : int32_t {
  kOk = 0,
  kInvalidArgument = 1,     // the call is wrong: fix it
  kFailedPrecondition = 2,  // the object is in the wrong state for this call
  kUnavailable = 3,         // peer or coordinator unreachable: update membership, retry
  kAborted = 4,             // epoch changed mid-operation: retry the step
  kDeadlineExceeded = 5,    // a deadline passed
  kCancelled = 6,           // the caller (or shutdown) cancelled it
  kDataLoss = 7,            // corrupt or truncated bytes: the connection is dropped
  kProtocolMismatch = 8,    // the other side speaks another protocol version
  kUnauthenticated = 9,     // wrong or missing swarm secret
  kResourceExhausted = 10,  // a size or count limit was hit
  kUnimplemented = 11,      // not supported (yet) by this build
  kInternal = 12,           // a bug in loco
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ABORTED: epoch 4 replaced epoch 3"
  std::string to_string() const;
  // Returns a copy whose message is prefixed with context ("dial coordinator: ...").
  Status with_context(std::string_view context) const;
  // Marks a status that is deliberately dropped (best-effort cleanup paths).
  void ignore() const {}

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return {}; }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status ProtocolMismatch(std::string m) { return {StatusCode::kProtocolMismatch, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// True for the statuses after which retrying with the next membership is the right move: the
// epoch changed (ABORTED), a peer or link was unreachable (UNAVAILABLE), or an operation ran out
// of its deadline on a hung peer (DEADLINE_EXCEEDED).
inline bool is_retryable(StatusCode code) {
  return code == StatusCode::kAborted || code == StatusCode::kUnavailable ||
         code == StatusCode::kDeadlineExceeded;
}

// A value of type T or a non-OK Status. Constructing a Result from an OK Status is a bug and
// becomes kInternal.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Internal("Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status{} : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace loco

#define LOCO_CONCAT_INNER_(a, b) a##b
#define LOCO_CONCAT_(a, b) LOCO_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define LOCO_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::loco::Status loco_status_ = (expr);          \
    if (!loco_status_.ok()) return loco_status_;   \
  } while (0)

// LOCO_ASSIGN_OR_RETURN(auto x, MakeX()); declares x from the Result's value or returns its Status.
#define LOCO_ASSIGN_OR_RETURN(lhs, expr) \
  LOCO_ASSIGN_OR_RETURN_IMPL_(LOCO_CONCAT_(loco_result_, __LINE__), lhs, expr)
#define LOCO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
