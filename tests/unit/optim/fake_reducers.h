// fake_reducers.h: in-process Reducers for the strategy tests.
//  * SimulatedSwarm: N peers in one process (one thread each). all_reduce_avg is a barrier: the
//    last peer to arrive computes the average in a fixed order (rank 0 + rank 1 + ... then one
//    division by N, like the collectives' kAvg), and every peer copies the same result, so the
//    bytes are identical on all peers. Every wait has a deadline (a missing peer fails the call
//    with DEADLINE_EXCEEDED instead of hanging the test).
//  * ScriptedReducer: one peer whose world-size-1 partners contribute fixed, known values
//    (other(i) for the i-th element of a call), and which fails its k-th call with ABORTED
//    without touching the data: the failure-contract tests.
// Both implement all_reduce_avg_quantized like the collectives' quantized all-reduce as far as a
// strategy can tell: the average, then ONE encode/decode with the wire codec, the same bytes on
// every peer (quantize_once). They do not model the per-hop rounding of a real ring (that is the
// collectives' tests' job); bytes count the encoded size.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "collectives/quantized_layout.h"
#include "optim/strategy.h"

namespace loco::optim::testing {

// data <- decode(encode(data)) with the dense wire codec `spec`; the encoded size in *bytes.
inline Status quantize_once(std::span<float> data, std::string_view spec, uint64_t* bytes) {
  auto codec = collectives::parse_wire_codec(spec);
  if (!codec.ok()) return codec.status();
  if (!*codec) {  // fp32
    *bytes = data.size() * sizeof(float);
    return OkStatus();
  }
  std::vector<std::byte> wire((*codec)->encoded_size_bound(data.size()));
  auto n = (*codec)->encode(data, wire);
  if (!n.ok()) return n.status();
  *bytes = *n;
  return (*codec)->decode(std::span<const std::byte>(wire.data(), *n), data);
}

class SimulatedSwarm {
 public:
  explicit SimulatedSwarm(int n)
      : n_(n), inputs_(static_cast<size_t>(n)), byte_inputs_(static_cast<size_t>(n)) {
    for (int r = 0; r < n; ++r) peers_.emplace_back(*this, r);
  }
  SimulatedSwarm(const SimulatedSwarm&) = delete;
  SimulatedSwarm& operator=(const SimulatedSwarm&) = delete;

  class Peer final : public Reducer {
   public:
    Peer(SimulatedSwarm& swarm, int rank) : swarm_(&swarm), rank_(rank) {}
    Status all_reduce_avg(std::span<float> data) override {
      Status s = swarm_->all_reduce(rank_, data);
      if (s.ok()) {
        ++calls_;
        bytes_ += data.size() * sizeof(float);
      }
      return s;
    }
    Status all_reduce_avg_quantized(std::span<float> data, const WireCodec& codec) override {
      uint64_t wire = 0;
      Status s = swarm_->all_reduce(rank_, data, codec ? codec->name() : "", &wire);
      if (s.ok()) {
        ++calls_;
        ++quantized_calls_;
        bytes_ += wire;
      }
      return s;
    }
    Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override {
      Status s = swarm_->all_gather(rank_, mine, all);
      if (s.ok()) {
        ++calls_;
        bytes_ += mine.size();
      }
      return s;
    }
    int world_size() const override { return swarm_->n_; }
    uint64_t bytes_sent() const override { return bytes_; }
    uint64_t bytes_received() const override { return bytes_; }
    int calls() const { return calls_; }
    int quantized_calls() const { return quantized_calls_; }

   private:
    SimulatedSwarm* swarm_;
    int rank_;
    int calls_ = 0;
    int quantized_calls_ = 0;
    uint64_t bytes_ = 0;
  };

  Peer& peer(int rank) { return peers_.at(static_cast<size_t>(rank)); }
  int size() const { return n_; }

 private:
  // One barrier round: every peer deposits its input; the last one computes the result (under
  // the lock, in rank order); everyone copies it out; the round drains before the next starts.
  template <typename Deposit, typename Compute, typename CopyOut>
  Status round(Deposit deposit, Compute compute, CopyOut copy_out) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::unique_lock lk(mu_);
    if (!cv_.wait_until(lk, deadline, [&] { return !draining_; })) {
      return DeadlineExceeded("simulated swarm: previous round never drained");
    }
    deposit();
    const uint64_t gen = gen_;
    if (++arrived_ == n_) {
      status_ = compute();
      draining_ = true;
      ++gen_;
      cv_.notify_all();
    } else if (!cv_.wait_until(lk, deadline, [&] { return gen_ != gen; })) {
      return DeadlineExceeded("simulated swarm: a peer never arrived");
    }
    Status s = status_;
    if (s.ok()) copy_out();
    if (--arrived_ == 0) {
      draining_ = false;
      cv_.notify_all();
    }
    return s;
  }

