// chunk_fetcher.cc: parallel multi-donor fetch with verification and failover (see
// chunk_fetcher.h).
#include "state/chunk_fetcher.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/rng.h"
#include "state/shared_state.h"

namespace loco::state {
namespace {

enum class ChunkState { kPending, kInFlight, kDone };
enum class DonorState { kAlive, kDead, kBad };

class Scheduler {
 public:
  Scheduler(const std::vector<FetchDonor>& donors, std::vector<FetchChunk> chunks)
      : donors_(donors),
        chunks_(std::move(chunks)),
        state_(chunks_.size(), ChunkState::kPending),
        excluded_(chunks_.size(), std::vector<bool>(donors.size(), false)),
        donor_state_(donors.size(), DonorState::kAlive),
        remaining_(chunks_.size()) {
    for (const FetchChunk& c : chunks_) {
      for (uint16_t d : c.donors) {
        if (d >= donors_.size()) failed_ = Internal("plan names an unknown donor");
      }
    }
    check_feasible_locked();
  }

  const FetchChunk& chunk(size_t i) const { return chunks_[i]; }

  // Waits for a chunk donor `d` may fetch; nullopt when there is nothing left for it.
  std::optional<size_t> next(uint16_t d, bool may_wait, Deadline deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!failed_.ok() || remaining_ == 0 || donor_state_[d] != DonorState::kAlive) {
        return std::nullopt;
      }
      // Chunks preferred by each live donor, still pending: a worker steals only from a donor
      // with at least two, so every live donor keeps work of its own (and a donor that serves
      // bad bytes is caught rather than bypassed by faster ones).
      std::vector<size_t> backlog(donors_.size(), 0);
      for (size_t i = 0; i < chunks_.size(); ++i) {
        if (state_[i] != ChunkState::kPending) continue;
        if (auto p = preferred_live_locked(i)) ++backlog[*p];
      }
      std::optional<size_t> steal;
      for (size_t i = 0; i < chunks_.size(); ++i) {
        if (state_[i] != ChunkState::kPending || excluded_[i][d]) continue;
        const auto& list = chunks_[i].donors;
        if (std::find(list.begin(), list.end(), d) == list.end()) continue;
        const std::optional<uint16_t> p = preferred_live_locked(i);
        if (p == d) {
          state_[i] = ChunkState::kInFlight;
          return i;
        }
        if (!steal && p && backlog[*p] >= 2) steal = i;
      }
      if (steal) {
        state_[*steal] = ChunkState::kInFlight;
        return steal;
      }
      if (!may_wait) return std::nullopt;
      if (deadline.expired()) return std::nullopt;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

  void done(size_t i, uint16_t d) {
    std::lock_guard<std::mutex> lock(mu_);
    state_[i] = ChunkState::kDone;
    --remaining_;
    ++delivered_[donors_[d].peer_id];
    bytes_ += chunks_[i].dest.size();
    cv_.notify_all();
  }
  // The donor does not hold chunk i: try another for it.
  void not_held(size_t i, uint16_t d) {
    std::lock_guard<std::mutex> lock(mu_);
    excluded_[i][d] = true;
    state_[i] = ChunkState::kPending;
    check_feasible_locked();
    cv_.notify_all();
  }
  // Donor d is gone (or bad): every chunk it had in flight goes back to the pool.
  void drop_donor(uint16_t d, const std::vector<size_t>& in_flight, DonorState why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (donor_state_[d] == DonorState::kAlive) donor_state_[d] = why;
    for (size_t i : in_flight) {
      if (state_[i] == ChunkState::kInFlight) state_[i] = ChunkState::kPending;
    }
    check_feasible_locked();
    cv_.notify_all();
  }
  void fail(Status why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok()) failed_ = std::move(why);
    cv_.notify_all();
  }

  FetchReport report() {
    std::lock_guard<std::mutex> lock(mu_);
    FetchReport r;
    r.status = failed_;
    if (r.status.ok() && remaining_ != 0) {
      r.status = DeadlineExceeded("state fetch did not finish before the deadline");
    }
    for (size_t d = 0; d < donors_.size(); ++d) {
      if (donor_state_[d] == DonorState::kBad) r.bad_donors.push_back(donors_[d].peer_id);
      if (donor_state_[d] == DonorState::kDead) r.failed_donors.push_back(donors_[d].peer_id);
    }
    r.chunks = chunks_.size() - remaining_;
    r.bytes = bytes_;
    r.chunks_by_donor = delivered_;
    return r;
  }

