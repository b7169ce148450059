// tcp_connection.h: internal to the transport module. The Connection over one connected,
// non-blocking TCP socket: the data-plane hot path. tcp.cc makes these (Asio dials and accepts,
// then hands the fd over); nothing outside src/transport includes this file.
//
// Hot path: a send is one sendmsg(MSG_NOSIGNAL) with an iovec of the header and the caller's parts
// (poll only when the socket buffer is full). A receive reads the header through a small read-ahead
// buffer (small frames usually arrive with their header in one recv) and reads large payloads
// straight into the caller's buffer, hashing each piece while it is still in cache.
// fd lifetime: close() only shuts the socket down (which wakes any poll on it, in any thread);
// the descriptor itself is closed by the destructor, so it can never be reused under a poller.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "transport/connection.h"

struct XXH3_state_s;

namespace loco::transport {

class TcpConnection final : public Connection {
 public:
  // Takes ownership of `fd`, a connected socket already in non-blocking mode.
  TcpConnection(int fd, std::string remote_address, bool remote_is_loopback, uint32_t max_payload);
  ~TcpConnection() override;
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  Status send_parts(wire::MsgType type, std::span<const ByteSpan> parts,
                    Deadline deadline) override;
  Status send_piece(ByteSpan header, ByteSpan body, Deadline deadline) override;
  Result<wire::FrameHeader> receive_header(Deadline deadline) override;
  Status receive_payload(MutableByteSpan out, Deadline deadline) override;

  void close() override;
  bool is_closed() const override { return closed_.load(std::memory_order_acquire); }

  std::string remote_address() const override { return remote_address_; }
  bool remote_is_loopback() const override { return remote_is_loopback_; }

  Status seal_receive(const wire::SealKey& key) override;
  Status seal_send(const wire::SealKey& key, wire::SealCipher cipher) override;
  bool sealed() const override { return tx_sealed_.load(std::memory_order_acquire); }

  void set_data_payload_checksum(bool on) override {
    data_payload_checksum_.store(on, std::memory_order_relaxed);
  }
  void set_max_payload(uint32_t bytes) override {
    max_payload_.store(bytes, std::memory_order_relaxed);
  }
  uint32_t max_payload() const override { return max_payload_.load(std::memory_order_relaxed); }
  ConnectionStats stats() const override;

 private:
  struct HashStateDeleter {
    void operator()(XXH3_state_s* s) const;
  };

  // Waits until the socket is ready for `events`: OK (ready or hung up; the next syscall tells),
  // DEADLINE_EXCEEDED, or UNAVAILABLE once close() was called.
  Status wait(short events, Deadline deadline);
  // Turns a failed recv's result into OK (retry: interrupted, or readable after waiting) or an
  // error.
  Status after_recv_failure(ssize_t n, int err, Deadline deadline);
  // Reads whatever is available (at least one byte) into the read-ahead buffer.
  Status fill(Deadline deadline);
  Status closed_status() const;
  // Writes the concatenation of `chunks` (whole frames) under the send lock; `frames` counts them.
  Status write_frames(std::span<const ByteSpan> chunks, size_t frames, Deadline deadline);
  // The same with the send lock already held.
  Status write_locked(std::span<const ByteSpan> chunks, size_t frames, Deadline deadline);
  // Seals and writes frames (each a type and its parts) under the send lock; any failure closes.
  Status send_sealed(std::span<const wire::MsgType> types,
                     std::span<const std::span<const ByteSpan>> frames, Deadline deadline);
  // Reads exactly `n` bytes through the read-ahead buffer (a sealed frame's tag).
  Status read_small(std::byte* out, size_t n, Deadline deadline);
  bool acquire_send(Deadline deadline);
  void release_send();
  // Closes the connection and returns `s` (for errors that desynchronize or break the stream).
  Status fail(Status s);
  // A bad frame arrived: receiving stops for good, sending still works (see connection.h).
  Status fail_receive(Status s);
  Status rx_failed_status() const;
  void linger_drain();

  const int fd_;
  const std::string remote_address_;
  const bool remote_is_loopback_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> rx_failed_{false};
  mutable std::mutex rx_mu_;  // guards rx_failure_
  Status rx_failure_;
  std::atomic<uint32_t> max_payload_;
  std::atomic<bool> data_payload_checksum_{true};

  // Serializes senders (frames never interleave on the wire). A flag under a mutex rather than a
  // timed_mutex, so that a sender queued behind a long frame still honours its own deadline
  // (and because TSan does not model pthread_mutex_clocklock).
  std::mutex send_mu_;
  std::condition_variable send_cv_;
  bool sending_ = false;
  // Sealing of the send direction: set once (seal_send), then used only by the sender holding the
  // send flag. The scratch buffers hold encrypted payloads (the callers' parts are const).
  std::atomic<bool> tx_sealed_{false};
  std::unique_ptr<wire::Sealer> sealer_;
  Bytes seal_scratch_[2];

  // Receive state, owned by the (single) receiving thread.
  std::unique_ptr<std::byte[]> rbuf_;
  size_t rbeg_ = 0;  // unread bytes are rbuf_[rbeg_, rend_)
  size_t rend_ = 0;
  bool payload_pending_ = false;
  wire::FrameHeader header_;
  bool hash_payload_ = true;  // false for a DATA frame with wire::kFlagHeaderChecksumOnly
  std::unique_ptr<XXH3_state_s, HashStateDeleter> hash_;
  std::unique_ptr<wire::Opener> opener_;  // set by seal_receive: frames must be sealed
  std::byte rx_header_[wire::kFrameHeaderSize];  // the sealed frame's header (the tag's AD)

  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> frames_sent_{0};
  std::atomic<uint64_t> frames_received_{0};
  std::atomic<uint64_t> progress_sent_{0};  // per syscall (ConnectionStats::progress_sent)
  std::atomic<uint64_t> progress_received_{0};
};

}  // namespace loco::transport