  // `codec` non-empty: the average is quantized once (by the last peer to arrive, so once for all)
  // and its encoded size stored in *wire_bytes.
  Status all_reduce(int rank, std::span<float> data, std::string_view codec = {},
                    uint64_t* wire_bytes = nullptr) {
    return round([&] { inputs_[static_cast<size_t>(rank)] = data; },
                 [&]() -> Status {
                   const size_t count = inputs_[0].size();
                   for (const auto& in : inputs_) {
                     if (in.size() != count) return Internal("simulated swarm: different sizes");
                   }
                   result_.assign(count, 0.0f);
                   for (size_t i = 0; i < count; ++i) {
                     float sum = inputs_[0][i];
                     for (size_t r = 1; r < inputs_.size(); ++r) sum += inputs_[r][i];
                     result_[i] = sum / static_cast<float>(n_);
                   }
                   if (codec.empty()) return OkStatus();
                   return quantize_once(result_, codec, &result_wire_bytes_);
                 },
                 [&] {
                   std::copy(result_.begin(), result_.end(), data.begin());
                   if (wire_bytes != nullptr) *wire_bytes = result_wire_bytes_;
                 });
  }

  Status all_gather(int rank, std::span<const std::byte> mine, std::vector<std::byte>& all) {
    return round([&] { byte_inputs_[static_cast<size_t>(rank)] = mine; },
                 [&]() -> Status {
                   byte_result_.clear();
                   for (const auto& in : byte_inputs_) {
                     if (in.size() != byte_inputs_[0].size()) {
                       return Internal("simulated swarm: different sizes");
                     }
                     byte_result_.insert(byte_result_.end(), in.begin(), in.end());
                   }
                   return OkStatus();
                 },
                 [&] { all = byte_result_; });
  }

  const int n_;
  std::vector<Peer> peers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::span<float>> inputs_;
  std::vector<float> result_;
  uint64_t result_wire_bytes_ = 0;
  std::vector<std::span<const std::byte>> byte_inputs_;
  std::vector<std::byte> byte_result_;
  Status status_;
  int arrived_ = 0;
  bool draining_ = false;
  uint64_t gen_ = 0;
};

class ScriptedReducer final : public Reducer {
 public:
  // `fail_on_call`: 1-based index of the call that fails with ABORTED (0: never). Later calls
  // succeed, so a retry goes through.
  explicit ScriptedReducer(int world = 3, int fail_on_call = 0)
      : world_(world), fail_on_call_(fail_on_call) {}

  // What partner p (1 .. world-1) contributes for element i of a call.
  static float other(int p, size_t i) {
    return 0.25f * static_cast<float>(static_cast<int>(i % 7) - 3) + 0.5f * static_cast<float>(p);
  }

  Status all_reduce_avg(std::span<float> data) override {
    ++calls_;
    if (calls_ == fail_on_call_) {
      ++failures_;
      return Aborted("scripted failure on call " + std::to_string(calls_));
    }
    for (size_t i = 0; i < data.size(); ++i) {
      float sum = data[i];
      for (int p = 1; p < world_; ++p) sum += other(p, i);
      data[i] = sum / static_cast<float>(world_);
    }
    bytes_ += data.size() * sizeof(float);
    return OkStatus();
  }
  // The same average, then quantized once; the data stays untouched on the scripted failure and
  // on a codec error.
  Status all_reduce_avg_quantized(std::span<float> data, const WireCodec& wire_codec) override {
    const std::string_view codec = wire_codec ? wire_codec->name() : "";
    ++calls_;
    if (calls_ == fail_on_call_) {
      ++failures_;
      return Aborted("scripted failure on call " + std::to_string(calls_));
    }
    std::vector<float> avg(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      float sum = data[i];
      for (int p = 1; p < world_; ++p) sum += other(p, i);
      avg[i] = sum / static_cast<float>(world_);
    }
    uint64_t wire = 0;
    LOCO_RETURN_IF_ERROR(quantize_once(avg, codec, &wire));
    std::copy(avg.begin(), avg.end(), data.begin());
    bytes_ += wire;
    ++quantized_calls_;
    return OkStatus();
  }
  int quantized_calls() const { return quantized_calls_; }
  // The partners echo this peer's bytes (their content does not matter for the contract tests).
  Status all_gather_bytes(std::span<const std::byte> mine, std::vector<std::byte>& all) override {
    ++calls_;
    if (calls_ == fail_on_call_) {
      ++failures_;
      all.assign(3, std::byte{0x5a});  // output only: garbage on failure is allowed
      return Aborted("scripted failure on call " + std::to_string(calls_));
    }
    all.clear();
    for (int p = 0; p < world_; ++p) all.insert(all.end(), mine.begin(), mine.end());
    bytes_ += mine.size();
    return OkStatus();
  }
  int world_size() const override { return world_; }
  uint64_t bytes_sent() const override { return bytes_; }
  uint64_t bytes_received() const override { return bytes_; }
  int calls() const { return calls_; }
  int failures() const { return failures_; }

 private:
  int world_;
  int fail_on_call_;
  int calls_ = 0;
  int failures_ = 0;
  int quantized_calls_ = 0;
  uint64_t bytes_ = 0;
};

// Copies of a strategy's state buffers (name order as returned).
inline std::vector<std::vector<float>> copy_state(Strategy& s) {
  std::vector<std::vector<float>> out;
  for (const auto& b : s.state_buffers()) out.emplace_back(b.data.begin(), b.data.end());
  return out;
}

}  // namespace loco::optim::testing