 private:
  bool usable_locked(size_t i, uint16_t d) const {
    return donor_state_[d] == DonorState::kAlive && !excluded_[i][d];
  }
  std::optional<uint16_t> preferred_live_locked(size_t i) const {
    for (uint16_t d : chunks_[i].donors) {
      if (usable_locked(i, d)) return d;
    }
    return std::nullopt;
  }
  void check_feasible_locked() {
    if (!failed_.ok()) return;
    for (size_t i = 0; i < chunks_.size(); ++i) {
      if (state_[i] == ChunkState::kPending && !preferred_live_locked(i)) {
        failed_ = Unavailable("no donor left for chunk " + std::to_string(chunks_[i].chunk) +
                              " (every donor of it failed, left or served bad bytes)");
        return;
      }
    }
  }

  const std::vector<FetchDonor>& donors_;
  std::vector<FetchChunk> chunks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChunkState> state_;
  std::vector<std::vector<bool>> excluded_;
  std::vector<DonorState> donor_state_;
  size_t remaining_ = 0;
  size_t bytes_ = 0;
  std::map<uint64_t, size_t> delivered_;
  Status failed_;
};

Result<std::unique_ptr<transport::Connection>> connect(const FetchDonor& donor,
                                                        const FetchOptions& options,
                                                        Deadline deadline) {
  const Deadline dial_deadline = deadline.earliest(Deadline::after(options.connect_timeout));
  LOCO_ASSIGN_OR_RETURN(std::unique_ptr<transport::Connection> conn,
                        transport::dial_tcp(donor.host, donor.port, dial_deadline, options.tcp));
  StateHello hello;
  hello.from_peer = options.my_peer_id;
  hello.to_peer = donor.peer_id;
  secure_random(hello.nonce);
  hello.proof = state_hello_proof(options.key, hello);
  LOCO_RETURN_IF_ERROR(conn->send(wire::MsgType::kStateHello, hello.encode(), dial_deadline));
  LOCO_ASSIGN_OR_RETURN(wire::Frame f, conn->receive(dial_deadline));
  if (f.type != wire::MsgType::kStateAccept) return DataLoss("donor answered STATE_HELLO oddly");
  LOCO_ASSIGN_OR_RETURN(StateAccept accept, decode_state_accept(f.payload));
  if (options.key && !state_proofs_equal(state_accept_proof(options.key, hello, accept),
                                         accept.proof)) {
    return Unauthenticated("donor peer " + std::to_string(donor.peer_id) +
                           " does not hold the swarm key");
  }
  if (accept.code != StatusCode::kOk) {
    return Status(accept.code, "donor peer " + std::to_string(donor.peer_id) +
                                   " refused: " + accept.reason);
  }
  if (options.key) {
    LOCO_RETURN_IF_ERROR(conn->start_sealing(chunk_seal_keys(
        *options.key, hello, accept, wire::SealRole::kInitiator, options.encrypt)));
  }
  return conn;
}

enum class Outcome { kDone, kNotHeld, kBroken, kBadBytes, kDeadline };

// Receives the answer to the oldest request in flight (chunk index i into the scheduler).
Outcome receive_one(transport::Connection& conn, const FetchChunk& c, Deadline deadline) {
  auto f = conn.receive(deadline);
  if (!f.ok()) {
    return f.status().code() == StatusCode::kDeadlineExceeded ? Outcome::kDeadline
                                                               : Outcome::kBroken;
  }
  if (f->type != wire::MsgType::kChunkHeader) return Outcome::kBadBytes;
  auto h = decode_chunk_header(f->payload);
  if (!h.ok() || h->chunk != c.chunk) return Outcome::kBadBytes;
  if (h->code != StatusCode::kOk) return Outcome::kNotHeld;
  if (h->length != c.dest.size()) return Outcome::kBadBytes;
  auto bh = conn.receive_header(deadline);
  if (!bh.ok()) {
    return bh.status().code() == StatusCode::kDeadlineExceeded ? Outcome::kDeadline
                                                                : Outcome::kBroken;
  }
  if (bh->type != wire::MsgType::kChunkBytes || bh->length != c.dest.size()) {
    return Outcome::kBadBytes;
  }
  Status s = conn.receive_payload(c.dest, deadline);
  if (!s.ok()) {
    // A frame checksum failure is the transport's corruption (a flipped bit on the way), not
    // proof that the donor served wrong bytes: retry elsewhere, never accuse. Only bytes that
    // arrived intact and do not match the hash (below) count against the donor.
    return s.code() == StatusCode::kDeadlineExceeded ? Outcome::kDeadline : Outcome::kBroken;
  }
  return hash_bytes(c.dest) == c.hash ? Outcome::kDone : Outcome::kBadBytes;
}

void worker(Scheduler& sched, const std::vector<FetchDonor>& donors, uint16_t d,
            const FetchOptions& options, Deadline deadline) {
  // Connect only once there is something to fetch from this donor.
  std::optional<size_t> first = sched.next(d, /*may_wait=*/true, deadline);
  if (!first) return;
  std::deque<size_t> in_flight{*first};
  auto conn = connect(donors[d], options, deadline);
  if (!conn.ok()) {
    LOCO_LOG_INFO("state fetch: donor peer {} unreachable: {}", donors[d].peer_id,
                  conn.status().to_string());
    sched.drop_donor(d, {in_flight.begin(), in_flight.end()}, DonorState::kDead);
    return;
  }
  transport::Connection& c = **conn;
  c.set_max_payload(wire::kMaxDataPayload);
  auto request = [&](size_t i) {
    const FetchChunk& fc = sched.chunk(i);
    return c.send(wire::MsgType::kChunkRequest, ChunkRequest{fc.chunk, fc.hash}.encode(), deadline);
  };
  auto drop = [&](DonorState why) {
    c.close();
    sched.drop_donor(d, {in_flight.begin(), in_flight.end()}, why);
  };
  if (!request(*first).ok()) return drop(DonorState::kDead);
  for (;;) {
    while (in_flight.size() < std::max<size_t>(options.pipeline_depth, 1)) {
      auto more = sched.next(d, /*may_wait=*/in_flight.empty(), deadline);
      if (!more) break;
      in_flight.push_back(*more);
      if (!request(*more).ok()) return drop(DonorState::kDead);
    }
    if (in_flight.empty()) return;
    const size_t i = in_flight.front();
    switch (receive_one(c, sched.chunk(i), deadline)) {
      case Outcome::kDone:
        in_flight.pop_front();
        sched.done(i, d);
        break;
      case Outcome::kNotHeld:
        in_flight.pop_front();
        sched.not_held(i, d);
        break;
      case Outcome::kBroken:
        LOCO_LOG_INFO("state fetch: donor peer {} broke mid-transfer; continuing with the others",
                      donors[d].peer_id);
        return drop(DonorState::kDead);
      case Outcome::kBadBytes:
        LOCO_LOG_WARN("state fetch: donor peer {} served chunk {} not matching its hash; "
                      "discarding it and fetching elsewhere",
                      donors[d].peer_id, sched.chunk(i).chunk);
        return drop(DonorState::kBad);
      case Outcome::kDeadline:
        c.close();
        sched.fail(DeadlineExceeded("state fetch did not finish before the deadline"));
        return;
    }
  }
}

}  // namespace

FetchReport fetch_chunks(const std::vector<FetchDonor>& donors, std::vector<FetchChunk> chunks,
                         const FetchOptions& options, Deadline deadline) {
  Scheduler sched(donors, std::move(chunks));
  std::vector<std::thread> threads;
  threads.reserve(donors.size());
  for (size_t d = 0; d < donors.size(); ++d) {
    threads.emplace_back(
        [&, d] { worker(sched, donors, static_cast<uint16_t>(d), options, deadline); });
  }
  for (auto& t : threads) t.join();
  return sched.report();
}

}  // namespace loco::state
