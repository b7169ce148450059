// tcp_connection.cc: frames over one non-blocking TCP socket (see tcp_connection.h for the design).
// Not here: resolving, connecting, accepting and socket options (tcp.cc, through Asio).
#include "transport/tcp_connection.h"

#define XXH_STATIC_LINKING_ONLY
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxh_x86dispatch.h>  // runtime-dispatched XXH3 (AVX2/AVX-512), as in connection.cc
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

namespace loco::transport {
namespace {

using wire::kFrameHeaderSize;

constexpr size_t kReadBufferSize = 64 << 10;
// Payload remainders at least this large are read straight into the caller's buffer; smaller ones
// go through the read-ahead buffer, which usually also picks up the next frame's header.
constexpr size_t kDirectReadMin = 16 << 10;
// Largest single recv into the caller's buffer: each piece is hashed right after it lands, while
// it is still in cache.
constexpr size_t kMaxDirectRead = 1 << 20;
constexpr int kMaxIov = 64;

std::string errno_text(int err) { return std::strerror(err); }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

void TcpConnection::HashStateDeleter::operator()(XXH3_state_s* s) const { XXH3_freeState(s); }

TcpConnection::TcpConnection(int fd, std::string remote_address, bool remote_is_loopback,
                             uint32_t max_payload)
    : fd_(fd),
      remote_address_(std::move(remote_address)),
      remote_is_loopback_(remote_is_loopback),
      max_payload_(max_payload),
      rbuf_(new std::byte[kReadBufferSize]),
      hash_(XXH3_createState()) {}

TcpConnection::~TcpConnection() {
  close();
  ::close(fd_);
}

void TcpConnection::close() {
  // Only shut down here: a thread polling fd_ wakes (POLLHUP) and the number cannot be reused
  // while it does. ::close happens in the destructor.
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  if (rx_failed_.load(std::memory_order_acquire)) linger_drain();
  ::shutdown(fd_, SHUT_RDWR);
}

void TcpConnection::linger_drain() {
  // After a bad frame the other side may still be sending, and closing a socket with unread bytes
  // makes the kernel answer with a reset that can destroy our last frame (the REJECT) before the
  // other side reads it. So: send FIN after what we wrote, then read and discard until the other
  // side closes too, bounded in time and bytes (a client that never stops gets the reset).
  ::shutdown(fd_, SHUT_WR);
  const Deadline until = Deadline::after(std::chrono::milliseconds(200));
  size_t budget = 4u << 20;
  std::byte sink[4096];
  while (budget > 0) {
    ssize_t n = ::recv(fd_, sink, sizeof(sink), MSG_DONTWAIT);
    if (n > 0) {
      budget -= std::min(budget, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || !would_block(errno)) return;
    pollfd p{fd_, POLLIN, 0};
    int t = until.poll_timeout_ms();
    if (t == 0 || ::poll(&p, 1, t) <= 0) return;
  }
}

Status TcpConnection::closed_status() const {
  return Unavailable("connection to " + remote_address_ + " is closed");
}

Status TcpConnection::fail(Status s) {
  close();
  return s;
}

Status TcpConnection::fail_receive(Status s) {
  // The stream is desynchronized, but the other side may still deserve an answer (a REJECT that
  // says why): stop reading, keep the send side open until close(), which lingers (see there).
  std::lock_guard<std::mutex> lock(rx_mu_);
  if (rx_failure_.ok()) rx_failure_ = s;
  rx_failed_.store(true, std::memory_order_release);
  return s;
}

Status TcpConnection::rx_failed_status() const {
  std::lock_guard<std::mutex> lock(rx_mu_);
  return Unavailable("receive side of " + remote_address_ + " closed after: " +
                     rx_failure_.to_string());
}

ConnectionStats TcpConnection::stats() const {
  ConnectionStats s;
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  s.frames_sent = frames_sent_.load(std::memory_order_relaxed);
  s.frames_received = frames_received_.load(std::memory_order_relaxed);
  s.progress_sent = progress_sent_.load(std::memory_order_relaxed);
  s.progress_received = progress_received_.load(std::memory_order_relaxed);
  return s;
}

Status TcpConnection::wait(short events, Deadline deadline) {
  for (;;) {
    if (is_closed()) return closed_status();
    pollfd p{fd_, events, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r > 0) return is_closed() ? closed_status() : OkStatus();
    if (r == 0) {
      if (deadline.expired()) return DeadlineExceeded("deadline passed on " + remote_address_);
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    return Unavailable("poll on " + remote_address_ + ": " + errno_text(err));
  }
}

bool TcpConnection::acquire_send(Deadline deadline) {
  std::unique_lock<std::mutex> lock(send_mu_);
  auto idle = [this] { return !sending_; };
  if (deadline.is_never()) {
    send_cv_.wait(lock, idle);
  } else if (!send_cv_.wait_until(lock, deadline.when(), idle)) {
    return false;
  }
  sending_ = true;
  return true;
}

void TcpConnection::release_send() {
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    sending_ = false;
  }
  send_cv_.notify_one();
}

Status TcpConnection::send_parts(wire::MsgType type, std::span<const ByteSpan> parts,
                                 Deadline deadline) {
  size_t payload = 0;
  for (ByteSpan p : parts) payload += p.size();
  if (payload > wire::kMaxDataPayload) {
    return InvalidArgument("frame payload of " + std::to_string(payload) +
                           " bytes exceeds the largest frame any peer accepts");
  }
  if (sealed()) {
    const wire::MsgType types[1] = {type};
    const std::span<const ByteSpan> frames[1] = {parts};
    return send_sealed(types, frames, deadline);
  }
  // Hash outside the lock so concurrent senders checksum in parallel.
  std::byte header[kFrameHeaderSize];
  encode_header_parts(type, parts, header);
  ByteSpan stack_chunks[kMaxIov];
  std::vector<ByteSpan> heap_chunks;  // only for frames of many parts
  ByteSpan* chunks = stack_chunks;
  if (parts.size() + 1 > static_cast<size_t>(kMaxIov)) {
    heap_chunks.resize(parts.size() + 1);
    chunks = heap_chunks.data();
  }
  chunks[0] = ByteSpan(header);
  for (size_t i = 0; i < parts.size(); ++i) chunks[i + 1] = parts[i];
  return write_frames(std::span<const ByteSpan>(chunks, parts.size() + 1), 1, deadline);
}

Status TcpConnection::send_piece(ByteSpan header, ByteSpan body, Deadline deadline) {
  if (body.size() > wire::kMaxDataPayload) {
    return InvalidArgument("DATA body of " + std::to_string(body.size()) + " bytes is too large");
  }
  ByteSpan hp[1] = {header};
  ByteSpan bp[1] = {body};
  if (sealed()) {
    const wire::MsgType types[2] = {wire::MsgType::kData, wire::MsgType::kData};
    const std::span<const ByteSpan> frames[2] = {hp, bp};
    return send_sealed(types, frames, deadline);
  }
  std::byte h1[kFrameHeaderSize];
  std::byte h2[kFrameHeaderSize];
  encode_header_parts(wire::MsgType::kData, hp, h1);
  const bool header_only = !data_payload_checksum_.load(std::memory_order_relaxed);
  encode_header_parts(wire::MsgType::kData, bp, h2, header_only ? wire::kFlagHeaderChecksumOnly : 0);
  const ByteSpan chunks[4] = {ByteSpan(h1), header, ByteSpan(h2), body};
  return write_frames(chunks, 2, deadline);
}

namespace {
struct SendRelease {
  std::function<void()> release;
  ~SendRelease() { release(); }
};
}  // namespace

Status TcpConnection::write_frames(std::span<const ByteSpan> chunks, size_t frames,
                                   Deadline deadline) {
  if (!acquire_send(deadline)) {
    return DeadlineExceeded("deadline passed waiting for another sender on " + remote_address_);
  }
  SendRelease release{[this] { release_send(); }};
  return write_locked(chunks, frames, deadline);
}

Status TcpConnection::seal_send(const wire::SealKey& key, wire::SealCipher cipher) {
  if (!acquire_send(Deadline::never())) return FailedPrecondition("send lock");
  SendRelease release{[this] { release_send(); }};
  if (sealer_) return FailedPrecondition("sending on " + remote_address_ + " is already sealed");
  sealer_ = std::make_unique<wire::Sealer>(key, cipher);
  tx_sealed_.store(true, std::memory_order_release);
  return OkStatus();
}

Status TcpConnection::seal_receive(const wire::SealKey& key) {
  // Called by the receiving thread (or before it starts), between frames.
  if (payload_pending_ || opener_) {
    return FailedPrecondition("cannot start sealed receiving on " + remote_address_ + " now");
  }
  opener_ = std::make_unique<wire::Opener>(key);
  return OkStatus();
}

Status TcpConnection::send_sealed(std::span<const wire::MsgType> types,
                                  std::span<const std::span<const ByteSpan>> frames,
                                  Deadline deadline) {
  if (!acquire_send(deadline)) {
    return DeadlineExceeded("deadline passed waiting for another sender on " + remote_address_);
  }
  SendRelease release{[this] { release_send(); }};
  if (is_closed()) return closed_status();
  // Sealed under the send flag: the sequence number is the nonce, so sealing order is wire order.
  std::byte headers[2][kFrameHeaderSize];
  std::byte tags[2][wire::kSealTagSize];
  std::vector<ByteSpan> chunks;
  chunks.reserve(8);
  for (size_t f = 0; f < frames.size() && f < 2; ++f) {
    Status s = sealer_->seal(types[f], frames[f], seal_scratch_[f], headers[f], tags[f]);
    if (!s.ok()) return fail(s);
    chunks.push_back(ByteSpan(headers[f]));
    if (sealer_->encrypts()) {
      chunks.push_back(ByteSpan(seal_scratch_[f]));
    } else {
      for (ByteSpan p : frames[f]) chunks.push_back(p);
    }
    chunks.push_back(ByteSpan(tags[f]));
  }
  Status s = write_locked(chunks, frames.size(), deadline);
  // A frame that did not go out whole spent its sequence number: the stream cannot continue.
  if (!s.ok() && !is_closed()) {
    return fail(s.with_context("sealed connection to " + remote_address_ + " closed"));
  }
  return s;
}

Status TcpConnection::write_locked(std::span<const ByteSpan> chunks, size_t frames,
                                   Deadline deadline) {
  size_t total = 0;
  for (ByteSpan c : chunks) total += c.size();
  if (is_closed()) return closed_status();
  // Cursor over the chunks: index and offset inside it.
  size_t idx = 0;
  size_t off = 0;
  size_t sent = 0;
  iovec iov[kMaxIov];
  while (sent < total) {
    int n = 0;
    for (size_t i = idx, o = off; i < chunks.size() && n < kMaxIov; ++i, o = 0) {
      ByteSpan b = chunks[i];
      if (b.size() == o) continue;
      iov[n++] = iovec{const_cast<std::byte*>(b.data()) + o, b.size() - o};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (w > 0) {
      size_t left = static_cast<size_t>(w);
      sent += left;
      progress_sent_.fetch_add(left, std::memory_order_relaxed);
      while (left > 0) {
        size_t room = chunks[idx].size() - off;
        if (left < room) {
          off += left;
          break;
        }
        left -= room;
        ++idx;
        off = 0;
      }
      continue;
    }
    int err = errno;
    if (w < 0 && err == EINTR) continue;
    if (w < 0 && would_block(err)) {
      Status s = wait(POLLOUT, deadline);
      if (s.ok()) continue;
      if (s.code() == StatusCode::kDeadlineExceeded) {
        if (sent == 0) return s;  // nothing of the frame moved: the connection stays usable
        return fail(DeadlineExceeded("deadline passed mid-frame sending to " + remote_address_ +
                                     "; connection closed"));
      }
      return fail(s);
    }
    if (is_closed()) return closed_status();
    return fail(Unavailable("send to " + remote_address_ + ": " + errno_text(err)));
  }
  bytes_sent_.fetch_add(total, std::memory_order_relaxed);
  frames_sent_.fetch_add(frames, std::memory_order_relaxed);
  return OkStatus();
}

Status TcpConnection::after_recv_failure(ssize_t n, int err, Deadline deadline) {
  if (is_closed()) return closed_status();
  if (n == 0) return Unavailable("connection closed by " + remote_address_);
  if (err == EINTR) return OkStatus();
  if (would_block(err)) return wait(POLLIN, deadline);
  return Unavailable("receive from " + remote_address_ + ": " + errno_text(err));
}

Status TcpConnection::fill(Deadline deadline) {
  if (rbeg_ == rend_) {
    rbeg_ = rend_ = 0;
  } else if (kReadBufferSize - rend_ < kFrameHeaderSize) {
    std::memmove(rbuf_.get(), rbuf_.get() + rbeg_, rend_ - rbeg_);
    rend_ -= rbeg_;
    rbeg_ = 0;
  }
  for (;;) {
    ssize_t n = ::recv(fd_, rbuf_.get() + rend_, kReadBufferSize - rend_, 0);
    if (n > 0) {
      rend_ += static_cast<size_t>(n);
      progress_received_.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
      return OkStatus();
    }
    LOCO_RETURN_IF_ERROR(after_recv_failure(n, errno, deadline));
  }
}

Result<wire::FrameHeader> TcpConnection::receive_header(Deadline deadline) {
  if (is_closed()) return closed_status();
  if (rx_failed_.load(std::memory_order_acquire)) return rx_failed_status();
  if (payload_pending_) {
    return FailedPrecondition("receive_payload must follow receive_header on " + remote_address_);
  }
  while (rend_ - rbeg_ < kFrameHeaderSize) {
    Status s = fill(deadline);
    if (s.ok()) continue;
    if (s.code() == StatusCode::kDeadlineExceeded) {
      if (rbeg_ == rend_) return s;  // no byte of the next frame yet: still usable
      return fail(DeadlineExceeded("deadline passed mid-header from " + remote_address_ +
                                   "; connection closed"));
    }
    return fail(s);
  }
  const std::byte* raw = rbuf_.get() + rbeg_;
  const wire::Framing framing = opener_ ? wire::Framing::kSealed : wire::Framing::kPlain;
  Result<wire::FrameHeader> h =
      wire::decode_header(ByteSpan(raw, kFrameHeaderSize), max_payload(), framing);
  if (!h.ok()) return fail_receive(h.status().with_context("frame from " + remote_address_));
  if (opener_) {
    std::memcpy(rx_header_, raw, kFrameHeaderSize);
    hash_payload_ = false;  // the tag covers it
  } else {
    XXH3_64bits_reset(hash_.get());
    XXH3_64bits_update(hash_.get(), raw, 16);  // the checksum covers header bytes [0, 16)
    hash_payload_ = (h->flags & wire::kFlagHeaderChecksumOnly) == 0;
  }
  rbeg_ += kFrameHeaderSize;
  header_ = *h;
  payload_pending_ = true;
  return header_;
}

Status TcpConnection::receive_payload(MutableByteSpan out, Deadline deadline) {
  if (is_closed()) return closed_status();
  if (rx_failed_.load(std::memory_order_acquire)) return rx_failed_status();
  if (!payload_pending_) {
    return FailedPrecondition("receive_payload without a header on " + remote_address_);
  }
  if (out.size() != header_.length) {
    return InvalidArgument("receive_payload buffer of " + std::to_string(out.size()) +
                           " bytes for a payload of " + std::to_string(header_.length));
  }
  size_t got = std::min(out.size(), rend_ - rbeg_);
  if (got > 0) {
    std::memcpy(out.data(), rbuf_.get() + rbeg_, got);
    rbeg_ += got;
    if (hash_payload_) XXH3_64bits_update(hash_.get(), out.data(), got);
  }
  while (got < out.size()) {
    const size_t want = out.size() - got;
    size_t n = 0;
    Status s;
    if (want < kDirectReadMin) {
      s = fill(deadline);
      if (s.ok()) {
        n = std::min(want, rend_ - rbeg_);
        std::memcpy(out.data() + got, rbuf_.get() + rbeg_, n);
        rbeg_ += n;
      }
    } else {
      // Hashed payloads are read in slices that are hashed while still in cache.
      ssize_t r = ::recv(fd_, out.data() + got, hash_payload_ ? std::min(want, kMaxDirectRead) : want, 0);
      if (r > 0) {
        n = static_cast<size_t>(r);
        progress_received_.fetch_add(n, std::memory_order_relaxed);
      } else {
        s = after_recv_failure(r, errno, deadline);
      }
    }
    if (!s.ok()) {
      if (s.code() == StatusCode::kDeadlineExceeded) {
        s = DeadlineExceeded("deadline passed mid-payload from " + remote_address_ +
                             "; connection closed");
      }
      return fail(s);
    }
    if (hash_payload_) XXH3_64bits_update(hash_.get(), out.data() + got, n);
    got += n;
  }
  payload_pending_ = false;
  if (opener_) {
    std::byte tag[wire::kSealTagSize];
    LOCO_RETURN_IF_ERROR(read_small(tag, sizeof(tag), deadline));
    Status open = opener_->open(ByteSpan(rx_header_), out, ByteSpan(tag));
    if (!open.ok()) return fail_receive(open.with_context("frame from " + remote_address_));
    bytes_received_.fetch_add(kFrameHeaderSize + out.size() + sizeof(tag),
                              std::memory_order_relaxed);
    frames_received_.fetch_add(1, std::memory_order_relaxed);
    return OkStatus();
  }
  if (XXH3_64bits_digest(hash_.get()) != header_.checksum) {
    return fail_receive(DataLoss(std::string("bad checksum on ") +
                                 wire::msg_type_name(header_.type) + " frame from " +
                                 remote_address_));
  }
  bytes_received_.fetch_add(kFrameHeaderSize + out.size(), std::memory_order_relaxed);
  frames_received_.fetch_add(1, std::memory_order_relaxed);
  return OkStatus();
}

Status TcpConnection::read_small(std::byte* out, size_t n, Deadline deadline) {
  size_t got = 0;
  while (got < n) {
    if (rbeg_ == rend_) {
      Status s = fill(deadline);
      if (!s.ok()) {
        if (s.code() == StatusCode::kDeadlineExceeded) {
          s = DeadlineExceeded("deadline passed mid-frame from " + remote_address_ +
                               "; connection closed");
        }
        return fail(s);
      }
    }
    const size_t k = std::min(n - got, rend_ - rbeg_);
    std::memcpy(out + got, rbuf_.get() + rbeg_, k);
    rbeg_ += k;
    got += k;
  }
  return OkStatus();
}

}  // namespace loco::transport
